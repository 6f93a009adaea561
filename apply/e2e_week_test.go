package apply

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/apply/render"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/export"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/policy"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/tools/octosim"
)

// An ordinary week of a synced pair (issue 17): renames, one-project
// syncs and case-only names, each through two simulators over HTTP and the
// real client. After the second sync the destination holds what the
// bundle says, its own values keep working, the plan had no errors, the
// destination still exports, and a replay writes nothing.

// liveDoc returns the destination entity's server document.
func (r *recurring) liveDoc(kind string, names ...string) map[string]any {
	r.t.Helper()
	snap, err := snapshot.Read(context.Background(), r.dst.c, snapshot.Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	e := snap.Find(kind, names...)
	if e == nil {
		r.t.Fatalf("no destination %s %v", kind, names)
	}
	return e.Object()
}

// actionID returns the ID of the destination action named name in doc (a
// server-form process).
func actionID(t *testing.T, doc map[string]any, name string) string {
	t.Helper()
	for _, s := range elements(doc, "Steps") {
		for _, a := range elements(s, "Actions") {
			if a["Name"] == name {
				return a["Id"].(string)
			}
		}
	}
	t.Fatalf("no action %q", name)
	return ""
}

// stepID returns the ID of the destination step named name.
func stepID(doc map[string]any, name string) string {
	for _, s := range elements(doc, "Steps") {
		if s["Name"] == name {
			id, _ := s["Id"].(string)
			return id
		}
	}
	return ""
}

// addDestinationVariable adds the destination's own variable, scoped to
// the action with ID action, through the API.
func addDestinationVariable(name, value, action string) func(doc map[string]any) {
	return func(doc map[string]any) {
		doc["Variables"] = append(doc["Variables"].([]any), map[string]any{
			"Name": name, "Value": value, "Type": "String", "IsSensitive": false,
			"Scope": map[string]any{"Action": []any{action}},
		})
	}
}

// mustNoErrors fails when the plan has errors.
func mustNoErrors(t *testing.T, p *plans.Plan) {
	t.Helper()
	if p.HasErrors() {
		var buf strings.Builder
		_ = render.Plan(&buf, p)
		t.Fatalf("plan has errors:\n%s", buf.String())
	}
}

// exportsCleanly exports the destination: it must not fail on anything
// octobundle wrote.
func exportsCleanly(t *testing.T, r *recurring) *bundles.Bundle {
	t.Helper()
	res, err := export.Run(context.Background(), r.dst.c, export.Options{ToolVersion: "test", Now: time.Now})
	if err != nil {
		t.Fatalf("export of the destination: %v", err)
	}
	return res.Bundle
}

func TestOrdinaryWeekRenames(t *testing.T) {
	src := startSim(t, "source.json", octosim.Options{})
	b1 := fitBundle(t, exportBundle(t, src, false))
	proc := []string{"OctoFX"}

	t.Run("a step renamed at the source keeps its ID and the destination's scoped value", func(t *testing.T) {
		r := newRecurring(t, b1)
		live := r.liveDoc(schema.DeploymentProcess, proc...)
		webID, stepBefore := actionID(t, live, "Smoke Test Web"), stepID(live, "Smoke Tests")
		r.edit(schema.ProjectVariables, proc, addDestinationVariable("DR.SmokeUrl", "https://dr.example.com", webID))
		b2 := modified(t, b1, schema.DeploymentProcess, proc, withSteps(func(steps []map[string]any) []map[string]any {
			element(steps, "Smoke Tests")["Name"] = "Smoke Test Suite"
			return steps
		}))
		p, _ := r.apply(b2, Options{})
		mustNoErrors(t, p)
		ch := find(t, p, schema.DeploymentProcess, proc...)
		if !hasWhy(ch, plans.WhyRenamed) || len(ch.Renames) != 1 || ch.Renames[0].From != "Smoke Tests" || ch.Renames[0].To != "Smoke Test Suite" {
			t.Errorf("why %q, renames %+v", ch.Why, ch.Renames)
		}
		after := r.liveDoc(schema.DeploymentProcess, proc...)
		if got := stepID(after, "Smoke Test Suite"); got == "" || got != stepBefore {
			t.Errorf("step ID %q after the rename, %q before", got, stepBefore)
		}
		if got := actionID(t, after, "Smoke Test Web"); got != webID {
			t.Errorf("action ID %q after the rename, %q before", got, webID)
		}
		if got := varValues(r.doc(schema.ProjectVariables, proc...), "DR.SmokeUrl"); !slices.Equal(got, []string{`"DR.SmokeUrl" Action="Smoke Test Web" = https://dr.example.com`}) {
			t.Errorf("the destination's own value: %q", got)
		}
		exportsCleanly(t, r)
		r.replay(b2, Options{})
	})

	t.Run("a one-action step renamed with its action: values scoped to it follow", func(t *testing.T) {
		r := newRecurring(t, b1)
		live := r.liveDoc(schema.DeploymentProcess, proc...)
		cdnID := actionID(t, live, "Invalidate CDN Cache")
		r.edit(schema.ProjectVariables, proc, addDestinationVariable("DR.CdnZone", "dr-zone", cdnID))
		b2 := modified(t, b1, schema.DeploymentProcess, proc, withSteps(func(steps []map[string]any) []map[string]any {
			s := element(steps, "Invalidate CDN Cache")
			s["Name"] = "Purge CDN Cache"
			s["Actions"].([]any)[0].(map[string]any)["Name"] = "Purge CDN Cache"
			return steps
		}))
		p, _ := r.apply(b2, Options{})
		mustNoErrors(t, p)
		if got := actionID(t, r.liveDoc(schema.DeploymentProcess, proc...), "Purge CDN Cache"); got != cdnID {
			t.Errorf("action ID %q after the rename, %q before", got, cdnID)
		}
		if got := varValues(r.doc(schema.ProjectVariables, proc...), "DR.CdnZone"); !slices.Equal(got, []string{`"DR.CdnZone" Action="Purge CDN Cache" = dr-zone`}) {
			t.Errorf("the destination's own value: %q", got)
		}
		vc := find(t, p, schema.ProjectVariables, proc...)
		if vc.Action != plans.OpNoOp {
			t.Errorf("project variables: %s (the renamed action keeps its ID: nothing to write)", vc.Action)
		}
		exportsCleanly(t, r)
		r.replay(b2, Options{})
	})

	t.Run("a first sync of a renamed step without a base renames, never duplicates", func(t *testing.T) {
		r := newRecurring(t, b1)
		live := r.liveDoc(schema.DeploymentProcess, proc...)
		stepBefore := stepID(live, "Smoke Tests")
		b2 := modified(t, b1, schema.DeploymentProcess, proc, withSteps(func(steps []map[string]any) []map[string]any {
			element(steps, "Smoke Tests")["Name"] = "Smoke Test Suite"
			return steps
		}))
		// No base: a lost state, or another pipeline's first sync.
		p, rec, err := Apply(context.Background(), r.dst.c, b2, Options{Logger: testLogger()})
		if err != nil {
			t.Fatal(err)
		}
		mustNoErrors(t, p)
		if rec.Status() != plans.Succeeded {
			var buf strings.Builder
			_ = render.Receipt(&buf, rec)
			t.Fatalf("apply %s\n%s", rec.Status(), buf.String())
		}
		after := r.liveDoc(schema.DeploymentProcess, proc...)
		steps := names(elements(after, "Steps"))
		if slices.Contains(steps, "Smoke Tests") || stepID(after, "Smoke Test Suite") != stepBefore {
			t.Errorf("steps %q; Smoke Test Suite %q, was %q", steps, stepID(after, "Smoke Test Suite"), stepBefore)
		}
		exportsCleanly(t, r)
	})
}

func TestOrdinaryWeekPartialBundle(t *testing.T) {
	for _, v := range e2eVersions {
		t.Run(v, func(t *testing.T) {
			src := startSim(t, "source.json", octosim.Options{ServerVersion: v})
			b1 := fitBundle(t, exportBundle(t, src, false))
			r := newRecurringAt(t, b1, v)
			before := r.doc(schema.TenantVariables, "Acme Corp")
			tenant := r.doc(schema.Tenant, "Acme Corp")
			if _, ok := tenant["ProjectEnvironments"].(map[string]any)["Customer Portal"]; !ok {
				t.Fatalf("the sample's Acme Corp has no Customer Portal link: %v", tenant["ProjectEnvironments"])
			}
			res, err := export.Run(context.Background(), src.c, export.Options{Projects: []string{"OctoFX"}, ToolVersion: "test", Now: time.Now})
			if err != nil {
				t.Fatal(err)
			}
			partial := fitBundle(t, res.Bundle)
			for _, prune := range []bool{false, true} {
				p, _ := r.apply(partial, Options{Prune: prune})
				mustNoErrors(t, p)
				if got := r.doc(schema.Tenant, "Acme Corp")["ProjectEnvironments"].(map[string]any)["Customer Portal"]; !bundles.Equal(got, tenant["ProjectEnvironments"].(map[string]any)["Customer Portal"]) {
					t.Errorf("prune %v: Acme Corp's link to Customer Portal: %v", prune, got)
				}
				after := r.doc(schema.TenantVariables, "Acme Corp")
				if a, b := portalValues(after), portalValues(before); !slices.Equal(a, b) {
					t.Errorf("prune %v: Acme Corp's Customer Portal values\n got  %q\n want %q", prune, a, b)
				}
				for _, c := range p.Changes {
					for _, d := range c.Diff {
						if strings.Contains(d.Label, "Customer Portal") {
							t.Errorf("prune %v: %s changes %s", prune, c.Label(), d.Label)
						}
					}
				}
			}
			r.replay(partial, Options{})
			exportsCleanly(t, r)
		})
	}
}

// portalValues lists a tenant's values for the Customer Portal project.
func portalValues(doc map[string]any) []string {
	var out []string
	for _, v := range elements(doc, "ProjectVariables") {
		if v["ProjectId"] == "Customer Portal" {
			id, _ := bundles.Identify(v)
			out = append(out, fmt.Sprintf("%s=%v", id.Label, v["Value"]))
		}
	}
	slices.Sort(out)
	return out
}

// newRecurringAt is newRecurring against a destination of Octopus version v.
func newRecurringAt(t *testing.T, b0 *bundles.Bundle, v string) *recurring {
	t.Helper()
	return newRecurringWith(t, b0, octosim.Options{ServerVersion: v})
}

func TestOrdinaryWeekCaseOnlyNames(t *testing.T) {
	src := startSim(t, "source.json", octosim.Options{})
	b1 := fitBundle(t, exportBundle(t, src, false))
	proc := []string{"OctoFX"}
	r := newRecurring(t, b1)
	b2 := modified(t, b1, schema.ProjectVariables, proc, withVariables(func(vars []map[string]any) []map[string]any {
		return append(vars,
			map[string]any{"Name": "CaseVar", "Value": "upper", "Type": "String", "IsSensitive": false, "Scope": map[string]any{}},
			map[string]any{"Name": "casevar", "Value": "lower", "Type": "String", "IsSensitive": false, "Scope": map[string]any{}})
	}))
	p, _ := r.apply(b2, Options{})
	mustNoErrors(t, p)
	doc := r.doc(schema.ProjectVariables, proc...)
	got := append(varValues(doc, "CaseVar"), varValues(doc, "casevar")...)
	if !slices.Equal(got, []string{`"CaseVar" = upper`, `"casevar" = lower`}) {
		t.Errorf("case-only variables on the destination: %q", got)
	}
	r.replay(b2, Options{})

	// The replay sees a difference in either one.
	b3 := modified(t, b2, schema.ProjectVariables, proc, withVariables(func(vars []map[string]any) []map[string]any {
		for _, v := range vars {
			if v["Name"] == "casevar" {
				v["Value"] = "lower, changed"
			}
		}
		return vars
	}))
	p3, _ := r.apply(b3, Options{})
	if ch := find(t, p3, schema.ProjectVariables, proc...); ch.Action != plans.OpUpdate {
		t.Errorf("a change to casevar: %s", ch.Action)
	}
	if got := varValues(r.doc(schema.ProjectVariables, proc...), "casevar"); !slices.Equal(got, []string{`"casevar" = lower, changed`}) {
		t.Errorf("casevar: %q", got)
	}

	// Steps are compared case-insensitively by the server: two steps whose
	// names differ only in case are a plan error naming both.
	b4 := modified(t, b1, schema.DeploymentProcess, proc, withSteps(func(steps []map[string]any) []map[string]any {
		twin := schema.DeepCopy(element(steps, "Smoke Tests")).(map[string]any)
		twin["Name"] = "smoke tests"
		for _, a := range twin["Actions"].([]any) {
			a.(map[string]any)["Name"] = a.(map[string]any)["Name"].(string) + " 2"
		}
		return append(steps, twin)
	}))
	r.dst.srv.ResetCounters()
	p4, err := MakePlan(context.Background(), r.dst.c, b4, r.options(Options{}))
	if err != nil {
		t.Fatal(err)
	}
	ch := find(t, p4, schema.DeploymentProcess, proc...)
	if ch.Action != plans.OpError || !strings.Contains(ch.Error, `"Smoke Tests" and "smoke tests" differ only in case`) {
		t.Errorf("case-only step names: %s %s", ch.Action, ch.Error)
	}
}

// withoutEntities returns b without the entities below the given path
// prefix (a source that deleted them), resealed.
func withoutEntities(t *testing.T, b *bundles.Bundle, prefix string) *bundles.Bundle {
	t.Helper()
	c := b.Clone()
	n := 0
	for _, e := range b.Entries() {
		if strings.HasPrefix(e.Path, prefix) {
			c.Remove(e.Path)
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no entity below %s", prefix)
	}
	if err := c.Seal(); err != nil {
		t.Fatal(err)
	}
	return c
}

// withoutStep returns b whose OctoFX process no longer has step name.
func withoutStep(t *testing.T, b *bundles.Bundle, name string) *bundles.Bundle {
	t.Helper()
	return modified(t, b, schema.DeploymentProcess, []string{"OctoFX"}, withSteps(func(steps []map[string]any) []map[string]any {
		return slices.DeleteFunc(steps, func(s map[string]any) bool { return s["Name"] == name })
	}))
}

func TestOrdinaryWeekPruneInTwo(t *testing.T) {
	src := startSim(t, "source.json", octosim.Options{})
	b1 := fitBundle(t, exportBundle(t, src, false))
	proc := []string{"OctoFX"}
	runbook := []string{"OctoFX", "Toggle Maintenance Mode"}
	// The source deleted a step and a runbook since the last sync.
	// (A source server leaves values scoped to a deleted runbook dangling;
	// export drops them, as here.)
	b2 := withoutEntities(t, withoutStep(t, b1, "Warm Legacy Cache"), "projects/OctoFX/runbooks/Toggle Maintenance Mode/")
	b2 = modified(t, b2, schema.ProjectVariables, proc, withVariables(func(vars []map[string]any) []map[string]any {
		return slices.DeleteFunc(vars, func(v map[string]any) bool {
			owners, _ := v["Scope"].(map[string]any)["ProcessOwner"].([]any)
			return slices.Contains(owners, any("Toggle Maintenance Mode"))
		})
	}))
	// The sample destination's own values (never in the base).
	ownValues := func(vars map[string]any) []string {
		var out []string
		for _, n := range []string{"Application.Database.Name", "DR.Failover.Region", "OctoFX.Smoke.TimeoutSeconds"} {
			for _, v := range varValues(vars, n) {
				if strings.Contains(v, "Environment=DR") || strings.Contains(v, "Smoke.Timeout") {
					out = append(out, v)
				}
			}
		}
		return out
	}

	t.Run("--prune deletes what the source deleted, never the destination's own", func(t *testing.T) {
		r := newRecurring(t, b1)
		if r.doc(schema.Runbook, runbook...) == nil {
			t.Fatal("the first sync did not create the runbook")
		}
		p, _ := r.apply(b2, Options{Prune: true})
		mustNoErrors(t, p)
		if r.doc(schema.Runbook, runbook...) != nil {
			t.Errorf("the runbook the source deleted is still there")
		}
		if steps := names(elements(r.doc(schema.DeploymentProcess, proc...), "Steps")); slices.Contains(steps, "Warm Legacy Cache") {
			t.Errorf("the step the source deleted is still there: %q", steps)
		}
		if got := ownValues(r.doc(schema.ProjectVariables, proc...)); len(got) != 3 {
			t.Errorf("--prune removed some of the destination's own values: %q left", got)
		}
		exportsCleanly(t, r)
		r.replay(b2, Options{Prune: true})

		// --remove-destination-only removes the destination's own, and
		// says so.
		p, _ = r.apply(b2, Options{RemoveDestinationOnly: true})
		mustNoErrors(t, p)
		if got := ownValues(r.doc(schema.ProjectVariables, proc...)); len(got) != 0 {
			t.Errorf("--remove-destination-only kept %q", got)
		}
		if ch := find(t, p, schema.ProjectVariables, proc...); !hasWhy(ch, plans.WhyPruned) {
			t.Errorf("why %q", ch.Why)
		}
		r.replay(b2, Options{RemoveDestinationOnly: true})
	})

	t.Run("deleted at the source, changed on the destination: a conflict, kept", func(t *testing.T) {
		r := newRecurring(t, b1)
		r.edit(schema.Runbook, runbook, func(doc map[string]any) { doc["Description"] = "the DR team's own notes" })
		p, _ := r.apply(b2, Options{Prune: true})
		ch := find(t, p, schema.Runbook, runbook...)
		if ch.Action != plans.OpKeep || !hasWhy(ch, plans.WhyConflict) || len(ch.Conflicts) != 1 {
			t.Errorf("runbook: %s %q %q", ch.Action, ch.Why, ch.Reason)
		}
		if r.doc(schema.Runbook, runbook...) == nil {
			t.Errorf("the runbook changed on the destination was deleted")
		}
		// --on-conflict source deletes it.
		p, _ = r.apply(b2, Options{Prune: true, Policy: policy.Flags{OnConflict: policy.WinnerSource}})
		if ch := find(t, p, schema.Runbook, runbook...); ch.Action != plans.OpDelete {
			t.Errorf("runbook with --on-conflict source: %s", ch.Action)
		}
		if r.doc(schema.Runbook, runbook...) != nil {
			t.Errorf("--on-conflict source kept the runbook")
		}
	})
}

func TestOrdinaryWeekLostScope(t *testing.T) {
	ctx := context.Background()
	src := startSim(t, "source.json", octosim.Options{})
	b1 := fitBundle(t, exportBundle(t, src, false))
	proc := []string{"OctoFX"}
	b2 := withoutStep(t, b1, "Warm Legacy Cache")
	setup := func(t *testing.T) *recurring {
		r := newRecurring(t, b1)
		live := r.liveDoc(schema.DeploymentProcess, proc...)
		warm, slack := actionID(t, live, "Warm Legacy Cache"), actionID(t, live, "Notify Slack")
		r.edit(schema.ProjectVariables, proc, addDestinationVariable("DR.WarmUrl", "https://dr-warm", warm))
		r.edit(schema.ProjectVariables, proc, func(doc map[string]any) {
			doc["Variables"] = append(doc["Variables"].([]any), map[string]any{
				"Name": "DR.Two", "Value": "two", "Type": "String", "IsSensitive": false,
				"Scope": map[string]any{"Action": []any{warm, slack}},
			})
		})
		return r
	}

	t.Run("no decision: a plan error naming the value and how to decide", func(t *testing.T) {
		r := setup(t)
		r.dst.srv.ResetCounters()
		p, err := MakePlan(ctx, r.dst.c, b2, r.options(Options{}))
		if err != nil {
			t.Fatal(err)
		}
		ch := find(t, p, schema.ProjectVariables, proc...)
		for _, want := range []string{`Variables["DR.WarmUrl" Action="Warm Legacy Cache"] would lose its whole Action scope ("Warm Legacy Cache"`, "--on-lost-scope drop", "--on-lost-scope unscope"} {
			if ch.Action != plans.OpError || !strings.Contains(ch.Error, want) {
				t.Errorf("project variables: %s, error %q lacks %q", ch.Action, ch.Error, want)
			}
		}
		if strings.Contains(ch.Error, "DR.Two") {
			t.Errorf("a value that keeps another action is no error: %s", ch.Error)
		}
		if r.dst.srv.Writes() != 0 {
			t.Errorf("%d writes", r.dst.srv.Writes())
		}
	})

	for _, tc := range []struct {
		decision LostScope
		want     []string
	}{
		{LostScopeDrop, nil},
		{LostScopeUnscope, []string{`"DR.WarmUrl" = https://dr-warm`}},
	} {
		t.Run("--on-lost-scope "+string(tc.decision), func(t *testing.T) {
			r := setup(t)
			p, _ := r.apply(b2, Options{OnLostScope: tc.decision})
			mustNoErrors(t, p)
			vars := r.doc(schema.ProjectVariables, proc...)
			if got := varValues(vars, "DR.WarmUrl"); !slices.Equal(got, tc.want) {
				t.Errorf("DR.WarmUrl: %q, want %q", got, tc.want)
			}
			if got := varValues(vars, "DR.Two"); !slices.Equal(got, []string{`"DR.Two" Action="Notify Slack" = two`}) {
				t.Errorf("DR.Two: %q (narrowed to the action it keeps)", got)
			}
			ch := find(t, p, schema.ProjectVariables, proc...)
			if !slices.ContainsFunc(ch.Notes, func(n string) bool {
				return strings.Contains(n, "DR.WarmUrl") && strings.Contains(n, string(tc.decision))
			}) {
				t.Errorf("notes %q", ch.Notes)
			}
			exportsCleanly(t, r)
			r.replay(b2, Options{})
		})
	}
}

// TestOrdinaryWeekDanglingDestination: the destination holds its own value
// scoped only to an action that no longer exists (a step deleted behind
// it). Plan and apply read it with a warning; the plan predicts what apply
// does: without a decision a plan error naming the value (never an apply
// that refuses half-way), with --on-lost-scope the value is dropped or
// unscoped, and the replay writes nothing.
func TestOrdinaryWeekDanglingDestination(t *testing.T) {
	ctx := context.Background()
	src := startSim(t, "source.json", octosim.Options{})
	b := fitBundle(t, exportBundle(t, src, false))
	proc := []string{"OctoFX"}
	setup := func(t *testing.T) *recurring {
		r := newRecurring(t, b)
		r.edit(schema.DeploymentProcess, proc, func(doc map[string]any) {
			steps, _ := doc["Steps"].([]any)
			doc["Steps"] = slices.DeleteFunc(slices.Clone(steps), func(s any) bool {
				return s.(map[string]any)["Name"] == "Smoke Tests"
			})
		})
		return r
	}
	t.Run("no decision", func(t *testing.T) {
		r := setup(t)
		r.dst.srv.ResetCounters()
		p, err := MakePlan(ctx, r.dst.c, b, r.options(Options{}))
		if err != nil {
			t.Fatal(err)
		}
		ch := find(t, p, schema.ProjectVariables, proc...)
		if ch.Action != plans.OpError || !strings.Contains(ch.Error, `the destination's Variables["OctoFX.Smoke.TimeoutSeconds"] is scoped only to Action "ce4bd81e-11ca-5e2d-8bf9-0fc2c07b29b9", which no longer exists`) || !strings.Contains(ch.Error, "--on-lost-scope") {
			t.Errorf("%s: %s", ch.Action, ch.Error)
		}
		if r.dst.srv.Writes() != 0 {
			t.Errorf("%d writes", r.dst.srv.Writes())
		}
	})
	for _, tc := range []struct {
		decision LostScope
		want     []string
	}{
		{LostScopeDrop, nil},
		{LostScopeUnscope, []string{`"OctoFX.Smoke.TimeoutSeconds" = 120`}},
	} {
		t.Run(string(tc.decision), func(t *testing.T) {
			r := setup(t)
			p, _ := r.apply(b, Options{OnLostScope: tc.decision})
			mustNoErrors(t, p)
			if got := varValues(r.doc(schema.ProjectVariables, proc...), "OctoFX.Smoke.TimeoutSeconds"); !slices.Equal(got, tc.want) {
				t.Errorf("OctoFX.Smoke.TimeoutSeconds: %q, want %q", got, tc.want)
			}
			exportsCleanly(t, r)
			r.replay(b, Options{})
		})
	}
}
