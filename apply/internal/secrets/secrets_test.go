package secrets

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/schema"
)

// doc decodes a JSON document as the planner and executor hold one.
func doc(t *testing.T, s string) any {
	t.Helper()
	if s == "" {
		return nil
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// item is a clean-up item's position and the start of its reason.
type item struct{ field, why string }

// TestPredictAndFill checks the clean-up items found, in their order, and
// what Fill writes where Predict writes nothing: each new secret once, by
// the path people read (elements by their identity), whatever the
// document holds besides.
func TestPredictAndFill(t *testing.T) {
	variables := `{"Variables": [
		{"Name": "Plain", "Value": "x", "Scope": {}},
		{"Name": "Password", "IsSensitive": true, "Value": null, "Scope": {"Environment": ["Test"]}},
		{"Name": "Token", "IsSensitive": true, "Value": "", "Scope": {}},
		{"Name": "Kept", "IsSensitive": true, "Value": null, "Scope": {}}
	], "Notes": ["a", "b"], "Deep": {"Z": {"Y": [1, 2]}}}`
	tests := []struct {
		name      string
		kind      string
		names     []string
		desired   string
		dest      string
		want      []item
		wantValue map[string]string // Fill: JSON pointer → the value written there
	}{
		{
			name: "new variables", kind: schema.LibraryVariables, names: []string{"Shared"},
			desired: variables,
			want: []item{
				{`Variables["Password" Environment=Test]/Value`, "new sensitive variable"},
				{`Variables["Token"]/Value`, "new sensitive variable"},
				{`Variables["Kept"]/Value`, "new sensitive variable"},
			},
			wantValue: map[string]string{"Variables/1/Value": PlaceholderPrefix, "Variables/2/Value": PlaceholderPrefix},
		},
		{
			name: "only what the destination lacks", kind: schema.LibraryVariables, names: []string{"Shared"},
			desired: variables,
			dest: `{"Variables": [
				{"Name": "Kept", "IsSensitive": true, "Value": null, "Scope": {}},
				{"Name": "Token", "IsSensitive": false, "Value": "plain", "Scope": {}}
			]}`,
			want: []item{
				{`Variables["Password" Environment=Test]/Value`, "new sensitive variable"},
				{`Variables["Token"]/Value`, "variable made sensitive at the source"},
			},
		},
		{
			name: "sensitive values", kind: schema.Feed, names: []string{"Feed"},
			desired: `{"Name": "Feed", "Password": {"HasValue": true}, "SecretKey": {"HasValue": false},
				"AccessKeySecret": {"HasValue": true, "NewValue": "given"}, "Other": [{"Inner": {"HasValue": true}}]}`,
			want: []item{
				{"Other/0/Inner", "new secret"},
				{"Password", "new secret"},
			},
			wantValue: map[string]string{"Password/NewValue": PlaceholderPrefix, "Other/0/Inner/NewValue": PlaceholderPrefix, "AccessKeySecret/NewValue": "given"},
		},
		{
			name: "a secret the destination has", kind: schema.Feed, names: []string{"Feed"},
			desired: `{"Name": "Feed", "Password": {"HasValue": true}}`,
			dest:    `{"Name": "Feed", "Password": {"HasValue": true}}`,
		},
		{
			name: "certificate", kind: schema.Certificate, names: []string{"Cert"},
			desired: `{"Name": "Cert", "CertificateData": {"HasValue": true}, "Password": {"HasValue": true}}`,
			want:    []item{{"CertificateData", "new certificate"}},
		},
		{
			name: "nothing secret", kind: schema.Feed, names: []string{"Feed"},
			desired: `{"Name": "Feed", "List": [[{"A": 1}], "x", null], "Map": {"B": {"C": true}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := schema.MustLookup(tt.kind)
			desired := doc(t, tt.desired)
			before, _ := json.Marshal(desired)
			got := Predict(k, tt.names, desired, doc(t, tt.dest), "")
			if after, _ := json.Marshal(desired); string(after) != string(before) {
				t.Errorf("Predict changed its document:\n%s\nbecame\n%s", before, after)
			}
			var items []item
			for _, it := range got {
				if it.Kind != tt.kind || !reflect.DeepEqual(it.Names, tt.names) {
					t.Errorf("item %+v: want kind %s, names %v", it, tt.kind, tt.names)
				}
				if !strings.Contains(it.Why, "apply will write") && !strings.Contains(it.Why, "certificate") {
					t.Errorf("item %+v: a plan's reason speaks of what apply will write", it)
				}
				items = append(items, item{it.Field, it.Why})
			}
			if len(items) != len(tt.want) {
				t.Fatalf("Predict: %d items %q, want %d %q", len(items), items, len(tt.want), tt.want)
			}
			for i := range items {
				if items[i].field != tt.want[i].field || !strings.HasPrefix(items[i].why, tt.want[i].why) {
					t.Errorf("Predict item %d = %q, want field %q, reason %q…", i, items[i], tt.want[i].field, tt.want[i].why)
				}
			}

			body := doc(t, tt.desired)
			out, filled, err := Fill(k, tt.names, body, doc(t, tt.dest), "")
			if err != nil {
				t.Fatal(err)
			}
			if len(filled) != len(got) {
				t.Errorf("Fill: %d items, Predict %d", len(filled), len(got))
			}
			for i := range min(len(filled), len(got)) {
				if filled[i].Field != got[i].Field {
					t.Errorf("Fill item %d at %q, Predict's at %q", i, filled[i].Field, got[i].Field)
				}
			}
			for ptr, want := range tt.wantValue {
				v, _ := schema.At(out, strings.Split(ptr, "/")).(string)
				if !strings.HasPrefix(v, want) {
					t.Errorf("Fill wrote %q at %s, want %q…", v, ptr, want)
				}
			}
			if tt.kind == schema.Certificate {
				data, _ := schema.At(out, []string{"CertificateData", "NewValue"}).(string)
				if len(data) < 100 {
					t.Errorf("Fill wrote no placeholder certificate: %q", data)
				}
				if pw := schema.At(out, []string{"Password"}); !reflect.DeepEqual(pw, map[string]any{"HasValue": false, "NewValue": nil}) {
					t.Errorf("Fill wrote the certificate's password as %v, want none", pw)
				}
			}
		})
	}
}
