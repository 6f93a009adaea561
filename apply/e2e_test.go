package apply

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/apply/render"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/translate"
)

// find returns the plan change for kind and names, or fails the test.
func find(t *testing.T, p *plans.Plan, kind string, names ...string) *plans.Change {
	t.Helper()
	for i := range p.Changes {
		if p.Changes[i].Kind == kind && strings.Join(p.Changes[i].Names, "/") == strings.Join(names, "/") {
			return &p.Changes[i]
		}
	}
	t.Fatalf("the plan has no change for %s %v", kind, names)
	return nil
}

func hasChange(p *plans.Plan, kind string, names ...string) bool {
	for _, ch := range p.Changes {
		if ch.Kind == kind && strings.Join(ch.Names, "/") == strings.Join(names, "/") {
			return true
		}
	}
	return false
}

// secretsByID lists every secret stored in a simulator dump, keyed by
// collection, entity ID and the position (variable IDs for variables).
func secretsByID(inst *octosim.Instance) map[string]string {
	out := map[string]string{}
	for _, sp := range inst.Spaces {
		for coll, docs := range sp.Collections {
			for i, d := range docs {
				id, _ := d["Id"].(string)
				if id == "" {
					id, _ = d["TenantId"].(string)
				}
				if id == "" {
					id = fmt.Sprint(i)
				}
				collectSecrets(coll+"|"+id, d, out)
			}
		}
	}
	return out
}

func collectSecrets(at string, v any, out map[string]string) {
	switch t := v.(type) {
	case map[string]any:
		if schema.IsSensitiveValue(t) {
			if s, ok := t["NewValue"].(string); ok {
				out[at] = s
			}
			return
		}
		if sens, _ := t["IsSensitive"].(bool); sens {
			if s, ok := t["Value"].(string); ok && s != "" {
				out[at+"/Value"] = s
			}
		}
		for k, x := range t {
			collectSecrets(at+"/"+k, x, out)
		}
	case []any:
		for i, x := range t {
			key := fmt.Sprint(i)
			if m, ok := x.(map[string]any); ok {
				if id, ok := m["Id"].(string); ok && id != "" {
					key = id
				}
			}
			collectSecrets(at+"/"+key, x, out)
		}
	}
}

// secretValues is the sorted multiset of secret values, generated
// certificates counted but not compared (they are random).
func secretValues(inst *octosim.Instance) []string {
	var out []string
	for _, v := range secretsByID(inst) {
		if strings.HasPrefix(v, "LS0tLS1CRUdJTi") { // base64 of "-----BEGIN"
			v = "<generated certificate>"
		}
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// checkAllReferencesResolve reads the destination and converts every entity
// to bundle form: export fails on any reference to an ID that does not
// exist, so success means every reference holds a destination ID.
func checkAllReferencesResolve(t *testing.T, s *sim) *snapshot.Snapshot {
	t.Helper()
	snap, err := snapshot.Read(context.Background(), s.c, snapshot.Options{Optional: true})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, k := range schema.Kinds() {
		for _, e := range snap.Entities(k.Name) {
			if _, err := translate.ToBundle(snap, e); err != nil {
				t.Errorf("%s: %v", e.Label(), err)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no entities read")
	}
	return snap
}

// TestApplyToSampleDestination applies the source sample's export to the
// destination sample on each server version of e2eVersions (both instances
// run it): the plan an administrator expects, the writes, the round trip of
// every bundle entity, and a replay without writes.
func TestApplyToSampleDestination(t *testing.T) {
	for _, v := range e2eVersions {
		t.Run(v, func(t *testing.T) { testApplyToSampleDestination(t, v) })
	}
}

func testApplyToSampleDestination(t *testing.T, version string) {
	ctx := context.Background()
	src := startSim(t, "source.json", octosim.Options{ServerVersion: version})
	b := fitBundle(t, exportBundle(t, src, false))
	dst := startSim(t, "destination.json", octosim.Options{ServerVersion: version})
	before := dst.srv.Dump()
	secretsBefore := secretsByID(before)
	o := Options{Logger: testLogger()}

	p, err := MakePlan(ctx, dst.c, b, o)
	if err != nil {
		t.Fatal(err)
	}
	if p.HasErrors() || !p.HasChanges() {
		t.Fatalf("plan: errors %v, changes %v", p.HasErrors(), p.HasChanges())
	}
	// What an administrator of the Staging/Production instance expects
	// after the sample rules fitted the bundle to it.
	for _, tc := range []struct {
		kind   string
		names  []string
		action plans.Op
	}{
		{schema.Environment, []string{"Staging"}, plans.OpLeftAlone},
		{schema.Environment, []string{"Production"}, plans.OpLeftAlone},
		{schema.ProjectGroup, []string{"Trading Platform"}, plans.OpLeftAlone},
		{schema.ProjectGroup, []string{"Operations"}, plans.OpCreate},
		{schema.TagSet, []string{"Region"}, plans.OpNoOp},
		{schema.TagSet, []string{"Tier"}, plans.OpUpdate},
		{schema.Feed, []string{"Company NuGet"}, plans.OpLeftAlone},
		{schema.Feed, []string{"Helm Charts"}, plans.OpCreate},
		{schema.WorkerPool, []string{"Ubuntu Worker Pool"}, plans.OpLeftAlone},
		{schema.WorkerPool, []string{"Hosted Ubuntu"}, plans.OpCreate},
		{schema.MachinePolicy, []string{"Daily Health Check"}, plans.OpLeftAlone},
		{schema.Account, []string{"AWS Account"}, plans.OpLeftAlone},
		{schema.Account, []string{"Kubernetes Staging Token"}, plans.OpCreate},
		{schema.Certificate, []string{"OctoFX Production"}, plans.OpLeftAlone},
		{schema.ActionTemplate, []string{"AWS - Invalidate CloudFront Cache"}, plans.OpUpdate},
		{schema.ActionTemplate, []string{"Slack - Notify Deployment"}, plans.OpCreate},
		{schema.ScriptModule, []string{"Logging Helpers"}, plans.OpNoOp},
		{schema.ScriptModule, []string{"Bash Utilities"}, plans.OpCreate},
		{schema.Lifecycle, []string{"Default Lifecycle"}, plans.OpLeftAlone},
		{schema.Lifecycle, []string{"Hotfix"}, plans.OpNoOp},
		{schema.Tenant, []string{"Internal"}, plans.OpCreate},
		{schema.Tenant, []string{"Acme Corp"}, plans.OpUpdate},
		{schema.LibraryVariables, []string{"Common Variables"}, plans.OpUpdate},
		{schema.Project, []string{"OctoFX"}, plans.OpUpdate},
		{schema.Project, []string{"Customer Portal"}, plans.OpCreate},
		{schema.Channel, []string{"OctoFX", "Default"}, plans.OpNoOp},
		{schema.DeploymentProcess, []string{"OctoFX"}, plans.OpUpdate},
		{schema.Runbook, []string{"OctoFX", "Toggle Maintenance Mode"}, plans.OpCreate},
		{schema.ProjectVariables, []string{"OctoFX"}, plans.OpUpdate},
		{schema.TenantVariables, []string{"Acme Corp"}, plans.OpUpdate},
		{schema.TenantVariables, []string{"Globex"}, plans.OpCreate},
		{schema.DeploymentSettings, []string{"OctoFX"}, plans.OpUpdate},
		{schema.DeploymentSettings, []string{"Customer Portal"}, plans.OpCreate},
		{schema.ProjectTrigger, []string{"OctoFX", "Built-in package repository"}, plans.OpCreate},
		{schema.ProjectTrigger, []string{"OctoFX", "Nightly promotion to Staging"}, plans.OpCreate},
		{schema.ProjectTrigger, []string{"Infrastructure Runbooks", "Rotate logs nightly"}, plans.OpCreate},
		{schema.ProjectLogo, []string{"OctoFX"}, plans.OpUpdate},
		{schema.Team, []string{"OctoFX Developers"}, plans.OpLeftAlone},
		{schema.ScopedUserRole, []string{"OctoFX Developers"}, plans.OpUpdate},
		{schema.ScopedUserRole, []string{"Customer Success"}, plans.OpCreate},
		{schema.UserRole, []string{"Release Approver"}, plans.OpLeftAlone},
	} {
		if got := find(t, p, tc.kind, tc.names...).Action; got != tc.action {
			t.Errorf("%s %v: plan says %s, want %s", tc.kind, tc.names, got, tc.action)
		}
	}
	// Destination-only entities are not in the plan: never touched. What
	// the rules left behind is not in it either.
	for _, n := range [][]string{
		{schema.Project, "DR Drills"}, {schema.Tenant, "Initech"}, {schema.Environment, "DR"},
		{schema.Environment, "Development"}, {schema.Environment, "Test"}, {schema.Lifecycle, "QA"},
		{schema.Channel, "OctoFX", "QA"}, {schema.Tenant, "Development Team A"},
		{schema.Certificate, "OctoFX Wildcard (Dev/Test)"}, {schema.Account, "Azure Dev/Test Subscription"},
	} {
		if hasChange(p, n[0], n[1:]...) {
			t.Errorf("the plan touches %v, which is destination-only or left behind by the rules", n)
		}
	}
	// The process update adds the missing steps and the missing action.
	proc := find(t, p, schema.DeploymentProcess, "OctoFX")
	added := map[string]bool{}
	for _, d := range proc.Diff {
		if m, ok := d.After.(map[string]any); ok && d.Before == nil {
			added[fmt.Sprint(m["Name"])] = true
		}
	}
	for _, n := range []string{"Deploy Rate Service", "Invalidate CDN Cache", "Notify Slack", "Smoke Test API"} {
		if !added[n] {
			t.Errorf("the OctoFX process diff does not add %q (added: %v)", n, added)
		}
	}
	// The text plan names elements as merge matches them, not by index.
	var text strings.Builder
	if err := render.Plan(&text, p); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		`~ Steps["Deploy OctoFX Web"].Properties["Octopus.Action.MaxParallelism"]: "1" → "2"`,
		`+ Steps["Notify Slack"] (1 action: Octopus.Script)`,
		`+ Steps["Smoke Tests"].Actions["Smoke Test API"] (Octopus.Script)`,
		// No base (a first sync): a value that differs is a conflict, and
		// the destination keeps its own (issue 9).
		`⚡ conflict Variables["OctoFX.Web.Root"].Value: base absent, source "C:\\inetpub\\octofx", destination "D:\\inetpub\\octofx" → destination (registry default: the destination keeps its variable values)`,
		`+ Variables["OctoFX.Rates.Replicas" Action="Deploy Rate Service"]: "3"`,
		`+ ["Runbook Operator"] (Environments: Staging; Projects: Infrastructure Runbooks)`,
	} {
		if !strings.Contains(text.String(), "      "+line+"\n") {
			t.Errorf("the text plan lacks the line\n%s", line)
		}
	}
	// Nothing of Development, Test or QA reaches the production instance:
	// not the environments, not a value or step scoped to them, not the
	// "Project deployer" role on Development/Test.
	for _, word := range []string{"Development", "Environment=Test", `"Test"`, "QA Sign-off", "Channel=QA", "QA.TestSuite", "Project deployer"} {
		if strings.Contains(text.String(), word) {
			t.Errorf("the plan mentions %s, which the sample rules leave behind", word)
		}
	}
	// The existing production secrets are not in the clean-up list, and the
	// Development/Test password stayed behind, so OctoFX needs none.
	vars := find(t, p, schema.ProjectVariables, "OctoFX")
	if !strings.Contains(vars.Reason, `"DR.Failover.Region"`) {
		t.Errorf("OctoFX variables reason: %s", vars.Reason)
	}
	// The registry's scope-mismatch defaults, one plan line each: deployment
	// targets the destination lacks (a partial match keeps the value for
	// the targets it has). A role no destination target has (Oracle) is
	// kept: roles are free text.
	wantNotes := []string{
		`"Application.Database.Name" Machine=octofx-web-prod-01,octofx-web-prod-02,oracle-prod-01 rescoped: partial match, octofx-web-prod-02, oracle-prod-01 dropped from its Machine (partial: registry default)`,
	}
	if strings.Join(vars.Notes, "\n") != strings.Join(wantNotes, "\n") {
		t.Errorf("OctoFX variables notes:\n%s\nwant\n%s", strings.Join(vars.Notes, "\n"), strings.Join(wantNotes, "\n"))
	}
	var cleanupFields []string
	for _, it := range p.Cleanup {
		if it.Kind == schema.ProjectVariables && it.Names[0] == "OctoFX" {
			cleanupFields = append(cleanupFields, it.Field)
		}
	}
	if want := []string(nil); strings.Join(cleanupFields, "|") != strings.Join(want, "|") {
		t.Errorf("OctoFX clean-up fields %q, want %q", cleanupFields, want)
	}

	// Execute exactly that plan.
	r, err := Execute(ctx, dst.c, b, p, o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status() != plans.Succeeded {
		var buf strings.Builder
		_ = render.Receipt(&buf, r)
		t.Fatalf("status %s\n%s", r.Status(), buf.String())
	}
	if len(r.Cleanup) != len(p.Cleanup) {
		t.Errorf("receipt clean-up %d items, plan %d", len(r.Cleanup), len(p.Cleanup))
	}

	// Every reference resolves to a destination entity.
	snap := checkAllReferencesResolve(t, dst)

	// The destination received what the rules say and nothing else.
	for _, n := range [][]string{
		{schema.Environment, "Development"}, {schema.Environment, "Test"}, {schema.Lifecycle, "QA"},
		{schema.Channel, "OctoFX", "QA"}, {schema.Tenant, "Development Team A"},
		{schema.Certificate, "OctoFX Wildcard (Dev/Test)"}, {schema.Account, "Azure Dev/Test Subscription"},
		{schema.Runbook, "Infrastructure Runbooks", "Refresh Test Data"},
	} {
		if e := snap.Find(n[0], n[1:]...); e != nil {
			t.Errorf("%s %v is on the destination; the sample rules leave it behind", n[0], n[1:])
		}
	}
	for _, e := range b.Entries() {
		if !e.Kind.Optional && e.Kind.Policy != schema.PolicyNever && snap.Find(e.Kind.Name, e.Names...) == nil {
			t.Errorf("%s %v is in the fitted bundle but not on the destination", e.Kind.Name, e.Names)
		}
	}
	if lc := snap.Find(schema.Lifecycle, "Default Lifecycle"); lc != nil {
		for _, ph := range lc.Object()["Phases"].([]any) {
			if n := ph.(map[string]any)["Name"]; n == "Development" || n == "Test" {
				t.Errorf("the destination's Default Lifecycle has a %s phase", n)
			}
		}
	}

	// Every project's steps, channels, runbooks and variables are there.
	for _, e := range b.Entries() {
		switch e.Kind.Name {
		case schema.Channel, schema.Runbook, schema.RunbookProcess, schema.DeploymentProcess:
			if snap.Find(e.Kind.Name, e.Names...) == nil {
				t.Errorf("%s %v missing after apply", e.Kind.Name, e.Names)
			}
		case schema.ProjectVariables:
			de := snap.Find(e.Kind.Name, e.Names...)
			form, err := translate.ToBundle(snap, de)
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for _, v := range form.(map[string]any)["Variables"].([]any) {
				id, _ := bundles.Identity(v)
				have[id] = true
			}
			for _, v := range e.Doc.(map[string]any)["Variables"].([]any) {
				m := v.(map[string]any)
				if sc, _ := m["Scope"].(map[string]any); sc != nil && sc["Machine"] != nil {
					continue // partial matches, in the plan's notes above
				}
				if id, _ := bundles.Identity(v); !have[id] {
					t.Errorf("%v: variable %s missing after apply", e.Names, strings.ReplaceAll(id, "\x00", " "))
				}
			}
		}
	}
	octofx := snap.Find(schema.DeploymentProcess, "OctoFX")
	var steps []string
	actionIDs := map[string]string{}
	for _, s := range octofx.Object()["Steps"].([]any) {
		sm := s.(map[string]any)
		steps = append(steps, sm["Name"].(string))
		for _, a := range sm["Actions"].([]any) {
			am := a.(map[string]any)
			actionIDs[am["Name"].(string)] = am["Id"].(string)
		}
	}
	if got, want := strings.Join(steps, ", "), "Deploy OctoFX Database, Deploy OctoFX Web, Deploy Rate Service, Smoke Tests, Invalidate CDN Cache, Notify Slack, Warm Legacy Cache"; got != want {
		t.Errorf("OctoFX steps after apply:\n got %s\nwant %s", got, want)
	}
	// Existing actions keep their destination GUIDs (variables scoped to
	// them, releases and channel rules keep working).
	for _, p := range before.Spaces[0].Collections["deploymentprocesses"] {
		if p["Id"] != octofx.ID {
			continue
		}
		for _, s := range p["Steps"].([]any) {
			for _, a := range s.(map[string]any)["Actions"].([]any) {
				am := a.(map[string]any)
				if got := actionIDs[am["Name"].(string)]; got != am["Id"] {
					t.Errorf("action %s: ID %s after apply, %s before", am["Name"], got, am["Id"])
				}
			}
		}
	}

	// No existing secret was overwritten or wiped.
	after := dst.srv.Dump()
	secretsAfter := secretsByID(after)
	for k, v := range secretsBefore {
		if secretsAfter[k] != v {
			t.Errorf("secret %s changed: had %d characters, now %q", k, len(v), redact(secretsAfter[k]))
		}
	}
	// Every new secret is a placeholder (or a generated certificate).
	for k, v := range secretsAfter {
		if _, old := secretsBefore[k]; !old && !strings.HasPrefix(v, PlaceholderPrefix) && !strings.HasPrefix(v, "LS0tLS1CRUdJTi") {
			t.Errorf("new secret %s is not a placeholder", k)
		}
	}
	// Audit data untouched.
	for _, coll := range []string{"releases", "deployments"} {
		if !bundles.Equal(toAny(before.Spaces[0].Collections[coll]), toAny(after.Spaces[0].Collections[coll])) {
			t.Errorf("%s changed", coll)
		}
	}

	// Tenant variables went through the endpoints the server has.
	counts := dst.srv.Counters()
	// (From 2025.2 the legacy document is still writable, as on a real
	// server, so only these counts show octobundle chose the scoped ones.)
	legacyPuts := counts["PUT "+octosim.NormalizePath("/api/Spaces-1/tenants/Tenants-1/variables")] +
		counts["POST "+octosim.NormalizePath("/api/Spaces-1/tenants/Tenants-1/variables")]
	scopedPuts := counts["PUT "+octosim.NormalizePath("/api/Spaces-1/tenants/Tenants-1/commonvariables")] +
		counts["PUT "+octosim.NormalizePath("/api/Spaces-1/tenants/Tenants-1/projectvariables")]
	if scoped := schema.VersionAtLeast(version, "2025.2"); (scoped && (scopedPuts == 0 || legacyPuts != 0)) || (!scoped && (scopedPuts != 0 || legacyPuts == 0)) {
		t.Errorf("tenant variables written with %d legacy and %d scoped PUTs on %s", legacyPuts, scopedPuts, version)
	}

	// The new kinds round-trip: the destination's export of each holds what
	// the bundle has (tenant variables: values the destination kept for
	// its own projects and environments aside).
	snap = checkAllReferencesResolve(t, dst)
	for _, e := range b.Entries() {
		switch e.Kind.Name {
		case schema.DeploymentSettings, schema.ProjectTrigger, schema.TenantVariables, schema.ProjectLogo:
		default:
			continue
		}
		got := exportEntity(t, snap, snap.Find(e.Kind.Name, e.Names...))
		if e.Kind.Name == schema.TenantVariables && len(e.Names) == 1 && e.Names[0] == "Acme Corp" {
			continue // merged with the destination's own values (see the plan checks)
		}
		if !bundles.Equal(got, e.Doc) {
			t.Errorf("%s: the destination's copy differs from the bundle:\n%s", e.Path, strings.Join(entityDiff(e.Kind, e.Doc, got), "\n"))
		}
	}

	// Replay: zero writes.
	dst.srv.ResetCounters()
	p2, r2, err := Apply(ctx, dst.c, b, o)
	if err != nil {
		t.Fatal(err)
	}
	if w := dst.srv.Writes(); w != 0 || p2.HasChanges() || r2.Status() != plans.Succeeded {
		var text strings.Builder
		_ = render.Plan(&text, p2)
		t.Errorf("replay: %d writes, changes %v, status %s (%v)\n%s", w, p2.HasChanges(), r2.Status(), dst.srv.Counters(), text.String())
	}
}

// entityDiff renders the differences between two bundle forms of an entity.
func entityDiff(k *schema.Kind, want, got any) []string {
	var out []string
	for _, d := range bundles.DiffKind(k, want, got) {
		out = append(out, diffLabel(d))
	}
	return out
}

func redact(s string) string {
	if strings.HasPrefix(s, PlaceholderPrefix) || s == "" {
		return s
	}
	return fmt.Sprintf("<%d characters>", len(s))
}

func toAny(docs []map[string]any) any {
	out := make([]any, len(docs))
	for i, d := range docs {
		out[i] = d
	}
	return out
}

// withFaults returns a simulator options value with random faults.
func TestApplyConvergesUnderFaults(t *testing.T) {
	ctx := context.Background()
	src := startSim(t, "source.json", octosim.Options{})
	b := exportBundle(t, src, true)
	o := Options{IncludeTargets: true, Logger: testLogger(), Concurrency: 8}

	clean := startSim(t, "destination.json", octosim.Options{})
	if _, r, err := Apply(ctx, clean.c, b, o); err != nil || r.Status() != plans.Succeeded {
		t.Fatalf("clean apply: %v %v", err, r)
	}

	faulty := startSim(t, "destination.json", octosim.Options{})
	faulty.srv.SetFaults(octosim.Faults{ErrorRate: 0.08, RateLimitRate: 0.05, DropRate: 0.05, Seed: 7})
	// Writes whose answer is lost after the server performed them: the
	// client cannot tell, and must not create duplicates.
	for _, prefix := range []string{"/api/Spaces-1/projects", "/api/Spaces-1/environments", "/api/Spaces-1/channels", "/api/Spaces-1/tenants", "/api/Spaces-1/scopeduserroles"} {
		faulty.srv.AddFaultRule(octosim.FaultRule{Method: "POST", PathPrefix: prefix, Drop: true, AfterHandling: true, Times: 1})
	}
	faulty.srv.AddFaultRule(octosim.FaultRule{Method: "PUT", PathPrefix: "/api/Spaces-1/variables", Drop: true, AfterHandling: true, Times: 2})
	_, r, err := Apply(ctx, faulty.c, b, o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status() != plans.Succeeded {
		var buf strings.Builder
		_ = render.Receipt(&buf, r)
		t.Fatalf("apply under faults: %s\n%s", r.Status(), buf.String())
	}
	if r.Stats.Retries == 0 {
		t.Error("no retries: the faults did not fire")
	}
	faulty.srv.ClearFaults()

	// The same final state: exports of both destinations are equal.
	ea, eb := exportBundle(t, clean, true), exportBundle(t, faulty, true)
	if d := bundleDiffs(ea, eb); len(d) > 0 {
		t.Errorf("the destinations differ:\n%s", strings.Join(d, "\n"))
	}
	// No duplicated entity: names unique per collection (and owner).
	for _, sp := range faulty.srv.Dump().Spaces {
		for coll, docs := range sp.Collections {
			seen := map[string]bool{}
			for _, d := range docs {
				name, ok := d["Name"].(string)
				if !ok {
					continue
				}
				key := fmt.Sprint(d["ProjectId"], "/", name)
				if coll == "scopeduserroles" {
					key = fmt.Sprint(d["TeamId"], d["UserRoleId"], d["EnvironmentIds"], d["ProjectIds"], d["TenantIds"], d["ProjectGroupIds"])
				}
				if seen[key] {
					t.Errorf("%s: duplicate %s", coll, key)
				}
				seen[key] = true
			}
		}
	}
	// No lost value: the same secrets on both.
	if a, b := secretValues(clean.srv.Dump()), secretValues(faulty.srv.Dump()); strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("secrets differ: clean %d, faulty %d: %q", len(a), len(b), diffLines(a, b))
	}
	// And a replay of the faulty one writes nothing.
	faulty.srv.ResetCounters()
	if _, _, err := Apply(ctx, faulty.c, b, o); err != nil || faulty.srv.Writes() != 0 {
		t.Errorf("replay after faults: %v, %d writes", err, faulty.srv.Writes())
	}
}

// modified returns a sealed copy of b with fn applied to the entity of kind
// and names (fn returns nil to remove it).
func modified(t *testing.T, b *bundles.Bundle, kind string, names []string, fn func(doc map[string]any) any) *bundles.Bundle {
	t.Helper()
	c := b.Clone()
	k := schema.MustLookup(kind)
	doc, ok := c.Entity(k, names...)
	if !ok {
		t.Fatalf("no %s %v in the bundle", kind, names)
	}
	nd := fn(schema.DeepCopy(doc).(map[string]any))
	if nd == nil {
		esc := make([]string, len(names))
		for i, n := range names {
			esc[i] = bundles.EscapeName(n)
		}
		p, _ := k.Path(esc...)
		if !c.Remove(p) {
			t.Fatalf("could not remove %s", p)
		}
	} else if _, err := c.PutEntity(k, names, nd); err != nil {
		t.Fatal(err)
	}
	if err := c.Seal(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestApplyErrors(t *testing.T) {
	ctx := context.Background()
	src := startSim(t, "source.json", octosim.Options{})
	b := fitBundle(t, exportBundle(t, src, false))
	o := Options{Logger: testLogger()}

	t.Run("reference to nothing", func(t *testing.T) {
		bad := modified(t, b, schema.DeploymentProcess, []string{"OctoFX"}, func(d map[string]any) any {
			a := d["Steps"].([]any)[0].(map[string]any)["Actions"].([]any)[0].(map[string]any)
			a["WorkerPoolId"] = "Windows Pool"
			return d
		})
		dst := startSim(t, "destination.json", octosim.Options{})
		p, err := MakePlan(ctx, dst.c, bad, o)
		if err != nil {
			t.Fatal(err)
		}
		ch := find(t, p, schema.DeploymentProcess, "OctoFX")
		wantErr := `DeploymentProcess OctoFX: /Steps/0/Actions/0/WorkerPoolId: worker pool "Windows Pool" exists neither in the bundle nor on the destination`
		if ch.Action != plans.OpError || ch.Error != wantErr {
			t.Fatalf("got %s %q\nwant %q", ch.Action, ch.Error, wantErr)
		}
		if !p.HasErrors() {
			t.Error("HasErrors false")
		}
		// Refused before the first write, naming the error…
		dst.srv.ResetCounters()
		for _, run := range []func() error{
			func() error { _, err := Execute(ctx, dst.c, bad, p, o); return err },
			func() error { _, _, err := Apply(ctx, dst.c, bad, o); return err },
		} {
			err := run()
			if !errors.Is(err, ErrPlanHasErrors) || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("without AllowErrors: %v", err)
			}
		}
		if w := dst.srv.Writes(); w != 0 {
			t.Fatalf("refused plan: %d writes (%v)", w, dst.srv.Counters())
		}
		// … and with AllowErrors what can be applied is.
		r, err := Execute(ctx, dst.c, bad, p, Options{Logger: testLogger(), AllowErrors: true})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status() != plans.PartiallyFailed {
			t.Errorf("status %s", r.Status())
		}
		for _, res := range r.Results {
			if res.Kind == schema.ProjectVariables && res.Names[0] == "OctoFX" && res.Outcome != plans.OutcomeSkipped {
				t.Errorf("OctoFX variables (which scope to actions of the failed process): %s", res.Outcome)
			}
			if res.Kind == schema.ProjectGroup && res.Names[0] == "Operations" && res.Outcome != plans.OutcomeCreated {
				t.Errorf("unrelated project group Operations: %s", res.Outcome)
			}
		}
		// Fixed bundle: a re-run finishes the job, a third run writes nothing.
		rerun(t, dst, b, o)
	})

	t.Run("missing dependency", func(t *testing.T) {
		bad := modified(t, b, schema.ProjectGroup, []string{"Operations"}, func(map[string]any) any { return nil })
		dst := startSim(t, "destination.json", octosim.Options{})
		p, err := MakePlan(ctx, dst.c, bad, o)
		if err != nil {
			t.Fatal(err)
		}
		ch := find(t, p, schema.Project, "Infrastructure Runbooks")
		wantErr := `Project Infrastructure Runbooks: /ProjectGroupId: project group "Operations" exists neither in the bundle nor on the destination`
		if ch.Action != plans.OpError || ch.Error != wantErr {
			t.Fatalf("got %s %q\nwant %q", ch.Action, ch.Error, wantErr)
		}
		r, err := Execute(ctx, dst.c, bad, p, Options{Logger: testLogger(), AllowErrors: true})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status() != plans.PartiallyFailed {
			t.Errorf("status %s", r.Status())
		}
		rerun(t, dst, b, o)
	})

	t.Run("server says 400", func(t *testing.T) {
		dst := startSim(t, "destination.json", octosim.Options{})
		rule := dst.srv.AddFaultRule(octosim.FaultRule{
			Method: "PUT", PathPrefix: "/api/Spaces-1/deploymentprocesses/deploymentprocess-Projects-201", Times: -1,
			Status: 400, Message: "There was a problem with your request.", Errors: []string{"Step 'Deploy Rate Service' references a feed that is not available."},
		})
		_, r, err := Apply(ctx, dst.c, b, o)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status() != plans.PartiallyFailed {
			t.Fatalf("status %s", r.Status())
		}
		// A 400 recurs: a re-run as it is cannot finish.
		if r.Resumable() {
			t.Error("a receipt with a 400 says a re-run can finish")
		}
		var failed, skipped []string
		for _, res := range r.Results {
			switch res.Outcome {
			case plans.OutcomeFailed:
				failed = append(failed, res.Error)
			case plans.OutcomeSkipped:
				skipped = append(skipped, planned.Label(res.Kind, res.Names))
			}
		}
		if len(failed) != 1 || !strings.Contains(failed[0], "DeploymentProcess OctoFX: updating: PUT") ||
			!strings.Contains(failed[0], "400 Bad Request: There was a problem with your request. (Step 'Deploy Rate Service' references a feed that is not available.)") {
			t.Errorf("failed: %q", failed)
		}
		// The project's deployment settings name the process's package
		// step (VersioningStrategy.DonorPackageStepId), and the built-in
		// package repository trigger its package action.
		if strings.Join(skipped, ", ") != "ProjectVariables OctoFX, DeploymentSettings OctoFX, ProjectTrigger OctoFX/Built-in package repository" {
			t.Errorf("skipped: %q", skipped)
		}
		dst.srv.RemoveFaultRule(rule)
		rerun(t, dst, b, o)
	})
}

// rerun applies b again (it must succeed) and then once more (it must
// write nothing).
func rerun(t *testing.T, dst *sim, b *bundles.Bundle, o Options) {
	t.Helper()
	ctx := context.Background()
	_, r, err := Apply(ctx, dst.c, b, o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status() != plans.Succeeded {
		var buf strings.Builder
		_ = render.Receipt(&buf, r)
		t.Fatalf("re-run: %s\n%s", r.Status(), buf.String())
	}
	dst.srv.ResetCounters()
	if _, r, err := Apply(ctx, dst.c, b, o); err != nil || r.Status() != plans.Succeeded || dst.srv.Writes() != 0 {
		t.Fatalf("third run: %v, %v, %d writes", err, r.Status(), dst.srv.Writes())
	}
}

func TestVersionSkewAndStalePlans(t *testing.T) {
	ctx := context.Background()
	src := startSim(t, "source.json", octosim.Options{}) // 2025.2
	b := exportBundle(t, src, false)
	o := Options{Logger: testLogger()}

	for _, tc := range []struct {
		version string
		refused bool
	}{
		{"2025.3.4512", false},
		{"2025.1.1", false},
		{"2025.4.1", true},
		{"2024.2.1", true},
		{"2026.2.1", true},
	} {
		dst := startSim(t, "", octosim.Options{ServerVersion: tc.version})
		_, err := MakePlan(ctx, dst.c, b, o)
		if (err != nil) != tc.refused || (err != nil && !strings.Contains(err.Error(), "version skew")) {
			t.Errorf("destination %s: %v (refused: want %v)", tc.version, err, tc.refused)
		}
		if tc.refused {
			if _, err := MakePlan(ctx, dst.c, b, Options{AllowVersionSkew: true}); err != nil {
				t.Errorf("destination %s with AllowVersionSkew: %v", tc.version, err)
			}
		}
	}

	dst := startSim(t, "destination.json", octosim.Options{})
	p, err := MakePlan(ctx, dst.c, b, o)
	if err != nil {
		t.Fatal(err)
	}
	// A saved plan survives the JSON round trip (apply --plan).
	var buf strings.Builder
	if err := p.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	saved, err := plans.ReadPlan(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	// Another bundle: refused.
	other := modified(t, b, schema.Environment, []string{"Test"}, func(d map[string]any) any { d["Description"] = "changed"; return d })
	if _, err := Execute(ctx, dst.c, other, saved, o); !errors.Is(err, ErrPlanMismatch) {
		t.Errorf("another bundle: %v (want ErrPlanMismatch)", err)
	}
	// The destination changed since the plan: refused, nothing written.
	if _, err := dst.c.Post(ctx, dst.c.SpacePath("environments", false), map[string]any{"Name": "Pre-Production"}); err != nil {
		t.Fatal(err)
	}
	dst.srv.ResetCounters()
	if _, err := Execute(ctx, dst.c, b, saved, o); !errors.Is(err, ErrStalePlan) || dst.srv.Writes() != 0 {
		t.Errorf("changed destination: %v, %d writes", err, dst.srv.Writes())
	}
	// A fresh plan, saved and read back, executes.
	p, err = MakePlan(ctx, dst.c, b, o)
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := p.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if saved, err = plans.ReadPlan(strings.NewReader(buf.String())); err != nil {
		t.Fatal(err)
	}
	r, err := Execute(ctx, dst.c, b, saved, o)
	if err != nil || r.Status() != plans.Succeeded {
		t.Fatalf("saved plan: %v %v", err, r)
	}
}

func diffLines(a, b []string) []string {
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	var out []string
	for k, v := range m {
		if v != 0 {
			out = append(out, fmt.Sprintf("%+d %s", v, redact(k)))
		}
	}
	sort.Strings(out)
	return out
}

// TestStepTemplateVersionStamp checks the registry's stamp rule on a real
// write: an action based on a step template is written with the
// destination template's current Version (which differs from the source's
// and is not in the bundle), after the template itself was created or
// updated earlier in the same run.
func TestStepTemplateVersionStamp(t *testing.T) {
	ctx := context.Background()
	src := startSim(t, "source.json", octosim.Options{})
	dst := startSim(t, "destination.json", octosim.Options{})
	b := exportBundle(t, src, false)
	if _, r, err := Apply(ctx, dst.c, b, Options{Logger: testLogger()}); err != nil || r.Status() != plans.Succeeded {
		t.Fatalf("apply: %v", err)
	}
	snap, err := snapshot.Read(ctx, dst.c, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	versions := map[string]string{}
	for _, e := range snap.Entities(schema.ActionTemplate) {
		versions[e.ID] = fmt.Sprint(e.Object()["Version"])
	}
	p := snap.Find(schema.Project, "OctoFX")
	dp := snap.Children(p, schema.DeploymentProcess)[0].Object()
	stamped := 0
	for _, st := range dp["Steps"].([]any) {
		for _, a := range st.(map[string]any)["Actions"].([]any) {
			props := a.(map[string]any)["Properties"].(map[string]any)
			id, ok := props["Octopus.Action.Template.Id"].(string)
			if !ok {
				continue
			}
			want, known := versions[id]
			if !known {
				t.Fatalf("action %v refers to %s, which is not a destination step template", a.(map[string]any)["Name"], id)
			}
			if got := props["Octopus.Action.Template.Version"]; fmt.Sprint(got) != want {
				t.Errorf("action %v: template version %v, want the destination template's %s", a.(map[string]any)["Name"], got, want)
			}
			stamped++
		}
	}
	if stamped != 2 {
		t.Fatalf("%d actions based on step templates, want 2 (Invalidate CDN Cache, Notify Slack)", stamped)
	}
}
