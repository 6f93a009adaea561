package apply

import (
	"reflect"
	"testing"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
)

// TestLeftoverPlaceholders: the placeholders an earlier apply left where
// the API shows them (a placeholder certificate's subject, a value made
// non-sensitive since) are listed by kind, entity and field; sensitive
// values, which the API never returns, and ordinary fields are not.
func TestLeftoverPlaceholders(t *testing.T) {
	proj := snapshot.NewEntity(schema.MustLookup(schema.Project), "Projects-1", "OctoFX", nil, map[string]any{"Name": "OctoFX"})
	tests := []struct {
		name   string
		entity *snapshot.Entity
		want   []plans.CleanupItem
	}{
		{"placeholder certificate", snapshot.NewEntity(schema.MustLookup(schema.Certificate), "Certificates-1", "Web", nil, map[string]any{"Name": "Web", "SubjectOrganization": PlaceholderPrefix, "SubjectDistinguishedName": "CN=Web, OU=placeholder written by octobundle apply: replace me, O=" + PlaceholderPrefix, "CertificateData": map[string]any{"HasValue": true}}),
			[]plans.CleanupItem{{Kind: schema.Certificate, Names: []string{"Web"}, Field: "/SubjectDistinguishedName"}, {Kind: schema.Certificate, Names: []string{"Web"}, Field: "/SubjectOrganization"}}},
		{"a value made non-sensitive", snapshot.NewEntity(schema.MustLookup(schema.ProjectVariables), "", "", proj,
			map[string]any{"Variables": []any{map[string]any{"Name": "Db", "Value": "x"}, map[string]any{"Name": "Token", "Value": PlaceholderPrefix + ": replace me (ProjectVariables OctoFX)", "IsSensitive": false}}}),
			[]plans.CleanupItem{{Kind: schema.ProjectVariables, Names: []string{"OctoFX"}, Field: "/Variables[1]/Value"}}},
		{"sensitive value (not returned)", snapshot.NewEntity(schema.MustLookup(schema.ProjectVariables), "", "", proj,
			map[string]any{"Variables": []any{map[string]any{"Name": "Token", "Value": nil, "IsSensitive": true}}}),
			nil},
		{"real certificate", snapshot.NewEntity(schema.MustLookup(schema.Certificate), "Certificates-2", "Real", nil, map[string]any{"Name": "Real", "SubjectOrganization": "Example Ltd"}),
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := snapshot.New("https://o.example.com", "2025.2.1", "Spaces-1", "Default")
			snap.Add(tt.entity)
			got := leftoverPlaceholders(snap)
			for i := range got {
				if got[i].Why == "" {
					t.Errorf("item %d has no why", i)
				}
				got[i].Why = ""
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
