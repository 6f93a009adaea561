package release

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/schema"
)

// Deployment is a deployment apply started or found.
type Deployment struct {
	// Environment and Tenant name where ("" tenant: untenanted).
	Environment string `json:"environment"`
	Tenant      string `json:"tenant,omitempty"`
	// ID and Task are the deployment's and its server task's IDs.
	ID   string `json:"id"`
	Task string `json:"task"`
	// Started reports that this apply started it (false: it existed).
	Started bool `json:"started"`
	// State is the task's final state when followed (Success, Failed,
	// Canceled, TimedOut), "" when not followed.
	State string `json:"state,omitempty"`
	// Error is the task's error message, if any.
	Error string `json:"error,omitempty"`
}

// Result is what Apply did.
type Result struct {
	// Release is the destination release's ID.
	Release string `json:"release"`
	// Created reports that Apply created it.
	Created bool `json:"created"`
	// Uploaded are the packages uploaded ("ID version").
	Uploaded []string `json:"uploaded"`
	// BuildInformation are the build records added ("ID version").
	BuildInformation []string `json:"buildInformation"`
	// Deployments are the deployments started or found.
	Deployments []Deployment `json:"deployments"`
}

// ApplyOptions adjust Apply.
type ApplyOptions struct {
	// DeployTo and Tenants name the deployment, as planned (for the
	// result's names).
	DeployTo string
	Tenants  []string
	// Logger receives what is done; nil discards.
	Logger *slog.Logger
}

// Apply executes plan p (made by MakePlan for rb against c, without
// errors). Every step is idempotent: a package is uploaded only when the
// feed lacks it (a 409 for one that arrived meanwhile is checked by
// hash), the release and the deployments are created with a look-up
// after an uncertain outcome, so a run killed at any point and run again
// finishes without creating anything twice.
func Apply(ctx context.Context, c *octopus.Client, p *Plan, rb *Bundle, o ApplyOptions) (*Result, error) {
	if p.HasErrors() {
		return nil, ErrPlanHasErrors
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := apiOf(c)
	res := &Result{Release: p.releaseID, Uploaded: []string{}, BuildInformation: []string{}, Deployments: []Deployment{}}
	for _, pk := range p.uploads {
		if err := upload(ctx, a, rb, pk); err != nil {
			return res, err
		}
		log.Info("uploaded", "package", pk.PackageID, "version", pk.Version, "bytes", pk.Size)
		res.Uploaded = append(res.Uploaded, pk.PackageID+" "+pk.Version)
	}
	for _, bi := range p.buildInfo {
		body := map[string]any{"PackageId": bi.PackageID, "Version": bi.Version, "OctopusBuildInformation": buildFields(bi.Build)}
		if _, err := c.Create(ctx, c.SpacePath("build-information?overwriteMode=IgnoreIfExists", false), body, nil); err != nil {
			return res, fmt.Errorf("recording the build information of %s %s: %w", bi.PackageID, bi.Version, err)
		}
		res.BuildInformation = append(res.BuildInformation, bi.PackageID+" "+bi.Version)
	}
	if p.releaseID == "" {
		project := map[string]any{"Id": p.projectID}
		sel := make([]any, 0, len(rb.Doc.Packages))
		for _, pk := range rb.Doc.Packages {
			sel = append(sel, map[string]any{"ActionName": pk.ActionName, "StepName": pk.StepName,
				"PackageReferenceName": pk.PackageReferenceName, "Version": pk.Version})
		}
		body := map[string]any{"ProjectId": p.projectID, "ChannelId": p.channelID, "Version": rb.Doc.Version,
			"ReleaseNotes": Notes(rb), "SelectedPackages": sel}
		rel, err := c.Create(ctx, a.coll(schema.Release), body, func(ctx context.Context) (map[string]any, error) {
			return a.release(ctx, project, rb.Doc.Version)
		})
		if err != nil {
			return res, fmt.Errorf("creating release %s: %w", rb.Doc.Version, err)
		}
		p.releaseID, res.Release, res.Created = str(rel["Id"]), str(rel["Id"]), true
		log.Info("created", "release", rb.Doc.Version, "id", res.Release)
	}
	if p.envID == "" {
		return res, nil
	}
	for i, tid := range p.tenantIDs {
		d := Deployment{Environment: o.DeployTo}
		if tid != "" && i < len(o.Tenants) {
			d.Tenant = o.Tenants[i]
		}
		dep := p.deployments[tid]
		if dep == nil {
			list := a.path(schema.Release, p.releaseID) + "/deployments"
			body := map[string]any{"ReleaseId": p.releaseID, "EnvironmentId": p.envID}
			if tid != "" {
				body["TenantId"] = tid
			}
			var err error
			dep, err = c.Create(ctx, a.coll(schema.Deployment), body, func(ctx context.Context) (map[string]any, error) {
				deps, err := c.List(ctx, list, nil)
				if err != nil {
					return nil, err
				}
				return findDeployment(deps, p.envID, tid), nil
			})
			if err != nil {
				return res, &RefusedError{What: "deploying release " + rb.Doc.Version + " to " + o.DeployTo, Err: err}
			}
			d.Started = true
			log.Info("deployment started", "release", rb.Doc.Version, "environment", o.DeployTo, "tenant", d.Tenant, "task", str(dep["TaskId"]))
		}
		d.ID, d.Task = str(dep["Id"]), str(dep["TaskId"])
		res.Deployments = append(res.Deployments, d)
	}
	return res, nil
}

// RefusedError is a deployment the destination refused (its lifecycle,
// a tenant not connected …).
type RefusedError struct {
	What string
	Err  error
}

func (e *RefusedError) Error() string { return e.What + ": " + e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// upload sends one carried package to the built-in feed, refusing to
// replace one: a 409 (another upload, or this one's uncertain first
// attempt, stored it) is accepted only when the stored hash is the
// bundle's.
func upload(ctx context.Context, a api, rb *Bundle, pk Package) error {
	data, ok := rb.Raw.Attached(pk.File)
	if !ok {
		return fmt.Errorf("the bundle lacks %s", pk.File)
	}
	name, err := bundles.UnescapeName(path.Base(pk.File))
	if err != nil {
		return fmt.Errorf("%s: %w", pk.File, err)
	}
	err = a.c.UploadFile(ctx, http.MethodPost, a.c.SpacePath("packages/raw?overwriteMode=FailIfExists", false), name, "application/octet-stream", data)
	if err == nil {
		return nil
	}
	if !octopus.IsStatus(err, http.StatusConflict) {
		return fmt.Errorf("uploading %s %s: %w", pk.PackageID, pk.Version, err)
	}
	stored, gerr := a.builtInPackage(ctx, pk.PackageID, pk.Version)
	if gerr != nil {
		return gerr
	}
	if stored == nil || !strings.EqualFold(str(stored["Hash"]), pk.SHA1) {
		return fmt.Errorf("uploading %s %s: the built-in feed holds another file of that version (sha1 %s, the bundle's %s); a package is never replaced", pk.PackageID, pk.Version, str(stored["Hash"]), pk.SHA1)
	}
	return nil
}

// buildFields are the fields of OctopusBuildInformation a build record
// is created with.
func buildFields(b map[string]any) map[string]any {
	out := map[string]any{}
	for _, f := range []string{"BuildEnvironment", "BuildNumber", "BuildUrl", "Branch", "VcsType", "VcsRoot", "VcsCommitNumber"} {
		if v, ok := b[f]; ok {
			out[f] = v
		}
	}
	var commits []any
	for _, c := range asSlice(b["Commits"]) {
		m := asMap(c)
		commits = append(commits, map[string]any{"Id": m["Id"], "Comment": m["Comment"]})
	}
	if commits != nil {
		out["Commits"] = commits
	}
	return out
}

// Task is a server task's progress as Wait reports it.
type Task struct {
	ID    string
	State string
	// Completed reports the task ended.
	Completed bool
	// Percent is the task's progress (0-100) when the server says.
	Percent int
	// Error is the task's error message.
	Error string
	// Description is the task's title.
	Description string
}

// Wait follows the task id until it ends (or ctx does), calling progress
// after every poll, and returns its last state.
func Wait(ctx context.Context, c *octopus.Client, id string, progress func(Task)) (Task, error) {
	delay := 100 * time.Millisecond
	for {
		doc, err := c.Get(ctx, c.SpacePath("tasks/"+id, false))
		if err != nil {
			return Task{ID: id}, fmt.Errorf("following task %s: %w", id, err)
		}
		t := Task{ID: id, State: str(doc["State"]), Completed: doc["IsCompleted"] == true, Error: str(doc["ErrorMessage"]), Description: str(doc["Description"])}
		if t.Completed {
			t.Percent = 100
		} else if pct, ok := asMap(doc["Progress"])["ProgressPercentage"].(float64); ok {
			t.Percent = int(pct)
		}
		if progress != nil {
			progress(t)
		}
		if t.Completed {
			return t, nil
		}
		select {
		case <-ctx.Done():
			return t, context.Cause(ctx)
		case <-time.After(delay):
		}
		delay = min(delay*2, 2*time.Second)
	}
}
