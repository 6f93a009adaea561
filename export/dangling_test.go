package export

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/tools/octosim/simtest"
	"github.com/octobundle/octobundle/translate"
)

// Action IDs of the sample source's OctoFX deployment process.
const (
	qaSignOffAction   = "8eaeeaf4-b96e-5d09-924a-a2ba3009d62d" // step "QA Sign-off"
	rateServiceAction = "56f57e09-d4f7-582a-adc7-cc7773a5e357" // step "Deploy Rate Service"
)

// selfPath returns the API path of the entity of kind named names, from
// its Links.Self.
func selfPath(t *testing.T, c *octopus.Client, kind string, names ...string) string {
	t.Helper()
	snap, err := snapshot.Read(context.Background(), c, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := snap.Find(kind, names...)
	if e == nil {
		t.Fatalf("no %s %v", kind, names)
	}
	self, _ := e.Object()["Links"].(map[string]any)["Self"].(string)
	u, err := url.Parse(self)
	if err != nil || self == "" {
		t.Fatalf("%s %v: no Links.Self", kind, names)
	}
	return u.Path
}

// editAPI changes an entity through the API, as the server's people do:
// GET, change, PUT.
func editAPI(t *testing.T, c *octopus.Client, kind string, names []string, fn func(doc map[string]any)) {
	t.Helper()
	ctx := context.Background()
	path := selfPath(t, c, kind, names...)
	doc, err := c.Get(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	fn(doc)
	if _, err := c.Put(ctx, path, doc); err != nil {
		t.Fatal(err)
	}
}

// withoutStep removes the named step from a process document.
func withoutStep(name string) func(doc map[string]any) {
	return func(doc map[string]any) {
		steps, _ := doc["Steps"].([]any)
		doc["Steps"] = slices.DeleteFunc(slices.Clone(steps), func(s any) bool {
			return s.(map[string]any)["Name"] == name
		})
	}
}

// findAction returns the action named name of a process document.
func findAction(process any, name string) map[string]any {
	for _, st := range process.(map[string]any)["Steps"].([]any) {
		for _, a := range st.(map[string]any)["Actions"].([]any) {
			if a := a.(map[string]any); a["Name"] == name {
				return a
			}
		}
	}
	return nil
}

// varsByName returns the variables of a bundle variable set named name.
func varsByName(doc any, name string) []map[string]any {
	var out []map[string]any
	vars, _ := doc.(map[string]any)["Variables"].([]any)
	for _, v := range vars {
		if m := v.(map[string]any); m["Name"] == name {
			out = append(out, m)
		}
	}
	return out
}

// TestDanglingReferences: a source holding references to things that no
// longer exist (a step deleted while variables are scoped to it, a runbook
// deleted while a variable is scoped to it, a step property naming a
// deleted account) exports with a warning naming the entity and the field
// for each. A dangling scope entry is dropped; a variable whose scope
// dimension named only deleted things is left out (an empty scope would
// widen it to everywhere); a single field is left out. The bundle is
// ID-free and its references check.
func TestDanglingReferences(t *testing.T) {
	octofxVars := []string{"OctoFX"}
	tests := []struct {
		name string
		// seed changes the seed before the simulator starts (references a
		// server can hold but the simulator refuses to be sent).
		seed func(seed *octosim.Instance)
		// setup makes the references dangle through the API.
		setup func(t *testing.T, c *octopus.Client)
		// check looks at the bundle's OctoFX variable set and process.
		check func(t *testing.T, vars any, process any)
		// warnings must each appear in one warning.
		warnings []string
	}{{
		name: "step deleted, variable scoped only to it",
		setup: func(t *testing.T, c *octopus.Client) {
			editAPI(t, c, schema.DeploymentProcess, []string{"OctoFX"}, withoutStep("QA Sign-off"))
		},
		check: func(t *testing.T, vars, _ any) {
			if got := varsByName(vars, "QA.Approver"); len(got) != 0 {
				t.Errorf("QA.Approver is in the bundle (%v): its only Action scope was deleted, so it applies nowhere", got)
			}
		},
		warnings: []string{
			"ProjectVariables OctoFX: /Variables/", "/Scope/Action/0 refers to Action " + qaSignOffAction + ", which does not exist",
			`is left out`, `("QA.Approver")`, "an empty restriction would mean everywhere",
		},
	}, {
		name: "step deleted, variable scoped to it and another step",
		setup: func(t *testing.T, c *octopus.Client) {
			editAPI(t, c, schema.ProjectVariables, octofxVars, func(doc map[string]any) {
				for _, v := range doc["Variables"].([]any) {
					if m := v.(map[string]any); m["Name"] == "OctoFX.Rates.Replicas" {
						m["Scope"].(map[string]any)["Action"] = []any{rateServiceAction, qaSignOffAction}
					}
				}
			})
			editAPI(t, c, schema.DeploymentProcess, []string{"OctoFX"}, withoutStep("QA Sign-off"))
		},
		check: func(t *testing.T, vars, _ any) {
			got := varsByName(vars, "OctoFX.Rates.Replicas")
			if len(got) == 0 {
				t.Fatal("OctoFX.Rates.Replicas is not in the bundle")
			}
			for _, v := range got {
				if a, _ := v["Scope"].(map[string]any)["Action"].([]any); !slices.Equal(a, []any{"Deploy Rate Service"}) {
					t.Errorf("OctoFX.Rates.Replicas is scoped to actions %v, want [Deploy Rate Service]", a)
				}
			}
		},
		warnings: []string{"/Scope/Action/1 refers to Action " + qaSignOffAction + ", which does not exist; the entry is dropped"},
	}, {
		name: "runbook deleted, variable scoped to it",
		setup: func(t *testing.T, c *octopus.Client) {
			ctx := context.Background()
			rb := selfPath(t, c, schema.Runbook, "OctoFX", "Toggle Maintenance Mode")
			doc, err := c.Get(ctx, rb)
			if err != nil {
				t.Fatal(err)
			}
			id := doc["Id"].(string)
			editAPI(t, c, schema.ProjectVariables, octofxVars, func(doc map[string]any) {
				doc["Variables"] = append(doc["Variables"].([]any), map[string]any{
					"Name": "Maintenance.Page", "Value": "down.html", "Type": "String",
					"Scope": map[string]any{"ProcessOwner": []any{id}},
				})
			})
			// OctopusDeploy/Issues#8897: deleting a runbook leaves the
			// variables scoped to it.
			if err := c.Delete(ctx, rb); err != nil {
				t.Fatal(err)
			}
		},
		check: func(t *testing.T, vars, _ any) {
			if got := varsByName(vars, "Maintenance.Page"); len(got) != 0 {
				t.Errorf("Maintenance.Page is in the bundle (%v): its only process scope was deleted", got)
			}
		},
		warnings: []string{"/Scope/ProcessOwner/0 refers to ProcessOwner Runbooks-", `("Maintenance.Page") is left out`},
	}, {
		name: "step property names a deleted account",
		seed: func(seed *octosim.Instance) {
			for _, dp := range seed.Spaces[0].Collections["deploymentprocesses"] {
				if dp["Id"] == "deploymentprocess-Projects-1" {
					action := dp["Steps"].([]any)[0].(map[string]any)["Actions"].([]any)[0].(map[string]any)
					action["Properties"].(map[string]any)["Custom.AccountId"] = "Accounts-404"
				}
			}
		},
		check: func(t *testing.T, _, process any) {
			action := process.(map[string]any)["Steps"].([]any)[0].(map[string]any)["Actions"].([]any)[0].(map[string]any)
			if v, ok := action["Properties"].(map[string]any)["Custom.AccountId"]; ok {
				t.Errorf("Custom.AccountId = %v, want it left out", v)
			}
		},
		warnings: []string{"DeploymentProcess OctoFX: /Steps/0/Actions/0/Properties/Custom.AccountId refers to Account Accounts-404, which does not exist; the field is left out"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seed := loadSeed(t, "source.json")
			if tt.seed != nil {
				tt.seed(seed)
			}
			sim, url := simtest.Start(t, octosim.Options{Seed: seed})
			c := connect(t, url, sim.APIKey(), nil)
			if tt.setup != nil {
				tt.setup(t, c)
			}
			res, err := Run(context.Background(), c, Options{Now: fixedNow})
			if err != nil {
				t.Fatalf("export: %v", err)
			}
			all := strings.Join(res.Warnings, "\n")
			t.Log(all)
			for _, w := range tt.warnings {
				if !strings.Contains(all, w) {
					t.Errorf("no warning says %q", w)
				}
			}
			vars, ok := res.Bundle.Entity(schema.MustLookup(schema.ProjectVariables), "OctoFX")
			if !ok {
				t.Fatal("the bundle has no OctoFX variables")
			}
			process, ok := res.Bundle.Entity(schema.MustLookup(schema.DeploymentProcess), "OctoFX")
			if !ok {
				t.Fatal("the bundle has no OctoFX process")
			}
			tt.check(t, vars, process)
			problems, err := res.Bundle.CheckReferences()
			if err != nil || len(problems) > 0 {
				t.Errorf("reference check: %v %v", err, problems)
			}
		})
	}
}

// editAction returns an edit of a process document: fn changes the
// action named name.
func editAction(name string, fn func(action map[string]any)) func(doc map[string]any) {
	return func(doc map[string]any) {
		a := findAction(doc, name)
		if a == nil {
			panic("no action " + name)
		}
		fn(a)
	}
}

// editDoc returns fn as an edit.
func editDoc(fn func(doc map[string]any)) func(doc map[string]any) { return fn }

// TestDanglingForms: the bundle form of an entity read with references to
// IDs that do not exist (the simulator refuses to be seeded with them, so
// the documents of a snapshot read over HTTP are changed in memory), one
// case per rule: a list entry is dropped; a holder whose restriction would
// become empty is left out, and so is a step left without actions; an
// exclusion list may become empty; joined lists lose the entry; a group of
// restrictions (a phase's targets) keeps its holder while one list
// restricts; a restriction of the entity itself keeps a marker; a map key
// (a tenant's project link) is dropped.
func TestDanglingForms(t *testing.T) {
	sim, url := simtest.Start(t, octosim.Options{Seed: loadSeed(t, "source.json")})
	c := connect(t, url, sim.APIKey(), nil)
	s, err := snapshot.Read(context.Background(), c, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	octofx := []string{"OctoFX"}
	var tenantValues int // Acme Corp's project values as read
	tests := []struct {
		name     string
		kind     string
		names    []string
		edit     func(doc map[string]any)
		check    func(t *testing.T, form map[string]any)
		warnings []string
	}{{

		name: "step restricted only to deleted environments",
		edit: editAction("Invalidate CDN Cache", func(a map[string]any) { a["Environments"] = []any{"Environments-98", "Environments-99"} }),
		check: func(t *testing.T, process map[string]any) {
			if a := findAction(process, "Invalidate CDN Cache"); a != nil {
				t.Errorf("the action is in the bundle (%v): it ran nowhere, and without environments it would run everywhere", a["Environments"])
			}
			for _, st := range process["Steps"].([]any) {
				if st.(map[string]any)["Name"] == "Invalidate CDN Cache" {
					t.Error("the step whose only action was left out is still in the bundle")
				}
			}
		},
		warnings: []string{
			"DeploymentProcess OctoFX: /Steps/5/Actions/0/Environments/1 refers to Environment Environments-99, which does not exist",
			`/Steps/5/Actions/0 ("Invalidate CDN Cache") is left out`,
		},
	}, {
		name: "step restricted to a deleted and an existing environment",
		edit: editAction("Invalidate CDN Cache", func(a map[string]any) { a["Environments"] = []any{"Environments-3", "Environments-99"} }),
		check: func(t *testing.T, process map[string]any) {
			if got := findAction(process, "Invalidate CDN Cache")["Environments"]; !slices.Equal(got.([]any), []any{"Staging"}) {
				t.Errorf("Environments = %v, want [Staging]", got)
			}
		},
		warnings: []string{"/Steps/5/Actions/0/Environments/1 refers to Environment Environments-99, which does not exist; the entry is dropped"},
	}, {
		name: "excluded environment deleted: not a restriction",
		edit: editAction("Deploy Rate Service", func(a map[string]any) { a["ExcludedEnvironments"] = []any{"Environments-99"} }),
		check: func(t *testing.T, process map[string]any) {
			a := findAction(process, "Deploy Rate Service")
			if a == nil {
				t.Fatal("the action was left out: an exclusion list may become empty")
			}
			if got, _ := a["ExcludedEnvironments"].([]any); len(got) != 0 {
				t.Errorf("ExcludedEnvironments = %v, want none", got)
			}
		},
		warnings: []string{"/Steps/2/Actions/0/ExcludedEnvironments/0 refers to Environment Environments-99, which does not exist; the entry is dropped"},
	}, {
		name: "joined list of teams",
		edit: editAction("QA Sign-off", func(a map[string]any) {
			a["Properties"].(map[string]any)["Octopus.Action.Manual.ResponsibleTeamIds"] = "Teams-2,Teams-404"
		}),
		check: func(t *testing.T, process map[string]any) {
			if got := findAction(process, "QA Sign-off")["Properties"].(map[string]any)["Octopus.Action.Manual.ResponsibleTeamIds"]; got != "QA Team" {
				t.Errorf("ResponsibleTeamIds = %v, want QA Team", got)
			}
		},
		warnings: []string{"Octopus.Action.Manual.ResponsibleTeamIds refers to Team Teams-404, which does not exist; the entry is dropped"},
	}, {
		name: "phase targets: one list of the group left",
		kind: schema.Lifecycle, names: []string{"Default Lifecycle"},
		edit: editDoc(func(d map[string]any) {
			ph := d["Phases"].([]any)[0].(map[string]any)
			ph["AutomaticDeploymentTargets"] = []any{"Environments-99"}
			ph["OptionalDeploymentTargets"] = []any{"Environments-1"}
		}),
		check: func(t *testing.T, doc map[string]any) {
			ph := doc["Phases"].([]any)[0].(map[string]any)
			if ph["Name"] != "Development" {
				t.Fatalf("first phase %v, want Development: the phase must stay", ph["Name"])
			}
			if a, _ := ph["AutomaticDeploymentTargets"].([]any); len(a) != 0 {
				t.Errorf("AutomaticDeploymentTargets = %v, want none", a)
			}
			if o := ph["OptionalDeploymentTargets"]; !slices.Equal(o.([]any), []any{"Development"}) {
				t.Errorf("OptionalDeploymentTargets = %v, want [Development]", o)
			}
		},
		warnings: []string{"Lifecycle Default Lifecycle: /Phases/0/AutomaticDeploymentTargets lost every entry, but other lists of its scope still restrict /Phases/0"},
	}, {
		name: "account restricted only to deleted environments",
		kind: schema.Account, names: []string{"Kubernetes Staging Token"},
		edit: editDoc(func(d map[string]any) { d["EnvironmentIds"] = []any{"Environments-99"} }),
		check: func(t *testing.T, doc map[string]any) {
			if got := doc["EnvironmentIds"]; !slices.Equal(got.([]any), []any{translate.MissingName(schema.Environment, "Environments-99")}) {
				t.Errorf("EnvironmentIds = %v, want the marker: never empty (everywhere)", got)
			}
		},
		warnings: []string{"every entry of /EnvironmentIds refers to something that does not exist; it keeps one entry \"(missing Environment Environments-99)\""},
	}, {
		name: "account restricted only to deleted environments and tenants",
		kind: schema.Account, names: []string{"Kubernetes Staging Token"},
		edit: editDoc(func(d map[string]any) {
			d["EnvironmentIds"] = []any{"Environments-99"}
			d["TenantIds"] = []any{"Tenants-98", "Tenants-99"}
		}),
		check: func(t *testing.T, doc map[string]any) {
			if got := doc["EnvironmentIds"]; !slices.Equal(got.([]any), []any{translate.MissingName(schema.Environment, "Environments-99")}) {
				t.Errorf("EnvironmentIds = %v, want the marker", got)
			}
			if got := doc["TenantIds"]; !slices.Equal(got.([]any), []any{translate.MissingName(schema.Tenant, "Tenants-98")}) {
				t.Errorf("TenantIds = %v, want one marker", got)
			}
		},
		warnings: []string{"every entry of /EnvironmentIds", "every entry of /TenantIds"},
	}, {
		name: "tenant linked to a deleted project",
		kind: schema.Tenant, names: []string{"Globex"},
		edit: editDoc(func(d map[string]any) {
			d["ProjectEnvironments"].(map[string]any)["Projects-99"] = []any{"Environments-3"}
		}),
		check: func(t *testing.T, doc map[string]any) {
			if pe := doc["ProjectEnvironments"].(map[string]any); len(pe) != 1 || pe["Customer Portal"] == nil {
				t.Errorf("ProjectEnvironments = %v, want only Customer Portal", pe)
			}
		},
		warnings: []string{"Tenant Globex: /ProjectEnvironments/Projects-99 refers to Project Projects-99, which does not exist; the entry is dropped"},
	}, {
		name:  "tenant value of a deleted template",
		kind:  schema.TenantVariables,
		names: []string{"Acme Corp"},
		edit: editDoc(func(d map[string]any) {
			pv := d["ProjectVariables"].([]any)
			tenantValues = len(pv)
			pv[0].(map[string]any)["TemplateId"] = "00000000-0000-0000-0000-000000000404"
			d["ProjectVariables"] = pv
		}),
		check: func(t *testing.T, doc map[string]any) {
			if got := len(doc["ProjectVariables"].([]any)); got != tenantValues-1 {
				t.Errorf("%d project values, want %d: only the deleted template's goes", got, tenantValues-1)
			}
			for _, v := range doc["ProjectVariables"].([]any) {
				if tid, _ := v.(map[string]any)["TemplateId"].(string); strings.Contains(tid, "404") || strings.HasPrefix(tid, "(missing") {
					t.Errorf("a value of the deleted template is in the form: %v", v)
				}
			}
		},
		warnings: []string{
			"TenantVariables Acme Corp: /ProjectVariables/0/TemplateId refers to ProjectTemplate 00000000-0000-0000-0000-000000000404, which does not exist; what holds it goes with it",
			"/ProjectVariables/0 is left out",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, names := tt.kind, tt.names
			if kind == "" {
				kind, names = schema.DeploymentProcess, octofx
			}
			e := s.Find(kind, names...)
			if e == nil {
				t.Fatalf("no %s %v", kind, names)
			}
			orig := e.Doc()
			t.Cleanup(func() { s.Replace(e, orig) })
			doc := e.Doc().(map[string]any)
			tt.edit(doc)
			s.Replace(e, doc)
			form, warnings, err := translate.ToBundleWarnings(s, e)
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(warnings, "\n")
			t.Log(all)
			for _, w := range tt.warnings {
				if !strings.Contains(all, w) {
					t.Errorf("no warning says %q", w)
				}
			}
			if err := e.Kind.CheckIDFree(form); err != nil {
				t.Errorf("the form holds an ID: %v", err)
			}
			tt.check(t, form.(map[string]any))
		})
	}
}
