package release

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/export"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/schema"
)

// Ops of a plan's actions.
const (
	OpUpload     = "upload"            // upload a carried package to the built-in feed
	OpBuildInfo  = "build-information" // record a package's build information
	OpCreate     = "create"            // create the release
	OpUnchanged  = "unchanged"         // the release exists with the same packages
	OpDeploy     = "deploy"            // start a deployment
	OpDeployed   = "deployed"          // the deployment exists already (it is followed)
	OpPackageOK  = "package"           // a package the destination's feed already serves
	OpConfigured = "configuration"     // the configuration matches
)

// PlanOptions say what to plan beyond the release.
type PlanOptions struct {
	// DeployTo, if set, is the environment to deploy the release to.
	DeployTo string
	// Tenants are the tenants to deploy for (none: untenanted).
	Tenants []string
	// Concurrency bounds the parallel requests of the configuration read.
	Concurrency int
	// Logger receives progress; nil discards.
	Logger *slog.Logger
	// Progress, if set, is called as reading the destination advances.
	Progress func(done, total int)
}

// Action is one thing a plan does (or found done).
type Action struct {
	// Op is what (OpUpload …).
	Op string `json:"op"`
	// Subject names what it is about ("OctoFX.Web 1.4.2", "release 1.4.2",
	// "Staging").
	Subject string `json:"subject"`
	// Detail says more, for people.
	Detail string `json:"detail,omitempty"`
}

// Plan is what promoting a release bundle to a destination does.
type Plan struct {
	// Project, Version and Channel name the release.
	Project string `json:"project"`
	Version string `json:"version"`
	Channel string `json:"channel"`
	// Bundle is the release bundle's digest.
	Bundle string `json:"bundle"`
	// Source is the instance the release was exported from.
	Source string `json:"source"`
	// Configuration is the digest of the process and variables the
	// destination must hold (after the rules), Destination the
	// destination's.
	Configuration string `json:"configuration"`
	Destination   string `json:"destinationConfiguration"`
	// Actions are what apply does, in order, and what is already done.
	Actions []Action `json:"actions"`
	// Errors are why the plan cannot be applied; apply refuses a plan
	// with any.
	Errors []string `json:"errors"`

	projectID, channelID, releaseID string
	uploads                         []Package
	buildInfo                       []BuildInfo
	envID                           string
	tenantIDs                       []string // "" for untenanted
	deployments                     map[string]map[string]any
}

// HasErrors reports whether the plan has errors.
func (p *Plan) HasErrors() bool { return len(p.Errors) > 0 }

// Writes reports whether applying the plan writes anything.
func (p *Plan) Writes() bool {
	for _, a := range p.Actions {
		switch a.Op {
		case OpUpload, OpBuildInfo, OpCreate, OpDeploy:
			return true
		}
	}
	return false
}

func (p *Plan) add(op, subject, detail string) {
	p.Actions = append(p.Actions, Action{Op: op, Subject: subject, Detail: detail})
}

func (p *Plan) fail(format string, a ...any) { p.Errors = append(p.Errors, fmt.Sprintf(format, a...)) }

// Notes are the release notes a promoted release gets: the source's
// notes, then the line saying where it came from.
func Notes(rb *Bundle) string {
	line := fmt.Sprintf("promoted from %s release %s, bundle %s", SourceName(rb.Raw.Manifest.Source), rb.Doc.Version, rb.Raw.Digest())
	if rb.Doc.ReleaseNotes == "" {
		return line
	}
	return strings.TrimRight(rb.Doc.ReleaseNotes, "\n") + "\n\n" + line
}

// SourceName names a source instance: its server URL, and the space
// unless it is "Default".
func SourceName(s bundles.Source) string {
	if s.Space == "" || strings.EqualFold(s.Space, "Default") {
		return s.Server
	}
	return s.Server + " (space " + s.Space + ")"
}

// MakePlan plans promoting rb to the destination c: fitted is rb.Config
// transformed by the destination's rules (rb.Config itself without
// rules). It reads the destination only. Problems that stop the promotion
// are the plan's Errors; err is for failures to read.
func MakePlan(ctx context.Context, c *octopus.Client, rb *Bundle, fitted *bundles.Bundle, o PlanOptions) (*Plan, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := rb.Doc
	p := &Plan{Project: d.Project, Version: d.Version, Channel: d.Channel, Bundle: rb.Raw.Digest(),
		Source: SourceName(rb.Raw.Manifest.Source), Actions: []Action{}, Errors: []string{}, deployments: map[string]map[string]any{}}
	var err error
	if p.Configuration, err = ConfigDigest(fitted, d.Configuration.Files); err != nil {
		return nil, err
	}
	a := apiOf(c)
	project, err := a.byName(ctx, a.coll(schema.Project), d.Project, url.Values{"partialName": {d.Project}})
	if err != nil {
		return nil, fmt.Errorf("looking up project %q: %w", d.Project, err)
	}
	if project == nil {
		p.fail("the destination has no project %q: sync the configuration first (export --project, transform, apply)", d.Project)
		return p, nil
	}
	p.projectID = str(project["Id"])

	// 1. The configuration: the destination's process and variables as
	// a configuration bundle holds them, compared with the release's.
	res, err := export.Run(ctx, c, export.Options{Projects: []string{d.Project}, Concurrency: o.Concurrency, Logger: log, Progress: o.Progress})
	if err != nil {
		return nil, fmt.Errorf("reading the destination's configuration of %q: %w", d.Project, err)
	}
	dest := res.Bundle
	if p.Destination, err = ConfigDigest(dest, d.Configuration.Files); err != nil {
		return nil, err
	}
	if p.Destination == p.Configuration {
		p.add(OpConfigured, d.Project, "the destination's deployment process and variables (with the variable sets the project includes) are those release "+d.Version+" was cut from ("+p.Configuration+")")
	} else {
		for _, f := range d.Configuration.Files {
			for _, msg := range configDiff(fitted, dest, f) {
				p.fail("configuration differs from the one release %s was cut from: %s (sync the configuration first)", d.Version, msg)
			}
		}
	}

	// 2. The channel.
	channel, err := a.byName(ctx, a.path(schema.Project, p.projectID)+"/channels", d.Channel, nil)
	if err != nil {
		return nil, fmt.Errorf("listing the channels of %q: %w", d.Project, err)
	}
	if channel == nil {
		p.fail("the destination's project %q has no channel %q", d.Project, d.Channel)
	} else {
		p.channelID = str(channel["Id"])
	}

	// 3. The packages, against the destination's process and feeds.
	proc, err := c.Get(ctx, c.SpacePath("deploymentprocesses/"+url.PathEscape(str(project["DeploymentProcessId"])), false))
	if err != nil {
		return nil, fmt.Errorf("reading the destination's deployment process of %q: %w", d.Project, err)
	}
	if err := p.planPackages(ctx, a, rb, proc); err != nil {
		return nil, err
	}

	// 4. The release.
	rel, err := a.release(ctx, project, d.Version)
	if err != nil {
		return nil, err
	}
	if rel == nil {
		p.add(OpCreate, "release "+d.Version, fmt.Sprintf("channel %q, %d package(s), notes: %q", d.Channel, len(d.Packages), lastLine(Notes(rb))))
	} else {
		p.releaseID = str(rel["Id"])
		if diffs := packageDiffs(d.Packages, asSlice(rel["SelectedPackages"])); len(diffs) > 0 {
			p.fail("the destination already has release %s of %q with other packages (%s): a release is never replaced; delete it there, or promote another version", d.Version, d.Project, strings.Join(diffs, "; "))
		} else {
			p.add(OpUnchanged, "release "+d.Version, "exists with the same packages")
		}
	}

	// 5. The deployment.
	if o.DeployTo != "" {
		if err := p.planDeploy(ctx, a, o); err != nil {
			return nil, err
		}
	} else if len(o.Tenants) > 0 {
		p.fail("--tenant needs --deploy-to")
	}
	return p, nil
}

// planPackages checks every package reference against the destination's
// process and feeds and plans the uploads and build information.
func (p *Plan) planPackages(ctx context.Context, a api, rb *Bundle, proc map[string]any) error {
	feeds := map[string]map[string]any{}
	seen := map[string]bool{}
	for _, pk := range rb.Doc.Packages {
		feedID, found := "", false
		for _, st := range asSlice(proc["Steps"]) {
			for _, ac := range asSlice(asMap(st)["Actions"]) {
				am := asMap(ac)
				if !strings.EqualFold(str(am["Name"]), pk.ActionName) {
					continue
				}
				for _, pr := range asSlice(am["Packages"]) {
					if pm := asMap(pr); strings.EqualFold(str(pm["Name"]), pk.PackageReferenceName) {
						feedID, found = str(pm["FeedId"]), true
					}
				}
			}
		}
		if !found {
			p.fail("%s: the destination's deployment process has no such package reference", pk.Label())
			continue
		}
		feed, ok := feeds[feedID]
		if !ok {
			var err error
			if feed, err = a.c.Get(ctx, a.path(schema.Feed, feedID)); err != nil {
				if schema.IsExpression(feedID) {
					p.fail("%s: the feed is the expression %q, which only a deployment resolves: the destination cannot check it", pk.Label(), feedID)
					continue
				}
				return fmt.Errorf("%s: reading its feed: %w", pk.Label(), err)
			}
			feeds[feedID] = feed
		}
		subject := pk.PackageID + " " + pk.Version
		key := strings.ToLower(subject)
		if seen[key] {
			continue
		}
		seen[key] = true
		if !isBuiltIn(feed) {
			ok, err := a.feedHas(ctx, feedID, pk.PackageID, pk.Version)
			if err != nil {
				return fmt.Errorf("%s: asking feed %q for %s: %w", pk.Label(), str(feed["Name"]), subject, err)
			}
			if !ok {
				p.fail("%s: the destination's feed %q cannot serve %s (make it available there first)", pk.Label(), str(feed["Name"]), subject)
			} else {
				p.add(OpPackageOK, subject, fmt.Sprintf("feed %q serves it", str(feed["Name"])))
			}
			continue
		}
		stored, err := a.builtInPackage(ctx, pk.PackageID, pk.Version)
		if err != nil {
			return err
		}
		switch {
		case stored != nil && pk.SHA1 != "" && !strings.EqualFold(str(stored["Hash"]), pk.SHA1):
			p.fail("%s: the destination's built-in feed holds %s with another hash (sha1 %s there, %s in the bundle); a package is never replaced", pk.Label(), subject, str(stored["Hash"]), pk.SHA1)
		case stored != nil:
			p.add(OpPackageOK, subject, "the built-in feed holds it")
		case pk.File == "":
			p.fail("%s: the destination's built-in feed lacks %s and the bundle does not carry it (release export --with-packages)", pk.Label(), subject)
		default:
			p.uploads = append(p.uploads, pk)
			p.add(OpUpload, subject, fmt.Sprintf("%d bytes, sha256 %s", pk.Size, pk.SHA256))
		}
	}
	for _, bi := range rb.Doc.BuildInformation {
		items, err := a.c.List(ctx, a.c.SpacePath("build-information", false), url.Values{"packageId": {bi.PackageID}})
		if err != nil {
			return fmt.Errorf("listing the build information of %s: %w", bi.PackageID, err)
		}
		if !slices.ContainsFunc(items, func(it map[string]any) bool { return strings.EqualFold(str(it["Version"]), bi.Version) }) {
			p.buildInfo = append(p.buildInfo, bi)
			p.add(OpBuildInfo, bi.PackageID+" "+bi.Version, "build "+str(bi.Build["BuildNumber"]))
		}
	}
	return nil
}

// planDeploy resolves the environment and tenants and finds the
// deployments that exist already.
func (p *Plan) planDeploy(ctx context.Context, a api, o PlanOptions) error {
	env, err := a.byName(ctx, a.coll(schema.Environment), o.DeployTo, url.Values{"partialName": {o.DeployTo}})
	if err != nil {
		return fmt.Errorf("looking up environment %q: %w", o.DeployTo, err)
	}
	if env == nil {
		p.fail("--deploy-to: the destination has no environment %q", o.DeployTo)
		return nil
	}
	p.envID = str(env["Id"])
	p.tenantIDs = []string{""}
	if len(o.Tenants) > 0 {
		p.tenantIDs = nil
		for _, name := range o.Tenants {
			t, err := a.byName(ctx, a.coll(schema.Tenant), name, url.Values{"partialName": {name}})
			if err != nil {
				return fmt.Errorf("looking up tenant %q: %w", name, err)
			}
			if t == nil {
				p.fail("--tenant: the destination has no tenant %q", name)
				continue
			}
			p.tenantIDs = append(p.tenantIDs, str(t["Id"]))
		}
	}
	var existing []map[string]any
	if p.releaseID != "" {
		if existing, err = a.c.List(ctx, a.path(schema.Release, p.releaseID)+"/deployments", nil); err != nil {
			return fmt.Errorf("listing the deployments of release %s: %w", p.Version, err)
		}
	}
	for i, tid := range p.tenantIDs {
		what := o.DeployTo
		if tid != "" {
			what += " for " + o.Tenants[i]
		}
		if dep := findDeployment(existing, p.envID, tid); dep != nil {
			p.deployments[tid] = dep
			p.add(OpDeployed, what, "deployment "+str(dep["Id"])+" exists (task "+str(dep["TaskId"])+"); it is followed, not started again")
			continue
		}
		p.add(OpDeploy, what, "release "+p.Version+"; the lifecycle decides whether it may")
	}
	return nil
}

// findDeployment is the newest deployment in deps to env for tenant.
func findDeployment(deps []map[string]any, env, tenant string) map[string]any {
	var out map[string]any
	for _, d := range deps {
		if strings.EqualFold(str(d["EnvironmentId"]), env) && strings.EqualFold(str(d["TenantId"]), tenant) {
			if out == nil || str(d["Created"]) > str(out["Created"]) {
				out = d
			}
		}
	}
	return out
}

// configDiff says how the destination's file f differs from the
// release's (fitted): one message per difference, naming the file and the
// field.
func configDiff(fitted, dest *bundles.Bundle, f string) []string {
	want, wok := fitted.Raw(f)
	got, gok := dest.Raw(f)
	switch {
	case !wok && !gok:
		return nil
	case !gok:
		return []string{f + " is missing on the destination"}
	case !wok:
		return []string{f + " exists on the destination but not in the release"}
	}
	if string(want) == string(got) {
		return nil
	}
	k, _ := schema.KindForPath(f)
	wd, err1 := bundles.Decode(want)
	gd, err2 := bundles.Decode(got)
	if k == nil || err1 != nil || err2 != nil {
		return []string{f + " differs"}
	}
	var out []string
	for _, fd := range bundles.DiffKind(k, gd, wd) {
		label := fd.Label
		if label == "" {
			label = fd.Path
		}
		out = append(out, fmt.Sprintf("%s %s: the destination has %s, the release %s", f, label, short(fd.Before), short(fd.After)))
		if len(out) == 10 {
			out = append(out, f+": and more")
			break
		}
	}
	if len(out) == 0 {
		out = append(out, f+" differs")
	}
	return out
}

// short renders a value for a message: JSON, at most 80 characters.
func short(v any) string {
	if v == nil {
		return "nothing"
	}
	data, err := bundles.Canonical(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := strings.Join(strings.Fields(string(data)), " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// packageDiffs lists how an existing release's selected packages differ
// from the bundle's, by action and package reference name.
func packageDiffs(want []Package, have []any) []string {
	key := func(action, ref string) string { return strings.ToLower(action + "\x00" + ref) }
	got := map[string]string{}
	for _, h := range have {
		m := asMap(h)
		got[key(str(m["ActionName"]), str(m["PackageReferenceName"]))] = str(m["Version"])
	}
	var out []string
	for _, w := range want {
		k := key(w.ActionName, w.PackageReferenceName)
		v, ok := got[k]
		delete(got, k)
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: none there, %s in the bundle", w.Label(), w.Version))
		case !strings.EqualFold(v, w.Version):
			out = append(out, fmt.Sprintf("%s: %s there, %s in the bundle", w.Label(), v, w.Version))
		}
	}
	for k, v := range got {
		action, ref, _ := strings.Cut(k, "\x00")
		out = append(out, fmt.Sprintf("action %q, package reference %q: %s there, none in the bundle", action, ref, v))
	}
	slices.Sort(out)
	return out
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// ErrPlanHasErrors is returned by Apply for a plan with errors.
var ErrPlanHasErrors = errors.New("the plan has errors")
