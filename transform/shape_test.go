package transform

import (
	"encoding/json"
	"testing"

	"github.com/octobundle/octobundle/schema"
)

// The cascade and value rules are registry data: tenant variables as
// arrays of values with their own scope, as newer Octopus versions serve
// them, needed declarations, not code. This test runs the engine over the
// registry's own TenantVariables kind (it used to declare a test-local copy
// of that shape, which could drift from the real entry).
func TestNewTenantVariablesShapeIsData(t *testing.T) {
	k := schema.MustLookup(schema.TenantVariables)
	var doc any
	if err := json.Unmarshal([]byte(`{
	  "CommonVariables": [
	    {"LibraryVariableSetId": "Common Variables", "TemplateId": "Tenant.Alias", "Scope": {"EnvironmentIds": []}, "Value": "internal"},
	    {"LibraryVariableSetId": "Common Variables", "TemplateId": "Tenant.Region", "Scope": {"EnvironmentIds": ["Development"]}, "Value": "dev-only"}
	  ],
	  "ProjectVariables": [
	    {"ProjectId": "OctoFX", "TemplateId": "OctoFX.Tenant.DatabaseName", "Scope": {"EnvironmentIds": ["Development"]}, "Value": "dev"},
	    {"ProjectId": "OctoFX", "TemplateId": "OctoFX.Tenant.DatabaseName", "Scope": {"EnvironmentIds": ["Development", "Production"]}, "Value": "prod"},
	    {"ProjectId": "Customer Portal", "TemplateId": "Portal.Tenant.Subdomain", "Scope": {"EnvironmentIds": ["Production"]}, "Value": "internal"}
	  ]}`), &doc); err != nil {
		t.Fatal(err)
	}
	e := &engine{
		fates: map[schema.ScopedName]*fate{
			{Kind: schema.Environment, Name: "Development"}: {drop: true, rule: "r.yaml:3"},
			{Kind: schema.Project, Name: "Customer Portal"}: {drop: true, rule: "r.yaml:4"},
		},
		vdrops: map[schema.ScopedName]*fate{}, used: map[*Rule]int{}, report: &Report{},
	}
	x := &ent{kind: k, names: []string{"Internal"}, path: "tenants/Internal/variables.json", doc: doc, chain: kindChain(k)}
	res := e.rewrite(x)
	if res.dropEntity != nil || len(e.errs) > 0 {
		t.Fatalf("unexpected %+v %v", res.dropEntity, e.errs)
	}
	n, err := setValue(res.doc, k.Values[0], &SetValue{Name: "OctoFX.Tenant.DatabaseName", Scope: map[string][]string{"Project": {"OctoFX"}, "Environment": {"Production"}}, Value: "OctoFX-Internal-dr"})
	if err != nil || n.changed != 1 {
		t.Fatalf("setValue: %+v %v", n, err)
	}
	got, _ := json.Marshal(res.doc)
	want := `{"CommonVariables":[{"LibraryVariableSetId":"Common Variables","Scope":{"EnvironmentIds":[]},"TemplateId":"Tenant.Alias","Value":"internal"}],` +
		`"ProjectVariables":[{"ProjectId":"OctoFX","Scope":{"EnvironmentIds":["Production"]},"TemplateId":"OctoFX.Tenant.DatabaseName","Value":"OctoFX-Internal-dr"}]}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
