package bundles

import (
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

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

func TestDiff(t *testing.T) {
	for _, tc := range []struct {
		name, before, after string
		want                []string // "path before after"
	}{
		{"equal", `{"a":1,"b":[1,2]}`, `{"b":[1,2],"a":1}`, nil},
		{"scalar", `{"a":"x"}`, `{"a":"y"}`, []string{`/a "x" "y"`}},
		{"added key", `{}`, `{"a":1}`, []string{`/a null 1`}},
		{"removed key", `{"a":1}`, `{}`, []string{`/a 1 null`}},
		{"nested", `{"p":{"q":1,"r":2}}`, `{"p":{"q":1,"r":3}}`, []string{`/p/r 2 3`}},
		{"scalar array whole", `{"e":["A","B"]}`, `{"e":["A"]}`, []string{`/e ["A","B"] ["A"]`}},
		{"named element added", `{"Steps":[{"Name":"a"},{"Name":"c"}]}`, `{"Steps":[{"Name":"a"},{"Name":"b"},{"Name":"c"}]}`,
			[]string{`/Steps/1 null {"Name":"b"}`}},
		{"named element changed", `{"Steps":[{"Name":"a","X":1}]}`, `{"Steps":[{"Name":"a","X":2}]}`, []string{`/Steps/0/X 1 2`}},
		{"variable by name and scope", `{"Variables":[{"Name":"v","Scope":{"Environment":["P"]},"Value":"1"},{"Name":"v","Scope":{},"Value":"2"}]}`,
			`{"Variables":[{"Name":"v","Scope":{},"Value":"2"},{"Name":"v","Scope":{"Environment":["P"]},"Value":"3"}]}`,
			[]string{`/Variables/1/Value "1" "3"`}},
		{"secrets compared whole", `{"P":{"HasValue":false}}`, `{"P":{"HasValue":true}}`, []string{`/P {"HasValue":false} {"HasValue":true}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, d := range Diff(js(t, tc.before), js(t, tc.after)) {
				b, _ := json.Marshal(d.Before)
				a, _ := json.Marshal(d.After)
				got = append(got, d.Path+" "+string(b)+" "+string(a))
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	put := func(b *Bundle, kind string, doc string, names ...string) {
		t.Helper()
		if _, err := b.PutEntity(schema.MustLookup(kind), names, js(t, doc)); err != nil {
			t.Fatal(err)
		}
	}
	a, b := New(Manifest{Format: FormatV1}), New(Manifest{Format: FormatV1})
	put(a, schema.Environment, `{"Name":"Test","SortOrder":1}`, "Test")
	put(b, schema.Environment, `{"Name":"Test","SortOrder":1}`, "Test")
	put(a, schema.Environment, `{"Name":"Old"}`, "Old")
	put(b, schema.Environment, `{"Name":"New"}`, "New")
	put(a, schema.Tenant, `{"Name":"Acme","ProjectEnvironments":{"OctoFX":["Test"]}}`, "Acme")
	put(b, schema.Tenant, `{"Name":"Acme","ProjectEnvironments":{"OctoFX":["Prod","Test"]}}`, "Acme")

	var got []string
	for _, d := range Compare(a, b) {
		line := string(d.Op) + " " + d.Path
		for _, f := range d.Fields {
			line += " " + f.Label
		}
		got = append(got, line)
	}
	want := []string{
		"+ environments/New.json",
		"- environments/Old.json",
		// Map keys the registry says are names are labelled as names.
		`~ tenants/Acme/tenant.json ProjectEnvironments["OctoFX"]`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestEqual: Equal answers exactly what comparing the canonical bytes
// answers, whether the values are the same in place or only in form.
func TestEqual(t *testing.T) {
	nested := func(depth int) any {
		var v any = "leaf"
		for range depth {
			v = []any{v}
		}
		return v
	}
	doc := func() map[string]any {
		return map[string]any{
			"Name":  "Deploy",
			"Steps": []any{map[string]any{"Name": "A", "Properties": map[string]any{"X": "1"}}, json.Number("2")},
			"On":    true,
			"None":  nil,
			"Score": 1.5,
		}
	}
	changed := doc()
	changed["Steps"].([]any)[0].(map[string]any)["Properties"].(map[string]any)["X"] = "2"
	tests := []struct {
		name string
		a, b any
		want bool
	}{
		{"same document", doc(), doc(), true},
		{"a nested field differs", doc(), changed, false},
		{"a key missing", map[string]any{"A": "1", "B": "2"}, map[string]any{"A": "1", "C": "2"}, false},
		{"a key more", map[string]any{"A": "1"}, map[string]any{"A": "1", "B": nil}, false},
		{"arrays of other lengths", []any{"a"}, []any{"a", "a"}, false},
		{"array order matters", []any{"a", "b"}, []any{"b", "a"}, false},
		{"number literal and float, one form", json.Number("1"), 1.0, true},
		{"int and float, one form", 1, 1.0, true},
		{"number literals that differ in form", json.Number("1.0"), json.Number("1"), false},
		{"minus zero is not zero", math.Copysign(0, -1), 0.0, false},
		{"nil and a nil object", nil, map[string]any(nil), true},
		{"nil and a nil array", []any(nil), nil, true},
		{"an empty object is not null", map[string]any{}, nil, false},
		{"an empty array is not null", []any{}, nil, false},
		{"string and number", "1", json.Number("1"), false},
		{"invalid values compare as their error text", math.NaN(), math.NaN(), true},
		{"past the depth limit compare as their error text", nested(maxDepth + 5), nested(maxDepth + 5), true},
		{"typed values by their JSON", []string{"a"}, []any{"a"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			byBytes := bytes.Equal(canonicalBytes(tt.a), canonicalBytes(tt.b))
			if byBytes != tt.want {
				t.Fatalf("canonical bytes equal = %v, the test expects %v", byBytes, tt.want)
			}
			if got := Equal(tt.a, tt.b); got != tt.want {
				t.Errorf("Equal = %v, want %v", got, tt.want)
			}
			if got := Equal(tt.b, tt.a); got != tt.want {
				t.Errorf("Equal (swapped) = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestEqualGoldenBundle: every pair of JSON documents of the golden export
// of the sample source instance, and each document against a decoded copy
// of itself, compares as its canonical bytes do.
func TestEqualGoldenBundle(t *testing.T) {
	b, err := Read(filepath.Join("..", "testdata", "golden", "source"), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []any
	for e := range b.All() {
		if e.Kind.Shape != schema.ShapeBinary {
			docs = append(docs, e.Doc)
		}
	}
	if len(docs) < 10 {
		t.Fatalf("only %d documents", len(docs))
	}
	for i, a := range docs {
		cp, err := Decode(canonicalBytes(a))
		if err != nil {
			t.Fatal(err)
		}
		if !sameValue(a, cp, 0) || !Equal(a, cp) {
			t.Errorf("document %d: not the same as its decoded copy", i)
		}
		for j, c := range docs[:i] {
			if want := bytes.Equal(canonicalBytes(a), canonicalBytes(c)); Equal(a, c) != want {
				t.Errorf("documents %d and %d: Equal = %v, canonical bytes equal = %v", i, j, !want, want)
			}
		}
	}
}

// BenchmarkEqual compares each JSON document of the golden export with a
// decoded copy of itself (the common case of a plan against an up-to-date
// destination): in place, no encoding.
func BenchmarkEqual(b *testing.B) {
	bun, err := Read(filepath.Join("..", "testdata", "golden", "source"), ReadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var docs, copies []any
	for e := range bun.All() {
		if e.Kind.Shape == schema.ShapeBinary {
			continue
		}
		cp, err := Decode(canonicalBytes(e.Doc))
		if err != nil {
			b.Fatal(err)
		}
		docs, copies = append(docs, e.Doc), append(copies, cp)
	}
	b.ReportAllocs()
	for b.Loop() {
		for i := range docs {
			if !Equal(docs[i], copies[i]) {
				b.Fatal("not equal")
			}
		}
	}
}
