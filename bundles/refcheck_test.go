package bundles

import (
	"strings"
	"testing"

	"github.com/octobundle/octobundle/policy"
	"github.com/octobundle/octobundle/schema"
)

func TestCheckReferences(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, b *Bundle)
		want   []string // problems, as strings, each must be present
		none   bool
		// carried, if set, is checked with CheckReferencesCarried.
		carried []string
	}{
		{name: "golden is whole", change: func(*testing.T, *Bundle) {}, none: true},
		{name: "a removed environment dangles", change: func(_ *testing.T, b *Bundle) {
			b.Remove("environments/Development.json")
		}, want: []string{
			`lifecycles/Default Lifecycle.json: /Phases/0/AutomaticDeploymentTargets/0: Environment "Development"`,
			`projects/OctoFX/deployment-process.json: /Steps/2/Actions/0/ExcludedEnvironments/0: Environment "Development"`,
			`tenants/Internal/variables.json: /ProjectVariables/0/Scope/EnvironmentIds/0: Environment "Development"`,
		}},
		{name: "left to the destination", change: func(t *testing.T, b *Bundle) {
			b.Remove("environments/Development.json")
			if err := b.SetApplyPolicy(&policy.File{Provided: map[string][]string{"Environment": {"Dev*"}}}); err != nil {
				t.Fatal(err)
			}
		}, none: true},
		{name: "the last of a kind removed dangles", change: func(_ *testing.T, b *Bundle) {
			// Not carrying a kind at all says the destination has it only
			// for optional kinds (deployment targets, workers): a bundle
			// whose every account went still refers to them.
			for _, p := range b.Paths() {
				if strings.HasPrefix(p, "accounts/") {
					b.Remove(p)
				}
			}
		}, want: []string{
			`machine-policies/Daily Health Check.json: /MachineUpdatePolicy/TentacleUpdateAccountId: Account "Tentacle Update Account"`,
			`projects/OctoFX/variables.json: /Variables/10/Value: Account "Azure Dev/Test Subscription"`,
		}},
		{name: "the last of a kind left to the destination", change: func(t *testing.T, b *Bundle) {
			for _, p := range b.Paths() {
				if strings.HasPrefix(p, "accounts/") {
					b.Remove(p)
				}
			}
			if err := b.SetApplyPolicy(&policy.File{Provided: map[string][]string{"Account": {"*", "Azure Dev/Test Subscription"}}}); err != nil {
				t.Fatal(err)
			}
		}, none: true},
		{name: "a partial bundle leaves kinds it does not carry to the destination", change: func(_ *testing.T, b *Bundle) {
			b.Manifest.Projects = []string{"OctoFX"}
			for _, p := range b.Paths() {
				if strings.HasPrefix(p, "accounts/") {
					b.Remove(p)
				}
			}
		}, none: true},
		{name: "a partial bundle transformed: the kinds it carried stay carried", change: func(_ *testing.T, b *Bundle) {
			b.Manifest.Projects = []string{"OctoFX"}
			for _, p := range b.Paths() {
				if strings.HasPrefix(p, "accounts/") {
					b.Remove(p)
				}
			}
		}, carried: []string{"Account"}, want: []string{
			`projects/OctoFX/variables.json: /Variables/10/Value: Account "Azure Dev/Test Subscription"`,
		}},
		{name: "a removed action dangles in variable scopes", change: func(t *testing.T, b *Bundle) {
			k := schema.MustLookup(schema.DeploymentProcess)
			d, _ := b.Entity(k, "OctoFX")
			doc := schema.DeepCopy(d).(map[string]any)
			steps := doc["Steps"].([]any)
			doc["Steps"] = append(steps[:3:3], steps[4:]...) // QA Sign-off
			if _, err := b.PutEntity(k, []string{"OctoFX"}, doc); err != nil {
				t.Fatal(err)
			}
		}, want: []string{`projects/OctoFX/variables.json: /Variables/29/Scope/Action/0: Action "QA Sign-off"`}},
		{name: "an unknown tenant tag", change: func(t *testing.T, b *Bundle) {
			k := schema.MustLookup(schema.Tenant)
			d, _ := b.Entity(k, "Globex")
			doc := schema.DeepCopy(d).(map[string]any)
			doc["TenantTags"] = []any{"Region/West", "Tier/Gold"}
			if _, err := b.PutEntity(k, []string{"Globex"}, doc); err != nil {
				t.Fatal(err)
			}
		}, want: []string{`tenants/Globex/tenant.json: /TenantTags/1: tenant tag "Tier/Gold"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Read("../testdata/golden/source", ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			tt.change(t, b)
			problems, err := b.CheckReferences()
			if tt.carried != nil {
				problems, err = b.CheckReferencesCarried(tt.carried)
			}
			if err != nil {
				t.Fatal(err)
			}
			var all []string
			for _, p := range problems {
				all = append(all, p.String())
			}
			if tt.none && len(all) > 0 {
				t.Fatalf("problems:\n%s", strings.Join(all, "\n"))
			}
			for _, w := range tt.want {
				found := false
				for _, p := range all {
					found = found || strings.HasPrefix(p, w)
				}
				if !found {
					t.Errorf("no problem %q in:\n%s", w, strings.Join(all, "\n"))
				}
			}
		})
	}
}
