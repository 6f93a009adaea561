package transform

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/policy"
	"github.com/octobundle/octobundle/schema"
)

// golden reads the golden export of the sample source instance.
func golden(t *testing.T) *bundles.Bundle {
	t.Helper()
	b, err := bundles.Read("../testdata/golden/source", bundles.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ruleFiles parses testdata/rules/NAME.yaml for each name.
func ruleFiles(t *testing.T, names ...string) []*RuleFile {
	t.Helper()
	var out []*RuleFile
	for _, n := range names {
		p := filepath.Join("..", "testdata", "rules", n+".yaml")
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse("testdata/rules/"+n+".yaml", data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// inline parses rule text given in a test.
func inline(t *testing.T, text string) *RuleFile {
	t.Helper()
	f, err := Parse("inline.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// mustTransform runs the transform and fails the test on error.
func mustTransform(t *testing.T, files ...*RuleFile) (*bundles.Bundle, *Report) {
	t.Helper()
	out, rep, err := Transform(golden(t), files, Options{})
	if err != nil {
		var b strings.Builder
		_ = rep.WriteText(&b)
		t.Fatalf("%v\n%s", err, b.String())
	}
	problems, err := out.CheckReferences()
	if err != nil || len(problems) > 0 {
		t.Fatalf("output has dangling references: %v %v", problems, err)
	}
	return out, rep
}

func has(b *bundles.Bundle, kind string, names ...string) bool {
	_, ok := b.Entity(schema.MustLookup(kind), names...)
	return ok
}

func doc(t *testing.T, b *bundles.Bundle, kind string, names ...string) map[string]any {
	t.Helper()
	d, ok := b.Entity(schema.MustLookup(kind), names...)
	if !ok {
		t.Fatalf("%s %v: missing from the output", kind, names)
	}
	m, _ := d.(map[string]any)
	return m
}

func strs(v any) []string {
	return append([]string{}, asStrings(v)...)
}

// action returns the action named name of a process document, or nil.
func action(d map[string]any, name string) map[string]any {
	for _, s := range d["Steps"].([]any) {
		for _, a := range s.(map[string]any)["Actions"].([]any) {
			if am := a.(map[string]any); am["Name"] == name {
				return am
			}
		}
	}
	return nil
}

// values returns name's values as "scope → value" strings, sorted.
func values(d map[string]any, name string) []string {
	var out []string
	for _, v := range d["Variables"].([]any) {
		vm := v.(map[string]any)
		if vm["Name"] != name {
			continue
		}
		sc := valueScope(vm, schema.ValueSpec{Scope: "Scope"})
		out = append(out, scopeText(sc)[1:]+" → "+toString(vm["Value"]))
	}
	sort.Strings(out)
	return out
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return "<nil>"
}

func phaseNames(d map[string]any) []string {
	var out []string
	for _, p := range d["Phases"].([]any) {
		out = append(out, p.(map[string]any)["Name"].(string))
	}
	return out
}

func roles(t *testing.T, b *bundles.Bundle, team string) map[string][]string {
	d, ok := b.Entity(schema.MustLookup(schema.ScopedUserRole), team)
	if !ok {
		t.Fatalf("team %s has no roles file", team)
	}
	out := map[string][]string{}
	for _, r := range d.([]any) {
		m := r.(map[string]any)
		out[m["UserRoleId"].(string)] = strs(m["EnvironmentIds"])
	}
	return out
}

func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

// The seed's main example: Dev/Test/Staging/Production → Staging/Production.
func TestStagingProduction(t *testing.T) {
	out, rep := mustTransform(t, ruleFiles(t, "staging-production")...)
	for _, gone := range [][]string{
		{schema.Environment, "Development"}, {schema.Environment, "Test"},
		{schema.Lifecycle, "QA"}, {schema.Channel, "OctoFX", "QA"},
		{schema.Tenant, "Development Team A"}, {schema.TenantVariables, "Development Team A"},
		// restricted to Development and Test only: dropped, never unrestricted
		{schema.Account, "Azure Dev/Test Subscription"}, {schema.Certificate, "OctoFX Wildcard (Dev/Test)"},
		{schema.Runbook, "Infrastructure Runbooks", "Refresh Test Data"},
		{schema.RunbookProcess, "Infrastructure Runbooks", "Refresh Test Data"},
	} {
		if has(out, gone[0], gone[1:]...) {
			t.Errorf("%v is still in the output", gone)
		}
	}
	for _, kept := range [][]string{
		{schema.Environment, "Staging"}, {schema.Environment, "Production"}, {schema.Lifecycle, "Hotfix"},
		{schema.Channel, "OctoFX", "Default"}, {schema.Tenant, "Internal"}, {schema.Account, "Kubernetes Staging Token"},
		{schema.Account, "Azure Production Subscription"}, {schema.Runbook, "Infrastructure Runbooks", "Rotate Logs"},
	} {
		if !has(out, kept[0], kept[1:]...) {
			t.Errorf("%v is missing from the output", kept)
		}
	}
	eq(t, "Default Lifecycle phases", phaseNames(doc(t, out, schema.Lifecycle, "Default Lifecycle")), []string{"Staging", "Production"})
	proc := doc(t, out, schema.DeploymentProcess, "OctoFX")
	if action(proc, "QA Sign-off") != nil {
		t.Error("the QA Sign-off step is still in the OctoFX process")
	}
	eq(t, "Deploy Rate Service excluded environments", strs(action(proc, "Deploy Rate Service")["ExcludedEnvironments"]), []string{})
	eq(t, "Internal's OctoFX link", strs(doc(t, out, schema.Tenant, "Internal")["ProjectEnvironments"].(map[string]any)["OctoFX"]), []string{"Production", "Staging"})
	// Internal's OctoFX values keep their Staging and Production scopes;
	// the Development- and Test-only values are gone with their scope.
	eq(t, "Internal's OctoFX value environments", tenantValueEnvs(t, out, "Internal", "OctoFX"), []string{"Production", "Staging"})
	eq(t, "OctoFX Developers roles", roles(t, out, "OctoFX Developers"), map[string][]string{
		"Project contributor": {}, "Runbook Operator": {"Staging"}, // "Project deployer" was Development/Test only
	})
	eq(t, "QA Team roles", roles(t, out, "QA Team"), map[string][]string{"Release Approver": {"Staging"}})
	vars := doc(t, out, schema.ProjectVariables, "OctoFX")
	eq(t, "Application.Database.Name", values(vars, "Application.Database.Name"), []string{
		"(Environment=Production) → OctoFx", "(Environment=Staging) → OctoFx-Staging",
		"(Machine=octofx-web-prod-01,octofx-web-prod-02,oracle-prod-01) → OctoFX-Tenant",
	})
	for _, name := range []string{"QA.TestSuite", "QA.Approver", "OctoFX.Rates.Replicas"} {
		got := values(vars, name)
		if name == "OctoFX.Rates.Replicas" {
			eq(t, name, got, []string{"(Action=Deploy Rate Service) → 3"})
			continue
		}
		eq(t, name, got, []string(nil))
	}
	// The manifest records the rule file, its digest and normalised text.
	if len(out.Manifest.Rules) != 1 || out.Manifest.Rules[0].Name != "testdata/rules/staging-production.yaml" ||
		!strings.HasPrefix(out.Manifest.Rules[0].Digest, "sha256:") || !strings.Contains(out.Manifest.Rules[0].Text, `"Development Team A"`) {
		t.Errorf("manifest rules: %+v", out.Manifest.Rules)
	}
	if len(rep.Warnings) != 0 || rep.Counts[ActDropped] == 0 {
		t.Errorf("report: warnings %v counts %v", rep.Warnings, rep.Counts)
	}
	// Every change names its rule.
	for _, c := range rep.Changes {
		if c.Rule == "" || c.Path == "" {
			t.Errorf("change without rule or path: %+v", c)
		}
	}
	// Deterministic: the same input and rules give the same bytes.
	again, _ := mustTransform(t, ruleFiles(t, "staging-production")...)
	if again.Digest() != out.Digest() {
		t.Errorf("two runs differ: %s vs %s", again.Digest(), out.Digest())
	}
}

// Dev/Test → Staging/Production: Development and Test merge into Staging.
func TestMerge(t *testing.T) {
	out, rep := mustTransform(t, ruleFiles(t, "devtest-merge")...)
	if has(out, schema.Environment, "Development") || has(out, schema.Environment, "Test") {
		t.Error("merged environments are still in the output")
	}
	lc := doc(t, out, schema.Lifecycle, "Default Lifecycle")
	eq(t, "Default Lifecycle phases", phaseNames(lc), []string{"Staging", "Production"})
	eq(t, "QA lifecycle phases", phaseNames(doc(t, out, schema.Lifecycle, "QA")), []string{"Test"})
	vars := doc(t, out, schema.ProjectVariables, "OctoFX")
	eq(t, "Application.Database.Name", values(vars, "Application.Database.Name"), []string{
		"(Environment=Production) → OctoFx", "(Environment=Staging) → OctoFx-Staging",
		"(Machine=octofx-web-prod-01,octofx-web-prod-02,oracle-prod-01) → OctoFX-Tenant",
	})
	eq(t, "OctoFX.Certificate", values(vars, "OctoFX.Certificate"), []string{
		"(Environment=Production,Staging) → OctoFX Production", "(Environment=Staging) → OctoFX Wildcard (Dev/Test)",
	})
	eq(t, "QA Sign-off environments", strs(action(doc(t, out, schema.DeploymentProcess, "OctoFX"), "QA Sign-off")["Environments"]), []string{"Staging"})
	eq(t, "Internal's OctoFX link", strs(doc(t, out, schema.Tenant, "Internal")["ProjectEnvironments"].(map[string]any)["OctoFX"]), []string{"Production", "Staging"})
	eq(t, "Team A's OctoFX link", strs(doc(t, out, schema.Tenant, "Development Team A")["ProjectEnvironments"].(map[string]any)["OctoFX"]), []string{"Staging"})
	eq(t, "Internal's Staging database", tenantValue(t, out, "Internal", "OctoFX", "OctoFX.Tenant.DatabaseName", "Staging"), "OctoFX-Internal-stg")
	eq(t, "Dev/Test account", strs(doc(t, out, schema.Account, "Azure Dev/Test Subscription")["EnvironmentIds"]), []string{"Staging"})
	eq(t, "OctoFX Developers roles", roles(t, out, "OctoFX Developers")["Project deployer"], []string{"Staging"})
	if rep.Counts[ActMerged] != 18 {
		t.Errorf("merged count %d, want 18 (2 environments, 4 duplicate variable values, 12 duplicate tenant values)", rep.Counts[ActMerged])
	}
}

// The QA lifecycle and channel with its manual intervention step: each of
// the seed's four answers, and the channel-scoped value with it.
func TestQAStepAnswers(t *testing.T) {
	tests := []struct {
		file           string
		present        bool
		envs, channels []string
		testSuite      []string
	}{
		{"qa-step-drop", false, nil, nil, nil},
		{"qa-step-staging", true, []string{"Staging"}, []string{}, []string{"(Environment=Staging) → full-regression"}},
		{"qa-step-signoff", true, []string{"Staging"}, []string{"Default"}, []string{"(Channel=Default Environment=Staging) → full-regression"}},
		{"qa-step-anywhere", true, []string{}, []string{}, []string{"(unscoped) → full-regression"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			out, rep := mustTransform(t, ruleFiles(t, "staging-production", tt.file)...)
			a := action(doc(t, out, schema.DeploymentProcess, "OctoFX"), "QA Sign-off")
			if (a != nil) != tt.present {
				t.Fatalf("QA Sign-off present = %v, want %v", a != nil, tt.present)
			}
			if a != nil {
				eq(t, "environments", strs(a["Environments"]), tt.envs)
				eq(t, "channels", strs(a["Channels"]), tt.channels)
			}
			vars := doc(t, out, schema.ProjectVariables, "OctoFX")
			eq(t, "QA.TestSuite", values(vars, "QA.TestSuite"), tt.testSuite)
			// The value scoped to the step lives exactly as long as the step.
			if got := values(vars, "QA.Approver"); (len(got) == 1) != tt.present {
				t.Errorf("QA.Approver = %v with the step present = %v", got, tt.present)
			}
			if len(rep.Warnings) != 0 {
				t.Errorf("warnings: %v", rep.Warnings)
			}
		})
	}
}

// ConnectionString / Application.Database.Name, initial sync.
func TestConnectionString(t *testing.T) {
	out, _ := mustTransform(t, ruleFiles(t, "staging-production", "connection-string")...)
	vars := doc(t, out, schema.ProjectVariables, "OctoFX")
	eq(t, "Application.Database.Name", values(vars, "Application.Database.Name"), []string{
		"(Environment=Production) → OctoFx", "(Environment=Staging) → OctoFx-Staging",
		"(Machine=octofx-web-prod-01,octofx-web-prod-02,oracle-prod-01) → OctoFX-Tenant",
		"(unscoped) → Replace Me",
	})
	eq(t, "ConnectionString", values(vars, "ConnectionString"), []string{
		"(Environment=Production) → Server=sql-prod.internal;Database=#{Application.Database.Name}",
		"(Role=Oracle) → Data Source=#{Application.Database.Name}",
		"(Role=SQL-Server) → Database=#{Application.Database.Name}",
	})
	p, err := out.ApplyPolicy()
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "owned", p.Owned, []policy.ValueSelector{{Kind: "ProjectVariables", Owner: "OctoFX", Name: "Application.Database.Name", Rule: "testdata/rules/connection-string.yaml:17"}})
	eq(t, "placeholder", p.Placeholder, "Replace Me")
	if _, ok := policy.New(p, policy.Flags{}).Owns(policy.Value{Kind: "ProjectVariables", Owner: "OctoFX", Name: "Application.Database.Name"}); !ok {
		t.Error("apply would not treat the value as destination-owned")
	}
}

// Tenants Internal (kept, Staging/Production) and Development Team A (dropped).
func TestTenants(t *testing.T) {
	out, _ := mustTransform(t, ruleFiles(t, "tenants")...)
	if has(out, schema.Tenant, "Development Team A") || has(out, schema.TenantVariables, "Development Team A") {
		t.Error("Development Team A is still in the output")
	}
	pe := doc(t, out, schema.Tenant, "Internal")["ProjectEnvironments"].(map[string]any)
	eq(t, "Internal's links", map[string][]string{"Customer Portal": strs(pe["Customer Portal"]), "OctoFX": strs(pe["OctoFX"])},
		map[string][]string{"Customer Portal": {"Production", "Staging"}, "OctoFX": {"Production", "Staging"}})
	eq(t, "Internal's Production database", tenantValue(t, out, "Internal", "OctoFX", "OctoFX.Tenant.DatabaseName", "Production"), "OctoFX-Internal-dr")
	eq(t, "Internal's Staging database", tenantValue(t, out, "Internal", "OctoFX", "OctoFX.Tenant.DatabaseName", "Staging"), "OctoFX-Internal-stg")
	// onEmpty drop: the QA lifecycle, left with no phase, goes, and the QA
	// channel with it.
	if has(out, schema.Lifecycle, "QA") || has(out, schema.Channel, "OctoFX", "QA") {
		t.Error("the emptied QA lifecycle or its channel is still in the output")
	}
}

// A value scoped to Machine1–3: skip unless partial match, an apply-time policy.
func TestMachinePartial(t *testing.T) {
	out, _ := mustTransform(t, ruleFiles(t, "machine-partial")...)
	p, err := out.ApplyPolicy()
	if err != nil || p == nil {
		t.Fatalf("policy %v, %v", p, err)
	}
	eq(t, "scope rules", p.ScopeMismatch, []policy.ScopeRule{{Dimension: "Machine", Mode: policy.ScopePartial,
		Select: policy.ValueSelector{Kind: "ProjectVariables", Owner: "OctoFX", Name: "Application.Database.Name"},
		Rule:   "testdata/rules/machine-partial.yaml:7"}})
	mode, by, ok := policy.New(p, policy.Flags{}).ScopeMode(schema.LookupDimension("Machine"), policy.Value{Kind: "ProjectVariables", Owner: "OctoFX", Name: "Application.Database.Name"})
	if !ok || mode != policy.ScopePartial || by.Layer != policy.LayerFile {
		t.Errorf("mode %q %v %v", mode, by, ok)
	}
	vars := doc(t, out, schema.ProjectVariables, "OctoFX")
	if got := values(vars, "Application.Database.Name"); len(got) != 5 {
		t.Errorf("the machine-scoped value must stay in the bundle for apply to decide: %v", got)
	}
}

// Team role scoping after dropped tenants: narrowed, or dropped when empty.
func TestTeamRoles(t *testing.T) {
	out, _ := mustTransform(t, ruleFiles(t, "team-roles")...)
	eq(t, "Customer Success roles", roles(t, out, "Customer Success"), map[string][]string{"Project viewer": {}})
	if has(out, schema.Certificate, "Acme Corp Portal") || has(out, schema.Account, "Acme Corp AWS") {
		t.Error("tenant-restricted certificate or account still in the output")
	}
	p, _ := out.ApplyPolicy()
	eq(t, "provided", p.Provided, map[string][]string{"Account": {"Acme Corp AWS"}})
	if got := values(doc(t, out, schema.ProjectVariables, "Customer Portal"), "Portal.Certificate"); len(got) != 0 {
		t.Errorf("the value naming the dropped certificate stays: %v", got)
	}

	// Dropping one tenant narrows the role; it is never widened.
	out, _ = mustTransform(t, inline(t, "apiVersion: octobundle/rules/v1\nrules:\n  - drop: {kind: Tenant, name: Globex}\n"))
	d, _ := out.Entity(schema.MustLookup(schema.ScopedUserRole), "Customer Success")
	for _, r := range d.([]any) {
		if m := r.(map[string]any); m["UserRoleId"] == "Tenant manager" {
			eq(t, "Tenant manager tenants", strs(m["TenantIds"]), []string{"Acme Corp"})
		}
	}
}

// A restriction list is never silently widened: an account restricted to
// Staging only, after Staging is dropped, is dropped or is an error.
func TestNeverWidened(t *testing.T) {
	base := "apiVersion: octobundle/rules/v1\nrules:\n  - merge: {kind: Environment, name: Staging, into: Production}\n  - drop: {kind: Environment, name: Production}\n  - destination: {kind: Environment, name: Production}\n"
	_ = base
	tests := []struct {
		name, extra string
		wantErr     string
		present     bool
		envs        []string
	}{
		{name: "default drops", present: false},
		{name: "error", extra: "  - onLostScope: {kind: Account, do: error}\n", wantErr: `accounts/Kubernetes Staging Token.json: Kubernetes Staging Token lost its whole Environment ("Staging") scope`},
		{name: "unscope only when a rule says so", extra: "  - onLostScope: {kind: Account, name: Kubernetes*, do: unscope}\n", present: true, envs: []string{}},
		{name: "rescope", extra: "  - onLostScope: {kind: Account, do: rescope, to: {Environment: [Production]}}\n", present: true, envs: []string{"Production"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules := "apiVersion: octobundle/rules/v1\nrules:\n  - drop: {kind: Environment, name: Staging}\n  - onEmpty: {kind: Lifecycle, do: drop}\n" + tt.extra
			out, rep, err := Transform(golden(t), []*RuleFile{inline(t, rules)}, Options{})
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrFailed) || len(rep.Errors) == 0 || !strings.Contains(rep.Errors[0].String(), tt.wantErr) {
					t.Fatalf("err %v, report errors %v; want %q", err, rep.Errors, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v: %v", err, rep.Errors)
			}
			if has(out, schema.Account, "Kubernetes Staging Token") != tt.present {
				t.Fatalf("account present = %v, want %v", !tt.present, tt.present)
			}
			if tt.present {
				eq(t, "EnvironmentIds", strs(doc(t, out, schema.Account, "Kubernetes Staging Token")["EnvironmentIds"]), tt.envs)
			}
		})
	}
}

// Selection, renames and per-kind policy, table-driven.
func TestSelection(t *testing.T) {
	tests := []struct {
		name  string
		rules string
		check func(t *testing.T, out *bundles.Bundle, rep *Report)
	}{
		{"keep projects of a group", "- keep: {kind: Project, refersTo: {ProjectGroup: Trading Platform}}", func(t *testing.T, out *bundles.Bundle, _ *Report) {
			for p, want := range map[string]bool{"OctoFX": true, "Customer Portal": true, "Infrastructure Runbooks": false, "Release Notes Bot": false} {
				if has(out, schema.Project, p) != want || has(out, schema.DeploymentProcess, p) != want {
					t.Errorf("project %s present != %v", p, want)
				}
			}
			// The dropped project leaves the team's role scope; the role remains.
			if got := roles(t, out, "OctoFX Developers"); len(got) != 2 {
				t.Errorf("OctoFX Developers roles %v", got)
			}
		}},
		{"drop tenants by tag", "- drop: {kind: Tenant, tag: Tier/Free}", func(t *testing.T, out *bundles.Bundle, _ *Report) {
			for tn, want := range map[string]bool{"Globex": false, "Development Team A": false, "Acme Corp": true, "Internal": true} {
				if has(out, schema.Tenant, tn) != want {
					t.Errorf("tenant %s present != %v", tn, want)
				}
			}
		}},
		{"exclude a channel", "- drop: {kind: Channel, owner: OctoFX, name: QA}", func(t *testing.T, out *bundles.Bundle, _ *Report) {
			if has(out, schema.Channel, "OctoFX", "QA") || !has(out, schema.Lifecycle, "QA") {
				t.Error("the channel must go and its lifecycle stay")
			}
			vars := doc(t, out, schema.ProjectVariables, "OctoFX")
			eq(t, "QA.TestSuite (scoped only to the channel)", values(vars, "QA.TestSuite"), []string(nil))
			// Scoped to the channel and Test: it applied only on that
			// channel, so it goes too (never widened to every channel).
			eq(t, "OctoFX.Rates.Replicas", values(vars, "OctoFX.Rates.Replicas"), []string{"(Action=Deploy Rate Service) → 3"})
		}},
		{"rename an environment", "- rename: {kind: Environment, name: Production, to: Live}", func(t *testing.T, out *bundles.Bundle, _ *Report) {
			if has(out, schema.Environment, "Production") || !has(out, schema.Environment, "Live") {
				t.Fatal("rename did not move the entity")
			}
			eq(t, "name field", doc(t, out, schema.Environment, "Live")["Name"], "Live")
			eq(t, "Hotfix phases targets", strs(doc(t, out, schema.Lifecycle, "Hotfix")["Phases"].([]any)[1].(map[string]any)["OptionalDeploymentTargets"]), []string{"Live"})
			eq(t, "tenant value environments", tenantValueEnvs(t, out, "Acme Corp", "OctoFX"), []string{"Live", "Staging"})
		}},
		{"rename a project moves its files", "- rename: {kind: Project, name: OctoFX, to: OctoFX Classic}", func(t *testing.T, out *bundles.Bundle, _ *Report) {
			if !has(out, schema.Channel, "OctoFX Classic", "QA") || !has(out, schema.ProjectVariables, "OctoFX Classic") {
				t.Fatal("children did not move")
			}
			eq(t, "Acme link", strs(doc(t, out, schema.Tenant, "Acme Corp")["ProjectEnvironments"].(map[string]any)["OctoFX Classic"]), []string{"Production", "Staging"})
		}},
		{"drop a tag set", "- drop: {kind: TagSet, name: Tier}", func(t *testing.T, out *bundles.Bundle, _ *Report) {
			eq(t, "Acme Corp tags", strs(doc(t, out, schema.Tenant, "Acme Corp")["TenantTags"]), []string{"Region/East"})
			// Values scoped only to Tier tags lose their scope: dropped.
			eq(t, "OctoFX.Features.RealTimeRates", values(doc(t, out, schema.ProjectVariables, "OctoFX"), "OctoFX.Features.RealTimeRates"), []string(nil))
		}},
		{"apply policy per kind", "- applyPolicy: {kind: Account, policy: exist}\n- applyPolicy: {kind: ActionTemplate, policy: skip}\n- applyPolicy: {kind: Lifecycle, policy: exact}", func(t *testing.T, out *bundles.Bundle, _ *Report) {
			p, _ := out.ApplyPolicy()
			eq(t, "kinds", p.Kinds, map[string]schema.Policy{"Account": "exist", "ActionTemplate": "skip", "Lifecycle": "exact"})
		}},
		{"unmatched rule warns", "- drop: {kind: Feed, name: Nexus}", func(t *testing.T, _ *bundles.Bundle, rep *Report) {
			if len(rep.Warnings) != 1 || rep.Warnings[0].Rule != "inline.yaml:3" {
				t.Errorf("warnings %v", rep.Warnings)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := inline(t, "apiVersion: octobundle/rules/v1\nrules:\n  "+strings.ReplaceAll(tt.rules, "\n", "\n  ")+"\n")
			out, rep := mustTransform(t, f)
			tt.check(t, out, rep)
		})
	}
}

// Rules that cannot apply are errors naming the rule, entity and field.
func TestTransformErrors(t *testing.T) {
	tests := []struct {
		name, rules string
		strict      bool
		want        string
	}{
		{"dropped worker pool", "- drop: {kind: WorkerPool, name: Ubuntu Worker Pool}",
			false, `projects/OctoFX/deployment-process.json: /Steps/0/Actions/0/WorkerPoolId: refers to WorkerPool "Ubuntu Worker Pool", which the rules drop (inline.yaml:3)`},
		{"dropped lifecycle of a project", "- drop: {kind: Lifecycle, name: Default Lifecycle}",
			false, `projects/OctoFX/project.json: /LifecycleId: refers to Lifecycle "Default Lifecycle"`},
		{"emptied lifecycle", "- drop: {kind: Environment, name: [Development, Test]}",
			false, `lifecycles/QA.json: /Phases: no Phases left`},
		{"rename onto an existing name", "- rename: {kind: Environment, name: Test, to: Staging}",
			false, `inline.yaml:3: rename Environment "Test" to "Staging": that name exists; use merge`},
		{"merge into a missing entity", "- merge: {kind: Environment, name: Test, into: QA}",
			false, `inline.yaml:3: merge into Environment "QA": the bundle has no such environments`},
		{"set a sensitive value", "- setValue: {in: ProjectVariables, owner: OctoFX, name: OctoFX.Pricing.ApiKey, value: x}",
			false, `inline.yaml:3: projects/OctoFX/variables.json: "OctoFX.Pricing.ApiKey" is sensitive`},
		{"strict warning", "- drop: {kind: Feed, name: Nexus}", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := inline(t, "apiVersion: octobundle/rules/v1\nrules:\n  "+tt.rules+"\n")
			out, rep, err := Transform(golden(t), []*RuleFile{f}, Options{Strict: tt.strict})
			if err == nil || out != nil || !errors.Is(err, ErrFailed) {
				t.Fatalf("got %v, %v; want a failure", out, err)
			}
			if tt.want == "" {
				return
			}
			var all []string
			for _, m := range rep.Errors {
				all = append(all, m.String())
			}
			if !strings.Contains(strings.Join(all, "\n"), tt.want) {
				t.Errorf("errors:\n%s\nwant one containing %q", strings.Join(all, "\n"), tt.want)
			}
		})
	}
}

// Several files compose in order: a later rule wins.
func TestCompose(t *testing.T) {
	base := inline(t, "apiVersion: octobundle/rules/v1\nrules:\n  - placeholder: base\n  - drop: {kind: Tenant, name: Globex}\n")
	site, err := Parse("site.yaml", []byte("apiVersion: octobundle/rules/v1\nrules:\n  - placeholder: site\n"))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := mustTransform(t, base, site)
	p, _ := out.ApplyPolicy()
	eq(t, "placeholder", p.Placeholder, "site")
	eq(t, "rule files", []string{out.Manifest.Rules[0].Name, out.Manifest.Rules[1].Name}, []string{"inline.yaml", "site.yaml"})
}

// tenantValueEnvs returns, sorted, the environments the tenant's values
// for project are scoped to; a value left with none fails the test (an
// empty list would widen it to every environment).
func tenantValueEnvs(t *testing.T, out *bundles.Bundle, tenant, project string) []string {
	t.Helper()
	envs := map[string]bool{}
	for _, v := range doc(t, out, schema.TenantVariables, tenant)["ProjectVariables"].([]any) {
		m := v.(map[string]any)
		if m["ProjectId"] != project {
			continue
		}
		sc := strs(m["Scope"].(map[string]any)["EnvironmentIds"])
		if len(sc) == 0 {
			t.Errorf("a %s value of %s has no environment left: %v", project, tenant, m)
		}
		for _, e := range sc {
			envs[e] = true
		}
	}
	return slices.Sorted(maps.Keys(envs))
}

// tenantValue returns the value of the tenant's project template that
// applies in env; more than one is an error (Octopus refuses two values of
// one template sharing an environment).
func tenantValue(t *testing.T, out *bundles.Bundle, tenant, project, template, env string) any {
	t.Helper()
	var found []any
	for _, v := range doc(t, out, schema.TenantVariables, tenant)["ProjectVariables"].([]any) {
		m := v.(map[string]any)
		if m["ProjectId"] == project && m["TemplateId"] == template && slices.Contains(strs(m["Scope"].(map[string]any)["EnvironmentIds"]), env) {
			found = append(found, m["Value"])
		}
	}
	if len(found) != 1 {
		t.Errorf("%s %s %s in %s: %d values %v, want one", tenant, project, template, env, len(found), found)
		return nil
	}
	return found[0]
}

// A signature covers the input's digest: the output is another bundle, so
// it carries no signature, and the report says so (not silently).
func TestSignatureDoesNotCarryOver(t *testing.T) {
	in := golden(t)
	if err := in.SetSignature([]byte("untrusted comment: test\n")); err != nil {
		t.Fatal(err)
	}
	out, rep, err := Transform(in, ruleFiles(t, "staging-production"), Options{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Signature()) != 0 {
		t.Error("the output carries the input's signature")
	}
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0].Text, "was signed") || !strings.Contains(rep.Notes[0].Text, "octobundle sign") {
		t.Errorf("notes %v", rep.Notes)
	}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil || !strings.Contains(b.String(), "note: the input bundle (sha256:") {
		t.Errorf("text report lacks the note: %v\n%s", err, b.String())
	}
	// An unsigned input gets no note.
	if _, rep, _ := Transform(golden(t), ruleFiles(t, "staging-production"), Options{}); len(rep.Notes) != 0 {
		t.Errorf("unsigned input: notes %v", rep.Notes)
	}
}

// TestOnConflictRule: an onConflict rule becomes a policy.File.Conflicts
// entry naming its rule; a wrong winner is a rule file error.
func TestOnConflictRule(t *testing.T) {
	out, rep := mustTransform(t, inline(t, "apiVersion: octobundle/rules/v1\nrules:\n  - onConflict: {kind: DeploymentProcess, entity: OctoFX, field: \"Steps/Deploy OctoFX Web/**\", winner: destination}\n"))
	p, err := out.ApplyPolicy()
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "conflicts", p.Conflicts, []policy.ConflictRule{{Kind: "DeploymentProcess", Entity: "OctoFX", Field: "Steps/Deploy OctoFX Web/**", Winner: "destination", Rule: "inline.yaml:3"}})
	if len(rep.Warnings) != 0 {
		t.Errorf("warnings: %v", rep.Warnings)
	}
	if _, err := Parse("bad.yaml", []byte("apiVersion: octobundle/rules/v1\nrules:\n  - onConflict: {kind: DeploymentProcess, winner: mine}\n")); err == nil || !strings.Contains(err.Error(), "bad.yaml:3") {
		t.Errorf("a wrong winner: %v", err)
	}
}

// Progress is reported for every entity of every cascade round, ending
// each round at its total.
func TestProgress(t *testing.T) {
	var calls, ends int
	last := 0
	_, _, err := Transform(golden(t), ruleFiles(t, "staging-production"), Options{Progress: func(done, total int) {
		calls++
		if done < 1 || done > total || (done != last+1 && done != 1) {
			t.Fatalf("progress %d/%d after %d", done, total, last)
		}
		if done == total {
			ends++
		}
		last = done
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 || ends == 0 || last != calls/ends {
		t.Errorf("%d calls, %d rounds ended, last %d", calls, ends, last)
	}
}

// TestGuardRules: a rule marked guard: true that matches nothing is no
// warning, so --strict and guard rules go together (issue 23 item 5); an
// unmarked one is a warning of kind unmatched-rule, which --strict fails
// on and whose text says how to mark a guard; a guard that matches acts as
// any rule does.
func TestGuardRules(t *testing.T) {
	tests := []struct {
		name, rules  string
		wantWarnings []string
		strictFails  bool
	}{
		{"guard matching nothing", "- onLostScope: {kind: Account, do: error}\n    guard: true", nil, false},
		{"guard drop matching nothing", "- drop: {kind: Feed, name: Nexus}\n    guard: true", nil, false},
		{"unmarked rule matching nothing", "- onLostScope: {kind: Account, do: error}",
			[]string{"unmatched-rule: inline.yaml:3: onLostScope matched nothing (a rule meant to match nothing says guard: true)"}, true},
		{"guard that matches", "- drop: {kind: Environment, name: Test}\n    guard: true", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := inline(t, "apiVersion: octobundle/rules/v1\nrules:\n  "+tt.rules+"\n")
			out, rep, err := Transform(golden(t), []*RuleFile{f}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range rep.Warnings {
				got = append(got, w.Kind+": "+w.String())
			}
			if !slices.Equal(got, tt.wantWarnings) {
				t.Errorf("warnings %q, want %q", got, tt.wantWarnings)
			}
			if strings.Contains(tt.rules, "Environment, name: Test") {
				env := schema.MustLookup(schema.Environment)
				if _, had := golden(t).Entity(env, "Test"); !had {
					t.Fatal("the golden bundle has no environment Test")
				}
				if _, kept := out.Entity(env, "Test"); kept {
					t.Error("a guard that matches did not act")
				}
			}
			_, _, err = Transform(golden(t), []*RuleFile{f}, Options{Strict: true})
			if fails := err != nil; fails != tt.strictFails {
				t.Errorf("--strict failed: %v (%v), want %v", fails, err, tt.strictFails)
			}
		})
	}
}
