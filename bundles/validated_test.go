package bundles

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/schema"
)

// TestValidatedContents checks the content cache of checkEntity: a valid
// document is remembered under its schema, kind and bytes only, and an
// invalid one fails every time it is put.
func TestValidatedContents(t *testing.T) {
	env := schema.MustLookup(schema.Environment)
	lc := schema.MustLookup(schema.Lifecycle)
	a := contentKey("environment.schema.json", env, []byte(`{"Name":"Test"}`))
	for _, tc := range []struct {
		name string
		key  [32]byte
		same bool
	}{
		{"same content", contentKey("environment.schema.json", env, []byte(`{"Name":"Test"}`)), true},
		{"other bytes", contentKey("environment.schema.json", env, []byte(`{"Name":"Prod"}`)), false},
		{"other kind", contentKey("environment.schema.json", lc, []byte(`{"Name":"Test"}`)), false},
		{"other schema", contentKey("lifecycle.schema.json", env, []byte(`{"Name":"Test"}`)), false},
	} {
		if got := tc.key == a; got != tc.same {
			t.Errorf("%s: same key = %v, want %v", tc.name, got, tc.same)
		}
	}

	b := New(Manifest{})
	bad := map[string]any{"Name": "Bad", "Id": "Environments-1"}
	for i := 0; i < 2; i++ {
		if _, err := b.PutEntity(env, []string{"Bad"}, bad); err == nil || !strings.Contains(err.Error(), "environments/Bad.json") {
			t.Fatalf("put %d of an invalid document: %v, want an error naming the file", i+1, err)
		}
	}
	good := map[string]any{"Name": "Good", "SortOrder": 1}
	for i := 0; i < 2; i++ {
		if _, err := b.PutEntity(env, []string{"Good"}, good); err != nil {
			t.Fatalf("put %d of a valid document: %v", i+1, err)
		}
	}
	data, err := compactJSON(good)
	if err != nil {
		t.Fatal(err)
	}
	sch, _ := schema.SchemaFor("environments/Good.json")
	if !validated.has(contentKey(sch, env, data)) {
		t.Error("a valid document is not remembered")
	}
	// The name check is not content: the same document under another
	// file name fails.
	if _, err := b.PutEntity(env, []string{"Other"}, good); err == nil || !strings.Contains(err.Error(), "file name says") {
		t.Errorf("a remembered document under another name: %v, want the name check", err)
	}
}

func TestPlainJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want bool
	}{
		{"decoded document", map[string]any{"a": []any{"x", json.Number("1"), true, nil, map[string]any{}}}, true},
		{"a Go number", map[string]any{"n": 1}, false},
		{"a float deep inside", []any{map[string]any{"f": 1.5}}, false},
		{"a struct", struct{ A string }{"x"}, false},
		{"a typed map", map[string]string{"a": "b"}, false},
	} {
		if got := plainJSON(tc.v, 0); got != tc.want {
			t.Errorf("%s: plainJSON = %v, want %v", tc.name, got, tc.want)
		}
	}
}
