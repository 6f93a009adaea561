package results

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/octobundle/octobundle/internal/octopus"
)

// ReadOptions select the releases and deployments Read reads.
type ReadOptions struct {
	// Project is the project's name.
	Project string
	// Version, if set, is the one release to read (its version on the
	// instance read).
	Version string
	// Since, if set, drops deployments created before it.
	Since time.Time
	// Promoted reads only promoted releases (see ParsePromotion).
	Promoted bool
	// WithLogs reads each task's raw log.
	WithLogs bool
	// Instance names the instance in the results (default: its URL).
	Instance string
}

// Read reads the releases of a project on the instance cl talks to, with
// their deployments and how each deployment's task went (GET
// projects/{id}/releases, deployments?projects={id}, tasks/{id} and with
// logs tasks/{id}/raw, as Octopus's REST API serves them), newest release
// first. IDs are turned into names: environments, tenants, channels.
func Read(ctx context.Context, cl *octopus.Client, o ReadOptions) ([]Release, error) {
	if o.Instance == "" {
		o.Instance = cl.Server()
	}
	project, err := findProject(ctx, cl, o.Project)
	if err != nil {
		return nil, err
	}
	pid, _ := project["Id"].(string)
	names := func(path string, q url.Values) (map[string]string, []map[string]any, error) {
		items, err := cl.List(ctx, cl.SpacePath(path, false), q)
		if err != nil {
			return nil, nil, err
		}
		out := map[string]string{}
		for _, it := range items {
			out[str(it["Id"])] = str(it["Name"])
		}
		return out, items, nil
	}
	envNames, envs, err := names("environments", nil)
	if err != nil {
		return nil, fmt.Errorf("reading environments: %w", err)
	}
	slices.SortStableFunc(envs, func(a, b map[string]any) int { return cmp.Compare(num(a["SortOrder"]), num(b["SortOrder"])) })
	envOrder := make([]string, len(envs))
	for i, e := range envs {
		envOrder[i] = str(e["Name"])
	}
	tenantNames, _, err := names("tenants", nil)
	if err != nil {
		return nil, fmt.Errorf("reading tenants: %w", err)
	}
	channelNames, _, err := names("projects/"+pid+"/channels", nil)
	if err != nil {
		return nil, fmt.Errorf("reading channels: %w", err)
	}
	rels, err := cl.List(ctx, cl.SpacePath("projects/"+pid+"/releases", false), nil)
	if err != nil {
		return nil, fmt.Errorf("reading the releases of %s: %w", o.Project, err)
	}
	deps, err := cl.List(ctx, cl.SpacePath("deployments", false), url.Values{"projects": {pid}})
	if err != nil {
		return nil, fmt.Errorf("reading the deployments of %s: %w", o.Project, err)
	}
	byRelease := map[string][]map[string]any{}
	for _, d := range deps {
		byRelease[str(d["ReleaseId"])] = append(byRelease[str(d["ReleaseId"])], d)
	}
	var out []Release
	found := false
	for _, rel := range rels {
		version := str(rel["Version"])
		if o.Version != "" && !strings.EqualFold(version, o.Version) {
			continue
		}
		found = true
		r := Release{Name: version, Project: str(project["Name"]), Channel: channelNames[str(rel["ChannelId"])],
			Instance: o.Instance, Environments: envOrder, Deployments: []Deployment{}}
		if p, ok := ParsePromotion(str(rel["ReleaseNotes"])); ok {
			r.PromotedFrom = &p
		} else if o.Promoted {
			continue
		}
		for _, d := range byRelease[str(rel["Id"])] {
			created := str(d["Created"])
			if !o.Since.IsZero() {
				if t, err := time.Parse(time.RFC3339Nano, created); err == nil && t.Before(o.Since) {
					continue
				}
			}
			dep := Deployment{Environment: envNames[str(d["EnvironmentId"])], Tenant: tenantNames[str(d["TenantId"])],
				Created: created, DeployedBy: str(d["DeployedBy"]), State: "Unknown"}
			if err := readTask(ctx, cl, str(d["TaskId"]), o.WithLogs, &dep); err != nil {
				return nil, fmt.Errorf("release %s, deployment to %s: %w", version, dep.Environment, err)
			}
			r.Deployments = append(r.Deployments, dep)
		}
		SortDeployments(r.Deployments, envOrder)
		out = append(out, r)
	}
	if o.Version != "" && !found {
		return nil, fmt.Errorf("the project %s has no release %s on %s", o.Project, o.Version, o.Instance)
	}
	slices.SortStableFunc(out, func(a, b Release) int { return CompareVersions(b.Name, a.Name) })
	return out, nil
}

// SortDeployments orders deployments oldest first: by queue time, then
// creation, then the environments' order (envs), then tenant.
func SortDeployments(ds []Deployment, envs []string) {
	slices.SortStableFunc(ds, func(a, b Deployment) int {
		return cmp.Or(strings.Compare(cmp.Or(a.QueueTime, a.Created), cmp.Or(b.QueueTime, b.Created)),
			strings.Compare(a.Created, b.Created), cmp.Compare(slices.Index(envs, a.Environment), slices.Index(envs, b.Environment)),
			strings.Compare(a.Environment, b.Environment), strings.Compare(a.Tenant, b.Tenant))
	})
}

// readTask fills dep from the deployment's server task (GET tasks/{id}:
// State, QueueTime, StartTime, CompletedTime, Duration, ErrorMessage) and
// with logs its raw log; a task the server no longer has leaves the state
// Unknown.
func readTask(ctx context.Context, cl *octopus.Client, id string, withLogs bool, dep *Deployment) error {
	if id == "" {
		return nil
	}
	task, err := cl.Get(ctx, cl.SpacePath("tasks/"+url.PathEscape(id), false))
	if octopus.IsStatus(err, 404) {
		return nil
	}
	if err != nil {
		return err
	}
	dep.State = str(task["State"])
	dep.QueueTime, dep.StartTime, dep.CompletedTime = str(task["QueueTime"]), str(task["StartTime"]), str(task["CompletedTime"])
	dep.Duration, dep.ErrorMessage = str(task["Duration"]), str(task["ErrorMessage"])
	if withLogs {
		raw, err := cl.GetBinary(ctx, cl.SpacePath("tasks/"+url.PathEscape(id)+"/raw", false))
		if err != nil {
			return fmt.Errorf("reading the task log: %w", err)
		}
		dep.Log = strings.ReplaceAll(string(raw.Data), "\r\n", "\n")
	}
	return nil
}

// findProject finds the project named name (case-insensitively).
func findProject(ctx context.Context, cl *octopus.Client, name string) (map[string]any, error) {
	items, err := cl.List(ctx, cl.SpacePath("projects", false), url.Values{"partialName": {name}})
	if err != nil {
		return nil, fmt.Errorf("finding the project %s: %w", name, err)
	}
	for _, p := range items {
		if strings.EqualFold(str(p["Name"]), name) {
			return p, nil
		}
	}
	return nil, fmt.Errorf("there is no project named %s on %s", name, cl.Server())
}

// CompareVersions orders release versions: numeric parts as numbers, a
// pre-release before its release, other parts as text.
func CompareVersions(a, b string) int {
	coreA, preA, _ := strings.Cut(strings.SplitN(a, "+", 2)[0], "-")
	coreB, preB, _ := strings.Cut(strings.SplitN(b, "+", 2)[0], "-")
	pa, pb := strings.Split(coreA, "."), strings.Split(coreB, ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y string
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if c := compareNumeric(x, y); c != 0 {
			return c
		}
	}
	switch {
	case preA == preB:
		return 0
	case preA == "":
		return 1
	case preB == "":
		return -1
	}
	return strings.Compare(preA, preB)
}

func compareNumeric(x, y string) int {
	x, y = strings.TrimLeft(x, "0"), strings.TrimLeft(y, "0")
	if c := cmp.Compare(len(x), len(y)); c != 0 && isDigits(x) && isDigits(y) {
		return c
	}
	return strings.Compare(x, y)
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func num(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case json.Number:
		f, _ := n.Float64()
		return f
	}
	return 0
}
