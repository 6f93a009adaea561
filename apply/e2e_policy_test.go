package apply

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/apply/render"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/policy"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/translate"
)

// The bundle's apply policy end to end: bundles holding the policy are
// planned and applied to the sample destination over loopback HTTP, and
// the destination is read back.

// policyBundle returns a sealed bundle with the manifest of base, the
// given entities (kind → names joined by "/" → document) and policy pol.
func policyBundle(t *testing.T, base *bundles.Bundle, entities map[string]map[string]any, pol *policy.File) *bundles.Bundle {
	t.Helper()
	b := bundles.New(base.Manifest)
	for kind, byName := range entities {
		for names, doc := range byName {
			if _, err := b.PutEntity(schema.MustLookup(kind), strings.Split(names, "/"), schema.DeepCopy(doc)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := b.SetApplyPolicy(pol); err != nil {
		t.Fatal(err)
	}
	if err := b.Seal(); err != nil {
		t.Fatal(err)
	}
	return b
}

// variable builds a bundle-form variable.
func variable(name string, value any, scope map[string][]string) map[string]any {
	sc := map[string]any{}
	for dim, entries := range scope {
		l := make([]any, len(entries))
		for i, e := range entries {
			l[i] = e
		}
		sc[dim] = l
	}
	sensitive := value == nil
	typ := "String"
	if sensitive {
		typ = "Sensitive"
	}
	return map[string]any{"Name": name, "Value": value, "Scope": sc, "IsSensitive": sensitive, "Type": typ,
		"Description": nil, "IsEditable": true, "Prompt": nil}
}

// destVariables reads the destination's variables of a project (or library
// variable set) in bundle form: identity label → value.
func destVariables(t *testing.T, s *sim, kind, owner string) map[string]any {
	t.Helper()
	snap := checkAllReferencesResolve(t, s)
	e := snap.Find(kind, owner)
	if e == nil {
		t.Fatalf("no %s %s on the destination", kind, owner)
	}
	form, err := translate.ToBundle(snap, e)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for _, v := range form.(map[string]any)["Variables"].([]any) {
		id, _ := bundles.Identify(v)
		out[id.Label] = v.(map[string]any)["Value"]
	}
	return out
}

func TestScopeMismatchPolicy(t *testing.T) {
	ctx := context.Background()
	src := startSim(t, "source.json", octosim.Options{})
	base := exportBundle(t, src, false)

	type scope = map[string][]string
	// One variable per case. The destination has the environments Staging,
	// Production and DR, OctoFX's channel Default, the actions "Deploy
	// OctoFX Database", "Deploy OctoFX Web", "Smoke Test Web" and "Warm
	// Legacy Cache", targets octofx-web-prod-01 … with the roles
	// octofx-web, SQL-Server and octofx-k8s, the tags Region/East,
	// Region/West, Tier/Free and Tier/Premium. want is the value's scope
	// after apply ("" when it must not be on the destination); note is a
	// part of its plan line.
	cases := []struct {
		name  string
		scope scope
		dim   string
		mode  policy.ScopeMode // "" for the registry default
		want  string
		note  string
	}{
		{"T.Env.Default", scope{"Environment": {"Development", "Production"}}, "", "", `Environment=Production`, `rescoped: partial match, Development dropped from its Environment (partial: registry default)`},
		{"T.Env.Exact", scope{"Environment": {"Development", "Production"}}, "Environment", policy.ScopeExact, ``, `skipped: Environment Development not on the destination (exact: rule env.yaml:1)`},
		{"T.Env.PartialNone", scope{"Environment": {"Development", "Test"}}, "Environment", policy.ScopePartial, ``, `skipped: Environment Development, Test not on the destination (partial: rule env.yaml:1)`},
		{"T.Env.Ignore", scope{"Environment": {"Development"}}, "Environment", policy.ScopeIgnore, `(unscoped)`, `rescoped: Environment Development not on the destination; unscoped in Environment (ignore: rule env.yaml:1)`},
		{"T.Env.IgnoreKeepsRole", scope{"Environment": {"Development"}, "Role": {"octofx-web"}}, "Environment", policy.ScopeIgnore, `Role=octofx-web`, `unscoped in Environment`},
		{"T.Env.Match", scope{"Environment": {"Staging"}}, "Environment", policy.ScopeExact, `Environment=Staging`, ``},
		{"T.Chan.Default", scope{"Channel": {"QA"}}, "", "", ``, `skipped: Channel QA not on the destination (partial: registry default)`},
		{"T.Chan.Partial", scope{"Channel": {"Default", "QA"}}, "Channel", policy.ScopePartial, `Channel=Default`, `partial match, QA dropped from its Channel`},
		{"T.Chan.Ignore", scope{"Channel": {"QA"}, "Environment": {"Production"}}, "Channel", policy.ScopeIgnore, `Environment=Production`, `unscoped in Channel (ignore`},
		{"T.Machine.Default", scope{"Machine": {"gone-01", "octofx-web-prod-01"}}, "", "", `Machine=octofx-web-prod-01`, `partial match, gone-01 dropped from its Machine (partial: registry default)`},
		{"T.Machine.None", scope{"Machine": {"gone-01"}}, "", "", ``, `skipped: Machine gone-01 not on the destination (partial: registry default)`},
		{"T.Machine.Exact", scope{"Machine": {"gone-01", "octofx-web-prod-01"}}, "Machine", policy.ScopeExact, ``, `skipped: Machine gone-01 not on the destination (exact`},
		{"T.Role.Default", scope{"Role": {"Oracle"}}, "", "", `Role=Oracle`, ``},
		{"T.Role.Partial", scope{"Role": {"Oracle"}}, "Role", policy.ScopePartial, ``, `skipped: Role Oracle not on the destination (partial: rule env.yaml:1)`},
		{"T.Role.Ignore", scope{"Role": {"Oracle", "SQL-Server"}}, "Role", policy.ScopeIgnore, `Role=SQL-Server`, `Oracle dropped from its Role (ignore`},
		{"T.Tag.Default", scope{"TenantTag": {"Region/East", "Tier/Gold"}}, "", "", ``, `skipped: TenantTag Tier/Gold not on the destination (exact: registry default)`},
		{"T.Tag.Partial", scope{"TenantTag": {"Tier/Free", "Tier/Gold"}}, "TenantTag", policy.ScopePartial, `TenantTag=Tier/Free`, `Tier/Gold dropped from its TenantTag`},
		{"T.Action.Default", scope{"Action": {"Deploy OctoFX Web", "QA Sign-off"}}, "", "", `Action="Deploy OctoFX Web"`, `QA Sign-off dropped from its Action (partial: registry default)`},
		{"T.Owner.Exact", scope{"ProcessOwner": {"OctoFX", "Toggle Maintenance Mode"}}, "ProcessOwner", policy.ScopeExact, ``, `skipped: ProcessOwner Toggle Maintenance Mode not on the destination (exact`},
		{"T.New.IgnoreNew", scope{"Environment": {"Development"}, "Channel": {"Default"}}, "Environment", policy.ScopeIgnoreNew, `Channel=Default`, `unscoped in Environment (ignore-new: rule env.yaml:1)`},
	}
	var vars []any
	pol := &policy.File{}
	for _, tc := range cases {
		vars = append(vars, variable(tc.name, "v-"+tc.name, tc.scope))
		if tc.mode != "" {
			pol.ScopeMismatch = append(pol.ScopeMismatch, policy.ScopeRule{
				Dimension: tc.dim, Mode: tc.mode, Rule: "env.yaml:1",
				Select: policy.ValueSelector{Kind: schema.ProjectVariables, Owner: "Octo*", Name: tc.name}})
		}
	}
	// ignore-new on a variable the destination has: every value of it is
	// left alone, the one in mismatch and the one that matches.
	vars = append(vars,
		variable("Application.Database.Name", "OctoFx-Dev", scope{"Environment": {"Development"}}),
		variable("Application.Database.Name", "from-the-bundle", scope{"Environment": {"Production"}}))
	pol.ScopeMismatch = append(pol.ScopeMismatch, policy.ScopeRule{Dimension: "Environment", Mode: policy.ScopeIgnoreNew, Rule: "keep.yaml:3",
		Select: policy.ValueSelector{Name: "Application.Database.Name"}})
	// A later rule wins: this one is overridden by nothing, the first by it.
	pol.ScopeMismatch = append([]policy.ScopeRule{{Dimension: "Environment", Mode: policy.ScopeIgnore, Rule: "base.yaml:9",
		Select: policy.ValueSelector{Name: "T.Env.Exact"}}}, pol.ScopeMismatch...)

	b := policyBundle(t, base, map[string]map[string]any{
		schema.ProjectVariables: {"OctoFX": map[string]any{"Variables": vars}},
	}, pol)
	dst := startSim(t, "destination.json", octosim.Options{})
	before := destVariables(t, dst, schema.ProjectVariables, "OctoFX")

	p, err := MakePlan(ctx, dst.c, b, Options{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ch := find(t, p, schema.ProjectVariables, "OctoFX")
	if ch.Action != plans.OpUpdate || p.HasErrors() {
		t.Fatalf("plan: %s %s", ch.Action, ch.Error)
	}
	notes := strings.Join(ch.Notes, "\n")
	for _, tc := range cases {
		if tc.note == "" {
			if strings.Contains(notes, `"`+tc.name+`"`) {
				t.Errorf("%s: a plan line for a value without mismatch:\n%s", tc.name, notes)
			}
			continue
		}
		found := false
		for _, n := range ch.Notes {
			if strings.HasPrefix(n, `"`+tc.name+`"`) && strings.Contains(n, tc.note) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no plan line with %q in\n%s", tc.name, tc.note, notes)
		}
	}
	if !slices.Contains(ch.Notes, `"Application.Database.Name" left alone: the destination has the variable and Environment Development not on the destination (ignore-new: rule keep.yaml:3)`) {
		t.Errorf("ignore-new on an existing variable: no plan line in\n%s", notes)
	}
	var text strings.Builder
	if err := render.Plan(&text, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "      · \"T.Role.Partial\" Role=Oracle skipped: Role Oracle not on the destination (partial: rule env.yaml:1)\n") {
		t.Errorf("the text plan lacks the policy lines:\n%s", text.String())
	}

	r, err := Execute(ctx, dst.c, b, p, Options{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status() != plans.Succeeded {
		t.Fatalf("status %s", r.Status())
	}
	after := destVariables(t, dst, schema.ProjectVariables, "OctoFX")
	for _, tc := range cases {
		var got []string
		for label := range after {
			if strings.HasPrefix(label, `"`+tc.name+`"`) {
				got = append(got, strings.TrimSpace(strings.TrimPrefix(label, `"`+tc.name+`"`)))
			}
		}
		want := []string{}
		if tc.want == "(unscoped)" {
			want = []string{""}
		} else if tc.want != "" {
			want = []string{tc.want}
		}
		if got == nil {
			got = []string{}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s on the destination: scopes %q, want %q", tc.name, got, want)
		}
	}
	// The existing variable is as it was: no Development value added, the
	// Production value not overwritten.
	for label, v := range after {
		if strings.HasPrefix(label, `"Application.Database.Name"`) && !bundles.Equal(before[label], v) {
			t.Errorf("%s: %v, was %v", label, v, before[label])
		}
	}
	for label := range before {
		if _, ok := after[label]; !ok {
			t.Errorf("destination variable %s lost", label)
		}
	}
	if _, ok := after[`"Application.Database.Name" Environment=Development`]; ok {
		t.Error("ignore-new added a value to an existing variable")
	}

	// Replay with the policy present: zero writes.
	dst.srv.ResetCounters()
	p2, r2, err := Apply(ctx, dst.c, b, Options{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if w := dst.srv.Writes(); w != 0 || p2.HasChanges() || r2.Status() != plans.Succeeded {
		t.Errorf("replay: %d writes, changes %v, status %s", w, p2.HasChanges(), r2.Status())
	}
}

func TestOwnedValues(t *testing.T) {
	ctx := context.Background()
	src := startSim(t, "source.json", octosim.Options{})
	base := exportBundle(t, src, false)
	pol := &policy.File{
		Owned: []policy.ValueSelector{
			{Kind: schema.ProjectVariables, Owner: "OctoFX", Name: "OctoFX.Web.Root", Rule: "prod.yaml:4"},
			{Kind: schema.ProjectVariables, Name: "T.Owned.*", Rule: "prod.yaml:5"},
			{Kind: schema.LibraryVariables, Owner: "Common Variables", Name: "Common.Smtp.Host", Rule: "prod.yaml:6"},
			{Kind: schema.TenantVariables, Owner: "Acme Corp", Name: "OctoFX.Tenant.DatabaseName", Scope: map[string][]string{"Environment": {"Production"}}, Rule: "prod.yaml:7"},
			{Kind: schema.TenantVariables, Owner: "Acme Corp", Name: "Tenant.Alias", Rule: "prod.yaml:8"},
		},
	}
	b := policyBundle(t, base, map[string]map[string]any{
		schema.ProjectVariables: {"OctoFX": map[string]any{"Variables": []any{
			variable("OctoFX.Web.Root", `C:\from-the-bundle`, nil),
			variable("T.Owned.New", "initial", nil),
			variable("T.NotOwned", "initial", nil),
		}}},
		schema.LibraryVariables: {"Common Variables": map[string]any{"Variables": []any{
			variable("Common.Smtp.Host", "smtp.from-the-bundle", nil),
		}}},
		schema.TenantVariables: {"Acme Corp": map[string]any{
			"ProjectVariables": []any{
				tenantValue("ProjectId", "OctoFX", "OctoFX.Tenant.DatabaseName", "OctoFX-Acme-Dev", "Development"),
				tenantValue("ProjectId", "OctoFX", "OctoFX.Tenant.DatabaseName", "OctoFX-Acme-from-the-bundle", "Production"),
				tenantValue("ProjectId", "OctoFX", "OctoFX.Tenant.DatabaseName", "OctoFX-Acme-Staging-2", "Staging"),
			},
			"CommonVariables": []any{
				tenantValue("LibraryVariableSetId", "Common Variables", "Tenant.Alias", "acme-from-the-bundle"),
			},
		}},
	}, pol)
	dst := startSim(t, "destination.json", octosim.Options{})
	o := Options{Logger: testLogger()}

	p, r, err := Apply(ctx, dst.c, b, o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status() != plans.Succeeded {
		t.Fatalf("status %s", r.Status())
	}
	for _, tc := range []struct {
		kind, owner string
		lines       []string
	}{
		{schema.ProjectVariables, "OctoFX", []string{
			`"OctoFX.Web.Root" left alone (owned by destination, rule prod.yaml:4)`,
			`"T.Owned.New" created: owned by the destination once it exists (rule prod.yaml:5)`,
		}},
		{schema.LibraryVariables, "Common Variables", []string{`"Common.Smtp.Host" left alone (owned by destination, rule prod.yaml:6)`}},
		{schema.TenantVariables, "Acme Corp", []string{
			`Common Variables "Tenant.Alias" left alone (owned by destination, rule prod.yaml:8)`,
			`OctoFX "OctoFX.Tenant.DatabaseName" Environment=Development skipped: Environment Development not on the destination (partial: registry default)`,
			`OctoFX "OctoFX.Tenant.DatabaseName" Environment=Production left alone (owned by destination, rule prod.yaml:7)`,
		}},
	} {
		ch := find(t, p, tc.kind, tc.owner)
		got := append([]string(nil), ch.Notes...)
		sort.Strings(got)
		if strings.Join(got, "\n") != strings.Join(tc.lines, "\n") {
			t.Errorf("%s %s plan lines:\n%s\nwant\n%s", tc.kind, tc.owner, strings.Join(got, "\n"), strings.Join(tc.lines, "\n"))
		}
	}

	// The destination's own values survive; new ones are created.
	proj := destVariables(t, dst, schema.ProjectVariables, "OctoFX")
	if v := proj[`"OctoFX.Web.Root"`]; v != `D:\inetpub\octofx` {
		t.Errorf("owned OctoFX.Web.Root overwritten: %v", v)
	}
	if v := proj[`"T.Owned.New"`]; v != "initial" {
		t.Errorf("owned new value not created: %v", v)
	}
	if v := destVariables(t, dst, schema.LibraryVariables, "Common Variables")[`"Common.Smtp.Host"`]; v == "smtp.from-the-bundle" {
		t.Errorf("owned library value overwritten: %v", v)
	}
	tv := tenantDoc(t, dst, "Acme Corp")
	for _, tc := range []struct {
		part, owner, template, env string
		want                       any
	}{
		{"ProjectVariables", "OctoFX", "OctoFX.Tenant.DatabaseName", "Production", "OctoFX-Acme-Prod"},
		// Not owned, but a value both sides set differently: without a
		// base a conflict, which the destination wins (issue 9).
		{"ProjectVariables", "OctoFX", "OctoFX.Tenant.DatabaseName", "Staging", "OctoFX-Acme-Staging"},
		{"ProjectVariables", "OctoFX", "OctoFX.Tenant.DatabaseName", "Development", nil},
		{"CommonVariables", "Common Variables", "Tenant.Alias", "", "acme"},
	} {
		if got := tenantValueIn(t, tv, tc.part, tc.owner, tc.template, tc.env); !bundles.Equal(got, tc.want) {
			t.Errorf("tenant Acme Corp %s %s %s in %q: %v, want %v", tc.part, tc.owner, tc.template, tc.env, got, tc.want)
		}
	}

	// An administrator edits the owned values on the destination; the
	// second apply leaves them and changes the value nobody owns.
	edit := func(name, value string) {
		for _, vs := range dst.srv.Dump().Spaces[0].Collections["variables"] {
			if vs["OwnerId"] != "Projects-201" {
				continue
			}
			for _, v := range vs["Variables"].([]any) {
				if m := v.(map[string]any); m["Name"] == name {
					m["Value"] = value
				}
			}
			raw, _ := json.Marshal(vs)
			var body map[string]any
			_ = json.Unmarshal(raw, &body)
			if _, err := dst.c.Put(ctx, dst.c.SpacePath("variables/"+vs["Id"].(string), false), body); err != nil {
				t.Fatal(err)
			}
		}
	}
	edit("T.Owned.New", "edited-on-the-destination")
	edit("T.NotOwned", "edited-on-the-destination")
	p2, r2, err := Apply(ctx, dst.c, b, o)
	if err != nil || r2.Status() != plans.Succeeded {
		t.Fatalf("second apply: %v %v", err, r2.Status())
	}
	ch := find(t, p2, schema.ProjectVariables, "OctoFX")
	if !slices.Contains(ch.Notes, `"T.Owned.New" left alone (owned by destination, rule prod.yaml:5)`) {
		t.Errorf("second plan lines: %q", ch.Notes)
	}
	proj = destVariables(t, dst, schema.ProjectVariables, "OctoFX")
	if v := proj[`"T.Owned.New"`]; v != "edited-on-the-destination" {
		t.Errorf("the destination's edit of an owned value did not survive: %v", v)
	}
	// A value nobody owns, edited on the destination and not at the
	// source: the destination's edit is kept too (a conflict without a
	// base, drift with one), and listed.
	if v := proj[`"T.NotOwned"`]; v != "edited-on-the-destination" {
		t.Errorf("the destination's edit of a value nobody owns was overwritten: %v", v)
	}
	if len(ch.Conflicts) != 1 || ch.Conflicts[0].Field != `Variables["T.NotOwned"].Value` || ch.Conflicts[0].Resolution != policy.WinnerDestination {
		t.Errorf("second plan conflicts: %+v", ch.Conflicts)
	}
	// Replay: zero writes.
	dst.srv.ResetCounters()
	if p3, _, err := Apply(ctx, dst.c, b, o); err != nil || p3.HasChanges() || dst.srv.Writes() != 0 {
		t.Errorf("replay: %v, changes %v, %d writes", err, p3.HasChanges(), dst.srv.Writes())
	}
}

// tenantValue is a tenant variable value in bundle form: ownerField
// (ProjectId or LibraryVariableSetId) names its project or library variable
// set; envs is its environment scope (none: unscoped).
func tenantValue(ownerField, owner, template string, value any, envs ...string) map[string]any {
	scope := make([]any, len(envs))
	for i, e := range envs {
		scope[i] = e
	}
	return map[string]any{ownerField: owner, "TemplateId": template, "Value": value, "Scope": map[string]any{"EnvironmentIds": scope}}
}

// tenantValueIn returns the value of a tenant document's part (ProjectVariables
// or CommonVariables) for owner and template that applies in env ("" for an
// unscoped value), nil if none does; two that do fail the test.
func tenantValueIn(t *testing.T, doc any, part, owner, template, env string) any {
	t.Helper()
	var found []any
	list, _ := doc.(map[string]any)[part].([]any)
	for _, v := range list {
		m := v.(map[string]any)
		if m["ProjectId"] != owner && m["LibraryVariableSetId"] != owner || m["TemplateId"] != template {
			continue
		}
		envs, _ := m["Scope"].(map[string]any)["EnvironmentIds"].([]any)
		if (env == "" && len(envs) == 0) || slices.Contains(envs, any(env)) {
			found = append(found, m["Value"])
		}
	}
	if len(found) > 1 {
		t.Errorf("%s %s %s: %d values apply in %q", part, owner, template, len(found), env)
	}
	if len(found) == 0 {
		return nil
	}
	return found[0]
}

// tenantDoc reads a destination tenant's variables in bundle form.
func tenantDoc(t *testing.T, s *sim, tenant string) any {
	t.Helper()
	snap := checkAllReferencesResolve(t, s)
	e := snap.Find(schema.TenantVariables, tenant)
	if e == nil {
		t.Fatalf("no tenant variables of %s", tenant)
	}
	form, err := translate.ToBundle(snap, e)
	if err != nil {
		t.Fatal(err)
	}
	return form
}

func TestKindPolicyOverridesAndPlaceholder(t *testing.T) {
	ctx := context.Background()
	src := startSim(t, "source.json", octosim.Options{})
	exported := exportBundle(t, src, false)
	o := Options{Logger: testLogger()}

	t.Run("exist, exact and placeholder", func(t *testing.T) {
		b := exported.Clone()
		pol := &policy.File{
			Kinds:       map[string]schema.Policy{schema.ActionTemplate: schema.PolicyExist, schema.Lifecycle: schema.PolicyExact},
			Placeholder: "Replace Me",
		}
		if err := b.SetApplyPolicy(pol); err != nil {
			t.Fatal(err)
		}
		if err := b.Seal(); err != nil {
			t.Fatal(err)
		}
		dst := startSim(t, "destination.json", octosim.Options{})
		before := dst.srv.Dump()
		secretsBefore := secretsByID(before)
		p, err := MakePlan(ctx, dst.c, b, o)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			kind   string
			names  []string
			action plans.Op
			reason string
		}{
			// The template would be updated (exact); exist leaves it alone.
			{schema.ActionTemplate, []string{"AWS - Invalidate CloudFront Cache"}, plans.OpLeftAlone, "destination owns its details (policy exist from the bundle's apply policy)"},
			// A missing one is still created.
			{schema.ActionTemplate, []string{"Slack - Notify Deployment"}, plans.OpCreate, "policy exist from the bundle's apply policy"},
			// The Default Lifecycle would be left alone (exist); exact updates it.
			{schema.Lifecycle, []string{"Default Lifecycle"}, plans.OpUpdate, "policy exact from the bundle's apply policy"},
		} {
			ch := find(t, p, tc.kind, tc.names...)
			if ch.Action != tc.action || !strings.HasPrefix(ch.Reason, tc.reason) {
				t.Errorf("%s %v: %s (%s), want %s (%s)", tc.kind, tc.names, ch.Action, ch.Reason, tc.action, tc.reason)
			}
		}
		if len(p.Cleanup) == 0 {
			t.Fatal("no clean-up items")
		}
		for _, it := range p.Cleanup {
			// The plan speaks in the future tense.
			if !strings.Contains(it.Why, `apply will write the placeholder "Replace Me" (the bundle's apply policy)`) && !strings.Contains(it.Why, "certificate") {
				t.Errorf("clean-up item %s %v %s: %s", it.Kind, it.Names, it.Field, it.Why)
			}
		}
		r, err := Execute(ctx, dst.c, b, p, o)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range r.Cleanup {
			// The report, in the past.
			if !strings.Contains(it.Why, `the placeholder "Replace Me" (the bundle's apply policy) was written`) && !strings.Contains(it.Why, "certificate") {
				t.Errorf("receipt clean-up item %s %v %s: %s", it.Kind, it.Names, it.Field, it.Why)
			}
		}
		if r.Status() != plans.Succeeded {
			var buf strings.Builder
			_ = render.Receipt(&buf, r)
			t.Fatalf("status %s\n%s", r.Status(), buf.String())
		}
		if len(r.Cleanup) != len(p.Cleanup) {
			t.Errorf("receipt clean-up %d items, plan %d", len(r.Cleanup), len(p.Cleanup))
		}
		// Every new secret is the policy's placeholder (certificates get a
		// generated one); existing secrets are untouched.
		n := 0
		for k, v := range secretsByID(dst.srv.Dump()) {
			if old, ok := secretsBefore[k]; ok {
				if old != v {
					t.Errorf("secret %s changed", k)
				}
				continue
			}
			if strings.HasPrefix(v, "LS0tLS1CRUdJTi") {
				continue
			}
			if v != "Replace Me" {
				t.Errorf("new secret %s is %q, not the policy's placeholder", k, redact(v))
			}
			n++
		}
		if n == 0 {
			t.Error("no new secret written")
		}
		// The existing template is as it was.
		for _, tn := range before.Spaces[0].Collections["actiontemplates"] {
			if tn["Name"] != "AWS - Invalidate CloudFront Cache" {
				continue
			}
			for _, ta := range dst.srv.Dump().Spaces[0].Collections["actiontemplates"] {
				if ta["Id"] == tn["Id"] && !bundles.Equal(toAny([]map[string]any{tn}), toAny([]map[string]any{ta})) {
					t.Error("step template changed under policy exist")
				}
			}
		}
		dst.srv.ResetCounters()
		p2, _, err := Apply(ctx, dst.c, b, o)
		if err != nil || p2.HasChanges() || dst.srv.Writes() != 0 {
			t.Errorf("replay: %v, changes %v, %d writes", err, p2.HasChanges(), dst.srv.Writes())
		}
	})

	t.Run("skip", func(t *testing.T) {
		b := exported.Clone()
		if err := b.SetApplyPolicy(&policy.File{Kinds: map[string]schema.Policy{schema.ActionTemplate: schema.PolicySkip}}); err != nil {
			t.Fatal(err)
		}
		if err := b.Seal(); err != nil {
			t.Fatal(err)
		}
		dst := startSim(t, "destination.json", octosim.Options{})
		p, err := MakePlan(ctx, dst.c, b, o)
		if err != nil {
			t.Fatal(err)
		}
		for name, reason := range map[string]string{
			"AWS - Invalidate CloudFront Cache": "not updated: policy skip from the bundle's apply policy",
			"Slack - Notify Deployment":         "not created: policy skip from the bundle's apply policy",
		} {
			ch := find(t, p, schema.ActionTemplate, name)
			if ch.Action != plans.OpLeftAlone || !strings.HasPrefix(ch.Reason, reason) {
				t.Errorf("%s: %s (%s)", name, ch.Action, ch.Reason)
			}
		}
		// The steps using the skipped template that the destination lacks
		// cannot be applied: a plan error naming entity and field.
		ch := find(t, p, schema.DeploymentProcess, "OctoFX")
		if ch.Action != plans.OpError || !strings.Contains(ch.Error, `/Properties/Octopus.Action.Template.Id: step template "Slack - Notify Deployment" exists neither in the bundle nor on the destination`) {
			t.Errorf("OctoFX process: %s %q", ch.Action, ch.Error)
		}
		// The plan is refused before the first write.
		dst.srv.ResetCounters()
		if _, err := Execute(ctx, dst.c, b, p, o); err == nil || !strings.Contains(err.Error(), "DeploymentProcess OctoFX: /Steps/") {
			t.Errorf("execute: %v", err)
		}
		if _, _, err := Apply(ctx, dst.c, b, o); err == nil {
			t.Error("apply of a plan with errors went ahead")
		}
		if w := dst.srv.Writes(); w != 0 {
			t.Errorf("refused plan: %d writes", w)
		}
	})
}
