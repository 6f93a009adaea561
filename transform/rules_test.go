package transform

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every rule-file error names the file, the line and the field.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"not YAML", "apiVersion: [", "bad.yaml:1: "},
		{"empty", "", "bad.yaml: empty file"},
		{"wrong version", "apiVersion: octobundle/rules/v0\nrules: []\n", "bad.yaml:1: /apiVersion: "},
		{"missing kind", "apiVersion: octobundle/rules/v1\nrules:\n  - drop: {name: Test}\n", "bad.yaml:3: /rules/0/drop: missing property 'kind'"},
		{"two verbs", "apiVersion: octobundle/rules/v1\nrules:\n  - drop: {kind: Environment}\n    keep: {kind: Environment}\n", "bad.yaml:3: /rules/0: "},
		{"unknown field", "apiVersion: octobundle/rules/v1\nrules:\n  - drop:\n      kind: Environment\n      nmae: Test\n", "bad.yaml:3: /rules/0/drop: additional properties 'nmae' not allowed"},
		{"unknown kind", "apiVersion: octobundle/rules/v1\nrules:\n  - drop: {kind: Enviroment, name: Test}\n", `bad.yaml:3: /rules/0/drop: unknown kind "Enviroment"`},
		{"singleton kind", "apiVersion: octobundle/rules/v1\nrules:\n  - drop: {kind: DeploymentProcess}\n", `bad.yaml:3: /rules/0/drop: kind "DeploymentProcess" has no name of its own`},
		{"rescope without to", "apiVersion: octobundle/rules/v1\nrules:\n  - onLostScope: {do: rescope}\n", "bad.yaml:3: /rules/0/onLostScope: missing property 'to'"},
		{"to without rescope", "apiVersion: octobundle/rules/v1\nrules:\n  - onLostScope: {do: drop, to: {Environment: [Staging]}}\n", "bad.yaml:3: /rules/0/onLostScope: "},
		{"bad mode", "apiVersion: octobundle/rules/v1\nrules:\n  - scopeMismatch: {dimension: Machine, mode: fuzzy}\n", "bad.yaml:3: /rules/0/scopeMismatch/mode: "},
		{"onEmpty on a kind that never empties", "apiVersion: octobundle/rules/v1\nrules:\n  - onEmpty: {kind: Environment, do: drop}\n", `bad.yaml:3: /rules/0/onEmpty: kind "Environment" is never left empty`},
		{"alias", "apiVersion: octobundle/rules/v1\nx: &a {kind: Environment}\nrules:\n  - drop: *a\n", "bad.yaml:4: /rules/0/drop: YAML aliases are not supported"},
		{"duplicate key", "apiVersion: octobundle/rules/v1\nrules: []\nrules: []\n", `bad.yaml:3: /: key "rules" appears twice`},
		{"two documents", "apiVersion: octobundle/rules/v1\nrules: []\n---\nrules: []\n", "bad.yaml:3: more than one YAML document"},
		{"guard alone", "apiVersion: octobundle/rules/v1\nrules:\n  - guard: true\n", "bad.yaml:3: /rules/0: "},
		{"guard with two verbs", "apiVersion: octobundle/rules/v1\nrules:\n  - drop: {kind: Environment}\n    keep: {kind: Environment}\n    guard: true\n", "bad.yaml:3: /rules/0: "},
		{"guard not a boolean", "apiVersion: octobundle/rules/v1\nrules:\n  - drop: {kind: Environment}\n    guard: yes please\n", "/rules/0/guard: "},
		{"JSON too", `{"apiVersion": "octobundle/rules/v1", "rules": [{"drop": {"kind": "Nope"}}]}`, `bad.yaml:1: /rules/0/drop: unknown kind "Nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tt.text))
			if err == nil {
				t.Fatalf("no error; want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

// JSON rule files parse to the same normalised text as YAML ones.
func TestParseJSONAndNormalisedText(t *testing.T) {
	y, err := Parse("a.yaml", []byte("apiVersion: octobundle/rules/v1\nrules:\n  - drop: {kind: Environment, name: Test}\n"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := Parse("a.json", []byte(`{"rules":[{"drop":{"name":"Test","kind":"Environment"}}],"apiVersion":"octobundle/rules/v1"}`))
	if err != nil {
		t.Fatal(err)
	}
	if y.Text != j.Text {
		t.Errorf("normalised texts differ:\n%s\n%s", y.Text, j.Text)
	}
	if y.Digest == j.Digest {
		t.Error("digests are of the file bytes and must differ")
	}
	if y.Rules[0].Pos != "a.yaml:3" || y.Rules[0].Verb != "drop" {
		t.Errorf("pos %q verb %q", y.Rules[0].Pos, y.Rules[0].Verb)
	}
}

// FuzzParse checks the parser never panics and that whatever it accepts
// has a position on every rule and normalises stably. Seeded from
// testdata/rules; `make test` runs the seeds (and a short fuzz run).
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "rules", "*.yaml"))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("apiVersion: octobundle/rules/v1\nrules:\n  - drop: {kind: Environment, name: [\"*\"]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rf, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, r := range rf.Rules {
			if !strings.HasPrefix(r.Pos, "fuzz.yaml:") || r.Verb == "" {
				t.Fatalf("rule without position or verb: %+v", r)
			}
		}
		again, err := Parse("fuzz.yaml", []byte(rf.Text))
		if err != nil {
			t.Fatalf("normalised text does not parse: %v\n%s", err, rf.Text)
		}
		if again.Text != rf.Text {
			t.Fatalf("normalising twice differs:\n%s\n%s", rf.Text, again.Text)
		}
	})
}
