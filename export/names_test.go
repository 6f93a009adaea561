package export

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/tools/octosim/simtest"
)

// TestExportAwkwardNames exports a space holding a tenant named Thumbs.db
// and a project whose name is 300 bytes long, and verifies both bundle
// forms (issue 18: the first gave a directory bundle its own verify
// rejected, the second aborted the whole export).
func TestExportAwkwardNames(t *testing.T) {
	ctx := context.Background()
	sim, url := simtest.Start(t, octosim.Options{Seed: loadSeed(t, "source.json")})
	c := connect(t, url, sim.APIKey(), nil)
	lcs, err := c.List(ctx, c.SpacePath("lifecycles", false), nil)
	if err != nil || len(lcs) == 0 {
		t.Fatalf("lifecycles: %v", err)
	}
	groups, err := c.List(ctx, c.SpacePath("projectgroups", false), nil)
	if err != nil || len(groups) == 0 {
		t.Fatalf("project groups: %v", err)
	}
	long := strings.Repeat("Payments API – Zürich ", 20)[:300]
	if _, err := c.Post(ctx, c.SpacePath("projects", false), map[string]any{
		"Name": long, "LifecycleId": lcs[0]["Id"], "ProjectGroupId": groups[0]["Id"],
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Post(ctx, c.SpacePath("tenants", false), map[string]any{"Name": "Thumbs.db"}); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, c, Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	b := res.Bundle
	if _, ok := b.Entity(schema.MustLookup(schema.Tenant), "Thumbs.db"); !ok {
		t.Error("no tenant Thumbs.db in the bundle")
	}
	if _, ok := b.Entity(schema.MustLookup(schema.Project), long); !ok {
		t.Error("no project with the long name in the bundle")
	}
	dir := t.TempDir()
	for _, p := range []string{filepath.Join(dir, "b"), filepath.Join(dir, "b.tar.zst")} {
		if err := b.Write(p); err != nil {
			t.Fatal(err)
		}
		if _, err := bundles.Verify(p); err != nil {
			t.Errorf("verify %s: %v", p, err)
		}
		r, err := bundles.Read(p, bundles.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := r.Entity(schema.MustLookup(schema.DeploymentProcess), long); !ok {
			t.Errorf("%s: the long-named project's process is not found by name", p)
		}
		if _, ok := r.Entity(schema.MustLookup(schema.Tenant), "Thumbs.db"); !ok {
			t.Errorf("%s: no tenant Thumbs.db", p)
		}
	}
}
