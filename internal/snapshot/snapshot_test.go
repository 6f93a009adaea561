package snapshot_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/tools/gen"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/tools/octosim/simtest"
	"github.com/octobundle/octobundle/translate"
)

func readSource(t *testing.T, faults octosim.Faults) (*snapshot.Snapshot, *octosim.Server) {
	t.Helper()
	return readSourceAt(t, faults, "")
}

// readSourceAt reads the source sample instance served as Octopus version
// (the seed's when empty).
func readSourceAt(t *testing.T, faults octosim.Faults, version string) (*snapshot.Snapshot, *octosim.Server) {
	t.Helper()
	seed, err := octosim.LoadSeed("../../testdata/instances/source.json")
	if err != nil {
		t.Fatal(err)
	}
	sim, base := simtest.Start(t, octosim.Options{Seed: seed, Faults: faults, ServerVersion: version})
	c, err := octopus.Connect(context.Background(), octopus.Config{URL: base, APIKey: sim.APIKey(),
		Retry: octopus.Retry{Attempts: 12, Base: time.Millisecond, Max: 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := snapshot.Read(context.Background(), c, snapshot.Options{Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	return s, sim
}

func TestRead(t *testing.T) {
	s, _ := readSource(t, octosim.Faults{})
	counts := []struct {
		kind string
		want int
	}{
		{schema.Environment, 4},
		{schema.Project, 4},
		{schema.DeploymentProcess, 4},
		{schema.ProjectVariables, 4},
		{schema.Runbook, 4},
		{schema.RunbookProcess, 4},
		{schema.Tenant, 4},
		{schema.TenantVariables, 4},
		{schema.ScriptModule, 2},
		{schema.ScriptModuleVariables, 2},
		{schema.LibraryVariableSet, 2},
		{schema.DeploymentTarget, 0}, // optional: indexed, not kept
	}
	for _, c := range counts {
		if got := len(s.Entities(c.kind)); got != c.want {
			t.Errorf("%s: %d entities, want %d", c.kind, got, c.want)
		}
	}
	p := s.Find(schema.Project, "OctoFX")
	if p == nil {
		t.Fatal("OctoFX not found")
	}
	if dp := s.Children(p, schema.DeploymentProcess); len(dp) != 1 || dp[0].Label() != "DeploymentProcess OctoFX" {
		t.Fatalf("OctoFX process: %v", dp)
	}
	qa := s.Find(schema.Channel, "OctoFX", "QA")
	if qa == nil {
		t.Fatal("channel OctoFX/QA not found")
	}
	if name, ok := s.Index.Name(schema.Channel, p.ID, qa.ID); !ok || name != "QA" {
		t.Fatalf("index: channel %s → %q %v", qa.ID, name, ok)
	}
	if id, ok := s.Index.ID(schema.Channel, p.ID, "QA"); !ok || id != qa.ID {
		t.Fatalf("index: QA → %q", id)
	}
	// Script modules are in the library variable set namespace too.
	sm := s.Entities(schema.ScriptModule)[0]
	if name, ok := s.Index.Name(schema.LibraryVariableSet, "", sm.ID); !ok || name != sm.Name {
		t.Fatalf("script module %s not indexed as a library variable set", sm.ID)
	}
	// Actions of the deployment process are named within the project;
	// runbook actions are qualified by their runbook.
	names := s.Index.Names(schema.Action, p.ID)
	if len(names) == 0 {
		t.Fatal("no action names indexed for OctoFX")
	}
	for _, rb := range s.Children(p, schema.Runbook) {
		for _, rp := range s.Children(rb, schema.RunbookProcess) {
			for _, prov := range rp.Kind.Provided(rp.Object()) {
				if n, ok := s.Index.Name(schema.Action, p.ID, prov.ID); !ok || n != rb.Name+"/"+prov.Name {
					t.Errorf("runbook action %s named %q", prov.ID, n)
				}
			}
		}
	}
	// Deployment targets are indexed even when not read as entities.
	if len(s.Index.Names(schema.DeploymentTarget, "")) == 0 {
		t.Error("deployment targets not indexed")
	}
}

// TestReadUnderFaults checks a flaky server still yields the same snapshot.
func TestReadUnderFaults(t *testing.T) {
	clean, _ := readSource(t, octosim.Faults{})
	flaky, sim := readSource(t, octosim.Faults{ErrorRate: 0.15, RateLimitRate: 0.05, RetryAfter: time.Millisecond, DropRate: 0.05, Seed: 3})
	_ = sim
	for _, k := range schema.Kinds() {
		a, b := clean.Entities(k.Name), flaky.Entities(k.Name)
		if len(a) != len(b) {
			t.Errorf("%s: %d entities clean, %d under faults", k.Name, len(a), len(b))
			continue
		}
		for i := range a {
			if a[i].Label() != b[i].Label() {
				t.Errorf("%s: %s vs %s", k.Name, a[i].Label(), b[i].Label())
			}
		}
	}
}

// TestReadTenantVariables checks how tenant variables are read on each
// server version: before 2025.2 with the registry's ReadAll path (every
// tenant's legacy document in one request, none per tenant), from 2025.2
// through the scoped common and project variables resources (the feature
// toggle is on), one request each per tenant; both give the same entities.
func TestReadTenantVariables(t *testing.T) {
	var docs []map[string]any
	for _, tc := range []struct {
		version            string
		parts              bool
		bulk, each, scoped int
	}{
		{"2024.4.6000", false, 1, 0, 0},
		{"2025.4.1200", true, 0, 0, 4},
	} {
		t.Run(tc.version, func(t *testing.T) {
			s, sim := readSourceAt(t, octosim.Faults{}, tc.version)
			if s.Parts[schema.TenantVariables] != tc.parts {
				t.Errorf("reads parts: %v, want %v", s.Parts[schema.TenantVariables], tc.parts)
			}
			counts := sim.Counters()
			all := counts["GET "+octosim.NormalizePath("/api/Spaces-1/tenantvariables/all")]
			each := counts["GET "+octosim.NormalizePath("/api/Spaces-1/tenants/Tenants-1/variables")]
			common := counts["GET "+octosim.NormalizePath("/api/Spaces-1/tenants/Tenants-1/commonvariables")]
			project := counts["GET "+octosim.NormalizePath("/api/Spaces-1/tenants/Tenants-1/projectvariables")]
			if all != tc.bulk || each != tc.each || common != tc.scoped || project != tc.scoped {
				t.Fatalf("tenant variables read with %d bulk, %d per-tenant, %d common and %d project requests, want %d, %d, %d, %d",
					all, each, common, project, tc.bulk, tc.each, tc.scoped, tc.scoped)
			}
			e := s.Find(schema.TenantVariables, "Internal")
			if e == nil {
				t.Fatal("no tenant variables for Internal")
			}
			doc, err := translate.ToBundle(s, e)
			if err != nil {
				t.Fatal(err)
			}
			docs = append(docs, doc.(map[string]any))
		})
	}
	if len(docs) == 2 && !bundles.Equal(docs[0], docs[1]) {
		a, _ := bundles.Canonical(docs[0])
		b, _ := bundles.Canonical(docs[1])
		t.Errorf("the legacy and the scoped reads differ:\n%s\n%s", a, b)
	}
}

// TestReadPages reads collections of several pages (the first page of each,
// then the others at once) and checks that every item arrives, once.
// The projects are small (one step, one variable, 2 tenants): the pages
// are what the test reads (gen.Scale(150)'s 60 variables and 12 steps a
// project made it 12 of make test's CPU-seconds, issue 23).
func TestReadPages(t *testing.T) {
	// 450 channels, 300 runbooks: 3 and 2 pages
	inst := gen.Generate(gen.Options{Projects: 150, ChannelsPerProject: 3, RunbooksPerProject: 2,
		VariablesPerProject: 1, StepsPerProject: 1, Tenants: 2, Seed: 1})
	want := map[string][]string{}
	for _, coll := range []string{"channels", "runbooks", "projects"} {
		for _, e := range inst.Spaces[0].Collections[coll] {
			want[coll] = append(want[coll], fmt.Sprint(e["Id"]))
		}
	}
	if len(want["channels"]) <= 2*octopus.PageSize {
		t.Fatalf("%d channels: not more than two pages, the test checks too little", len(want["channels"]))
	}
	sim, base := simtest.Start(t, octosim.Options{Seed: inst})
	c, err := octopus.Connect(context.Background(), octopus.Config{URL: base, APIKey: sim.APIKey()})
	if err != nil {
		t.Fatal(err)
	}
	s, err := snapshot.Read(context.Background(), c, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ coll, kind string }{
		{"channels", schema.Channel}, {"runbooks", schema.Runbook}, {"projects", schema.Project},
	} {
		var got []string
		seen := map[string]bool{}
		for _, e := range s.Entities(tc.kind) {
			if seen[e.ID] {
				t.Errorf("%s %s read twice", tc.kind, e.ID)
			}
			seen[e.ID] = true
			got = append(got, e.ID)
		}
		sort.Strings(got)
		w := append([]string(nil), want[tc.coll]...)
		sort.Strings(w)
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%s: read %d, the server has %d", tc.kind, len(got), len(w))
		}
	}
}
