package apply

import (
	"context"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/internal/state"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/tools/octosim"
)

// serverMessage normalises a server refusal for comparison: the server names
// a reference by its ID where the plan names it, and the element's index in
// the body the executor sends may differ from the planned document's.
var (
	refersTo = regexp.MustCompile(`refers to ('[^']*'|[^ ,]+), which`)
	template = regexp.MustCompile(`template \S+ of`)
	index    = regexp.MustCompile(`\[\d+\]`)
)

func serverMessage(s string) string {
	s = template.ReplaceAllString(refersTo.ReplaceAllString(s, "refers to X, which"), "template X of")
	return index.ReplaceAllString(s, "[N]")
}

// TestServerChecksAgreeWithSimulator plans documents the server refuses
// (issue 17): each must be a plan error with the server's message, and the
// same plan forced through (the checks off) must be refused by the
// simulator with that message, so the checks and the simulator cannot
// drift apart.
func TestServerChecksAgreeWithSimulator(t *testing.T) {
	ctx := context.Background()
	src := startSim(t, "source.json", octosim.Options{})
	b1 := fitBundle(t, exportBundle(t, src, false))
	proc := []string{"OctoFX"}

	cases := []struct {
		name string
		// setup returns the destination (synced or not) and the bundle.
		setup func(t *testing.T) (*recurring, *sim, *bundles.Bundle)
		// force, if set, sends the refused document to the simulator
		// itself and returns its answer (when the plan, checks off, would
		// not send it as it is); otherwise the plan is applied with the
		// checks off.
		force func(t *testing.T, dst *sim) string
		// opts are the options of the plan (the base and state are the
		// recurring destination's).
		opts  Options
		kind  string
		names []string
		want  []string
		// planWant, if set, is what the plan's error says instead of want
		// (a decision octobundle asks for before the server would refuse).
		planWant []string
		// hint is more the plan's error says (not the server's).
		hint string
	}{
		{
			// A first sync (two-way) keeps the destination's own step,
			// whose action has the name of one the source adds to another
			// step. (A renamed step that kept an action's name is renamed
			// in place: TestOrdinaryWeekRenames.)
			name: "a destination-only action named like a new one, first sync",
			setup: func(t *testing.T) (*recurring, *sim, *bundles.Bundle) {
				dst := startSim(t, "destination.json", octosim.Options{})
				if err := putEdited(t, dst, schema.DeploymentProcess, proc, func(doc map[string]any) {
					doc["Steps"] = append(doc["Steps"].([]any), map[string]any{
						"Name": "DR Probe Step", "Actions": []any{map[string]any{"Name": "DR Probe", "ActionType": "Octopus.Script"}},
					})
				}); err != nil {
					t.Fatal(err)
				}
				b := modified(t, b1, schema.DeploymentProcess, proc, withSteps(func(steps []map[string]any) []map[string]any {
					s := element(steps, "Smoke Tests") // on both sides
					probe := schema.DeepCopy(s["Actions"].([]any)[0]).(map[string]any)
					probe["Name"] = "DR Probe"
					delete(probe, "Slug")
					s["Actions"] = append(s["Actions"].([]any), probe)
					return steps
				}))
				return nil, dst, b
			},
			kind: schema.DeploymentProcess, names: proc,
			want: []string{"Action names must be unique: 'DR Probe' is used more than once."},
			hint: `The merge keeps the destination's own Steps["DR Probe Step"] (--remove-destination-only removes them).`,
		},
		{
			name: "step names differing in case",
			setup: func(t *testing.T) (*recurring, *sim, *bundles.Bundle) {
				b := modified(t, b1, schema.DeploymentProcess, proc, withSteps(func(steps []map[string]any) []map[string]any {
					element(steps, "Notify Slack")["Name"] = "smoke tests"
					return steps
				}))
				return nil, startSim(t, "destination.json", octosim.Options{}), b
			},
			// The merge keys steps by name and folds the two into one, so
			// the document itself is sent: the destination's process with
			// the same rename.
			force: func(t *testing.T, dst *sim) string {
				err := putEdited(t, dst, schema.DeploymentProcess, proc, func(doc map[string]any) {
					doc["Steps"] = append(doc["Steps"].([]any), map[string]any{
						"Name": "smoke tests", "Actions": []any{map[string]any{"Name": "Notify Slack", "ActionType": "Octopus.Script"}},
					})
				})
				if err == nil {
					return ""
				}
				return err.Error()
			},
			kind: schema.DeploymentProcess, names: proc,
			want: []string{"Step names must be unique: 'smoke tests' is used more than once."},
		},
		{
			// A destination-only value scoped to a step the source then
			// deletes: the merge keeps the value, the process update drops
			// the step.
			name: "variable scoped to a deleted step",
			setup: func(t *testing.T) (*recurring, *sim, *bundles.Bundle) {
				r := newRecurring(t, b1)
				actionID := ""
				r.edit(schema.DeploymentProcess, proc, func(doc map[string]any) {
					for _, s := range doc["Steps"].([]any) {
						if s.(map[string]any)["Name"] == "Invalidate CDN Cache" {
							actionID = s.(map[string]any)["Actions"].([]any)[0].(map[string]any)["Id"].(string)
						}
					}
				})
				r.edit(schema.ProjectVariables, proc, func(doc map[string]any) {
					doc["Variables"] = append(doc["Variables"].([]any), map[string]any{
						"Name": "Cdn.Purge", "Value": "all", "Type": "String",
						"Scope": map[string]any{"Action": []any{actionID}},
					})
				})
				b := modified(t, b1, schema.DeploymentProcess, proc, withSteps(func(steps []map[string]any) []map[string]any {
					var out []map[string]any
					for _, s := range steps {
						if s["Name"] != "Invalidate CDN Cache" {
							out = append(out, s)
						}
					}
					return out
				}))
				// The variable set is written: the source changed a value.
				b = modified(t, b, schema.ProjectVariables, proc, withVariables(func(vars []map[string]any) []map[string]any {
					vars[0]["Description"] = "changed at the source"
					return vars
				}))
				return r, r.dst, b
			},
			// The plan names the value and asks for a lost-scope decision;
			// sent as it is, the server refuses the dangling scope.
			force: func(t *testing.T, dst *sim) string {
				if err := putEdited(t, dst, schema.DeploymentProcess, proc, func(doc map[string]any) {
					var keep []any
					for _, s := range doc["Steps"].([]any) {
						if s.(map[string]any)["Name"] != "Invalidate CDN Cache" {
							keep = append(keep, s)
						}
					}
					doc["Steps"] = keep
				}); err != nil {
					t.Fatal(err)
				}
				err := putEdited(t, dst, schema.ProjectVariables, proc, func(doc map[string]any) {
					doc["Variables"].([]any)[0].(map[string]any)["Description"] = "changed at the source"
				})
				if err == nil {
					return ""
				}
				return err.Error()
			},
			kind: schema.ProjectVariables, names: proc,
			planWant: []string{`Variables["Cdn.Purge" Action="Invalidate CDN Cache"] would lose its whole Action scope`, "--on-lost-scope"},
			want:     []string{"Variables[N].Scope.Action[N] refers to X, which is not a step or action of this project's processes."},
		},
		{
			// A new account without its type: the server refuses it.
			name: "required field",
			setup: func(t *testing.T) (*recurring, *sim, *bundles.Bundle) {
				c := b1.Clone()
				ak := schema.MustLookup(schema.Account)
				var acct map[string]any
				for _, e := range c.Entries() {
					if e.Kind.Name == schema.Account {
						acct = schema.DeepCopy(e.Doc).(map[string]any)
						break
					}
				}
				acct["Name"] = "Untyped Account"
				delete(acct, "AccountType")
				if _, err := c.PutEntity(ak, []string{"Untyped Account"}, acct); err != nil {
					t.Fatal(err)
				}
				if err := c.Seal(); err != nil {
					t.Fatal(err)
				}
				return nil, startSim(t, "destination.json", octosim.Options{}), c
			},
			kind: schema.Account, names: []string{"Untyped Account"},
			want: []string{"The AccountType field is required."},
		},
		{
			// Script modules and library variable sets are one collection
			// on the server, whose names are unique across both.
			name: "script module named as a library variable set",
			setup: func(t *testing.T) (*recurring, *sim, *bundles.Bundle) {
				c := b1.Clone()
				sk := schema.MustLookup(schema.ScriptModule)
				var mod map[string]any
				for _, e := range c.Entries() {
					if e.Kind.Name == schema.ScriptModule {
						mod = schema.DeepCopy(e.Doc).(map[string]any)
						break
					}
				}
				mod["Name"] = "Common Variables"
				if _, err := c.PutEntity(sk, []string{"Common Variables"}, mod); err != nil {
					t.Fatal(err)
				}
				if err := c.Seal(); err != nil {
					t.Fatal(err)
				}
				return nil, startSim(t, "destination.json", octosim.Options{}), c
			},
			kind: schema.ScriptModule, names: []string{"Common Variables"},
			want: []string{"A library variable set with the name 'Common Variables' already exists in this space. Please choose a different name."},
		},
		{
			// The destination's people disconnect a tenant from Staging
			// for a project (drift, kept); the source changes the
			// tenant's value for that project in Staging and Production.
			name: "tenant value for a disconnected environment",
			setup: func(t *testing.T) (*recurring, *sim, *bundles.Bundle) {
				r := newRecurring(t, b1)
				snap, err := snapshot.Read(ctx, r.dst.c, snapshot.Options{})
				if err != nil {
					t.Fatal(err)
				}
				staging := snap.Find(schema.Environment, "Staging").ID
				portal := snap.Find(schema.Project, "Customer Portal").ID
				r.edit(schema.Tenant, []string{"Globex"}, func(doc map[string]any) {
					pe := doc["ProjectEnvironments"].(map[string]any)
					pe[portal] = slices.DeleteFunc(pe[portal].([]any), func(e any) bool { return e == staging })
				})
				b := modified(t, b1, schema.TenantVariables, []string{"Globex"}, func(doc map[string]any) any {
					for _, v := range doc["ProjectVariables"].([]any) {
						if v := v.(map[string]any); v["TemplateId"] == "Portal.Tenant.Subdomain" {
							v["Value"] = "globex-2"
						}
					}
					return doc
				})
				return r, r.dst, b
			},
			kind: schema.TenantVariables, names: []string{"Globex"},
			want: []string{"Variables[N]: Scope.EnvironmentIds: the tenant is not connected to project Customer Portal in environment Staging."},
		},
		{
			// A bundle with two values of a tenant's template for
			// Production (a transform that merged Test into Staging can
			// make such a pair from values for Test and for Staging).
			name: "two tenant values for one environment",
			setup: func(t *testing.T) (*recurring, *sim, *bundles.Bundle) {
				b := modified(t, b1, schema.TenantVariables, []string{"Globex"}, func(doc map[string]any) any {
					doc["ProjectVariables"] = append(doc["ProjectVariables"].([]any), map[string]any{
						"ProjectId": "Customer Portal", "TemplateId": "Portal.Tenant.Subdomain", "Value": "globex-prod",
						"Scope": map[string]any{"EnvironmentIds": []any{"Production"}},
					})
					return doc
				})
				return nil, startSim(t, "destination.json", octosim.Options{}), b
			},
			kind: schema.TenantVariables, names: []string{"Globex"},
			want: []string{"Variables[N]: template X of Customer Portal already has a value for environment Production in Variables[N]."},
		},
		{
			// The source deletes an environment octobundle created; the
			// destination's own lifecycle (left alone: the destination
			// owns lifecycles) has a phase for it. --prune deletes it.
			name: "deleting an environment still used",
			setup: func(t *testing.T) (*recurring, *sim, *bundles.Bundle) {
				ek := schema.MustLookup(schema.Environment)
				b0 := b1.Clone()
				if _, err := b0.PutEntity(ek, []string{"Sunset"}, map[string]any{"Name": "Sunset", "Description": "going away"}); err != nil {
					t.Fatal(err)
				}
				if err := b0.Seal(); err != nil {
					t.Fatal(err)
				}
				r := newRecurring(t, b0)
				snap, err := snapshot.Read(ctx, r.dst.c, snapshot.Options{})
				if err != nil {
					t.Fatal(err)
				}
				sunset := snap.Find(schema.Environment, "Sunset").ID
				r.edit(schema.Lifecycle, []string{"Hotfix"}, func(doc map[string]any) {
					doc["Phases"] = append(doc["Phases"].([]any), map[string]any{
						"Name": "Sunset", "OptionalDeploymentTargets": []any{sunset}, "AutomaticDeploymentTargets": []any{},
					})
				})
				return r, r.dst, b1
			},
			opts: Options{Prune: true},
			kind: schema.Environment, names: []string{"Sunset"},
			want: []string{"This environment cannot be deleted because it is being used by the following lifecycles: Hotfix."},
		},
		{
			name: "trigger action that does not suit its filter",
			setup: func(t *testing.T) (*recurring, *sim, *bundles.Bundle) {
				b := modified(t, b1, schema.ProjectTrigger, []string{"OctoFX", "Built-in package repository"}, func(doc map[string]any) any {
					doc["Action"].(map[string]any)["ActionType"] = "DeployLatestRelease"
					return doc
				})
				return nil, startSim(t, "destination.json", octosim.Options{}), b
			},
			kind: schema.ProjectTrigger, names: []string{"OctoFX", "Built-in package repository"},
			want: []string{`Action.ActionType "DeployLatestRelease" cannot be used with a ArcFeedFilter trigger.`},
		},
		{
			// The destination's people stop a tenant's only project
			// including a library variable set (drift, kept); the source
			// changes the tenant's value for the set.
			name: "tenant common value for a set no connected project includes",
			setup: func(t *testing.T) (*recurring, *sim, *bundles.Bundle) {
				r := newRecurring(t, b1)
				r.edit(schema.Project, []string{"Customer Portal"}, func(doc map[string]any) {
					doc["IncludedLibraryVariableSetIds"] = []any{}
				})
				b := modified(t, b1, schema.TenantVariables, []string{"Globex"}, func(doc map[string]any) any {
					for _, v := range doc["CommonVariables"].([]any) {
						if v := v.(map[string]any); v["TemplateId"] == "Tenant.Alias" {
							v["Value"] = "globex-2"
						}
					}
					return doc
				})
				return r, r.dst, b
			},
			kind: schema.TenantVariables, names: []string{"Globex"},
			want: []string{`Variables[N]: LibraryVariableSetId "Common Variables" is not a library variable set included by a connected project of this tenant.`},
		},
		{
			// The source deletes the step its versioning strategy takes
			// the release version from, and changes the release notes
			// template: the settings are written after the step is gone.
			name: "deployment settings naming a deleted step",
			setup: func(t *testing.T) (*recurring, *sim, *bundles.Bundle) {
				r := newRecurring(t, b1)
				b := modified(t, b1, schema.DeploymentProcess, proc, withSteps(func(steps []map[string]any) []map[string]any {
					return slices.DeleteFunc(steps, func(s map[string]any) bool { return s["Name"] == "Deploy OctoFX Web" })
				}))
				b = modified(t, b, schema.DeploymentSettings, proc, func(doc map[string]any) any {
					doc["ReleaseNotesTemplate"] = "changed at the source"
					return doc
				})
				return r, r.dst, b
			},
			kind: schema.DeploymentSettings, names: proc,
			want: []string{"VersioningStrategy.DonorPackageStepId refers to X, which is not a step or action of this project's processes."},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, dst, b := tc.setup(t)
			o := tc.opts
			o.Logger = testLogger()
			if r != nil {
				o = r.options(tc.opts)
			}
			p, err := MakePlan(ctx, dst.c, b, o)
			if err != nil {
				t.Fatal(err)
			}
			ch := find(t, p, tc.kind, tc.names...)
			if ch.Action != plans.OpError {
				t.Logf("desired %s\nwhy %q, conflicts %v, kept %q, renames %v, reason %s", ch.Desired.JSON(), ch.Why, ch.Conflicts, ch.Kept, ch.Renames, ch.Reason)
				t.Fatalf("%s: %s, want error %q", ch.Label(), ch.Action, tc.want)
			}
			planWant := tc.want
			if tc.planWant != nil {
				planWant = tc.planWant
			}
			for _, w := range planWant {
				if !strings.Contains(serverMessage(ch.Error), w) {
					t.Errorf("plan error %q\nwant %q", ch.Error, w)
				}
			}
			if !strings.Contains(ch.Error, tc.hint) {
				t.Errorf("plan error %q\nwant it to say %q", ch.Error, tc.hint)
			}
			for _, other := range p.Changes {
				if other.Action == plans.OpError && planned.Key(other.Kind, other.Names) != planned.Key(tc.kind, tc.names) {
					t.Errorf("another error: %s", other.Error)
				}
			}

			// Forced through, the simulator refuses it with the message.
			var got string
			if tc.force != nil {
				got = tc.force(t, dst)
			} else {
				serverChecksOff = true
				defer func() { serverChecksOff = false }()
				p2, rec, err := Apply(ctx, dst.c, b, o)
				if err != nil {
					t.Fatal(err)
				}
				if p2.HasErrors() {
					t.Fatalf("without the checks the plan still has errors: %v", p2.Summary)
				}
				for _, res := range rec.Results {
					if res.Kind == tc.kind && strings.Join(res.Names, "/") == strings.Join(tc.names, "/") {
						got = res.Error
					}
				}
			}
			got = byName(t, dst, got)
			if !strings.Contains(got, "400") {
				t.Fatalf("%s forced through: %q, want a 400", planned.Label(tc.kind, tc.names), got)
			}
			for _, w := range tc.want {
				if !strings.Contains(serverMessage(got), w) {
					t.Errorf("simulator said %q\nwant %q", got, w)
				}
			}
		})
	}
}

// putEdited GETs a destination entity, changes it with fn and PUTs it back,
// returning the server's answer to the PUT.
func putEdited(t *testing.T, dst *sim, kind string, names []string, fn func(doc map[string]any)) error {
	t.Helper()
	ctx := context.Background()
	snap, err := snapshot.Read(ctx, dst.c, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := snap.Find(kind, names...)
	if e == nil {
		t.Fatalf("no destination %s %v", kind, names)
	}
	self, _ := e.Object()["Links"].(map[string]any)["Self"].(string)
	u, err := url.Parse(self)
	if err != nil || self == "" {
		t.Fatalf("%s %v: no Links.Self", kind, names)
	}
	doc, err := dst.c.Get(ctx, u.Path)
	if err != nil {
		t.Fatal(err)
	}
	fn(doc)
	_, err = dst.c.Put(ctx, u.Path, doc)
	return err
}

// byName replaces the destination's IDs in a server message by the
// entities' names, as the plan names them.
func byName(t *testing.T, dst *sim, msg string) string {
	t.Helper()
	snap, err := snapshot.Read(context.Background(), dst.c, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []*snapshot.Entity
	for _, k := range schema.Kinds() {
		if k.IsSingleton() || k.Shape == schema.ShapeItems || k.Policy == schema.PolicyNever {
			continue
		}
		ids = append(ids, snap.Entities(k.Name)...)
	}
	// Longest IDs first: Projects-10 before Projects-1.
	slices.SortFunc(ids, func(a, b *snapshot.Entity) int { return len(b.ID) - len(a.ID) })
	var pairs []string
	for _, e := range ids {
		if e.ID != "" {
			pairs = append(pairs, e.ID, e.Name)
		}
	}
	return strings.NewReplacer(pairs...).Replace(msg)
}

// TestServerChecksLegacyTenantVariables is the tenant cases of
// TestServerChecksAgreeWithSimulator on a server without scoped tenant
// variables, where the legacy document is written and refused in other
// words.
func TestServerChecksLegacyTenantVariables(t *testing.T) {
	ctx := context.Background()
	version := octosim.ConformanceVersions[0]
	src := startSim(t, "source.json", octosim.Options{ServerVersion: version})
	b1 := fitBundle(t, exportBundle(t, src, false))
	cases := []struct {
		name string
		dest func(r *recurring)
		edit func(doc map[string]any) any
		want string
	}{
		{
			name: "value for a disconnected environment",
			dest: func(r *recurring) {
				snap, err := snapshot.Read(ctx, r.dst.c, snapshot.Options{})
				if err != nil {
					t.Fatal(err)
				}
				staging := snap.Find(schema.Environment, "Staging").ID
				portal := snap.Find(schema.Project, "Customer Portal").ID
				r.edit(schema.Tenant, []string{"Globex"}, func(doc map[string]any) {
					pe := doc["ProjectEnvironments"].(map[string]any)
					pe[portal] = slices.DeleteFunc(pe[portal].([]any), func(e any) bool { return e == staging })
				})
			},
			edit: func(doc map[string]any) any {
				for _, v := range doc["ProjectVariables"].([]any) {
					if v := v.(map[string]any); v["TemplateId"] == "Portal.Tenant.Subdomain" {
						v["Value"] = "globex-2"
					}
				}
				return doc
			},
			want: "ProjectVariables.Customer Portal.Variables refers to Staging, which is not an environment this tenant is connected to for that project.",
		},
		{
			name: "common value for a set no connected project includes",
			dest: func(r *recurring) {
				r.edit(schema.Project, []string{"Customer Portal"}, func(doc map[string]any) {
					doc["IncludedLibraryVariableSetIds"] = []any{}
				})
			},
			edit: func(doc map[string]any) any {
				for _, v := range doc["CommonVariables"].([]any) {
					if v := v.(map[string]any); v["TemplateId"] == "Tenant.Alias" {
						v["Value"] = "globex-2"
					}
				}
				return doc
			},
			want: "LibraryVariables refers to Common Variables, which is not a library variable set with templates included by this tenant's projects.",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dst := startSim(t, "destination.json", octosim.Options{ServerVersion: version})
			st, err := state.Open(t.TempDir(), state.Destination{Server: dst.c.Server(), InstallationID: dst.c.InstallationID, Space: dst.c.SpaceName})
			if err != nil {
				t.Fatal(err)
			}
			r := &recurring{t: t, dst: dst, st: st}
			r.apply(b1, Options{})
			tc.dest(r)
			b := modified(t, b1, schema.TenantVariables, []string{"Globex"}, tc.edit)
			p, err := MakePlan(ctx, dst.c, b, r.options(Options{}))
			if err != nil {
				t.Fatal(err)
			}
			ch := find(t, p, schema.TenantVariables, "Globex")
			if ch.Action != plans.OpError || !strings.Contains(ch.Error, tc.want) {
				t.Fatalf("%s: %s %q\nwant the error %q", ch.Label(), ch.Action, ch.Error, tc.want)
			}
			serverChecksOff = true
			defer func() { serverChecksOff = false }()
			_, rec, err := Apply(ctx, dst.c, b, r.options(Options{}))
			if err != nil {
				t.Fatal(err)
			}
			var got string
			for _, res := range rec.Results {
				if res.Kind == schema.TenantVariables && res.Names[0] == "Globex" {
					got = byName(t, dst, res.Error)
				}
			}
			if !strings.Contains(got, "400") || !strings.Contains(got, tc.want) {
				t.Errorf("simulator said %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestServerChecksNoFalseAlarm plans what the server accepts and the
// checks must not refuse: a destination-only value scoped to an action the
// source renames by case only (the server compares names
// case-insensitively, and the action keeps its ID).
func TestServerChecksNoFalseAlarm(t *testing.T) {
	ctx := context.Background()
	src := startSim(t, "source.json", octosim.Options{})
	b1 := fitBundle(t, exportBundle(t, src, false))
	proc := []string{"OctoFX"}
	r := newRecurring(t, b1)
	actionID := ""
	r.edit(schema.DeploymentProcess, proc, func(doc map[string]any) {
		for _, s := range doc["Steps"].([]any) {
			if s.(map[string]any)["Name"] == "Invalidate CDN Cache" {
				actionID = s.(map[string]any)["Actions"].([]any)[0].(map[string]any)["Id"].(string)
			}
		}
	})
	r.edit(schema.ProjectVariables, proc, func(doc map[string]any) {
		doc["Variables"] = append(doc["Variables"].([]any), map[string]any{
			"Name": "Cdn.Purge", "Value": "all", "Type": "String",
			"Scope": map[string]any{"Action": []any{actionID}},
		})
	})
	b := modified(t, b1, schema.DeploymentProcess, proc, withSteps(func(steps []map[string]any) []map[string]any {
		s := element(steps, "Invalidate CDN Cache")
		s["Actions"].([]any)[0].(map[string]any)["Name"] = "invalidate CDN cache"
		return steps
	}))
	b = modified(t, b, schema.ProjectVariables, proc, withVariables(func(vars []map[string]any) []map[string]any {
		vars[0]["Description"] = "changed at the source"
		return vars
	}))
	p, err := MakePlan(ctx, r.dst.c, b, r.options(Options{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range p.Changes {
		if ch.Action == plans.OpError {
			t.Errorf("%s", ch.Error)
		}
	}
	r.apply(b, Options{})
}
