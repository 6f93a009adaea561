package apply

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/apply/render"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/translate"
)

// teamRoles returns the user role names of a destination team's scoped
// user roles, each with its tenant names ("Project deployer: Acme Corp").
func teamRoles(t *testing.T, s *sim, team string) []string {
	t.Helper()
	snap := checkAllReferencesResolve(t, s)
	e := snap.Find(schema.ScopedUserRole, team)
	if e == nil {
		return nil
	}
	form, err := translate.ToBundle(snap, e)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range form.([]any) {
		m := it.(map[string]any)
		var tenants []string
		for _, x := range m["TenantIds"].([]any) {
			tenants = append(tenants, x.(string))
		}
		out = append(out, m["UserRoleId"].(string)+": "+strings.Join(tenants, ","))
	}
	sort.Strings(out)
	return out
}

// A team's scoped user roles: a role the team lacks is created (its scope
// narrowed to what exists), a role it has is left alone, and a run that
// failed half-way through a team's roles is finished by the next one.
func TestScopedUserRolesFinishAfterPartialFailure(t *testing.T) {
	ctx := context.Background()
	src := startSim(t, "source.json", octosim.Options{})
	full := exportBundle(t, src, false)
	// Only OctoFX Developers' roles, so the POSTs to scopeduserroles are
	// that team's, one after the other. Project deployer gains a tenant that
	// exists nowhere (dropped from its scope) and the team a Tenant manager
	// role whose only tenant exists nowhere (skipped: an empty tenant list
	// would grant every tenant).
	k := schema.MustLookup(schema.ScopedUserRole)
	b := full.Clone()
	for _, team := range []string{"QA Team", "Customer Success"} {
		if p, _ := k.Path(team); !b.Remove(p) {
			t.Fatalf("could not remove %s", p)
		}
	}
	doc, _ := b.Entity(k, "OctoFX Developers")
	items := schema.DeepCopy(doc).([]any)
	for _, it := range items {
		if m := it.(map[string]any); m["UserRoleId"] == "Project deployer" {
			m["TenantIds"] = []any{"Acme Corp", "Nowhere Ltd"}
		}
	}
	items = append(items, map[string]any{"UserRoleId": "Tenant manager", "EnvironmentIds": []any{}, "ProjectIds": []any{},
		"ProjectGroupIds": []any{}, "TenantIds": []any{"Nowhere Ltd"}})
	if _, err := b.PutEntity(k, []string{"OctoFX Developers"}, items); err != nil {
		t.Fatal(err)
	}
	if err := b.Seal(); err != nil {
		t.Fatal(err)
	}

	dst := startSim(t, "destination.json", octosim.Options{})
	o := Options{Logger: testLogger()}
	p, err := MakePlan(ctx, dst.c, b, o)
	if err != nil {
		t.Fatal(err)
	}
	ch := find(t, p, schema.ScopedUserRole, "OctoFX Developers")
	if ch.Action != plans.OpUpdate || len(ch.Desired.Value().([]any)) != 3 {
		t.Fatalf("plan: %s with %v, want update creating 3 roles", ch.Action, ch.Desired.Value())
	}
	for _, want := range []string{
		`["Project deployer"]: partial match, Nowhere Ltd not on the destination dropped from its TenantIds`,
		`["Tenant manager"] skipped: none of its TenantIds (Nowhere Ltd) exist on the destination`,
	} {
		if !strings.Contains(ch.Reason, want) {
			t.Errorf("plan reason %q\nlacks %q", ch.Reason, want)
		}
	}

	// The second POST (Project deployer) fails: Project contributor is
	// given, Project deployer and Runbook Operator are not.
	dst.srv.AddFaultRule(octosim.FaultRule{Method: "POST", PathPrefix: "/api/Spaces-1/scopeduserroles", Skip: 1, Status: 400,
		Message: "There was a problem with your request.", Errors: []string{"simulated failure"}})
	r, err := Execute(ctx, dst.c, b, p, o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status() != plans.PartiallyFailed {
		t.Fatalf("first run: %s", r.Status())
	}
	for _, res := range r.Results {
		if res.Kind != schema.ScopedUserRole {
			continue
		}
		if res.Outcome != plans.OutcomeFailed || !strings.Contains(res.Error, `creating scoped user role "Project deployer"`) ||
			!strings.Contains(res.Error, `gave the team "Project contributor" before the failure`) || res.Note != `gave the team "Project contributor"` {
			t.Errorf("first run: %s %q note %q", res.Outcome, res.Error, res.Note)
		}
	}
	if got, want := strings.Join(teamRoles(t, dst, "OctoFX Developers"), "|"), "Project contributor: |Project viewer: "; got != want {
		t.Errorf("after the failure the team has %q, want %q", got, want)
	}

	// The re-run creates only the missing roles.
	p, err = MakePlan(ctx, dst.c, b, o)
	if err != nil {
		t.Fatal(err)
	}
	ch = find(t, p, schema.ScopedUserRole, "OctoFX Developers")
	if ch.Action != plans.OpUpdate || planned.ItemLabels(ch.Desired.Value().([]any)) != `"Project deployer", "Runbook Operator"` ||
		!strings.Contains(ch.Reason, `the team already has "Project contributor": left alone`) {
		t.Errorf("re-run plan: %s %s (%s)", ch.Action, planned.ItemLabels(ch.Desired.Value().([]any)), ch.Reason)
	}
	rerun(t, dst, b, o)
	want := "Project contributor: |Project deployer: Acme Corp|Project viewer: |Runbook Operator: "
	if got := strings.Join(teamRoles(t, dst, "OctoFX Developers"), "|"); got != want {
		t.Errorf("after the re-run the team has %q, want %q", got, want)
	}

	// A role the team has is left alone, even when the bundle scopes it
	// differently: the destination owns the scoping of roles it has. (The
	// plan lists what differs: also the tenant dropped at creation.)
	for _, it := range items {
		if m := it.(map[string]any); m["UserRoleId"] == "Project contributor" {
			m["ProjectIds"] = []any{"OctoFX"}
		}
	}
	b2 := b.Clone()
	if _, err := b2.PutEntity(k, []string{"OctoFX Developers"}, items); err != nil {
		t.Fatal(err)
	}
	if err := b2.Seal(); err != nil {
		t.Fatal(err)
	}
	dst.srv.ResetCounters()
	p, r, err = Apply(ctx, dst.c, b2, o)
	if err != nil {
		t.Fatal(err)
	}
	ch = find(t, p, schema.ScopedUserRole, "OctoFX Developers")
	var text strings.Builder
	// Nothing changes, so the left-alone line shows with verbose only.
	if err := render.PlanVerbose(&text, p, true); err != nil {
		t.Fatal(err)
	}
	if want := `! left alone  ScopedUserRole "OctoFX Developers" (the team already has "Project contributor", "Project deployer", "Runbook Operator": left alone (the destination owns the scoping of roles it has); ` +
		`["Tenant manager"] skipped: none of its TenantIds (Nowhere Ltd) exist on the destination; ` +
		`2 fields differ: ["Project contributor"].ProjectIds, ["Project deployer"].TenantIds)`; !strings.Contains(text.String(), want) {
		t.Errorf("text plan lacks\n%s\n%s", want, text.String())
	}
	if ch.Action != plans.OpLeftAlone || diffPathsOf(ch) != "/0/ProjectIds /1/TenantIds" || dst.srv.Writes() != 0 || r.Status() != plans.Succeeded {
		t.Errorf("changed scoping: %s %+v, %d writes, %s", ch.Action, ch.Diff, dst.srv.Writes(), r.Status())
	}
}

func diffPathsOf(ch *plans.Change) string {
	var ps []string
	for _, d := range ch.Diff {
		ps = append(ps, d.Path)
	}
	return strings.Join(ps, " ")
}
