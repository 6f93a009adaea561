package apply

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/internal/octosim"
	"github.com/octobundle/octobundle/schema"
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
func tenantPruneDestination(t *testing.T) *sim {
	t.Helper()
	ctx := context.Background()
	dst := pruneDestination(t)
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
	values := func(d map[string]any, keys ...string) map[string]any {
		cur := d
		for _, k := range keys {
			next, _ := cur[k].(map[string]any)
			if next == nil {
				t.Fatalf("tenant variables: no %v", keys)
			}
			cur = next
		}
		return cur
	}
	edit("tenants/Tenants-101/variables", func(d map[string]any) {
		staging := values(d, "ProjectVariables", "Projects-201", "Variables", "Environments-101")
		staging[oldSettingID] = "legacy"
		staging[oldSecretID] = map[string]any{"HasValue": true, "NewValue": "legacy-secret"}
		values(d, "ProjectVariables", "Projects-202", "Variables", "Environments-103")[drRegionID] = "eu-west-1"
		values(d, "LibraryVariables", "LibraryVariableSets-102", "Variables")[legacyContactID] = "old@acme.example.com"
	})
	edit("tenants/Tenants-102/variables", func(d map[string]any) {
		values(d, "ProjectVariables", "Projects-201", "Variables", "Environments-102")[oldSettingID] = "initech-legacy"
	})
	return dst
}

// tenantValues lists a destination tenant's variable values as
// "project/environment/template" and "library variable set/template", in
// bundle form (sensitive ones as "…=secret").
func tenantValues(t *testing.T, s *sim, tenant string) []string {
	t.Helper()
	snap := checkAllReferencesResolve(t, s)
	form, _ := exportEntity(t, snap, snap.Find(schema.TenantVariables, tenant)).(map[string]any)
	var out []string
	add := func(path string, vals map[string]any) {
		for name, v := range vals {
			if schema.IsSensitiveValue(v) {
				out = append(out, path+"/"+name+"=secret")
			} else {
				out = append(out, path+"/"+name)
			}
		}
	}
	pv, _ := form["ProjectVariables"].(map[string]any)
	for p, x := range pv {
		envs, _ := nestedMap(x, "Variables")
		for e, vals := range envs {
			m, _ := vals.(map[string]any)
			add(p+"/"+e, m)
		}
	}
	lv, _ := form["LibraryVariables"].(map[string]any)
	for l, x := range lv {
		vals, _ := nestedMap(x, "Variables")
		add(l, vals)
	}
	sort.Strings(out)
	return out
}

func nestedMap(v any, key string) (map[string]any, bool) {
	m, _ := v.(map[string]any)
	out, ok := m[key].(map[string]any)
	return out, ok
}

func TestPruneTenantVariables(t *testing.T) {
	ctx := context.Background()
	src := startSim(t, "source.json", octosim.Options{})
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
		{name: "without --prune", prune: false},
		{
			name: "with --prune", prune: true, wantGone: pruned,
			planLines: []string{
				`      - LibraryVariables["Common Variables"].Variables["Tenant.LegacyContact"]: "old@acme.example.com"`,
				`      - ProjectVariables["OctoFX"].Variables["Staging"]["OctoFX.Tenant.OldSecret"] (sensitive)`,
				`      - ProjectVariables["OctoFX"].Variables["Staging"]["OctoFX.Tenant.OldSetting"]: "legacy"`,
			},
			cleanup: []string{`TenantVariables Acme Corp ProjectVariables["OctoFX"].Variables["Staging"]["OctoFX.Tenant.OldSecret"]`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := tenantPruneDestination(t)
			before := tenantValues(t, dst, "Acme Corp")
			initech := tenantValues(t, dst, "Initech")
			for _, v := range append(append([]string(nil), pruned...), kept...) {
				if !containsString(before, v) {
					t.Fatalf("the destination lacks %s before the apply: %v", v, before)
				}
			}
			o := Options{Prune: tc.prune, Logger: testLogger()}
			p, err := MakePlan(ctx, dst.c, b, o)
			if err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			if err := p.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.planLines {
				if !strings.Contains(text.String(), want+"\n") {
					t.Errorf("the plan lacks %q:\n%s", want, text.String())
				}
			}
			var secrets []string
			for _, it := range p.Cleanup {
				if it.Kind == schema.TenantVariables && strings.Contains(it.Why, "deleted by --prune") {
					secrets = append(secrets, label(it.Kind, it.Names)+" "+it.Field)
				}
			}
			if got, want := strings.Join(secrets, "; "), strings.Join(tc.cleanup, "; "); got != want {
				t.Errorf("clean-up items for pruned tenant secrets %q, want %q", got, want)
			}
			r, err := Execute(ctx, dst.c, b, p, o)
			if err != nil || r.Status() != Succeeded {
				var buf strings.Builder
				if r != nil {
					_ = r.WriteText(&buf)
				}
				t.Fatalf("apply: %v\n%s", err, buf.String())
			}

			after := tenantValues(t, dst, "Acme Corp")
			var gone []string
			for _, v := range before {
				if !containsString(after, v) {
					gone = append(gone, v)
				}
			}
			if got, want := strings.Join(gone, ", "), strings.Join(tc.wantGone, ", "); got != want {
				t.Errorf("Acme Corp's values removed: %q, want %q", got, want)
			}
			for _, v := range kept {
				if !containsString(after, v) {
					t.Errorf("Acme Corp's value %s (a project outside the bundle) is gone", v)
				}
			}
			if got := tenantValues(t, dst, "Initech"); strings.Join(got, ", ") != strings.Join(initech, ", ") {
				t.Errorf("Initech (not in the bundle) changed: %v, was %v", got, initech)
			}

			// Replay: zero writes.
			dst.srv.ResetCounters()
			p, r, err = Apply(ctx, dst.c, b, o)
			if err != nil || r.Status() != Succeeded || p.HasChanges() || dst.srv.Writes() != 0 {
				var buf strings.Builder
				_ = p.WriteText(&buf)
				t.Errorf("replay: %v, status %s, changes %v, %d writes\n%s", err, r.Status(), p.HasChanges(), dst.srv.Writes(), buf.String())
			}
		})
	}
}
