package apply

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/export"
	"github.com/octobundle/octobundle/internal/octosim"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
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
func mustNoErrors(t *testing.T, p *Plan) {
	t.Helper()
	if p.HasErrors() {
		var buf strings.Builder
		_ = p.WriteText(&buf)
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
		if !hasWhy(ch, WhyRenamed) || len(ch.Renames) != 1 || ch.Renames[0].From != "Smoke Tests" || ch.Renames[0].To != "Smoke Test Suite" {
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
		if vc.Action != ActionNoOp {
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
		if rec.Status() != Succeeded {
			var buf strings.Builder
			_ = rec.WriteText(&buf)
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
	if ch := find(t, p3, schema.ProjectVariables, proc...); ch.Action != ActionUpdate {
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
	if ch.Action != ActionError || !strings.Contains(ch.Error, `"Smoke Tests" and "smoke tests" differ only in case`) {
		t.Errorf("case-only step names: %s %s", ch.Action, ch.Error)
	}
}
