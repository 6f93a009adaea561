package apply

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"github.com/octobundle/octobundle/internal/jsonv"
	"strconv"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/schema"
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

func TestCheckVersion(t *testing.T) {
	for _, tc := range []struct {
		src, dst string
		allow    bool
		ok       bool
	}{
		{"2025.2.9876", "2025.2.1", false, true},
		{"2025.2.9876", "2025.3.4512", false, true},
		{"2025.2.9876", "2025.1.10125", false, true},
		{"2025.2.9876", "2025.4.1", false, false},
		{"2025.4.1", "2025.2.1", false, false},
		{"2024.4.1", "2025.1.1", false, false}, // different major
		{"2024.4.1", "2025.1.1", true, true},
		{"2020.5.0-rc0001", "2020.6.1", false, true},
		{"", "2025.1.1", false, false},
		{"", "2025.1.1", true, true},
		{"2025.1.1", "garbage", false, false},
	} {
		err := checkVersion(tc.src, tc.dst, tc.allow)
		if (err == nil) != tc.ok {
			t.Errorf("checkVersion(%q, %q, %v) = %v, want ok %v", tc.src, tc.dst, tc.allow, err, tc.ok)
		}
	}
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

func TestFillSecrets(t *testing.T) {
	for _, tc := range []struct {
		name, kind, body, dest string
		wantFields             []string
		check                  func(t *testing.T, out map[string]any)
	}{
		{"new sensitive variable", schema.ProjectVariables,
			`{"Variables":[{"Name":"pw","Scope":{},"IsSensitive":true,"Value":null},{"Name":"plain","Scope":{},"Value":"x"}]}`, `null`,
			[]string{`Variables["pw"]/Value`}, func(t *testing.T, out map[string]any) {
				v := out["Variables"].([]any)[0].(map[string]any)["Value"].(string)
				if !strings.HasPrefix(v, PlaceholderPrefix) {
					t.Errorf("value %q", v)
				}
			}},
		{"existing sensitive variable untouched", schema.ProjectVariables,
			`{"Variables":[{"Name":"pw","Scope":{"Environment":["Environments-1"]},"IsSensitive":true,"Value":null}]}`,
			`{"Variables":[{"Id":"v1","Name":"pw","Scope":{"Environment":["Environments-1"]},"IsSensitive":true,"Value":null}]}`,
			nil, func(t *testing.T, out map[string]any) {
				if v := out["Variables"].([]any)[0].(map[string]any)["Value"]; v != nil {
					t.Errorf("value %v", v)
				}
			}},
		{"new account secret", schema.Account, `{"Name":"a","Token":{"HasValue":true,"NewValue":null}}`, `null`,
			[]string{"Token"}, nil},
		{"existing feed password kept", schema.Feed, `{"Password":{"HasValue":true}}`, `{"Password":{"HasValue":true,"NewValue":null}}`, nil, nil},
		{"secret without a value stays empty", schema.Feed, `{"Password":{"HasValue":false}}`, `null`, nil, nil},
		{"tenant values", schema.TenantVariables, `{"ProjectVariables":{"P":{"Variables":{"E":{"T":{"HasValue":true},"U":"plain"}}}}}`, `{}`,
			[]string{"ProjectVariables/P/Variables/E/T"}, nil},
		{"certificate", schema.Certificate, `{"CertificateData":{"HasValue":true},"Password":{"HasValue":true}}`, `null`,
			[]string{"CertificateData"}, func(t *testing.T, out map[string]any) {
				data := out["CertificateData"].(map[string]any)["NewValue"].(string)
				raw, err := base64.StdEncoding.DecodeString(data)
				if err != nil {
					t.Fatal(err)
				}
				blk, rest := pem.Decode(raw)
				if blk == nil || blk.Type != "CERTIFICATE" {
					t.Fatal("no PEM certificate")
				}
				cert, err := x509.ParseCertificate(blk.Bytes)
				if err != nil || cert.Subject.CommonName != "c" {
					t.Errorf("certificate: %v %v", err, cert)
				}
				if k, _ := pem.Decode(rest); k == nil || k.Type != "PRIVATE KEY" {
					t.Error("no private key")
				}
				if hv := out["Password"].(map[string]any)["HasValue"]; hv != false {
					t.Errorf("password HasValue %v", hv)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := schema.MustLookup(tc.kind)
			var dest any
			if tc.dest != "null" {
				dest = js(t, tc.dest)
			}
			predicted := predictCleanup(k, []string{"c"}, js(t, tc.body), dest, "")
			out, items, err := fillSecrets(k, []string{"c"}, js(t, tc.body), dest, "")
			if err != nil {
				t.Fatal(err)
			}
			var fields, pfields []string
			for _, it := range items {
				fields = append(fields, it.Field)
			}
			for _, it := range predicted {
				pfields = append(pfields, it.Field)
			}
			if strings.Join(fields, "|") != strings.Join(tc.wantFields, "|") || strings.Join(pfields, "|") != strings.Join(tc.wantFields, "|") {
				t.Errorf("clean-up fields %q (predicted %q), want %q", fields, pfields, tc.wantFields)
			}
			if tc.check != nil {
				tc.check(t, out.(map[string]any))
			}
		})
	}
}

func TestCheckNothingLost(t *testing.T) {
	live := `{"Variables":[{"Id":"1","Name":"pw","IsSensitive":true,"Value":null},{"Id":"2","Name":"x","Value":"a"}]}`
	for _, tc := range []struct {
		name, body string
		pruned     map[string]bool
		ok         bool
	}{
		{"all kept", `{"Variables":[{"Id":"1","Name":"pw","IsSensitive":true,"Value":null},{"Id":"2","Name":"x","Value":"b"}]}`, nil, true},
		{"sensitive without Id", `{"Variables":[{"Name":"pw","IsSensitive":true,"Value":null},{"Id":"2","Name":"x","Value":"b"}]}`, nil, false},
		{"sensitive overwritten", `{"Variables":[{"Id":"1","Name":"pw","IsSensitive":true,"Value":"oops"},{"Id":"2","Name":"x"}]}`, nil, false},
		{"made non-sensitive", `{"Variables":[{"Id":"1","Name":"pw","IsSensitive":false,"Value":null},{"Id":"2","Name":"x"}]}`, nil, false},
		{"variable dropped", `{"Variables":[{"Id":"1","Name":"pw","IsSensitive":true,"Value":null}]}`, nil, false},
		{"pruned variable dropped", `{"Variables":[{"Id":"1","Name":"pw","IsSensitive":true,"Value":null}]}`, map[string]bool{"x": true}, true},
		{"another variable pruned", `{"Variables":[{"Id":"2","Name":"x","Value":"a"}]}`, map[string]bool{"x": true}, false},
	} {
		err := checkNothingLost(js(t, live).(map[string]any), js(t, tc.body).(map[string]any), tc.pruned)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestPlanJSONRoundTrip(t *testing.T) {
	p := &Plan{
		Format: PlanFormat, BundleDigest: "sha256:" + strings.Repeat("a", 64),
		Destination: Destination{Server: "http://x", Space: "Default", ServerVersion: "2025.1.1", Fingerprint: "sha256:" + strings.Repeat("b", 64)},
		Changes: []Change{
			{Kind: "Environment", Names: []string{"Test"}, Path: "environments/Test.json", Action: OpCreate, Desired: jsonv.MustPack(js(t, `{"Name":"Test","SortOrder":2}`)), WriteMain: true},
			{Kind: "DeploymentProcess", Names: []string{"OctoFX"}, Path: "projects/OctoFX/deployment-process.json", Action: OpError, Error: "boom"},
			{Kind: "Channel", Names: []string{"OctoFX", "QA"}, Path: "projects/OctoFX/channels/QA.json", Action: OpUpdate,
				Diff: []FieldDiff{{Path: "/Description", Before: "a", After: "b"}}, Desired: jsonv.MustPack(js(t, `{"Name":"QA"}`)), WriteDeferred: true},
		},
		Cleanup: []CleanupItem{{Kind: "Account", Names: []string{"A"}, Field: "Token", Why: "new secret"}},
		Summary: map[Op]int{OpCreate: 1, OpError: 1, OpUpdate: 1},
	}
	var buf strings.Builder
	if err := p.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	q, err := ReadPlan(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	var buf2 strings.Builder
	if err := q.WriteJSON(&buf2); err != nil {
		t.Fatal(err)
	}
	if buf.String() != buf2.String() {
		t.Errorf("round trip changed the plan:\n%s\n%s", buf.String(), buf2.String())
	}
	var text strings.Builder
	if err := q.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`+ create  Environment "Test"`, `x error   DeploymentProcess "OctoFX"`, `~ update  Channel "OctoFX"/"QA"`, `~ /Description: "a" → "b"`, "Plan: 1 to create, 1 to update, 0 unchanged, 0 left alone, 1 errors."} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text plan lacks %q:\n%s", want, text.String())
		}
	}
	// Bad plans are refused.
	for _, bad := range []string{
		`{"format":"octobundle-plan/v0"}`,
		strings.Replace(buf.String(), `"action": "create"`, `"action": "destroy"`, 1),
		strings.Replace(buf.String(), `"error": "boom"`, `"reason": "x"`, 1),
		`not json`,
	} {
		if _, err := ReadPlan(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadPlan accepted %.80s", bad)
		}
	}
}

func TestReceiptStatus(t *testing.T) {
	for _, tc := range []struct {
		outcomes []Outcome
		want     Status
	}{
		{[]Outcome{OutcomeCreated, OutcomeUnchanged, OutcomeLeftAlone}, Succeeded},
		{nil, Succeeded},
		{[]Outcome{OutcomeCreated, OutcomeFailed, OutcomeSkipped}, PartiallyFailed},
		{[]Outcome{OutcomeUnchanged, OutcomeFailed}, PartiallyFailed},
		{[]Outcome{OutcomeFailed, OutcomeSkipped}, Failed},
	} {
		r := &Receipt{Summary: map[Outcome]int{}}
		for _, o := range tc.outcomes {
			r.Results = append(r.Results, Result{Outcome: o})
			r.Summary[o]++
		}
		if got := r.Status(); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.outcomes, got, tc.want)
		}
	}
}

// Prune removes destination-only entries of the prune fields only: named
// elements at any depth, map keys naming a project the bundle holds, and
// tenant variable values under the projects and library variable sets the
// bundle's document holds.
func TestPruneFields(t *testing.T) {
	pl := &planner{bn: indexBundle([]*Change{{Kind: schema.Project, Names: []string{"OctoFX"}}})}
	for _, tc := range []struct {
		name, kind, bundle, merged, want string
		removed                          bool
	}{
		{"steps and actions", schema.DeploymentProcess,
			`{"Steps":[{"Name":"a","Actions":[{"Name":"a"}]}]}`,
			`{"Steps":[{"Name":"old"},{"Name":"a","Actions":[{"Name":"a"},{"Name":"x"}],"Properties":{"dest":"1"}}]}`,
			`{"Steps":[{"Name":"a","Actions":[{"Name":"a"}],"Properties":{"dest":"1"}}]}`, true},
		{"variables by name and scope", schema.ProjectVariables,
			`{"Variables":[{"Name":"v","Scope":{}}]}`,
			`{"Variables":[{"Name":"v","Scope":{}},{"Name":"v","Scope":{"Environment":["DR"]}}]}`,
			`{"Variables":[{"Name":"v","Scope":{}}]}`, true},
		{"links to bundle projects only", schema.Tenant,
			`{"ProjectEnvironments":{"Portal":["Test"]}}`,
			`{"ProjectEnvironments":{"Portal":["Test"],"OctoFX":["Production"],"DR Drills":["DR"]}}`,
			`{"ProjectEnvironments":{"Portal":["Test"],"DR Drills":["DR"]}}`, true},
		{"tenant values under held projects and library variable sets only", schema.TenantVariables,
			`{"ProjectVariables":[` + tvP("OctoFX", "T", `"1"`, "Staging") + `],"CommonVariables":[` + tvC("Common", "A", `"a"`) + `]}`,
			`{"ProjectVariables":[` + tvP("OctoFX", "T", `"1"`, "Staging") + `,` + tvP("OctoFX", "Old", `"x"`, "Staging") + `,` +
				tvP("OctoFX", "OldSecret", `{"HasValue":true,"NewValue":null}`, "Staging") + `,` + tvP("OctoFX", "T", `"2"`, "DR") + `,` +
				tvP("DR Drills", "R", `"r"`, "DR") + `],` +
				`"CommonVariables":[` + tvC("Common", "A", `"a"`) + `,` + tvC("Common", "Legacy", `"l"`) + `,` + tvC("Other", "B", `"b"`) + `]}`,
			`{"ProjectVariables":[` + tvP("OctoFX", "T", `"1"`, "Staging") + `,` + tvP("DR Drills", "R", `"r"`, "DR") + `],` +
				`"CommonVariables":[` + tvC("Common", "A", `"a"`) + `,` + tvC("Other", "B", `"b"`) + `]}`, true},
		{"tenant values are matched by scope", schema.TenantVariables,
			`{"ProjectVariables":[` + tvP("OctoFX", "T", `"1"`, "Staging", "Production") + `]}`,
			`{"ProjectVariables":[` + tvP("OctoFX", "T", `"1"`, "Production", "Staging") + `]}`,
			`{"ProjectVariables":[` + tvP("OctoFX", "T", `"1"`, "Production", "Staging") + `]}`, false},
		{"a field the bundle lacks is not pruned", schema.DeploymentProcess,
			`{}`, `{"Steps":[{"Name":"old"}]}`, `{"Steps":[{"Name":"old"}]}`, false},
		{"other fields are not pruned", schema.Project,
			`{"Templates":[]}`, `{"Templates":[{"Name":"t"}]}`, `{"Templates":[{"Name":"t"}]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			merged := js(t, tc.merged)
			removed := pl.prune(schema.MustLookup(tc.kind), js(t, tc.bundle), merged)
			if removed != tc.removed || !bundles.Equal(merged, js(t, tc.want)) {
				t.Errorf("got %v %s\nwant %v %s", removed, canon(merged), tc.removed, tc.want)
			}
		})
	}
}

// tvP is a tenant project variable value in bundle form.
func tvP(project, template, value string, envs ...string) string {
	return `{"ProjectId":` + strconv.Quote(project) + `,"TemplateId":` + strconv.Quote(template) +
		`,"Scope":{"EnvironmentIds":[` + quoteAll(envs) + `]},"Value":` + value + `}`
}

// tvC is an unscoped tenant common variable value in bundle form.
func tvC(set, template, value string) string {
	return `{"LibraryVariableSetId":` + strconv.Quote(set) + `,"TemplateId":` + strconv.Quote(template) +
		`,"Scope":{"EnvironmentIds":[]},"Value":` + value + `}`
}

func quoteAll(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, ",")
}

// canon renders v canonically for failure messages.
func canon(v any) string {
	b, err := bundles.Canonical(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
