package apply

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/apply/render"
	"github.com/octobundle/octobundle/export"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/tools/octosim"
)

// TestDanglingDestination: after a sync, the destination deletes the step
// "Smoke Tests" while its own variable OctoFX.Smoke.TimeoutSeconds is still
// scoped to the step's action (ce4bd81e…, the report of issue 17): a
// destination can hold such a reference. Reading it never fails: plan,
// drift and an export of the destination each succeed and warn, naming the
// entity and the field.
//
// The simulator keeps a variable's step scope when the process is PUT
// without the step, which is how the test makes the reference dangle. A
// real server may clean step scopes when a process is saved
// (OctopusDeploy/Issues#2779); there such references come from a write
// that failed half-way (the report) or a runbook deleted while variables
// are scoped to it (#8897, open; export's TestDanglingReferences).
func TestDanglingDestination(t *testing.T) {
	src := startSim(t, "source.json", octosim.Options{})
	b := fitBundle(t, exportBundle(t, src, false))
	r := newRecurring(t, b)
	const action = "ce4bd81e-11ca-5e2d-8bf9-0fc2c07b29b9"
	r.edit(schema.DeploymentProcess, []string{"OctoFX"}, func(doc map[string]any) {
		steps, _ := doc["Steps"].([]any)
		doc["Steps"] = slices.DeleteFunc(slices.Clone(steps), func(s any) bool {
			return s.(map[string]any)["Name"] == "Smoke Tests"
		})
	})
	wantAll := []string{"ProjectVariables OctoFX: /Variables/", "/Scope/Action/0 refers to Action " + action + ", which does not exist"}
	ctx := context.Background()

	tests := []struct {
		name string
		run  func(t *testing.T) (warnings []string, text string)
	}{{
		name: "plan",
		run: func(t *testing.T) ([]string, string) {
			p, err := MakePlan(ctx, r.dst.c, b, r.options(Options{}))
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			for _, ch := range p.Changes {
				if strings.Contains(ch.Error, "reading the destination") {
					t.Errorf("%s: %s", ch.Label(), ch.Error)
				}
			}
			var buf strings.Builder
			if err := render.Plan(&buf, p); err != nil {
				t.Fatal(err)
			}
			var js strings.Builder
			if err := p.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(js.String(), `"warnings"`) {
				t.Error("the JSON plan has no warnings")
			}
			return p.Warnings, buf.String()
		},
	}, {
		name: "drift",
		run: func(t *testing.T) ([]string, string) {
			written, err := r.st.Written()
			if err != nil {
				t.Fatal(err)
			}
			d, err := Drift(ctx, r.dst.c, written, Options{Logger: testLogger()})
			if err != nil {
				t.Fatalf("drift: %v", err)
			}
			var buf strings.Builder
			if err := render.Drift(&buf, d); err != nil {
				t.Fatal(err)
			}
			return d.Warnings, buf.String()
		},
	}, {
		name: "export",
		run: func(t *testing.T) ([]string, string) {
			res, err := export.Run(ctx, r.dst.c, export.Options{Logger: testLogger()})
			if err != nil {
				t.Fatalf("export: %v", err)
			}
			vars, ok := res.Bundle.Entity(schema.MustLookup(schema.ProjectVariables), "OctoFX")
			if !ok {
				t.Fatal("no OctoFX variables exported")
			}
			for _, v := range elements(vars.(map[string]any), "Variables") {
				if v["Name"] == "OctoFX.Smoke.TimeoutSeconds" {
					if a, ok := v["Scope"].(map[string]any)["Action"]; !ok || len(a.([]any)) == 0 {
						t.Errorf("OctoFX.Smoke.TimeoutSeconds exported unscoped by action (%v): widened to every step", v["Scope"])
					}
				}
			}
			return res.Warnings, strings.Join(res.Warnings, "\n")
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			warnings, text := tt.run(t)
			t.Log(strings.Join(warnings, "\n"))
			all := strings.Join(warnings, "\n")
			for _, w := range wantAll {
				if !strings.Contains(all, w) {
					t.Errorf("no warning says %q; warnings:\n%s", w, all)
				}
				if !strings.Contains(text, w) {
					t.Errorf("the output does not say %q", w)
				}
			}
			if !strings.Contains(all, `("OctoFX.Smoke.TimeoutSeconds") is left out`) {
				t.Errorf("no warning says the variable is left out; warnings:\n%s", all)
			}
		})
	}
}
