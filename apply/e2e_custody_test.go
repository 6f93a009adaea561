package apply

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/state"
	"github.com/octobundle/octobundle/policy"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/tools/octosim"
)

// withEnvironment returns a copy of b with a new environment of that name
// (a copy of Production), as a source that added one exports it.
func withEnvironment(t *testing.T, b *bundles.Bundle, name string) *bundles.Bundle {
	t.Helper()
	c := b.Clone()
	k := schema.MustLookup(schema.Environment)
	doc, ok := c.Entity(k, "Production")
	if !ok {
		t.Fatal("no Production environment in the bundle")
	}
	doc = schema.DeepCopy(doc)
	doc.(map[string]any)["Name"] = name
	if _, err := c.PutEntity(k, []string{name}, doc); err != nil {
		t.Fatal(err)
	}
	if err := c.Seal(); err != nil {
		t.Fatal(err)
	}
	return c
}

// reopen opens r's state folder afresh, as the next run of octobundle
// does (nothing kept in memory).
func (r *recurring) reopen() {
	r.t.Helper()
	root := filepath.Dir(filepath.Dir(r.st.Dir()))
	st, err := state.Open(root, state.Destination{Server: r.dst.c.Server(), InstallationID: r.dst.c.InstallationID, Space: r.dst.c.SpaceName})
	if err != nil {
		r.t.Fatal(err)
	}
	r.st = st
}

// TestPruneOnlyWhatOctobundleWrote: --prune deletes an entity the source
// deleted only when the state records the server ID octobundle wrote it
// under and the destination's entity still carries it (issue 18, item 4b).
func TestPruneOnlyWhatOctobundleWrote(t *testing.T) {
	ctx := context.Background()
	src := startSim(t, "source.json", octosim.Options{})
	b1 := fitBundle(t, exportBundle(t, src, false))
	withSunset := withEnvironment(t, b1, "Sunset")

	t.Run("created by octobundle, deleted at the source: deleted", func(t *testing.T) {
		r := newRecurring(t, withSunset)
		r.reopen()
		ids, err := r.st.IDs()
		if err != nil || ids["environments/Sunset.json"] == "" {
			t.Fatalf("no ID recorded for the environment apply created: %v %v", ids, err)
		}
		p, _ := r.apply(b1, Options{Prune: true})
		if ch := find(t, p, schema.Environment, "Sunset"); ch.Action != plans.OpDelete || !hasWhy(ch, plans.WhyDeletedPruned) {
			t.Errorf("plan: %s %q %s", ch.Action, ch.Why, ch.Reason)
		}
		if r.doc(schema.Environment, "Sunset") != nil {
			t.Error("the environment octobundle created is still there")
		}
		r.reopen()
		if ids, _ := r.st.IDs(); ids["environments/Sunset.json"] != "" {
			t.Errorf("the deleted environment's ID is still recorded: %v", ids)
		}
	})

	t.Run("a hand-made base file: kept, and the plan says why", func(t *testing.T) {
		r := newRecurring(t, b1)
		// The destination's own environment DR, written into the state's
		// base by hand, as if octobundle had applied it.
		form := r.doc(schema.Environment, "DR")
		if form == nil {
			t.Fatal("the sample destination has no DR environment")
		}
		data, err := bundles.Canonical(form)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(r.st.Dir(), state.BaseDir, "environments", "DR.json")
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, data, 0o600); err != nil {
			t.Fatal(err)
		}
		r.reopen()
		p, _ := r.apply(b1, Options{Prune: true})
		ch := find(t, p, schema.Environment, "DR")
		if ch.Action != plans.OpKeep || !hasWhy(ch, plans.WhyNotWritten) || !strings.Contains(ch.Reason, "records no server ID for environments/DR.json") {
			t.Errorf("plan: %s %q %s", ch.Action, ch.Why, ch.Reason)
		}
		if p.Summary[plans.OpDelete] != 0 {
			t.Errorf("%d deletes planned", p.Summary[plans.OpDelete])
		}
		if r.doc(schema.Environment, "DR") == nil {
			t.Error("--prune deleted an environment octobundle never wrote")
		}
	})

	t.Run("replaced on the destination since: kept", func(t *testing.T) {
		r := newRecurring(t, withSunset)
		// The destination's people delete Sunset and create their own.
		sunset := r.doc(schema.Environment, "Sunset")
		envs, err := r.dst.c.List(ctx, r.dst.c.SpacePath("environments", false), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range envs {
			if e["Name"] == "Sunset" {
				if err := r.dst.c.Delete(ctx, r.dst.c.SpacePath("environments/"+e["Id"].(string), false)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := r.dst.c.Post(ctx, r.dst.c.SpacePath("environments", false), sunset); err != nil {
			t.Fatal(err)
		}
		p, _ := r.apply(b1, Options{Prune: true, Policy: policy.Flags{OnConflict: policy.WinnerSource}})
		if ch := find(t, p, schema.Environment, "Sunset"); ch.Action != plans.OpKeep || !strings.Contains(ch.Reason, "that octobundle wrote") {
			t.Errorf("plan: %s %q %s", ch.Action, ch.Why, ch.Reason)
		}
		if r.doc(schema.Environment, "Sunset") == nil {
			t.Error("--prune deleted an environment the destination's people made")
		}
	})

	t.Run("a state from before IDs: kept until re-applied once", func(t *testing.T) {
		r := newRecurring(t, withSunset)
		// The state as octobundle wrote it before it recorded IDs (v1).
		mf := filepath.Join(r.st.Dir(), state.ManifestFile)
		m, err := r.st.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		v1 := `{"format": "octobundle-state/v1", "destination": {"server": "` + m.Destination.Server + `", "installationId": "` + m.Destination.InstallationID + `", "space": "` + m.Destination.Space + `"}, "bundleDigest": "` + m.BundleDigest + `", "time": "` + m.Time + `"}`
		if err := os.WriteFile(mf, []byte(v1), 0o600); err != nil {
			t.Fatal(err)
		}
		r.reopen()
		p, _, err := Apply(ctx, r.dst.c, b1, r.options(Options{Prune: true}))
		if err != nil {
			t.Fatal(err)
		}
		if ch := find(t, p, schema.Environment, "Sunset"); ch.Action != plans.OpKeep || !strings.Contains(ch.Reason, "re-apply once to record IDs") {
			t.Errorf("plan: %s %q %s", ch.Action, ch.Why, ch.Reason)
		}
		if r.doc(schema.Environment, "Sunset") == nil {
			t.Error("deleted without a recorded ID")
		}
		// Re-applied once, the ID is recorded; then --prune deletes it.
		r.reopen()
		r.apply(withSunset, Options{})
		r.reopen()
		r.apply(b1, Options{Prune: true})
		if r.doc(schema.Environment, "Sunset") != nil {
			t.Error("not deleted after the IDs were recorded")
		}
	})
}
