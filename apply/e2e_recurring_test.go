package apply

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/apply/render"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/internal/state"
	"github.com/octobundle/octobundle/policy"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/translate"
)

// recurring is a destination synced again and again from one state
// directory, as a pipeline does (issue 9).
type recurring struct {
	t   *testing.T
	dst *sim
	st  *state.Store
}

// newRecurring starts the sample destination, applies b0 to it (the first
// sync: no base) and checks that a replay, now three-way, writes nothing.
func newRecurring(t *testing.T, b0 *bundles.Bundle) *recurring {
	t.Helper()
	return newRecurringWith(t, b0, octosim.Options{})
}

// newRecurringWith is newRecurring with a destination started with opts.
func newRecurringWith(t *testing.T, b0 *bundles.Bundle, opts octosim.Options) *recurring {
	t.Helper()
	dst := startSim(t, "destination.json", opts)
	st, err := state.Open(t.TempDir(), state.Destination{Server: dst.c.Server(), InstallationID: dst.c.InstallationID, Space: dst.c.SpaceName})
	if err != nil {
		t.Fatal(err)
	}
	r := &recurring{t: t, dst: dst, st: st}
	p, _ := r.apply(b0, Options{})
	if p.Mode != "two-way" {
		t.Fatalf("first sync: mode %q, want two-way", p.Mode)
	}
	r.replay(b0, Options{})
	return r
}

// options fills the base (the state's) and the state recorder.
func (r *recurring) options(o Options) Options {
	r.t.Helper()
	b, digest, err := r.st.Base()
	if err != nil {
		r.t.Fatal(err)
	}
	ids, err := r.st.IDs()
	if err != nil {
		r.t.Fatal(err)
	}
	o.Base = &Base{Bundle: b, Digest: digest, From: "state " + r.st.Dir(), IDs: ids}
	o.State = r.st
	o.Logger = testLogger()
	return o
}

// apply syncs b and requires success.
func (r *recurring) apply(b *bundles.Bundle, o Options) (*plans.Plan, *plans.Receipt) {
	r.t.Helper()
	p, rec, err := Apply(context.Background(), r.dst.c, b, r.options(o))
	if err != nil {
		r.t.Fatal(err)
	}
	if rec.Status() != plans.Succeeded {
		var buf strings.Builder
		_ = render.Receipt(&buf, rec)
		r.t.Fatalf("apply %s\n%s", rec.Status(), buf.String())
	}
	if err := r.st.Finish(state.AppliedBundle(b), time.Now()); err != nil {
		r.t.Fatal(err)
	}
	return p, rec
}

// replay applies b again: three-way, nothing to change, zero writes.
func (r *recurring) replay(b *bundles.Bundle, o Options) *plans.Plan {
	r.t.Helper()
	r.dst.srv.ResetCounters()
	p, _ := r.apply(b, o)
	if p.Mode != "three-way" {
		r.t.Errorf("replay: mode %q, want three-way", p.Mode)
	}
	if p.HasChanges() || r.dst.srv.Writes() != 0 {
		var buf strings.Builder
		_ = render.Plan(&buf, p)
		r.t.Errorf("replay: %d writes, plan:\n%s", r.dst.srv.Writes(), buf.String())
	}
	return p
}

// doc returns the destination entity in bundle form (nil when absent).
func (r *recurring) doc(kind string, names ...string) map[string]any {
	r.t.Helper()
	snap, err := snapshot.Read(context.Background(), r.dst.c, snapshot.Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	e := snap.Find(kind, names...)
	if e == nil {
		return nil
	}
	form, err := translate.ToBundle(snap, e)
	if err != nil {
		r.t.Fatal(err)
	}
	return form.(map[string]any)
}

// edit changes a destination entity through the API, as the destination's
// people do: GET its document, change it, PUT it back.
func (r *recurring) edit(kind string, names []string, fn func(doc map[string]any)) {
	r.t.Helper()
	ctx := context.Background()
	snap, err := snapshot.Read(ctx, r.dst.c, snapshot.Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	e := snap.Find(kind, names...)
	if e == nil {
		r.t.Fatalf("no destination %s %v", kind, names)
	}
	self, _ := e.Object()["Links"].(map[string]any)["Self"].(string)
	u, err := url.Parse(self)
	if err != nil || self == "" {
		r.t.Fatalf("%s %v: no Links.Self", kind, names)
	}
	doc, err := r.dst.c.Get(ctx, u.Path)
	if err != nil {
		r.t.Fatal(err)
	}
	fn(doc)
	if _, err := r.dst.c.Put(ctx, u.Path, doc); err != nil {
		r.t.Fatal(err)
	}
}

// elements returns the named elements of doc[field] by name (the first of
// each name).
func elements(doc map[string]any, field string) []map[string]any {
	var out []map[string]any
	arr, _ := doc[field].([]any)
	for _, el := range arr {
		if m, ok := el.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func names(els []map[string]any) []string {
	var out []string
	for _, el := range els {
		out = append(out, fmt.Sprint(el["Name"]))
	}
	return out
}

func element(els []map[string]any, name string) map[string]any {
	for _, el := range els {
		if el["Name"] == name {
			return el
		}
	}
	return nil
}

// variable returns the variables named name, as "scope → value" lines.
func varValues(doc map[string]any, name string) []string {
	var out []string
	for _, v := range elements(doc, "Variables") {
		if v["Name"] != name {
			continue
		}
		id, _ := bundles.Identify(v)
		out = append(out, fmt.Sprintf("%s = %v", id.Label, v["Value"]))
	}
	slices.Sort(out)
	return out
}

// withVariables returns a bundle edit of a variable set: fn gets and
// returns the variables.
func withVariables(fn func(vars []map[string]any) []map[string]any) func(doc map[string]any) any {
	return func(doc map[string]any) any {
		out := fn(elements(doc, "Variables"))
		arr := make([]any, len(out))
		for i, v := range out {
			arr[i] = v
		}
		doc["Variables"] = arr
		return doc
	}
}

// withSteps returns a bundle edit of a deployment process.
func withSteps(fn func(steps []map[string]any) []map[string]any) func(doc map[string]any) any {
	return func(doc map[string]any) any {
		out := fn(elements(doc, "Steps"))
		arr := make([]any, len(out))
		for i, v := range out {
			arr[i] = v
		}
		doc["Steps"] = arr
		return doc
	}
}

func props(el map[string]any) map[string]any {
	p, _ := el["Properties"].(map[string]any)
	return p
}

func hasWhy(ch *plans.Change, why string) bool { return slices.Contains(ch.Why, why) }

// TestRecurringSync acts out recurring syncs of the sample instances
// (issue 9): each case applies a first bundle, changes the bundle and/or
// the destination, applies again three-way against the state, checks the
// destination entity by entity, and replays with zero writes.
func TestRecurringSync(t *testing.T) {
	ctx := context.Background()
	src := startSim(t, "source.json", octosim.Options{})
	b1 := fitBundle(t, exportBundle(t, src, false))
	proc := []string{"OctoFX"}

	// The seed's "Variable scoping" example: the source's ConnectionString
	// used to be one unscoped value, and now has a SQL-Server and an
	// Oracle role-scoped value.
	unscopedCS := modified(t, b1, schema.ProjectVariables, proc, withVariables(func(vars []map[string]any) []map[string]any {
		var out []map[string]any
		for _, v := range vars {
			if v["Name"] == "ConnectionString" {
				if v["Scope"].(map[string]any)["Role"].([]any)[0] == "Oracle" {
					continue
				}
				v["Scope"] = map[string]any{}
			}
			out = append(out, v)
		}
		return out
	}))

	// A project only the pipeline manages (no team role or tenant refers
	// to it), which the source then deletes.
	withSunset := withCopiedProject(t, b1, "Release Notes Bot", "Sunset Project")
	// … with a lifecycle of its own, which the source deletes with it.
	withSunsetLifecycle := func() *bundles.Bundle {
		c := withSunset.Clone()
		lk := schema.MustLookup(schema.Lifecycle)
		var lc any
		for _, e := range c.Entries() {
			if e.Kind.Name == schema.Lifecycle {
				lc = schema.DeepCopy(e.Doc)
				break
			}
		}
		lc.(map[string]any)["Name"] = "Sunset Lifecycle"
		if _, err := c.PutEntity(lk, []string{"Sunset Lifecycle"}, lc); err != nil {
			t.Fatal(err)
		}
		pk := schema.MustLookup(schema.Project)
		proj, _ := c.Entity(pk, "Sunset Project")
		proj = schema.DeepCopy(proj)
		proj.(map[string]any)["LifecycleId"] = "Sunset Lifecycle"
		if _, err := c.PutEntity(pk, []string{"Sunset Project"}, proj); err != nil {
			t.Fatal(err)
		}
		if err := c.Seal(); err != nil {
			t.Fatal(err)
		}
		return c
	}()

	type check func(t *testing.T, r *recurring, p *plans.Plan)
	cases := []struct {
		name string
		// first is the bundle of the first sync (nil: b1).
		first *bundles.Bundle
		// dest changes the destination after the first sync.
		dest func(r *recurring)
		// second is the bundle of the second sync.
		second func(t *testing.T) *bundles.Bundle
		opts   Options
		check  check
	}{
		{
			name: "renamed step",
			second: func(t *testing.T) *bundles.Bundle {
				return modified(t, b1, schema.DeploymentProcess, proc, withSteps(func(steps []map[string]any) []map[string]any {
					s := element(steps, "Invalidate CDN Cache")
					s["Name"] = "Purge CDN Cache"
					s["Actions"].([]any)[0].(map[string]any)["Name"] = "Purge CDN Cache"
					return steps
				}))
			},
			check: func(t *testing.T, r *recurring, p *plans.Plan) {
				steps := names(elements(r.doc(schema.DeploymentProcess, proc...), "Steps"))
				if slices.Contains(steps, "Invalidate CDN Cache") || !slices.Contains(steps, "Purge CDN Cache") {
					t.Errorf("steps after the rename: %q", steps)
				}
				if n := len(slices.DeleteFunc(slices.Clone(steps), func(s string) bool { return s != "Purge CDN Cache" })); n != 1 {
					t.Errorf("%d steps named Purge CDN Cache", n)
				}
				ch := find(t, p, schema.DeploymentProcess, proc...)
				if !hasWhy(ch, plans.WhyRenamed) || hasWhy(ch, plans.WhySourceDeleted) {
					t.Errorf("why %q", ch.Why)
				}
			},
		},
		{
			name: "renamed action",
			second: func(t *testing.T) *bundles.Bundle {
				return modified(t, b1, schema.DeploymentProcess, proc, withSteps(func(steps []map[string]any) []map[string]any {
					for _, a := range element(steps, "Smoke Tests")["Actions"].([]any) {
						if a.(map[string]any)["Name"] == "Smoke Test API" {
							a.(map[string]any)["Name"] = "Smoke Test Endpoints"
						}
					}
					return steps
				}))
			},
			check: func(t *testing.T, r *recurring, p *plans.Plan) {
				step := element(elements(r.doc(schema.DeploymentProcess, proc...), "Steps"), "Smoke Tests")
				if got := names(elements(step, "Actions")); !slices.Equal(got, []string{"Smoke Test Web", "Smoke Test Endpoints"}) {
					t.Errorf("Smoke Tests actions: %q", got)
				}
			},
		},
		{
			name: "deleted step and variable",
			second: func(t *testing.T) *bundles.Bundle {
				b := modified(t, b1, schema.DeploymentProcess, proc, withSteps(func(steps []map[string]any) []map[string]any {
					return slices.DeleteFunc(steps, func(s map[string]any) bool { return s["Name"] == "Notify Slack" })
				}))
				return modified(t, b, schema.ProjectVariables, proc, withVariables(func(vars []map[string]any) []map[string]any {
					return slices.DeleteFunc(vars, func(v map[string]any) bool { return v["Name"] == "OctoFX.ReleaseNote" })
				}))
			},
			check: func(t *testing.T, r *recurring, p *plans.Plan) {
				if steps := names(elements(r.doc(schema.DeploymentProcess, proc...), "Steps")); slices.Contains(steps, "Notify Slack") {
					t.Errorf("the step the source deleted is still there: %q", steps)
				}
				if v := varValues(r.doc(schema.ProjectVariables, proc...), "OctoFX.ReleaseNote"); len(v) != 0 {
					t.Errorf("the variable the source deleted is still there: %q", v)
				}
				if ch := find(t, p, schema.ProjectVariables, proc...); !hasWhy(ch, plans.WhySourceDeleted) || !strings.Contains(ch.Reason, `Variables["OctoFX.ReleaseNote"]`) {
					t.Errorf("variables why %q, reason %s", ch.Why, ch.Reason)
				}
			},
		},
		{
			name: "removed Properties key in a step and in a step template",
			second: func(t *testing.T) *bundles.Bundle {
				b := modified(t, b1, schema.DeploymentProcess, proc, withSteps(func(steps []map[string]any) []map[string]any {
					delete(props(element(steps, "Deploy OctoFX Web")), "Octopus.Action.MaxParallelism")
					return steps
				}))
				return modified(t, b, schema.ActionTemplate, []string{"AWS - Invalidate CloudFront Cache"}, func(doc map[string]any) any {
					delete(props(doc), "Octopus.Action.Aws.AssumeRole")
					return doc
				})
			},
			check: func(t *testing.T, r *recurring, p *plans.Plan) {
				step := element(elements(r.doc(schema.DeploymentProcess, proc...), "Steps"), "Deploy OctoFX Web")
				if _, has := props(step)["Octopus.Action.MaxParallelism"]; has {
					t.Errorf("the step property the source deleted is still there: %v", props(step))
				}
				if _, has := props(r.doc(schema.ActionTemplate, "AWS - Invalidate CloudFront Cache"))["Octopus.Action.Aws.AssumeRole"]; has {
					t.Error("the step template property the source deleted is still there")
				}
			},
		},
		{
			name:  "re-scoped ConnectionString (the seed's Variable scoping example)",
			first: unscopedCS,
			second: func(t *testing.T) *bundles.Bundle {
				return b1
			},
			check: func(t *testing.T, r *recurring, p *plans.Plan) {
				vars := r.doc(schema.ProjectVariables, proc...)
				want := []string{
					`"ConnectionString" Role=Oracle = Data Source=#{Application.Database.Name}`,
					`"ConnectionString" Role=SQL-Server = Database=#{Application.Database.Name}`,
				}
				if got := varValues(vars, "ConnectionString"); !slices.Equal(got, want) {
					t.Errorf("ConnectionString:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				ch := find(t, p, schema.ProjectVariables, proc...)
				for _, d := range ch.Diff {
					if strings.Contains(d.Label, "Application.Database.Name") {
						t.Errorf("Application.Database.Name is not left alone: %s", d.Label)
					}
				}
			},
		},
		{
			name: "destination-changed value kept",
			dest: func(r *recurring) {
				r.edit(schema.ProjectVariables, proc, setVariable("OctoFX.ReleaseNote", "set on the destination"))
			},
			second: func(t *testing.T) *bundles.Bundle { return b1 },
			check: func(t *testing.T, r *recurring, p *plans.Plan) {
				if got := varValues(r.doc(schema.ProjectVariables, proc...), "OctoFX.ReleaseNote"); !slices.Equal(got, []string{`"OctoFX.ReleaseNote" = set on the destination`}) {
					t.Errorf("OctoFX.ReleaseNote: %q", got)
				}
				ch := find(t, p, schema.ProjectVariables, proc...)
				listed := slices.ContainsFunc(ch.Drift, func(d plans.FieldDiff) bool {
					return d.Label == `Variables["OctoFX.ReleaseNote"].Value` && d.Before == "" && d.After == "set on the destination"
				})
				if ch.Action != plans.OpNoOp || !hasWhy(ch, plans.WhyDrift) || !listed {
					t.Errorf("plan %s why %q drift %+v", ch.Action, ch.Why, ch.Drift)
				}
			},
		},
		{
			name: "value conflict: the destination keeps its value, listed",
			dest: func(r *recurring) {
				r.edit(schema.ProjectVariables, proc, setVariable("OctoFX.ReleaseNote", "set on the destination"))
			},
			second: func(t *testing.T) *bundles.Bundle {
				return modified(t, b1, schema.ProjectVariables, proc, withVariables(func(vars []map[string]any) []map[string]any {
					element(vars, "OctoFX.ReleaseNote")["Value"] = "set at the source"
					return vars
				}))
			},
			check: func(t *testing.T, r *recurring, p *plans.Plan) {
				if got := varValues(r.doc(schema.ProjectVariables, proc...), "OctoFX.ReleaseNote"); !slices.Equal(got, []string{`"OctoFX.ReleaseNote" = set on the destination`}) {
					t.Errorf("OctoFX.ReleaseNote: %q", got)
				}
				ch := find(t, p, schema.ProjectVariables, proc...)
				want := plans.Conflict{Field: `Variables["OctoFX.ReleaseNote"].Value`, Base: "", Source: "set at the source", Destination: "set on the destination",
					Resolution: policy.WinnerDestination, Rule: "registry default: the destination keeps its variable values"}
				if len(ch.Conflicts) != 1 || !bundles.Equal(ch.Conflicts[0], want) {
					t.Errorf("conflicts %+v, want %+v", ch.Conflicts, want)
				}
			},
		},
		{
			name: "step conflict: the source wins, listed",
			dest: func(r *recurring) {
				r.edit(schema.DeploymentProcess, proc, setStepProperty("Deploy OctoFX Web", "Octopus.Action.MaxParallelism", "5"))
			},
			second: func(t *testing.T) *bundles.Bundle {
				return modified(t, b1, schema.DeploymentProcess, proc, withSteps(func(steps []map[string]any) []map[string]any {
					props(element(steps, "Deploy OctoFX Web"))["Octopus.Action.MaxParallelism"] = "3"
					return steps
				}))
			},
			check: func(t *testing.T, r *recurring, p *plans.Plan) {
				step := element(elements(r.doc(schema.DeploymentProcess, proc...), "Steps"), "Deploy OctoFX Web")
				if got := props(step)["Octopus.Action.MaxParallelism"]; got != "3" {
					t.Errorf("MaxParallelism %v, want the source's 3", got)
				}
				ch := find(t, p, schema.DeploymentProcess, proc...)
				if len(ch.Conflicts) != 1 || ch.Conflicts[0].Resolution != policy.WinnerSource || ch.Conflicts[0].Destination != "5" || ch.Conflicts[0].Source != "3" ||
					ch.Conflicts[0].Field != `Steps["Deploy OctoFX Web"].Properties["Octopus.Action.MaxParallelism"]` {
					t.Errorf("conflicts %+v", ch.Conflicts)
				}
			},
		},
		{
			name: "destination-only variable and library variable set inclusion kept",
			dest: func(r *recurring) {
				r.edit(schema.ProjectVariables, proc, func(doc map[string]any) {
					doc["Variables"] = append(doc["Variables"].([]any), map[string]any{"Name": "Dest.Only", "Value": "mine", "Type": "String", "Scope": map[string]any{}})
				})
				lvs, err := r.dst.c.Post(ctx, r.dst.c.SpacePath("libraryvariablesets", false), map[string]any{"Name": "Destination Settings", "ContentType": "Variables"})
				if err != nil {
					t.Fatal(err)
				}
				r.edit(schema.Project, proc, func(doc map[string]any) {
					doc["IncludedLibraryVariableSetIds"] = append(doc["IncludedLibraryVariableSetIds"].([]any), lvs["Id"])
				})
			},
			second: func(t *testing.T) *bundles.Bundle {
				b := modified(t, b1, schema.ProjectVariables, proc, withVariables(func(vars []map[string]any) []map[string]any {
					element(vars, "OctoFX.ReleaseNote")["Value"] = "changed at the source"
					return vars
				}))
				return modified(t, b, schema.Project, proc, func(doc map[string]any) any {
					doc["Description"] = "changed at the source"
					return doc
				})
			},
			check: func(t *testing.T, r *recurring, p *plans.Plan) {
				vars := r.doc(schema.ProjectVariables, proc...)
				if got := varValues(vars, "Dest.Only"); !slices.Equal(got, []string{`"Dest.Only" = mine`}) {
					t.Errorf("Dest.Only: %q", got)
				}
				if got := varValues(vars, "OctoFX.ReleaseNote"); !slices.Equal(got, []string{`"OctoFX.ReleaseNote" = changed at the source`}) {
					t.Errorf("OctoFX.ReleaseNote: %q", got)
				}
				project := r.doc(schema.Project, proc...)
				if !slices.Contains(project["IncludedLibraryVariableSetIds"].([]any), any("Destination Settings")) || project["Description"] != "changed at the source" {
					t.Errorf("project: included %v, description %v", project["IncludedLibraryVariableSetIds"], project["Description"])
				}
				if ch := find(t, p, schema.Project, proc...); !hasWhy(ch, plans.WhyDestOnly) {
					t.Errorf("project why %q", ch.Why)
				}
			},
		},
		{
			name: "a tenant's destination-only environment link kept",
			dest: func(r *recurring) {
				r.edit(schema.Tenant, []string{"Acme Corp"}, func(doc map[string]any) {
					pe := doc["ProjectEnvironments"].(map[string]any)
					for proj, envs := range pe {
						if proj == "Projects-201" {
							pe[proj] = append(envs.([]any), "Environments-103")
						}
					}
				})
			},
			second: func(t *testing.T) *bundles.Bundle {
				return modified(t, b1, schema.Tenant, []string{"Acme Corp"}, func(doc map[string]any) any {
					doc["Description"] = "changed at the source"
					return doc
				})
			},
			check: func(t *testing.T, r *recurring, p *plans.Plan) {
				tenant := r.doc(schema.Tenant, "Acme Corp")
				envs, _ := tenant["ProjectEnvironments"].(map[string]any)["OctoFX"].([]any)
				if !slices.Contains(envs, any("DR")) || tenant["Description"] != "changed at the source" {
					t.Errorf("Acme Corp: OctoFX environments %v, description %v", envs, tenant["Description"])
				}
				if ch := find(t, p, schema.Tenant, "Acme Corp"); !slices.ContainsFunc(ch.Kept, func(k string) bool { return strings.Contains(k, `"DR"`) }) {
					t.Errorf("kept %q", ch.Kept)
				}
			},
		},
		{
			name:  "deleted project without --prune: kept, exit 2",
			first: withSunset,
			second: func(t *testing.T) *bundles.Bundle {
				return b1
			},
			check: func(t *testing.T, r *recurring, p *plans.Plan) {
				if r.doc(schema.Project, "Sunset Project") == nil {
					t.Error("the project was deleted without --prune")
				}
				ch := find(t, p, schema.Project, "Sunset Project")
				if ch.Action != plans.OpKeep || !hasWhy(ch, plans.WhyDeletedKept) || !p.Differs() {
					t.Errorf("plan: %s %q, differs %v", ch.Action, ch.Why, p.Differs())
				}
				if hasChange(p, schema.DeploymentProcess, "Sunset Project") {
					t.Error("the project's process is listed on its own")
				}
			},
		},
		{
			name:  "deleted project and its lifecycle with --prune: deleted, the project first",
			first: withSunsetLifecycle,
			opts:  Options{Prune: true},
			second: func(t *testing.T) *bundles.Bundle {
				return b1
			},
			check: func(t *testing.T, r *recurring, p *plans.Plan) {
				if r.doc(schema.Project, "Sunset Project") != nil {
					t.Error("the project the source deleted is still there with --prune")
				}
				if r.doc(schema.Lifecycle, "Sunset Lifecycle") != nil {
					t.Error("the lifecycle the source deleted is still there with --prune")
				}
				if r.doc(schema.Project, "DR Drills") == nil {
					t.Error("the destination's own project was deleted")
				}
				base, _, err := r.st.Base()
				if err != nil {
					t.Fatal(err)
				}
				for _, pth := range base.Paths() {
					if strings.HasPrefix(pth, "projects/Sunset Project/") {
						t.Errorf("the state still has %s", pth)
					}
				}
			},
		},
		{
			name: "case-only rename",
			second: func(t *testing.T) *bundles.Bundle {
				return modified(t, b1, schema.DeploymentProcess, proc, withSteps(func(steps []map[string]any) []map[string]any {
					element(steps, "Deploy Rate Service")["Name"] = "Deploy rate service"
					return steps
				}))
			},
			check: func(t *testing.T, r *recurring, p *plans.Plan) {
				steps := names(elements(r.doc(schema.DeploymentProcess, proc...), "Steps"))
				if !slices.Contains(steps, "Deploy rate service") || slices.Contains(steps, "Deploy Rate Service") {
					t.Errorf("steps: %q", steps)
				}
				if ch := find(t, p, schema.DeploymentProcess, proc...); ch.Action != plans.OpUpdate || len(ch.Diff) != 1 {
					t.Errorf("plan %s, diff %+v", ch.Action, ch.Diff)
				}
			},
		},
		{
			name: "variable made sensitive",
			second: func(t *testing.T) *bundles.Bundle {
				return modified(t, b1, schema.ProjectVariables, proc, withVariables(func(vars []map[string]any) []map[string]any {
					v := element(vars, "OctoFX.ReleaseNote")
					v["IsSensitive"], v["Type"], v["Value"] = true, "Sensitive", nil
					return vars
				}))
			},
			check: func(t *testing.T, r *recurring, p *plans.Plan) {
				v := element(elements(r.doc(schema.ProjectVariables, proc...), "Variables"), "OctoFX.ReleaseNote")
				if v["IsSensitive"] != true || v["Value"] != nil {
					t.Errorf("OctoFX.ReleaseNote on the destination: %v", v)
				}
				found := false
				for _, it := range p.Cleanup {
					found = found || (it.Kind == schema.ProjectVariables && strings.Contains(it.Field, "OctoFX.ReleaseNote"))
				}
				if !found {
					t.Errorf("no clean-up item for the variable made sensitive: %+v", p.Cleanup)
				}
				for _, vs := range r.dst.srv.Dump().Spaces[0].Collections["variables"] {
					for _, x := range vs["Variables"].([]any) {
						if m := x.(map[string]any); m["Name"] == "OctoFX.ReleaseNote" && (m["Value"] == "" || m["Value"] == nil) {
							t.Errorf("the secret has no placeholder: %v", m)
						}
					}
				}
			},
		},
		{
			name: "step template version bump",
			second: func(t *testing.T) *bundles.Bundle {
				return modified(t, b1, schema.ActionTemplate, []string{"Slack - Notify Deployment"}, func(doc map[string]any) any {
					doc["Description"] = "a new version"
					return doc
				})
			},
			check: func(t *testing.T, r *recurring, p *plans.Plan) {
				snap, err := snapshot.Read(ctx, r.dst.c, snapshot.Options{})
				if err != nil {
					t.Fatal(err)
				}
				tpl := snap.Find(schema.ActionTemplate, "Slack - Notify Deployment")
				dp := snap.Find(schema.DeploymentProcess, proc...).Object()
				for _, s := range dp["Steps"].([]any) {
					for _, a := range s.(map[string]any)["Actions"].([]any) {
						pr := a.(map[string]any)["Properties"].(map[string]any)
						if pr["Octopus.Action.Template.Id"] == tpl.ID && fmt.Sprint(pr["Octopus.Action.Template.Version"]) != fmt.Sprint(tpl.Object()["Version"]) {
							t.Errorf("action %v references template version %v, the template is at %v", a.(map[string]any)["Name"], pr["Octopus.Action.Template.Version"], tpl.Object()["Version"])
						}
					}
				}
				if ch := find(t, p, schema.DeploymentProcess, proc...); !hasWhy(ch, plans.WhyStamp) {
					t.Errorf("process why %q", ch.Why)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			first := tc.first
			if first == nil {
				first = b1
			}
			r := newRecurring(t, first)
			r.t = t
			if tc.dest != nil {
				tc.dest(r)
			}
			b2 := tc.second(t)
			p, _ := r.apply(b2, tc.opts)
			if p.Mode != "three-way" {
				t.Errorf("second sync: mode %q", p.Mode)
			}
			tc.check(t, r, p)
			r.replay(b2, tc.opts)
		})
	}

	t.Run("--on-conflict fail", func(t *testing.T) {
		r := newRecurring(t, b1)
		r.edit(schema.ProjectVariables, proc, setVariable("OctoFX.ReleaseNote", "set on the destination"))
		b2 := modified(t, b1, schema.ProjectVariables, proc, withVariables(func(vars []map[string]any) []map[string]any {
			element(vars, "OctoFX.ReleaseNote")["Value"] = "set at the source"
			return vars
		}))
		r.dst.srv.ResetCounters()
		_, _, err := Apply(ctx, r.dst.c, b2, r.options(Options{Policy: policy.Flags{OnConflict: policy.WinnerFail}}))
		if !errors.Is(err, ErrPlanHasErrors) || !strings.Contains(err.Error(), `Variables["OctoFX.ReleaseNote"].Value (base "", source "set at the source", destination "set on the destination")`) {
			t.Errorf("apply: %v", err)
		}
		if r.dst.srv.Writes() != 0 {
			t.Errorf("%d writes", r.dst.srv.Writes())
		}
		// --on-conflict source overrides the registry default.
		r.apply(b2, Options{Policy: policy.Flags{OnConflict: policy.WinnerSource}})
		if got := varValues(r.doc(schema.ProjectVariables, proc...), "OctoFX.ReleaseNote"); !slices.Equal(got, []string{`"OctoFX.ReleaseNote" = set at the source`}) {
			t.Errorf("OctoFX.ReleaseNote: %q", got)
		}
		r.replay(b2, Options{})
	})
}

// setVariable returns a destination edit of a variable set's unscoped
// variable name.
func setVariable(name, value string) func(doc map[string]any) {
	return func(doc map[string]any) {
		for _, v := range doc["Variables"].([]any) {
			if m := v.(map[string]any); m["Name"] == name {
				m["Value"] = value
			}
		}
	}
}

// setStepProperty returns a destination edit of a process step's property.
func setStepProperty(step, key, value string) func(doc map[string]any) {
	return func(doc map[string]any) {
		for _, s := range doc["Steps"].([]any) {
			if m := s.(map[string]any); m["Name"] == step {
				m["Properties"].(map[string]any)[key] = value
			}
		}
	}
}

// withCopiedProject returns b with a copy of project from (its JSON
// entities) named to.
func withCopiedProject(t *testing.T, b *bundles.Bundle, from, to string) *bundles.Bundle {
	t.Helper()
	c := b.Clone()
	n := 0
	for _, e := range b.Entries() {
		if e.Kind.Shape == schema.ShapeBinary || len(e.Names) == 0 || e.Names[0] != from || (e.Kind.Name != schema.Project && e.Kind.Parent == "") {
			continue
		}
		doc := schema.DeepCopy(e.Doc)
		if e.Kind.Name == schema.Project {
			doc.(map[string]any)["Name"] = to
		}
		names := append([]string{to}, e.Names[1:]...)
		if _, err := c.PutEntity(e.Kind, names, doc); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n == 0 {
		t.Fatalf("no project %q in the bundle", from)
	}
	if err := c.Seal(); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSavedPlanRederived: a saved plan is executed only if deriving it
// again from the bundle, the base and the destination gives exactly the
// same plan. A hand-edited plan (an SMTP host changed in plan.json) and a
// plan made against another base are refused, naming the difference,
// before the first write.
func TestSavedPlanRederived(t *testing.T) {
	ctx := context.Background()
	src := startSim(t, "source.json", octosim.Options{})
	b1 := fitBundle(t, exportBundle(t, src, false))
	r := newRecurring(t, b1)
	b2 := modified(t, b1, schema.LibraryVariables, []string{"Common Variables"}, withVariables(func(vars []map[string]any) []map[string]any {
		element(vars, "Common.Smtp.Host")["Value"] = "smtp.new.example.com"
		return vars
	}))
	// The destination kept its own host at the first sync (a conflict
	// without a base); this time the source's wins.
	opts := func() Options { return r.options(Options{Policy: policy.Flags{OnConflict: policy.WinnerSource}}) }
	p, err := MakePlan(ctx, r.dst.c, b2, opts())
	if err != nil {
		t.Fatal(err)
	}
	if p.BaseDigest == "" || p.Mode != "three-way" {
		t.Fatalf("plan base %q mode %q", p.BaseDigest, p.Mode)
	}
	var saved strings.Builder
	if err := p.WriteJSON(&saved); err != nil {
		t.Fatal(err)
	}
	read := func(text string) *plans.Plan {
		t.Helper()
		sp, err := plans.ReadPlan(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		return sp
	}

	for _, tc := range []struct {
		name string
		plan string
		opts func() Options
		want string
	}{
		{"hand-edited SMTP host", strings.ReplaceAll(saved.String(), "smtp.new.example.com", "smtp.attacker.example.com"), opts,
			`/Value is "smtp.attacker.example.com" in the saved plan, "smtp.new.example.com" now`},
		{"another base (no state)", saved.String(), func() Options {
			return Options{Logger: testLogger(), Policy: policy.Flags{OnConflict: policy.WinnerSource}}
		},
			"it was made against the base " + p.BaseDigest + " (three-way), and the base now is none (two-way)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.dst.srv.ResetCounters()
			_, err := Execute(ctx, r.dst.c, b2, read(tc.plan), tc.opts())
			if !errors.Is(err, ErrStalePlan) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if r.dst.srv.Writes() != 0 {
				t.Errorf("%d writes", r.dst.srv.Writes())
			}
		})
	}
	// The saved plan as it was is executed.
	rec, err := Execute(ctx, r.dst.c, b2, read(saved.String()), opts())
	if err != nil || rec.Status() != plans.Succeeded {
		t.Fatalf("execute: %v", err)
	}
	if got := varValues(r.doc(schema.LibraryVariables, "Common Variables"), "Common.Smtp.Host"); len(got) != 1 || !strings.HasSuffix(got[0], "= smtp.new.example.com") {
		t.Errorf("Common.Smtp.Host: %q", got)
	}
}

// TestPartialBundleDeletesNothingElse: a partial export (export --project)
// applied after a whole-space one does not report the other projects as
// deleted at the source, and --prune deletes none of them.
func TestPartialBundleDeletesNothingElse(t *testing.T) {
	src := startSim(t, "source.json", octosim.Options{})
	b1 := fitBundle(t, exportBundle(t, src, false))
	r := newRecurring(t, b1)
	partial := b1.Clone()
	for _, e := range b1.Entries() {
		root := e.Kind
		for root.Parent != "" {
			root = schema.MustLookup(root.Parent)
		}
		if root.Name == schema.Project && e.Names[0] != "OctoFX" {
			partial.Remove(e.Path)
		}
	}
	partial.Manifest.Projects = []string{"OctoFX"}
	if err := partial.Seal(); err != nil {
		t.Fatal(err)
	}
	p, _ := r.apply(partial, Options{Prune: true})
	if p.Summary[plans.OpKeep] != 0 || p.Summary[plans.OpDelete] != 0 {
		var buf strings.Builder
		_ = render.Plan(&buf, p)
		t.Errorf("a partial bundle deletes or keeps what it does not hold:\n%s", buf.String())
	}
	for _, name := range []string{"Customer Portal", "Infrastructure Runbooks", "Release Notes Bot"} {
		if r.doc(schema.Project, name) == nil {
			t.Errorf("project %s deleted", name)
		}
	}
}

// TestExactKindOverwritesDestinationEdits: script modules, step templates
// and tag sets must match the source exactly (schema.PolicyExact). After a
// first sync, edits made only on the destination — a script module's
// description, a step template's own property, a tag set's extra scope —
// are not kept as drift: the next apply lists them as changes and
// overwrites them, and a replay then writes nothing. The same edit to a
// kind that is not exact (a project's description) stays as drift.
func TestExactKindOverwritesDestinationEdits(t *testing.T) {
	src := startSim(t, "source.json", octosim.Options{})
	b := fitBundle(t, exportBundle(t, src, false))
	r := newRecurring(t, b)
	first := func(kind string) []string {
		for e := range b.All() {
			if e.Kind.Name == kind {
				return e.Names
			}
		}
		t.Fatalf("the source has no %s: the test needs one", kind)
		return nil
	}
	tpl, tags := first(schema.ActionTemplate), first(schema.TagSet)
	edits := []struct {
		kind  string
		names []string
		field string
		edit  func(doc map[string]any)
	}{
		{schema.ScriptModule, []string{"Bash Utilities"}, "Description", func(doc map[string]any) { doc["Description"] = "Edited on the destination." }},
		{schema.ActionTemplate, tpl, "Properties", func(doc map[string]any) {
			doc["Properties"].(map[string]any)["Octopus.Action.RunOnServer"] = "true"
		}},
		{schema.TagSet, tags, "Scopes", func(doc map[string]any) {
			scopes, _ := doc["Scopes"].([]any)
			if !slices.Contains(scopes, any("Environment")) {
				doc["Scopes"] = append(scopes, "Environment")
			}
		}},
	}
	want := map[string]map[string]any{}
	for _, e := range edits {
		want[e.kind] = r.doc(e.kind, e.names...)
		r.edit(e.kind, e.names, e.edit)
		if got := r.doc(e.kind, e.names...); bundles.Equal(got[e.field], want[e.kind][e.field]) {
			t.Fatalf("%s %v: the edit of %s did not take", e.kind, e.names, e.field)
		}
	}
	r.edit(schema.Project, []string{"OctoFX"}, func(doc map[string]any) { doc["Description"] = "Edited on the destination." })

	p, _ := r.apply(b, Options{})
	for _, e := range edits {
		if got := r.doc(e.kind, e.names...); !bundles.Equal(got[e.field], want[e.kind][e.field]) {
			t.Errorf("%s %v: %s is %v after apply, want the source's %v", e.kind, e.names, e.field, got[e.field], want[e.kind][e.field])
		}
		found := false
		for _, ch := range p.Changes {
			if ch.Kind == e.kind && slices.Equal(ch.Names, e.names) {
				found = true
				if ch.Action != plans.OpUpdate {
					t.Errorf("%s %v: planned %s, want an update", e.kind, e.names, ch.Action)
				}
			}
		}
		if !found {
			t.Errorf("%s %v: not in the plan", e.kind, e.names)
		}
	}
	if got := r.doc(schema.Project, "OctoFX"); got["Description"] != "Edited on the destination." {
		t.Errorf("the project's own description is %q: drift of a kind that is not exact must stay", got["Description"])
	}
	r.replay(b, Options{})
}

// TestDestinationStepOrderKept: after a first sync, a person reorders the
// steps of a project's process on the destination only. The source did
// not reorder them (S = B), so the next apply keeps the destination's
// order, lists it as drift and writes nothing to the process; once the
// source reorders too, the source's order is taken.
func TestDestinationStepOrderKept(t *testing.T) {
	src := startSim(t, "source.json", octosim.Options{})
	b := fitBundle(t, exportBundle(t, src, false))
	r := newRecurring(t, b)
	names := func(doc map[string]any) []string {
		var out []string
		for _, s := range elements(doc, "Steps") {
			out = append(out, s["Name"].(string))
		}
		return out
	}
	before := names(r.doc(schema.DeploymentProcess, "OctoFX"))
	if len(before) < 2 {
		t.Fatalf("OctoFX has %d steps: the test needs two", len(before))
	}
	r.edit(schema.DeploymentProcess, []string{"OctoFX"}, func(doc map[string]any) {
		steps := doc["Steps"].([]any)
		steps[0], steps[1] = steps[1], steps[0]
	})
	reordered := names(r.doc(schema.DeploymentProcess, "OctoFX"))
	if slices.Equal(reordered, before) {
		t.Fatal("the destination's steps did not change order")
	}
	r.dst.srv.ResetCounters()
	p, _ := r.apply(b, Options{})
	if n := r.dst.srv.Counters()["PUT /api/{id}/deploymentprocesses/{id}"]; n != 0 {
		t.Errorf("%d PUTs of a process: the destination's order must be kept", n)
	}
	if got := names(r.doc(schema.DeploymentProcess, "OctoFX")); !slices.Equal(got, reordered) {
		t.Errorf("steps after apply %q, want the destination's %q", got, reordered)
	}
	drift := false
	for _, ch := range p.Changes {
		if ch.Kind == schema.DeploymentProcess && slices.Equal(ch.Names, []string{"OctoFX"}) {
			for _, d := range ch.Drift {
				drift = drift || d.Label == "Steps"
			}
		}
	}
	if !drift {
		t.Error("the plan lists no drift on OctoFX's Steps")
	}

	// The source reorders its steps the same way: its order is taken.
	b2 := modified(t, b, schema.DeploymentProcess, []string{"OctoFX"}, func(doc map[string]any) any {
		steps := doc["Steps"].([]any)
		doc["Steps"] = append([]any{steps[len(steps)-1]}, steps[:len(steps)-1]...)
		return doc
	})
	r.apply(b2, Options{})
	doc2, _ := b2.Entity(schema.MustLookup(schema.DeploymentProcess), "OctoFX")
	want := names(doc2.(map[string]any))
	if got := names(r.doc(schema.DeploymentProcess, "OctoFX")); !slices.Equal(got, want) {
		t.Errorf("steps after the source reordered %q, want the source's %q", got, want)
	}
}
