package bundles

import (
	"encoding/json"
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
