package apply

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/apply/render"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/tools/octosim"
)

// Template IDs of the destination-only tenant variable templates
// tenantPruneDestination adds.
const (
	oldSettingID    = "0b1d6c1e-0000-4000-8000-000000000001"
	oldSecretID     = "0b1d6c1e-0000-4000-8000-000000000002"
	drRegionID      = "0b1d6c1e-0000-4000-8000-000000000003"
	legacyContactID = "0b1d6c1e-0000-4000-8000-000000000004"
)

// tenantPruneDestination is pruneDestination plus destination-only tenant
// variable values: Acme Corp (a bundle tenant) has values for templates the
// bundle does not know in the bundle project OctoFX (a plain and a
// sensitive one, Staging), in the bundle library variable set Common
// Variables, and in the destination-only project DR Drills; Initech (not in
// the bundle) has one in OctoFX.
func tenantPruneDestination(t *testing.T, version string) *sim {
	t.Helper()
	ctx := context.Background()
	dst := pruneDestination(t, version)
	c := dst.c
	edit := func(path string, fn func(map[string]any)) {
		doc, err := c.Get(ctx, c.SpacePath(path, false))
		if err != nil {
			t.Fatal(err)
		}
		fn(doc)
		if _, err := c.Put(ctx, c.SpacePath(path, false), doc); err != nil {
			t.Fatalf("PUT %s: %v", path, err)
		}
	}
	template := func(id, name, control string) map[string]any {
		return map[string]any{"Id": id, "Name": name, "Label": name, "HelpText": "", "DefaultValue": "",
			"DisplaySettings": map[string]any{"Octopus.ControlType": control}}
	}
	addTemplates := func(path string, ts ...map[string]any) {
		edit(path, func(d map[string]any) {
			list, _ := d["Templates"].([]any)
			for _, tm := range ts {
				list = append(list, tm)
			}
			d["Templates"] = list
		})
	}
	addTemplates("projects/Projects-201", template(oldSettingID, "OctoFX.Tenant.OldSetting", "SingleLineText"),
		template(oldSecretID, "OctoFX.Tenant.OldSecret", "Sensitive"))
	addTemplates("projects/Projects-202", template(drRegionID, "DR.Tenant.Region", "SingleLineText"))
	addTemplates("libraryvariablesets/LibraryVariableSets-102", template(legacyContactID, "Tenant.LegacyContact", "SingleLineText"))
	// Values are added through the endpoints the server has: the scoped
	// resources on 2025.2+, the legacy document before.
	parts, err := snapshot.DetectParts(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	add := func(tenant, owner, template string, value any, env string) {
		if parts[schema.TenantVariables] {
			part, field := "projectvariables", "ProjectId"
			envs := []any{env}
			if env == "" {
				part, field, envs = "commonvariables", "LibraryVariableSetId", []any{}
			}
			edit("tenants/"+tenant+"/"+part, func(d map[string]any) {
				d["Variables"] = append(d["Variables"].([]any), map[string]any{
					field: owner, "TemplateId": template, "Value": value, "Scope": map[string]any{"EnvironmentIds": envs}})
			})
			return
		}
		edit("tenants/"+tenant+"/variables", func(d map[string]any) {
			keys := []string{"ProjectVariables", owner, "Variables", env}
			if env == "" {
				keys = []string{"LibraryVariables", owner, "Variables"}
			}
			cur := d
			for _, k := range keys {
				next, _ := cur[k].(map[string]any)
				if next == nil {
					t.Fatalf("tenant variables: no %v", keys)
				}
				cur = next
			}
			cur[template] = value
		})
	}
	add("Tenants-101", "Projects-201", oldSettingID, "legacy", "Environments-101")
	add("Tenants-101", "Projects-201", oldSecretID, map[string]any{"HasValue": true, "NewValue": "legacy-secret"}, "Environments-101")
	add("Tenants-101", "Projects-202", drRegionID, "eu-west-1", "Environments-103")
	add("Tenants-101", "LibraryVariableSets-102", legacyContactID, "old@acme.example.com", "")
	add("Tenants-102", "Projects-201", oldSettingID, "initech-legacy", "Environments-102")
	return dst
}

// tenantValues lists a destination tenant's variable values as
// "project/environment/template" (one per environment of a value's scope)
// and "library variable set/template", in bundle form (sensitive ones as
// "…=secret").
func tenantValues(t *testing.T, s *sim, tenant string) []string {
	t.Helper()
	snap := checkAllReferencesResolve(t, s)
	form, _ := exportEntity(t, snap, snap.Find(schema.TenantVariables, tenant)).(map[string]any)
	var out []string
	add := func(path string, v any) {
		if schema.IsSensitiveValue(v) {
			out = append(out, path+"=secret")
		} else {
			out = append(out, path)
		}
	}
	for _, el := range asArray(form["ProjectVariables"]) {
		m := el.(map[string]any)
		sc, _ := m["Scope"].(map[string]any)
		for _, e := range asArray(sc["EnvironmentIds"]) {
			add(m["ProjectId"].(string)+"/"+e.(string)+"/"+m["TemplateId"].(string), m["Value"])
		}
	}
	for _, el := range asArray(form["CommonVariables"]) {
		m := el.(map[string]any)
		add(m["LibraryVariableSetId"].(string)+"/"+m["TemplateId"].(string), m["Value"])
	}
	sort.Strings(out)
	return out
}

func asArray(v any) []any {
	a, _ := v.([]any)
	return a
}

func TestPruneTenantVariables(t *testing.T) {
	for _, version := range e2eVersions {
		t.Run(version, func(t *testing.T) { testPruneTenantVariables(t, version) })
	}
}

// testPruneTenantVariables checks --prune of tenant variable values on one
// server version (source and destination run it).
func testPruneTenantVariables(t *testing.T, version string) {
	ctx := context.Background()
	src := startSim(t, "source.json", octosim.Options{ServerVersion: version})
	full := exportBundle(t, src, false)
	b := modified(t, full, schema.Project, []string{"OctoFX"}, func(d map[string]any) any {
		delete(d, "ReleaseCreationStrategy")
		return d
	})
	pruned := []string{
		"Common Variables/Tenant.LegacyContact",
		"OctoFX/Staging/OctoFX.Tenant.OldSecret=secret",
		"OctoFX/Staging/OctoFX.Tenant.OldSetting",
	}
	kept := []string{"DR Drills/DR/DR.Tenant.Region"}

	for _, tc := range []struct {
		name      string
		prune     bool
		wantGone  []string
		planLines []string
		cleanup   []string // clean-up items for pruned secrets
	}{
		{name: "without --remove-destination-only", prune: false},
		{
			name: "with --remove-destination-only", prune: true, wantGone: pruned,
			planLines: []string{
				`      - CommonVariables["Common Variables"/"Tenant.LegacyContact"] (4 fields)`,
				`      - ProjectVariables["OctoFX"/"OctoFX.Tenant.OldSecret" EnvironmentIds=Staging] (4 fields)`,
				`      - ProjectVariables["OctoFX"/"OctoFX.Tenant.OldSetting" EnvironmentIds=Staging] (4 fields)`,
			},
			cleanup: []string{`TenantVariables Acme Corp ProjectVariables["OctoFX"/"OctoFX.Tenant.OldSecret" EnvironmentIds=Staging]`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := tenantPruneDestination(t, version)
			before := tenantValues(t, dst, "Acme Corp")
			initech := tenantValues(t, dst, "Initech")
			for _, v := range append(append([]string(nil), pruned...), kept...) {
				if !slices.Contains(before, v) {
					t.Fatalf("the destination lacks %s before the apply: %v", v, before)
				}
			}
			o := Options{Prune: true, RemoveDestinationOnly: tc.prune, Logger: testLogger()}
			p, err := MakePlan(ctx, dst.c, b, o)
			if err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			if err := render.Plan(&text, p); err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.planLines {
				if !strings.Contains(text.String(), want+"\n") {
					t.Errorf("the plan lacks %q:\n%s", want, text.String())
				}
			}
			var secrets []string
			for _, it := range p.Cleanup {
				if it.Kind == schema.TenantVariables && strings.Contains(it.Why, "removed by --remove-destination-only") {
					secrets = append(secrets, planned.Label(it.Kind, it.Names)+" "+it.Field)
				}
			}
			if got, want := strings.Join(secrets, "; "), strings.Join(tc.cleanup, "; "); got != want {
				t.Errorf("clean-up items for pruned tenant secrets %q, want %q", got, want)
			}
			r, err := Execute(ctx, dst.c, b, p, o)
			if err != nil || r.Status() != plans.Succeeded {
				var buf strings.Builder
				if r != nil {
					_ = render.Receipt(&buf, r)
				}
				t.Fatalf("apply: %v\n%s", err, buf.String())
			}

			after := tenantValues(t, dst, "Acme Corp")
			var gone []string
			for _, v := range before {
				if !slices.Contains(after, v) {
					gone = append(gone, v)
				}
			}
			if got, want := strings.Join(gone, ", "), strings.Join(tc.wantGone, ", "); got != want {
				t.Errorf("Acme Corp's values removed: %q, want %q", got, want)
			}
			for _, v := range kept {
				if !slices.Contains(after, v) {
					t.Errorf("Acme Corp's value %s (a project outside the bundle) is gone", v)
				}
			}
			if got := tenantValues(t, dst, "Initech"); strings.Join(got, ", ") != strings.Join(initech, ", ") {
				t.Errorf("Initech (not in the bundle) changed: %v, was %v", got, initech)
			}

			// Replay: zero writes.
			dst.srv.ResetCounters()
			p, r, err = Apply(ctx, dst.c, b, o)
			if err != nil || r.Status() != plans.Succeeded || p.HasChanges() || dst.srv.Writes() != 0 {
				var buf strings.Builder
				_ = render.Plan(&buf, p)
				t.Errorf("replay: %v, status %s, changes %v, %d writes\n%s", err, r.Status(), p.HasChanges(), dst.srv.Writes(), buf.String())
			}
		})
	}
}
