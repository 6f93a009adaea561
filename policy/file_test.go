package policy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/schema"
)

// A file encodes to a valid document and parses back as it was.
func TestFileRoundTrip(t *testing.T) {
	f := &File{
		Kinds:         map[string]schema.Policy{schema.Account: schema.PolicyExist, schema.ActionTemplate: schema.PolicySkip},
		ScopeMismatch: []ScopeRule{{Dimension: "Machine", Mode: ScopePartial, Rule: "prod.yaml:3"}, {Dimension: "Environment", Mode: ScopeIgnoreNew, Select: ValueSelector{Owner: "Octo*"}, Rule: "prod.yaml:9"}},
		Owned:         []ValueSelector{{Kind: schema.ProjectVariables, Owner: "OctoFX", Name: "ConnectionString", Scope: map[string][]string{"Environment": {"Production"}}, Rule: "prod.yaml:14"}},
		Placeholder:   "Replace Me",
		Provided:      map[string][]string{schema.Environment: {"Dev*"}},
		Conflicts:     []ConflictRule{{Kind: "DeploymentProcess", Entity: "OctoFX", Field: "Steps/Deploy*/**", Winner: "destination", Rule: "prod.yaml:20"}},
	}
	doc, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, f) {
		t.Errorf("Parse(Encode(f)) = %+v, want %+v", got, f)
	}
	if f.IsZero() || !(&File{}).IsZero() || !(*File)(nil).IsZero() {
		t.Error("IsZero")
	}
}

// What the file's schema and Parse refuse.
func TestFileInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"bad mode", `{"ScopeMismatch":[{"Dimension":"Machine","Mode":"sometimes"}]}`, "Mode"},
		{"bad dimension", `{"ScopeMismatch":[{"Dimension":"Planet","Mode":"exact"}]}`, "Dimension"},
		{"bad kind policy", `{"Kinds":{"Account":"maybe"}}`, "Kinds"},
		{"bad winner", `{"Conflicts":[{"Kind":"*","Winner":"both"}]}`, "Winner"},
		{"unknown field", `{"Owners":[]}`, "Owners"},
		{"unknown kind", `{"Kinds":{"Planet":"exist"}}`, `unknown kind "Planet"`},
		{"unknown provided kind", `{"Provided":{"Planet":["Mars"]}}`, `unknown kind "Planet"`},
		{"not JSON", `{"Kinds":`, FileName},
	} {
		_, err := Parse([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	if _, err := Encode(&File{ScopeMismatch: []ScopeRule{{Dimension: "Machine", Mode: "sometimes"}}}); err == nil {
		t.Error("Encode accepted a bad mode")
	}
}
