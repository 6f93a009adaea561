package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/tools/octosim/simtest"
	"github.com/octobundle/octobundle/translate"
)

// syncedKinds are the kinds of the seed's "Data to sync" list (plus the
// files that belong to them), each of which the source instance has.
var syncedKinds = []string{
	schema.Account, schema.Environment, schema.WorkerPool, schema.MachinePolicy,
	schema.Certificate, schema.Feed, schema.Lifecycle, schema.ScriptModule, schema.ScriptModuleVariables,
	schema.ActionTemplate, schema.LibraryVariableSet, schema.LibraryVariables, schema.TagSet,
	schema.Team, schema.ScopedUserRole, schema.UserRole, schema.Tenant, schema.TenantVariables,
	schema.ProjectGroup, schema.Project, schema.DeploymentProcess, schema.Runbook,
	schema.RunbookProcess, schema.ProjectVariables, schema.Channel,
}

// canaries are secrets planted in the source on top of the sample's own.
var canaries = []string{
	"canary-sensitive-variable-7f3a9",
	"canary-account-password-51c2e",
	"canary-feed-password-a9d04",
	"canary-tenant-secret-0be71",
	"canary-library-secret-c44d2",
}

// withCanaries returns the source sample with extra secrets planted in a
// project variable, an account, a feed, a tenant variable and a library
// variable set.
func withCanaries(t testing.TB) *octosim.Instance {
	t.Helper()
	seed := loadSeed(t, "source.json")
	c := seed.Spaces[0].Collections
	for _, vs := range c["variables"] {
		vars, _ := vs["Variables"].([]any)
		switch vs["OwnerId"] {
		case "Projects-1":
			vs["Variables"] = append(vars, map[string]any{
				"Id": "11111111-2222-3333-4444-555555555555", "Name": "Canary.Secret", "Value": canaries[0],
				"Type": "Sensitive", "IsSensitive": true, "Scope": map[string]any{},
			})
		case "LibraryVariableSets-3":
			vs["Variables"] = append(vars, map[string]any{
				"Id": "11111111-2222-3333-4444-666666666666", "Name": "Canary.Library", "Value": canaries[4],
				"Type": "Sensitive", "IsSensitive": true, "Scope": map[string]any{},
			})
		}
	}
	for _, a := range c["accounts"] {
		if a["Name"] == "Azure Dev/Test Subscription" {
			a["Password"] = map[string]any{"HasValue": true, "NewValue": canaries[1]}
		}
	}
	for _, f := range c["feeds"] {
		if f["Name"] == "Docker Hub" {
			f["Password"] = map[string]any{"HasValue": true, "NewValue": canaries[2]}
		}
	}
	for _, tv := range c["tenantvariables"] {
		if tv["TenantId"] != "Tenants-1" {
			continue
		}
		pv := tv["ProjectVariables"].(map[string]any)["Projects-1"].(map[string]any)["Variables"].(map[string]any)
		for _, env := range pv {
			for id, v := range env.(map[string]any) {
				if m, ok := v.(map[string]any); ok && m["HasValue"] == true {
					env.(map[string]any)[id] = map[string]any{"HasValue": true, "NewValue": canaries[3]}
				}
			}
		}
	}
	return seed
}

// secretsOf collects every secret value of a seed: SensitiveValue NewValues,
// sensitive variables' values and plain strings in secret fields.
func secretsOf(seed *octosim.Instance) []string {
	secretFields := map[string]bool{}
	for _, k := range schema.Kinds() {
		for _, s := range k.Sensitive {
			if !strings.Contains(s.Path, "/") {
				secretFields[s.Path] = true
			}
		}
	}
	found := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if s, ok := t["NewValue"].(string); ok && s != "" {
				found[s] = true
			}
			if t["IsSensitive"] == true {
				if s, ok := t["Value"].(string); ok && s != "" {
					found[s] = true
				}
			}
			for k, c := range t {
				if s, ok := c.(string); ok && secretFields[k] && s != "" {
					found[s] = true
				}
				walk(c)
			}
		case []any:
			for _, c := range t {
				walk(c)
			}
		}
	}
	data, _ := json.Marshal(seed)
	var doc any
	_ = json.Unmarshal(data, &doc)
	walk(doc)
	out := make([]string, 0, len(found))
	for s := range found {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// syncBuffer is a concurrency-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSourceExport exports the source sample instance and checks the
// bundle: it verifies in both forms, holds every synced kind with the
// instance's counts and nothing that is never synced, has no server ID in
// any reference position (nor anywhere else), and no secret or API key in
// any byte of the bundle, the logs or the warnings.
func TestSourceExport(t *testing.T) {
	seed := withCanaries(t)
	secrets := secretsOf(seed)
	for _, c := range canaries {
		if !slices.Contains(secrets, c) {
			t.Fatalf("canary %q not planted", c)
		}
	}
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	res, sim := exportSim(t, seed, Options{Logger: log, ToolVersion: "test"})
	b := res.Bundle

	dir := filepath.Join(t.TempDir(), "source")
	archive := dir + ".tar.zst"
	for _, p := range []string{dir, archive} {
		if err := b.Write(p); err != nil {
			t.Fatal(err)
		}
		rep, err := bundles.Verify(p)
		if err != nil {
			t.Fatalf("Verify(%s): %v", filepath.Base(p), err)
		}
		if rep.Digest != b.Digest() {
			t.Errorf("Verify(%s) digest %s, want %s", filepath.Base(p), rep.Digest, b.Digest())
		}
	}

	t.Run("kinds", func(t *testing.T) {
		counts := b.Manifest.Counts
		for _, k := range syncedKinds {
			if counts[k] == 0 {
				t.Errorf("no %s in the bundle", k)
			}
		}
		want := map[string]int{
			schema.Environment: 4, schema.ProjectGroup: 4, schema.TagSet: 2,
			// the sample's four plus the built-in releases feed every space has
			schema.Feed: 5,
			schema.Team: 3, schema.MachinePolicy: 2, schema.WorkerPool: 3, schema.Tenant: 4,
			schema.TenantVariables: 4, schema.Account: 6, schema.ActionTemplate: 2,
			schema.ScriptModule: 2, schema.LibraryVariableSet: 2, schema.Lifecycle: 3,
			schema.Certificate: 3, schema.Project: 4, schema.Channel: 5, schema.DeploymentProcess: 4,
			schema.Runbook: 4, schema.RunbookProcess: 4, schema.ProjectVariables: 4,
			// two custom roles and the four built-in roles the teams use
			schema.UserRole: 6,
		}
		for k, n := range want {
			if counts[k] != n {
				t.Errorf("%d %s files, want %d", counts[k], k, n)
			}
		}
		for _, k := range []string{schema.Release, schema.Deployment, schema.RunbookRun, schema.RunbookSnapshot, schema.DeploymentTarget, schema.Worker} {
			if counts[k] != 0 {
				t.Errorf("%d %s exported; never without being asked", counts[k], k)
			}
		}
		if b.Manifest.Source.Space != "Default" || b.Manifest.Source.ServerVersion != sim.Version() ||
			!strings.HasPrefix(b.Manifest.Source.Server, "http://127.0.0.1:") || b.Manifest.ToolVersion != "test" ||
			!b.Manifest.ExportedAt.Equal(fixedNow()) {
			t.Errorf("manifest source/tool/time: %+v %q %v", b.Manifest.Source, b.Manifest.ToolVersion, b.Manifest.ExportedAt)
		}
	})

	t.Run("id-free", func(t *testing.T) {
		for _, e := range b.Entries() {
			if err := e.Kind.CheckIDFree(e.Doc); err != nil {
				t.Errorf("%s: %v", e.Path, err)
			}
			walkStrings(e.Doc, func(s string) {
				if k := schema.KindForID(s); k != nil {
					t.Errorf("%s: holds %q, a %s ID", e.Path, s, k.Name)
				}
			})
		}
		idRe := idPattern()
		guids := sourceGUIDs(seed)
		for p, data := range readDir(t, dir) {
			if m := idRe.Find(data); m != nil {
				t.Errorf("%s: holds %q, which looks like a server ID", p, m)
			}
			for _, g := range guids {
				if bytes.Contains(data, []byte(g)) {
					t.Errorf("%s: holds the source GUID %s", p, g)
				}
			}
		}
	})

	t.Run("no secrets", func(t *testing.T) {
		needles := append(append([]string(nil), secrets...), sim.APIKey())
		hay := map[string][]byte{"(logs)": []byte(logs.String()), "(warnings)": []byte(strings.Join(res.Warnings, "\n"))}
		for p, data := range readDir(t, dir) {
			hay["dir:"+p] = data
		}
		raw, err := os.ReadFile(archive)
		if err != nil {
			t.Fatal(err)
		}
		hay["archive"] = raw
		unpacked := filepath.Join(t.TempDir(), "unpacked")
		if err := bundles.Unpack(archive, unpacked); err != nil {
			t.Fatal(err)
		}
		for p, data := range readDir(t, unpacked) {
			hay["archive:"+p] = data
		}
		for where, data := range hay {
			for _, s := range needles {
				if bytes.Contains(data, []byte(s)) {
					t.Errorf("%s holds the secret %q", where, s)
				}
			}
		}
		// The secrets are there to leak: the simulator holds them.
		if v, ok := sim.Secret("Spaces-1", "feeds", "Feeds-2", "Password"); !ok || v != canaries[2] {
			t.Errorf("the simulator does not hold the planted feed password (got %q, %v)", v, ok)
		}
		// The bundle records that the values are sensitive.
		vars, _ := b.Entity(schema.MustLookup(schema.ProjectVariables), "OctoFX")
		if !strings.Contains(mustJSON(t, vars), `"Canary.Secret"`) {
			t.Error("the sensitive variable Canary.Secret is missing from projects/OctoFX/variables.json")
		}
	})
}

// TestOptionalKinds exports deployment targets and workers only when asked.
func TestOptionalKinds(t *testing.T) {
	res, _ := exportSim(t, loadSeed(t, "source.json"), Options{Optional: true})
	c := res.Bundle.Manifest.Counts
	if c[schema.DeploymentTarget] != 8 || c[schema.Worker] != 3 {
		t.Errorf("with Optional: %d deployment targets, %d workers; want 8 and 3", c[schema.DeploymentTarget], c[schema.Worker])
	}
	for _, e := range res.Bundle.Entries() {
		if err := e.Kind.CheckIDFree(e.Doc); err != nil {
			t.Errorf("%s: %v", e.Path, err)
		}
	}
}

// TestDeterminism: exports of an unchanged instance are byte-identical
// whatever the export time; changing one variable's value through the API
// changes exactly that project's variables.json.
func TestDeterminism(t *testing.T) {
	sim, url := simtest.Start(t, octosim.Options{Seed: loadSeed(t, "source.json")})
	c := connect(t, url, sim.APIKey(), nil)
	run := func(now func() time.Time) *bundles.Bundle {
		t.Helper()
		res, err := Run(context.Background(), c, Options{Now: now, Concurrency: 4})
		if err != nil {
			t.Fatal(err)
		}
		return res.Bundle
	}
	first := run(fixedNow)
	sums := files(t, first)[bundles.ChecksumsFile]
	if again := files(t, run(fixedNow)); !bytes.Equal(again[bundles.ChecksumsFile], sums) {
		t.Fatal("two exports of an unchanged instance differ")
	}
	later := run(func() time.Time { return fixedNow().Add(36 * time.Hour) })
	if !bytes.Equal(files(t, later)[bundles.ChecksumsFile], sums) {
		t.Fatal("exports at different times have different checksums.txt")
	}
	if later.Manifest.ExportedAt.Equal(first.Manifest.ExportedAt) {
		t.Fatal("the manifest does not record the export time")
	}

	// Change one variable's value through the API.
	ctx := context.Background()
	var project map[string]any
	projects, err := c.List(ctx, c.SpacePath("projects", false), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range projects {
		if p["Name"] == "Customer Portal" {
			project = p
		}
	}
	path := c.SpacePath("variables/"+project["VariableSetId"].(string), false)
	vs, err := c.Get(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	changed := false
	for _, v := range vs["Variables"].([]any) {
		m := v.(map[string]any)
		if m["IsSensitive"] != true && !changed {
			m["Value"] = "a value changed for the test"
			changed = true
		}
	}
	if _, err := c.Put(ctx, path, vs); err != nil {
		t.Fatal(err)
	}
	before := checksums(t, first)
	after := checksums(t, run(fixedNow))
	var diff []string
	for _, p := range slices.Sorted(maps.Keys(before)) {
		if after[p] != before[p] {
			diff = append(diff, p)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(after)) {
		if _, ok := before[p]; !ok {
			diff = append(diff, p)
		}
	}
	if want := []string{"projects/Customer Portal/variables.json"}; !slices.Equal(diff, want) {
		t.Errorf("changing one variable changed %v, want %v", diff, want)
	}
}

// TestProjectSelection: exporting some projects exports exactly them and
// what they depend on.
func TestProjectSelection(t *testing.T) {
	sim, url := simtest.Start(t, octosim.Options{Seed: loadSeed(t, "source.json")})
	c := connect(t, url, sim.APIKey(), nil)
	envs := []string{"environments/Development.json", "environments/Production.json", "environments/Staging.json", "environments/Test.json"}
	project := func(name string, extra ...string) []string {
		out := []string{
			"projects/" + name + "/project.json", "projects/" + name + "/deployment-process.json",
			"projects/" + name + "/variables.json", "projects/" + name + "/channels/Default.json",
			"projects/" + name + "/deployment-settings.json",
		}
		for _, e := range extra {
			out = append(out, "projects/"+name+"/"+e)
		}
		return out
	}
	cat := func(lists ...[]string) []string {
		var out []string
		for _, l := range lists {
			out = append(out, l...)
		}
		return out
	}
	runbooks := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, "runbooks/"+n+"/runbook.json", "runbooks/"+n+"/process.json")
		}
		return out
	}
	// What the library variable set Common Variables brings: its accounts,
	// certificates, worker pool and the tag set of its tenant tag scopes.
	common := []string{
		"library-variable-sets/Common Variables/library-variable-set.json", "library-variable-sets/Common Variables/variables.json",
		"accounts/AWS Account.json", "accounts/Azure Dev%2FTest Subscription.json", "accounts/Azure Production Subscription.json",
		"certificates/OctoFX Production.json", "certificates/OctoFX Wildcard (Dev%2FTest).json",
		"worker-pools/Ubuntu Worker Pool.json", "tag-sets/Tier.json",
	}
	tenant := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, "tenants/"+n+"/tenant.json", "tenants/"+n+"/variables.json")
		}
		return out
	}
	tests := []struct {
		projects []string
		want     []string
	}{
		{
			// A project without tenants: its lifecycle and the lifecycle's
			// environments, its group, its script module, its worker pool.
			projects: []string{"Release Notes Bot"},
			want: cat(envs, project("Release Notes Bot"), []string{
				"lifecycles/Default Lifecycle.json", "project-groups/Internal Tools.json",
				"script-modules/Bash Utilities/script-module.json", "script-modules/Bash Utilities/variables.json",
				"worker-pools/Hosted Ubuntu.json",
			}),
		},
		{
			// Runbooks, the built-in feed, a library variable set.
			projects: []string{"Infrastructure Runbooks"},
			want: cat(envs, common, project("Infrastructure Runbooks", append(runbooks("Refresh Test Data", "Restore Production Database", "Rotate Logs"), "triggers/Rotate logs nightly.json")...), []string{
				"lifecycles/Default Lifecycle.json", "project-groups/Operations.json", "feeds/Octopus Server (built-in).json",
				"script-modules/Logging Helpers/script-module.json", "script-modules/Logging Helpers/variables.json",
			}),
		},
		{
			// Tenants linked to the project, and the tag sets their tags
			// come from; step templates and the feeds they use; a second
			// channel's lifecycle.
			projects: []string{"OctoFX"},
			want: cat(envs, common, tenant("Acme Corp", "Development Team A", "Internal"),
				project("OctoFX", "channels/QA.json", "runbooks/Toggle Maintenance Mode/runbook.json", "runbooks/Toggle Maintenance Mode/process.json",
					"triggers/Built-in package repository.json", "triggers/Deploy to new web servers.json", "triggers/Nightly promotion to Staging.json", "logo"),
				[]string{
					"lifecycles/Default Lifecycle.json", "lifecycles/QA.json", "project-groups/Trading Platform.json",
					"feeds/Company NuGet.json", "feeds/Docker Hub.json", "feeds/Helm Charts.json",
					"library-variable-sets/Notification Settings/library-variable-set.json", "library-variable-sets/Notification Settings/variables.json",
					"script-modules/Bash Utilities/script-module.json", "script-modules/Bash Utilities/variables.json",
					"script-modules/Logging Helpers/script-module.json", "script-modules/Logging Helpers/variables.json",
					"step-templates/AWS - Invalidate CloudFront Cache.json", "step-templates/Slack - Notify Deployment.json",
					"tag-sets/Region.json", "worker-pools/Hosted Ubuntu.json",
				}),
		},
		{
			// A tenant-restricted account and certificate pull in their
			// tenant (Globex is linked to the project anyway).
			projects: []string{"Customer Portal"},
			want: cat(envs, common, tenant("Acme Corp", "Development Team A", "Globex", "Internal"), project("Customer Portal"), []string{
				"lifecycles/Default Lifecycle.json", "project-groups/Trading Platform.json", "feeds/Company NuGet.json",
				"accounts/Acme Corp AWS.json", "certificates/Acme Corp Portal.json", "tag-sets/Region.json",
			}),
		},
		{
			// Two projects: the union of their dependencies.
			projects: []string{"Release Notes Bot", "Infrastructure Runbooks"},
			want: cat(envs, common, project("Release Notes Bot"), project("Infrastructure Runbooks", append(runbooks("Refresh Test Data", "Restore Production Database", "Rotate Logs"), "triggers/Rotate logs nightly.json")...), []string{
				"lifecycles/Default Lifecycle.json", "project-groups/Internal Tools.json", "project-groups/Operations.json",
				"feeds/Octopus Server (built-in).json", "worker-pools/Hosted Ubuntu.json",
				"script-modules/Bash Utilities/script-module.json", "script-modules/Bash Utilities/variables.json",
				"script-modules/Logging Helpers/script-module.json", "script-modules/Logging Helpers/variables.json",
			}),
		},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.projects, "+"), func(t *testing.T) {
			res, err := Run(context.Background(), c, Options{Projects: tt.projects, Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			want := append([]string(nil), tt.projects...)
			sort.Strings(want)
			if !slices.Equal(res.Bundle.Manifest.Projects, want) {
				t.Errorf("manifest records projects %q, want %q", res.Bundle.Manifest.Projects, want)
			}
			var got []string
			for _, e := range res.Bundle.Entries() {
				got = append(got, e.Path)
			}
			sort.Strings(got)
			sort.Strings(tt.want)
			if !slices.Equal(got, tt.want) {
				t.Errorf("files:\n got %q\nwant %q", got, tt.want)
			}
			for _, e := range res.Bundle.Entries() {
				if err := e.Kind.CheckIDFree(e.Doc); err != nil {
					t.Errorf("%s: %v", e.Path, err)
				}
			}
			// Tenants keep only their links to (and variables of) the
			// exported projects.
			for _, e := range res.Bundle.Entries() {
				field := map[string]string{schema.Tenant: "ProjectEnvironments", schema.TenantVariables: "ProjectVariables"}[e.Kind.Name]
				if field == "" {
					continue
				}
				m, _ := e.Doc.(map[string]any)[field].(map[string]any)
				for p := range m {
					if !slices.Contains(tt.projects, p) {
						t.Errorf("%s links to project %q, which is not exported", e.Path, p)
					}
				}
			}
		})
	}
	t.Run("unknown project", func(t *testing.T) {
		_, err := Run(context.Background(), c, Options{Projects: []string{"OctoFX", "No Such Project"}})
		var ee *Error
		if !errors.As(err, &ee) || !strings.Contains(err.Error(), `"No Such Project"`) {
			t.Fatalf("got %v, want an *Error naming the missing project", err)
		}
	})
}

// TestContentErrors: two things sharing a name in one scope fail the
// export with every problem named (entity, JSON path, IDs). (A reference
// to an ID that does not exist is a warning: TestDanglingReferences.)
func TestContentErrors(t *testing.T) {
	seed := loadSeed(t, "source.json")
	c := seed.Spaces[0].Collections
	for _, p := range c["projects"] {
		if p["Name"] == "Customer Portal" {
			tpl := p["Templates"].([]any)
			dup := map[string]any{}
			for k, v := range tpl[0].(map[string]any) {
				dup[k] = v
			}
			dup["Id"] = "99999999-8888-7777-6666-555555555555"
			p["Templates"] = append(tpl, dup)
		}
	}
	sim, url := simtest.Start(t, octosim.Options{Seed: seed})
	_, err := Run(context.Background(), connect(t, url, sim.APIKey(), nil), Options{})
	var ee *Error
	if !errors.As(err, &ee) {
		t.Fatalf("got %v, want an *Error", err)
	}
	t.Log(err)
	for _, want := range []string{
		"Project Customer Portal", `"Portal.Tenant.Subdomain"`, "5da5355c-f3e9-5d20-a043-45d5ad3885b8", "99999999-8888-7777-6666-555555555555",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not mention %q", want)
		}
	}
}

// TestFaults: 5xx, 429 with Retry-After, dropped connections and latency
// do not change the bundle; an unreachable server fails clearly and no
// bundle is written.
func TestFaults(t *testing.T) {
	seed := loadSeed(t, "source.json")
	clean, _ := exportSim(t, seed, Options{})
	sim, url := simtest.Start(t, octosim.Options{Seed: seed})
	c := connect(t, url, sim.APIKey(), nil)
	sim.SetFaults(octosim.Faults{
		Latency: 2 * time.Millisecond, Jitter: 3 * time.Millisecond,
		ErrorRate: 0.12, RateLimitRate: 0.08, DropRate: 0.08, Seed: 7,
	})
	res, err := Run(context.Background(), c, Options{Now: fixedNow, Concurrency: 8})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Retries == 0 {
		t.Fatal("no request was retried: the faults did not fire")
	}
	if res.Bundle.Digest() != clean.Bundle.Digest() {
		t.Errorf("the export under faults differs from the fault-free one")
	}
	t.Logf("%d requests, %d retries", res.Stats.Requests, res.Stats.Retries)

	t.Run("unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		out := filepath.Join(t.TempDir(), "bundle.tar.zst")
		// What the CLI does: connect, export, and only then write.
		err = func() error {
			c, err := octopus.Connect(context.Background(), octopus.Config{
				URL: "http://" + addr, APIKey: "API-UNREACHABLE0000000000000",
				Retry: octopus.Retry{Attempts: 2, Base: time.Millisecond},
			})
			if err != nil {
				return err
			}
			res, err := Run(context.Background(), c, Options{})
			if err != nil {
				return err
			}
			return res.Bundle.Write(out)
		}()
		if err == nil || !strings.Contains(err.Error(), "connect") || strings.Contains(err.Error(), "API-UNREACHABLE") {
			t.Errorf("got %v, want a connection error without the API key", err)
		}
		if _, serr := os.Stat(out); !os.IsNotExist(serr) {
			t.Errorf("a bundle was written at %s", out)
		}
	})
	t.Run("server fails mid-export", func(t *testing.T) {
		sim.ClearFaults()
		sim.AddFaultRule(octosim.FaultRule{PathPrefix: "/api/Spaces-1/variables", Status: 500, Times: -1})
		_, err := Run(context.Background(), c, Options{})
		if err == nil || !strings.Contains(err.Error(), "500") {
			t.Errorf("got %v, want the server's 500", err)
		}
	})
}

// idPattern matches the shape of any numbered server ID of the registry.
func idPattern() *regexp.Regexp {
	seen := map[string]bool{}
	var alts []string
	for _, k := range schema.Kinds() {
		if k.IDPrefix != "" && !seen[k.IDPrefix] {
			seen[k.IDPrefix] = true
			alts = append(alts, regexp.QuoteMeta(k.IDPrefix))
		}
	}
	sort.Strings(alts)
	return regexp.MustCompile(`\b(` + strings.Join(alts, "|") + `|Spaces|Users|Teams|UserRoles|Machines)-\d+\b|feeds-builtin|userroles-[a-z]+`)
}

// sourceGUIDs are the GUIDs the source uses as IDs (actions, steps,
// templates, variables).
func sourceGUIDs(seed *octosim.Instance) []string {
	found := map[string]bool{}
	data, _ := json.Marshal(seed)
	var doc any
	_ = json.Unmarshal(data, &doc)
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, c := range t {
				if s, ok := c.(string); ok && k == "Id" && schema.LooksLikeGUID(s) {
					found[s] = true
				}
				if schema.LooksLikeGUID(k) {
					found[k] = true
				}
				walk(c)
			}
		case []any:
			for _, c := range t {
				walk(c)
			}
		}
	}
	walk(doc)
	out := make([]string, 0, len(found))
	for g := range found {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

func walkStrings(v any, fn func(string)) {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			fn(k)
			walkStrings(c, fn)
		}
	case []any:
		for _, c := range t {
			walkStrings(c, fn)
		}
	case string:
		fn(t)
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestEntityPure: translate.ToBundle leaves the snapshot alone and gives the same value
// every time — the value the bundle holds (apply compares destination
// entities with a bundle through it).
func TestEntityPure(t *testing.T) {
	sim, url := simtest.Start(t, octosim.Options{Seed: loadSeed(t, "source.json")})
	c := connect(t, url, sim.APIKey(), nil)
	res, err := Run(context.Background(), c, Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	s, err := snapshot.Read(context.Background(), c, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, entry := range res.Bundle.Entries() {
		e := s.Find(entry.Kind.Name, entry.Names...)
		if e == nil {
			t.Errorf("%s: no such entity in the snapshot", entry.Path)
			continue
		}
		before := canonical(t, e.Doc())
		first, err := translate.ToBundle(s, e)
		if err != nil {
			t.Fatalf("%s: %v", entry.Path, err)
		}
		second, err := translate.ToBundle(s, e)
		if err != nil {
			t.Fatal(err)
		}
		if canonical(t, e.Doc()) != before {
			t.Errorf("%s: ToBundle changed the snapshot's document", entry.Path)
		}
		raw, _ := res.Bundle.Raw(entry.Path)
		if entry.Kind.Shape == schema.ShapeBinary {
			if !bytes.Equal(first.([]byte), raw) || !bytes.Equal(second.([]byte), raw) {
				t.Errorf("%s: ToBundle differs from the bundle, or between calls", entry.Path)
			}
			checked++
			continue
		}
		if got := canonical(t, first); got != string(raw) || canonical(t, second) != got {
			t.Errorf("%s: ToBundle differs from the bundle, or between calls", entry.Path)
		}
		checked++
	}
	if checked != res.Bundle.Len() || checked < 80 {
		t.Errorf("checked %d entities; the source has more", checked)
	}
}

func canonical(t testing.TB, v any) string {
	t.Helper()
	data, err := bundles.Canonical(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestSystemTeams: a system team's permissions in the space are not
// exported (the team belongs to the server); the export says so.
func TestSystemTeams(t *testing.T) {
	seed := loadSeed(t, "source.json")
	c := seed.Spaces[0].Collections
	c["teams"] = append(c["teams"], map[string]any{
		"Id": "teams-everyone", "Name": "Everyone", "MemberUserIds": []any{}, "CanBeDeleted": false,
	})
	c["scopeduserroles"] = append(c["scopeduserroles"], map[string]any{
		"Id": "ScopedUserRoles-99", "TeamId": "teams-everyone", "UserRoleId": "userroles-systemmanager", "SpaceId": "Spaces-1",
		"EnvironmentIds": []any{}, "ProjectIds": []any{}, "ProjectGroupIds": []any{}, "TenantIds": []any{},
	})
	res, _ := exportSim(t, seed, Options{})
	counts := res.Bundle.Manifest.Counts
	if counts[schema.Team] != 3 || counts[schema.ScopedUserRole] != 3 || counts[schema.UserRole] != 6 {
		t.Errorf("teams %d, scoped user role files %d, user roles %d; want 3, 3, 6 (the system team and its role left out)",
			counts[schema.Team], counts[schema.ScopedUserRole], counts[schema.UserRole])
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "Everyone") {
		t.Errorf("warnings %q, want one about the team Everyone", res.Warnings)
	}
}

// A step based on a step template that uses an older version of it is a
// warning naming the entity, the step, the template and both versions: the
// bundle holds no version, and apply gives the destination's step the
// template's current one.
func TestLaggingStepTemplateWarning(t *testing.T) {
	seed := loadSeed(t, "source.json")
	res, _ := exportSim(t, seed, Options{ToolVersion: "test"})
	for _, w := range res.Warnings {
		if strings.Contains(w, "uses step template") {
			t.Fatalf("the sample source has no lagging step, but: %s", w)
		}
	}
	// Make one step lag: its template is saved again (one version more).
	seed = loadSeed(t, "source.json")
	var template string
	for _, at := range seed.Spaces[0].Collections["actiontemplates"] {
		if at["Name"] == "Slack - Notify Deployment" {
			template = at["Id"].(string)
		}
	}
	sim, url := simtest.Start(t, octosim.Options{Seed: seed})
	c := connect(t, url, sim.APIKey(), nil)
	doc, err := c.Get(context.Background(), c.SpacePath("actiontemplates/"+template, false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(context.Background(), c.SpacePath("actiontemplates/"+template, false), doc); err != nil {
		t.Fatal(err)
	}
	res, err = Run(context.Background(), c, Options{ToolVersion: "test", Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range res.Warnings {
		if strings.Contains(w, "uses step template") {
			got = append(got, w)
		}
	}
	if len(got) == 0 || !strings.Contains(got[0], `Steps["Notify Slack"].Actions["Notify Slack"].Properties uses step template "Slack - Notify Deployment" at Version 3, which is at 4 now`) || !strings.Contains(got[0], "DeploymentProcess") {
		t.Errorf("warnings %q", got)
	}
}

// TestCaseCollision checks that two entities whose names differ only in
// case (their bundle paths would collide on case-insensitive file
// systems; Octopus itself refuses such names within a kind, but other
// tools may not) fail the export with the same message every time,
// although entities are converted and put into the bundle in parallel.
func TestCaseCollision(t *testing.T) {
	tests := []struct {
		name  string
		kind  string
		names []string
	}{
		{"two environments", schema.Environment, []string{"Production", "PRODUCTION"}},
		{"three environments", schema.Environment, []string{"Test", "TEST", "test"}},
		{"among many", schema.Environment, append([]string{"Stage", "STAGE"}, manyNames(60)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var first string
			for run := 0; run < 5; run++ {
				s := snapshot.New("https://source.example.com", "2025.2.1", "Spaces-1", "Default")
				k := schema.MustLookup(tt.kind)
				for i, n := range tt.names {
					id := fmt.Sprintf("%s-%d", k.IDPrefix, i+1)
					s.Add(snapshot.NewEntity(k, id, n, nil, map[string]any{"Id": id, "Name": n, "SpaceId": "Spaces-1"}))
					s.Index.Add(k.Name, "", id, n)
				}
				_, _, err := build(s, Options{}, slog.New(slog.DiscardHandler))
				var ee *Error
				if !errors.As(err, &ee) || !strings.Contains(err.Error(), "collides with") {
					t.Fatalf("got %v, want an *Error naming the collision", err)
				}
				if run == 0 {
					first = err.Error()
				} else if err.Error() != first {
					t.Fatalf("export %d failed differently:\n%s\nthe first:\n%s", run+1, err, first)
				}
			}
			t.Log(first)
		})
	}
}

func manyNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("Env %03d", i)
	}
	return out
}
