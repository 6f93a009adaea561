package render

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/bundles"
)

func js(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}

// The text plan names array elements the way merge matches them.
func TestDiffLabels(t *testing.T) {
	for _, tc := range []struct {
		name, before, after string
		want                []string // writeFieldDiff lines, trimmed
	}{
		{"variable value by name and scope",
			`{"Variables":[{"Name":"OctoFX.Port","Scope":{"Environment":["Production"]},"Value":"1"},{"Name":"OctoFX.Port","Scope":{},"Value":"0"}]}`,
			`{"Variables":[{"Name":"OctoFX.Port","Scope":{},"Value":"0"},{"Name":"OctoFX.Port","Scope":{"Environment":["Production"]},"Value":"2"}]}`,
			[]string{`~ Variables["OctoFX.Port" Environment=Production].Value: "1" → "2"`}},
		{"added variable with its value, quoted scope values",
			`{"Variables":[]}`,
			`{"Variables":[{"Name":"QA.TestSuite","Scope":{"Channel":["QA"],"Role":[]},"Value":"full","IsSensitive":false},{"Name":"pw","Scope":{"Action":["Deploy Web","Api"]},"Value":null,"IsSensitive":true}]}`,
			[]string{`+ Variables["QA.TestSuite" Channel=QA]: "full"`, `+ Variables["pw" Action=Api,"Deploy Web"] (sensitive)`}},
		{"step action property",
			`{"Steps":[{"Name":"Deploy Web","Actions":[{"Name":"Deploy Web","Properties":{"Octopus.Action.MaxParallelism":"1"}}]}]}`,
			`{"Steps":[{"Name":"Deploy Web","Actions":[{"Name":"Deploy Web","Properties":{"Octopus.Action.MaxParallelism":"2"}}]}]}`,
			[]string{`~ Steps["Deploy Web"].Actions["Deploy Web"].Properties["Octopus.Action.MaxParallelism"]: "1" → "2"`}},
		{"added step summarised",
			`{"Steps":[]}`,
			`{"Steps":[{"Name":"Smoke Test API","Actions":[{"Name":"Smoke Test API","ActionType":"Octopus.Script","Properties":{"Octopus.Action.Script.ScriptBody":"` + strings.Repeat("x", 300) + `"}}]}]}`,
			[]string{`+ Steps["Smoke Test API"] (1 action: Octopus.Script)`}},
		{"removed element and key",
			`{"Phases":[{"Name":"Dev"},{"Name":"Prod"}],"Description":"d"}`,
			`{"Phases":[{"Name":"Prod"}]}`,
			[]string{`- Description: "d"`, `- Phases["Dev"]: {"Name":"Dev"}`}},
		{"scoped user roles by role",
			`[{"UserRoleId":"Project viewer","ProjectIds":["A"]}]`,
			`[{"UserRoleId":"Project viewer","ProjectIds":["B"]},{"UserRoleId":"Project deployer","EnvironmentIds":["Test"],"ProjectIds":[],"TenantIds":["Acme"]}]`,
			[]string{`~ ["Project viewer"].ProjectIds: ["A"] → ["B"]`, `+ ["Project deployer"] (Environments: Test; Tenants: Acme)`}},
		{"elements without identity keep their index", `{"Rules":[{"A":1}]}`, `{"Rules":[{"A":2}]}`, []string{`~ Rules: [{"A":1}] → [{"A":2}]`}},
		{"the whole document", `[1]`, `[2]`, []string{`~ (the whole document): [1] → [2]`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, d := range bundles.Diff(js(t, tc.before), js(t, tc.after)) {
				var b strings.Builder
				writeFieldDiff(&b, d)
				got = append(got, strings.TrimSpace(b.String()))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}
