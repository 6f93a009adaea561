package apply

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strconv"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/apply/internal/secrets"
	"github.com/octobundle/octobundle/apply/plans"
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
			predicted := secrets.Predict(k, []string{"c"}, js(t, tc.body), dest, "")
			out, items, err := secrets.Fill(k, []string{"c"}, js(t, tc.body), dest, "")
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

// Prune removes destination-only entries of the prune fields only: named
// elements at any depth, map keys naming a project the bundle holds, and
// tenant variable values under the projects and library variable sets the
// bundle's document holds.
func TestPruneFields(t *testing.T) {
	pl := &planner{bn: planned.IndexBundle([]*planned.Change{newChange(plans.Change{Kind: schema.Project, Names: []string{"OctoFX"}}).Change})}
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
