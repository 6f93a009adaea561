package release

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/export"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
)

// ExportOptions say which release to export.
type ExportOptions struct {
	// Project and Version name the release.
	Project, Version string
	// Channel, if set, must be the release's channel.
	Channel string
	// WithPackages carries the built-in feed's package files.
	WithPackages bool
	// Concurrency bounds parallel requests of the configuration read.
	Concurrency int
	// ToolVersion is recorded in the manifest.
	ToolVersion string
	// Now gives the export time (default time.Now).
	Now func() time.Time
	// Logger receives progress; nil discards.
	Logger *slog.Logger
	// Progress, if set, is called as reading the source advances.
	Progress func(done, total int)
}

// Export reads release Version of Project on the source c and returns the
// sealed release bundle. It never writes to the source.
//
// The configuration it carries is the project's as `export --project`
// exports it now; the release's own snapshot of the process and the
// variables must be that configuration (an export refuses a release cut
// from an earlier one, naming what changed since), so that what the
// destination is compared with is what the release was cut from.
func Export(ctx context.Context, c *octopus.Client, o ExportOptions) (*bundles.Bundle, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	api := apiOf(c)
	project, err := api.projectByName(ctx, o.Project)
	if err != nil {
		return nil, err
	}
	rel, err := api.release(ctx, project, o.Version)
	if err != nil {
		return nil, err
	}
	if rel == nil {
		return nil, fmt.Errorf("project %q has no release %s", o.Project, o.Version)
	}
	channel, err := api.c.Get(ctx, api.path(schema.Channel, str(rel["ChannelId"])))
	if err != nil {
		return nil, fmt.Errorf("reading the release's channel: %w", err)
	}
	if o.Channel != "" && !strings.EqualFold(o.Channel, str(channel["Name"])) {
		return nil, fmt.Errorf("release %s of %q is in channel %q, not %q", o.Version, o.Project, str(channel["Name"]), o.Channel)
	}
	if err := api.sameAsRelease(ctx, project, rel); err != nil {
		return nil, err
	}
	frozen, err := api.c.Get(ctx, c.SpacePath("deploymentprocesses/"+str(rel["ProjectDeploymentProcessSnapshotId"]), false))
	if err != nil {
		return nil, fmt.Errorf("reading the release's deployment process: %w", err)
	}

	doc := Doc{Format: DocFormat, Project: str(project["Name"]), Version: str(rel["Version"]), Channel: str(channel["Name"]),
		ReleaseNotes: str(rel["ReleaseNotes"])}
	feeds := map[string]map[string]any{}
	files := map[string][]byte{}
	for _, sp := range asSlice(rel["SelectedPackages"]) {
		sel := asMap(sp)
		p, feedID, err := packageOf(frozen, sel)
		if err != nil {
			return nil, err
		}
		feed, ok := feeds[feedID]
		if !ok {
			if feed, err = api.c.Get(ctx, api.path(schema.Feed, feedID)); err != nil {
				return nil, fmt.Errorf("%s: reading its feed %s: %w", p.Label(), feedID, err)
			}
			feeds[feedID] = feed
		}
		p.Feed, p.BuiltIn = str(feed["Name"]), isBuiltIn(feed)
		if p.BuiltIn && o.WithPackages {
			stored, err := api.builtInPackage(ctx, p.PackageID, p.Version)
			if err != nil {
				return nil, err
			}
			if stored == nil {
				return nil, fmt.Errorf("%s: %s %s is not in the source's built-in feed (--with-packages carries only what it holds)", p.Label(), p.PackageID, p.Version)
			}
			p.File = PackageDir + "/" + bundles.EscapeName(p.PackageID+"."+p.Version+str(stored["FileExtension"]))
			data, ok := files[p.File]
			if !ok {
				bin, err := c.GetBinary(ctx, c.SpacePath("packages/"+url.PathEscape(str(stored["Id"]))+"/raw", false))
				if err != nil {
					return nil, fmt.Errorf("downloading %s %s: %w", p.PackageID, p.Version, err)
				}
				data = bin.Data
				if h := str(stored["Hash"]); h != "" && !strings.EqualFold(h, sum1(data)) {
					return nil, fmt.Errorf("downloading %s %s: its sha1 is %s, the server says %s", p.PackageID, p.Version, sum1(data), h)
				}
				files[p.File] = data
			}
			p.SHA256, p.SHA1, p.Size = sum256(data), sum1(data), int64(len(data))
		}
		doc.Packages = append(doc.Packages, p)
	}
	slices.SortFunc(doc.Packages, func(a, b Package) int {
		return strings.Compare(a.ActionName+"\x00"+a.PackageReferenceName, b.ActionName+"\x00"+b.PackageReferenceName)
	})
	for _, bi := range asSlice(rel["BuildInformation"]) {
		m := asMap(bi)
		build := map[string]any{}
		for k, v := range m {
			if v != nil && !slices.Contains([]string{"PackageId", "Version", "Id", "Links", "Created", "IncompleteDataWarning", "SpaceId"}, k) {
				build[k] = v
			}
		}
		doc.BuildInformation = append(doc.BuildInformation, BuildInfo{PackageID: str(m["PackageId"]), Version: str(m["Version"]), Build: build})
	}

	log.Info("reading the project's configuration", "project", doc.Project)
	res, err := export.Run(ctx, c, export.Options{Projects: []string{doc.Project}, Concurrency: o.Concurrency,
		ToolVersion: o.ToolVersion, Now: now, Logger: log, Progress: o.Progress})
	if err != nil {
		return nil, err
	}
	cfg := res.Bundle
	for _, w := range res.Warnings {
		log.Warn(w)
	}
	if doc.Configuration.Files, err = ConfigFiles(cfg, doc.Project); err != nil {
		return nil, err
	}
	if doc.Configuration.Digest, err = ConfigDigest(cfg, doc.Configuration.Files); err != nil {
		return nil, err
	}
	doc.Configuration.Bundle = cfg.Digest()

	m := cfg.Manifest
	m.Kind, m.Counts, m.Digest = bundles.KindRelease, nil, ""
	out := bundles.New(m)
	for e := range cfg.All() {
		if err := out.PutFile(e.Path, e.Doc); err != nil {
			return nil, err
		}
	}
	data, err := bundles.Canonical(doc)
	if err != nil {
		return nil, err
	}
	if err := out.Attach(DocFile, data); err != nil {
		return nil, err
	}
	for p, data := range files {
		if err := out.Attach(p, data); err != nil {
			return nil, err
		}
	}
	if err := out.Seal(); err != nil {
		return nil, err
	}
	return out, nil
}

// packageOf is the package reference sel (a release's selected package)
// names in the frozen process, and the ID of its feed.
func packageOf(frozen map[string]any, sel map[string]any) (Package, string, error) {
	action, ref := str(sel["ActionName"]), str(sel["PackageReferenceName"])
	for _, st := range asSlice(frozen["Steps"]) {
		for _, a := range asSlice(asMap(st)["Actions"]) {
			am := asMap(a)
			if !strings.EqualFold(str(am["Name"]), action) {
				continue
			}
			for _, pr := range asSlice(am["Packages"]) {
				pm := asMap(pr)
				if strings.EqualFold(str(pm["Name"]), ref) {
					return Package{StepName: str(asMap(st)["Name"]), ActionName: str(am["Name"]), PackageReferenceName: str(pm["Name"]),
						PackageID: str(pm["PackageId"]), Version: str(sel["Version"])}, str(pm["FeedId"]), nil
				}
			}
		}
	}
	return Package{}, "", fmt.Errorf("the release selects a version for action %q, package reference %q, which its deployment process does not have", action, ref)
}

// sameAsRelease checks that the project's deployment process and
// variables are still those release rel froze.
func (a api) sameAsRelease(ctx context.Context, project, rel map[string]any) error {
	var errs []error
	for _, pair := range []struct {
		kind, snapField, items string
	}{
		{schema.DeploymentProcess, "ProjectDeploymentProcessSnapshotId", "Steps"},
		{schema.ProjectVariables, "ProjectVariableSetSnapshotId", "Variables"},
	} {
		k := schema.MustLookup(pair.kind)
		live, err := snapshot.Expand(k.Read, project)
		if err != nil {
			return err
		}
		snap := str(rel[pair.snapField])
		if snap == "" {
			continue
		}
		cur, err := a.c.Get(ctx, a.c.SpacePath(live, false))
		if err != nil {
			return fmt.Errorf("reading the project's %s: %w", k.Title, err)
		}
		dir, _, _ := strings.Cut(live, "/")
		old, err := a.c.Get(ctx, a.c.SpacePath(dir+"/"+snap, false))
		if err != nil {
			return fmt.Errorf("reading release %s's %s: %w", str(rel["Version"]), k.Title, err)
		}
		if !sameItems(cur[pair.items], old[pair.items]) {
			errs = append(errs, fmt.Errorf("the project's %s changed since release %s was created (%s)", schema.Singular(pair.kind), str(rel["Version"]), pair.items))
		}
	}
	if len(errs) > 0 {
		errs = append(errs, errors.New("a release bundle carries the project's configuration as it is now, which must be what the release was cut from: promote a release created from the current configuration"))
	}
	return errors.Join(errs...)
}

// sameItems compares two lists of documents, by Id where they have one
// (the order of variables is not significant).
func sameItems(a, b any) bool {
	key := func(v any) []string {
		var out []string
		for _, x := range asSlice(v) {
			data, _ := bundles.Canonical(x)
			out = append(out, string(data))
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}
