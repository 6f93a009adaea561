package review

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/export"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/tools/octosim/simtest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// exportSeed starts a simulator seeded with seed and exports it as if from
// https://octopus.example.com at the given time.
func exportSeed(t *testing.T, seed *octosim.Instance, at time.Time) *bundles.Bundle {
	t.Helper()
	sim, url := simtest.Start(t, octosim.Options{Seed: seed})
	addr := strings.TrimPrefix(url, "http://")
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
	}}
	t.Cleanup(hc.CloseIdleConnections)
	cl, err := octopus.Connect(context.Background(), octopus.Config{URL: "http://octopus.example.com", APIKey: sim.APIKey(), HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	res, err := export.Run(context.Background(), cl, export.Options{ToolVersion: "test", Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Bundle.Seal(); err != nil {
		t.Fatal(err)
	}
	return res.Bundle
}

func loadSeed(t *testing.T) *octosim.Instance {
	t.Helper()
	seed, err := octosim.LoadSeed(filepath.Join("..", "testdata", "instances", "source.json"))
	if err != nil {
		t.Fatal(err)
	}
	return seed
}

// changeSource makes the known set of source changes of the issue: a
// renamed step, a changed script line, a new variable value scoped to a new
// environment, a removed tenant.
func changeSource(t *testing.T, seed *octosim.Instance) {
	t.Helper()
	c := seed.Spaces[0].Collections
	find := func(coll, id string) map[string]any {
		for _, e := range c[coll] {
			if e["Id"] == id {
				return e
			}
		}
		t.Fatalf("seed has no %s %s", coll, id)
		return nil
	}
	// A renamed step (Octopus keeps its slug).
	dp := find("deploymentprocesses", "deploymentprocess-Projects-1")
	for _, s := range dp["Steps"].([]any) {
		step := s.(map[string]any)
		switch step["Name"] {
		case "Smoke Tests":
			step["Name"] = "Smoke Test Suite"
		case "Deploy OctoFX Database":
			// A changed script line.
			props := step["Actions"].([]any)[0].(map[string]any)["Properties"].(map[string]any)
			body := props["Octopus.Action.Script.ScriptBody"].(string)
			props["Octopus.Action.Script.ScriptBody"] = strings.Replace(body, `--connection "#{ConnectionString}"`, `--connection "#{ConnectionString}" --timeout 600`, 1)
		}
	}
	// A new environment and a variable value scoped to it.
	qa := map[string]any{}
	for k, v := range find("environments", "Environments-2") {
		qa[k] = v
	}
	qa["Id"], qa["Name"], qa["Slug"], qa["SortOrder"] = "Environments-9", "QA", "qa", json.Number("9")
	c["environments"] = append(c["environments"], qa)
	vs := find("variables", "variableset-Projects-1")
	vars := vs["Variables"].([]any)
	v := map[string]any{}
	for k, x := range vars[1].(map[string]any) { // Application.Database.Name for Test
		v[k] = x
	}
	v["Id"], v["Value"], v["Scope"] = "0b7c6a49-1d7e-4c39-9e8a-8f0b6c1f6a01", "OctoFx-QA", map[string]any{"Environment": []any{"Environments-9"}}
	vs["Variables"] = append(vars, v)
	// A removed tenant: Octopus deletes its variables and its place in team
	// scopes (and targets, which are not exported) with it.
	drop := func(coll string, keep func(map[string]any) bool) {
		var out []map[string]any
		for _, e := range c[coll] {
			if keep(e) {
				out = append(out, e)
			}
		}
		c[coll] = out
	}
	drop("tenants", func(e map[string]any) bool { return e["Id"] != "Tenants-4" })
	drop("tenantvariables", func(e map[string]any) bool { return e["TenantId"] != "Tenants-4" })
	for _, coll := range []string{"scopeduserroles", "machines"} {
		for _, e := range c[coll] {
			if ids, ok := e["TenantIds"].([]any); ok {
				e["TenantIds"] = slices.DeleteFunc(slices.Clone(ids), func(x any) bool { return x == "Tenants-4" })
			}
		}
	}
}

var (
	t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	t1 = time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC)
)

// TestKnownChanges: a diff of two exports around a known set of source
// changes reports exactly those.
func TestKnownChanges(t *testing.T) {
	old := exportSeed(t, loadSeed(t), t0)
	seed := loadSeed(t)
	changeSource(t, seed)
	cur := exportSeed(t, seed, t1)
	r := Compare("old", old, "new", cur)

	type entity struct{ op, path string }
	var got []entity
	for _, c := range r.Changes {
		got = append(got, entity{c.Op, c.Path})
	}
	want := []entity{
		{Added, "environments/QA.json"},
		{Changed, "teams/Customer Success/scoped-user-roles.json"},
		{Removed, "tenants/Globex/tenant.json"},
		{Changed, "projects/OctoFX/deployment-process.json"},
		{Changed, "projects/OctoFX/variables.json"},
		{Removed, "tenants/Globex/variables.json"},
	}
	slices.SortFunc(got, func(a, b entity) int { return strings.Compare(a.path, b.path) })
	slices.SortFunc(want, func(a, b entity) int { return strings.Compare(a.path, b.path) })
	if !slices.Equal(got, want) {
		t.Fatalf("entities:\n got %v\nwant %v", got, want)
	}
	fields := map[string][]Field{}
	for _, c := range r.Changes {
		fields[c.Path] = c.Fields
	}
	process := fields["projects/OctoFX/deployment-process.json"]
	if len(process) != 2 {
		t.Fatalf("process fields: %+v", process)
	}
	for _, f := range process {
		switch f.Op {
		case Renamed:
			if f.Label != `Steps["Smoke Tests"]` || f.Before != "Smoke Tests" || f.After != "Smoke Test Suite" {
				t.Errorf("rename: %+v", f)
			}
		case Changed:
			wantLbl := `Steps["Deploy OctoFX Database"].Actions["Deploy OctoFX Database"].Properties["Octopus.Action.Script.ScriptBody"]`
			if f.Label != wantLbl || !strings.Contains(f.Diff, "\n-& \"") || !strings.Contains(f.Diff, "--timeout 600\n") {
				t.Errorf("script change: %s\n%s", f.Label, f.Diff)
			}
		default:
			t.Errorf("unexpected process change %+v", f)
		}
	}
	vars := fields["projects/OctoFX/variables.json"]
	if len(vars) != 1 || vars[0].Op != Added || vars[0].Label != `Variables["Application.Database.Name" Environment=QA]` {
		t.Errorf("variables: %+v", vars)
	}
	if r.Equal || r.Totals() != (Count{Added: 1, Removed: 2, Changed: 3}) {
		t.Errorf("totals %v", r.Totals())
	}

	// The Markdown is what the golden file holds.
	var md bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	golden(t, "known-changes.md.golden", md.Bytes())
	var txt bytes.Buffer
	if err := r.WriteText(&txt, false); err != nil {
		t.Fatal(err)
	}
	golden(t, "known-changes.txt.golden", txt.Bytes())

	// Identical content exported at another time: equal.
	again := exportSeed(t, loadSeed(t), t1)
	if r := Compare("old", old, "again", again); !r.Equal || len(r.Changes) != 0 {
		t.Errorf("re-export at another time: %+v", r.Changes)
	}
}

// golden compares got with testdata/name (rewritten with -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (create it with: go test ./review -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (if intended: go test ./review -update)\n--- got\n%s", p, got)
	}
}
