package translate_test

import (
	"reflect"
	"testing"

	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/translate"
)

// TestToBundleGivenDoc: translating with the document given (Options.Doc,
// as apply passes the server's answer) gives what decoding it gives, for
// every entity of the sample instances; the document given is the one
// translated (a different one gives a different form).
func TestToBundleGivenDoc(t *testing.T) {
	snaps, err := snapshots()
	if err != nil {
		t.Fatal(err)
	}
	for si, s := range snaps {
		for _, k := range schema.Kinds() {
			if k.Shape == schema.ShapeBinary {
				continue
			}
			for _, e := range s.Entities(k.Name) {
				label := seeds[si] + ": " + e.Label()
				want, err := translate.ToBundle(s, e)
				if err != nil {
					t.Fatalf("%s: %v", label, err)
				}
				for _, tc := range []struct {
					name string
					doc  func() any
					same bool
				}{
					{"its own document", e.Doc, true},
					{"another document", func() any { return map[string]any{"Name": "other"} }, false},
				} {
					if tc.name == "another document" && k.Shape == schema.ShapeItems {
						continue
					}
					r, err := translate.ToBundleWith(s, e, translate.Options{Doc: tc.doc()})
					if err != nil {
						t.Fatalf("%s: %s: %v", label, tc.name, err)
					}
					if got := reflect.DeepEqual(r.Doc, want); got != tc.same {
						t.Errorf("%s: %s: same form %v, want %v", label, tc.name, got, tc.same)
					}
				}
			}
		}
	}
}
