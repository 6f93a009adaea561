package schema

import (
	"strings"
	"testing"
)

func TestTenantVariablesLegacyConversion(t *testing.T) {
	for _, tc := range []struct {
		name, legacy, scoped string
	}{
		{
			"one value per environment; common values unscoped; no-value entries left out",
			`{"TenantId":"Tenants-1",
			  "ProjectVariables":{"Projects-1":{"Variables":{"Environments-2":{"t1":"b","t2":{"HasValue":true,"NewValue":null}},"Environments-1":{"t1":"a","t3":null,"t4":{"HasValue":false,"NewValue":null}}}}},
			  "LibraryVariables":{"LibraryVariableSets-1":{"Variables":{"c1":"x"}}}}`,
			`{"CommonVariables":[{"LibraryVariableSetId":"LibraryVariableSets-1","Scope":{"EnvironmentIds":[]},"TemplateId":"c1","Value":"x"}],
			  "ProjectVariables":[
			    {"ProjectId":"Projects-1","Scope":{"EnvironmentIds":["Environments-1"]},"TemplateId":"t1","Value":"a"},
			    {"ProjectId":"Projects-1","Scope":{"EnvironmentIds":["Environments-2"]},"TemplateId":"t1","Value":"b"},
			    {"ProjectId":"Projects-1","Scope":{"EnvironmentIds":["Environments-2"]},"TemplateId":"t2","Value":{"HasValue":true,"NewValue":null}}],
			  "TenantId":"Tenants-1"}`,
		},
		{"empty", `{}`, `{"CommonVariables":[],"ProjectVariables":[]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := TenantVariablesFromLegacy(decode(t, tc.legacy).(map[string]any))
			if g, w := encode(t, got), encode(t, decode(t, tc.scoped)); g != w {
				t.Errorf("from legacy:\n got %s\nwant %s", g, w)
			}
			// And back: the same document (the no-value entries aside).
			back, err := TenantVariablesToLegacy(got)
			if err != nil {
				t.Fatal(err)
			}
			again := TenantVariablesFromLegacy(back)
			if encode(t, again) != encode(t, got) {
				t.Errorf("legacy round trip changed the values:\n%s\n%s", encode(t, again), encode(t, got))
			}
		})
	}
}

func TestTenantVariablesToLegacy(t *testing.T) {
	for _, tc := range []struct {
		name, scoped, legacy, wantErr string
	}{
		{
			"a multi-environment project value becomes one per environment",
			`{"ProjectVariables":[{"ProjectId":"OctoFX","TemplateId":"Url","Scope":{"EnvironmentIds":["Staging","Production"]},"Value":"u"}]}`,
			`{"LibraryVariables":{},"ProjectVariables":{"OctoFX":{"ProjectId":"OctoFX","Variables":{"Production":{"Url":"u"},"Staging":{"Url":"u"}}}}}`, "",
		},
		{
			"an unscoped common value",
			`{"CommonVariables":[{"LibraryVariableSetId":"Common","TemplateId":"Alias","Scope":{"EnvironmentIds":[]},"Value":"a"}]}`,
			`{"LibraryVariables":{"Common":{"LibraryVariableSetId":"Common","Variables":{"Alias":"a"}}},"ProjectVariables":{}}`, "",
		},
		{
			"a common value scoped to environments is refused by name",
			`{"CommonVariables":[{"LibraryVariableSetId":"Common","TemplateId":"Contact","Scope":{"EnvironmentIds":["Production"]},"Value":"a"}]}`,
			"", `CommonVariables[0] (library variable set "Common", template "Contact"): Scope.EnvironmentIds is Production`,
		},
		{
			"a project value without environments is refused",
			`{"ProjectVariables":[{"ProjectId":"OctoFX","TemplateId":"Url","Scope":{"EnvironmentIds":[]},"Value":"u"}]}`,
			"", `ProjectVariables[0] (project "OctoFX", template "Url"): Scope.EnvironmentIds is empty`,
		},
		{
			"two values for one environment are refused",
			`{"ProjectVariables":[{"ProjectId":"OctoFX","TemplateId":"Url","Scope":{"EnvironmentIds":["Staging"]},"Value":"a"},
			                     {"ProjectId":"OctoFX","TemplateId":"Url","Scope":{"EnvironmentIds":["Staging","Production"]},"Value":"b"}]}`,
			"", `ProjectVariables[1] (project "OctoFX", template "Url"): Scope.EnvironmentIds: environment "Staging" has two values`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := TenantVariablesToLegacy(decode(t, tc.scoped).(map[string]any))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g, w := encode(t, got), encode(t, decode(t, tc.legacy)); g != w {
				t.Errorf("got  %s\nwant %s", g, w)
			}
		})
	}
}

func TestVersionAtLeast(t *testing.T) {
	for _, tc := range []struct {
		v, since string
		want     bool
	}{
		{"2025.2.9876", "2025.2", true},
		{"2025.10.1", "2025.2", true},
		{"2025.1.10125", "2025.2", false},
		{"2024.4.6000", "2025.2", false},
		{"2026.1", "2025.2", true},
		{"2025.2.0-rc0001", "2025.2", true},
		{"", "2025.2", false},
		{"garbage", "2025.2", false},
	} {
		if got := VersionAtLeast(tc.v, tc.since); got != tc.want {
			t.Errorf("VersionAtLeast(%q, %q) = %v, want %v", tc.v, tc.since, got, tc.want)
		}
	}
}
