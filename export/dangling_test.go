package export

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/octosim"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
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
		// check looks at the bundle's OctoFX variable set.
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
			sim, url := octosim.Start(t, octosim.Options{Seed: seed})
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
