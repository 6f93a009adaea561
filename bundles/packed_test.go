package bundles

import (
	"bytes"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/schema"
)

// goldenDir is the golden export bundle (FormatV2, with sidecar files).
var goldenDir = filepath.Join("..", "testdata", "golden", "source")

// TestPackedDocuments checks what a bundle makes on demand from its packed
// documents, for a bundle built in memory and for the golden bundle read
// from disk: Raw is the Canonical form of the entity's document, sidecar
// files come back byte for byte, Entity and Entries give the caller its own
// copy, All yields what Entries returns, and writing gives back the very
// files read.
func TestPackedDocuments(t *testing.T) {
	golden, err := Read(goldenDir, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		b    *Bundle
		disk map[string][]byte // the files as written, when read from disk
	}{
		{"built in memory", sampleBundle(t, testTime), nil},
		{"golden bundle read from disk", golden, files(t, goldenDir)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.b
			entries := b.Entries()
			var all []Entry
			for e := range b.All() {
				all = append(all, e)
			}
			if !reflect.DeepEqual(all, entries) {
				t.Fatal("All and Entries differ")
			}
			catalog := b.Catalog()
			if len(catalog) != len(entries) {
				t.Fatalf("Catalog has %d entries, Entries %d", len(catalog), len(entries))
			}
			for i, c := range catalog {
				if c.Doc != nil || c.Path != entries[i].Path || c.Kind != entries[i].Kind || !reflect.DeepEqual(c.Names, entries[i].Names) {
					t.Fatalf("Catalog[%d] = %s %v (doc %v), Entries[%d] = %s", i, c.Path, c.Names, c.Doc != nil, i, entries[i].Path)
				}
			}
			for _, e := range entries {
				raw, ok := b.Raw(e.Path)
				if !ok {
					t.Fatalf("%s: no Raw", e.Path)
				}
				want, err := Canonical(e.Doc)
				if e.Kind.Shape == schema.ShapeBinary {
					want, err = e.Doc.([]byte), nil
				}
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(raw, want) {
					t.Errorf("%s: Raw is not the Canonical form of the document:\n%s\nwant:\n%s", e.Path, raw, want)
				}
				if e.Kind.Shape == schema.ShapeBinary {
					continue
				}
				// The caller's own copy: changing it changes nothing.
				if m, ok := e.Doc.(map[string]any); ok {
					m["Changed"] = true
				} else {
					e.Doc.([]any)[0] = "changed"
				}
				again, _ := b.Entity(e.Kind, e.Names...)
				if again, _ := Canonical(again); !bytes.Equal(again, raw) {
					t.Errorf("%s: changing a returned document changed the bundle", e.Path)
				}
				if !b.Has(e.Kind, e.Names...) {
					t.Errorf("%s: Has is false", e.Path)
				}
				p, ok := b.Packed(e.Path)
				if !ok || p.IsZero() {
					t.Errorf("%s: no packed document", e.Path)
				}
			}
			if b.Has(schema.MustLookup(schema.Environment), "No such environment") {
				t.Error("Has is true for an entity the bundle lacks")
			}
			if tt.disk == nil {
				return
			}
			sidecars := 0
			for _, p := range b.Paths() {
				if k, _ := schema.KindForPath(p); k != nil {
					continue
				}
				raw, ok := b.Raw(p)
				if !ok || !bytes.Equal(raw, tt.disk[p]) {
					t.Errorf("%s: Raw differs from the file read", p)
				}
				if isSidecarPath(p) {
					sidecars++
				}
			}
			if sidecars == 0 {
				t.Error("the golden bundle has no sidecar files: the test checks nothing of them")
			}
			out := filepath.Join(t.TempDir(), "b")
			if err := b.Write(out); err != nil {
				t.Fatal(err)
			}
			got := files(t, out)
			// .gitattributes is written with a new directory, not part of
			// the bundle.
			delete(got, GitAttributesFile)
			delete(tt.disk, GitAttributesFile)
			for _, p := range slices.Sorted(maps.Keys(tt.disk)) {
				if !bytes.Equal(got[p], tt.disk[p]) {
					t.Errorf("%s: written differently from the file read", p)
				}
			}
			if len(got) != len(tt.disk) {
				t.Errorf("wrote %d files, read %d", len(got), len(tt.disk))
			}
		})
	}
}

// TestPackedEqual checks that documents with the same value pack to equal
// Docs however they were given (key order, spacing, Go types), and that
// Clone shares them.
func TestPackedEqual(t *testing.T) {
	k := schema.MustLookup(schema.Environment)
	tests := []struct {
		name  string
		a, b  string
		equal bool
	}{
		{"spacing and key order", `{"Name":"Dev","SortOrder":1}`, "{ \"SortOrder\": 1,\n \"Name\": \"Dev\" }", true},
		{"escapes", `{"Name":"Dev","Description":"\u003c\u00e9"}`, `{"Name":"Dev","Description":"<é"}`, true},
		{"number text", `{"Name":"Dev","SortOrder":1}`, `{"Name":"Dev","SortOrder":1.0}`, false},
		{"value", `{"Name":"Dev","SortOrder":1}`, `{"Name":"Dev","SortOrder":2}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var docs [2]any
			for i, s := range []string{tt.a, tt.b} {
				d, err := Decode([]byte(s))
				if err != nil {
					t.Fatal(err)
				}
				docs[i] = d
			}
			x, y := New(sampleManifest(testTime)), New(sampleManifest(testTime))
			px, err := x.PutEntity(k, []string{"Dev"}, docs[0])
			if err != nil {
				t.Fatal(err)
			}
			if _, err := y.PutEntity(k, []string{"Dev"}, docs[1]); err != nil {
				t.Fatal(err)
			}
			dx, _ := x.Packed(px)
			dy, _ := y.Packed(px)
			if got := dx.Equal(dy); got != tt.equal {
				t.Errorf("Equal = %v, want %v (%s vs %s)", got, tt.equal, dx.JSON(), dy.JSON())
			}
			if got := len(Compare(x, y)) == 0; got != tt.equal {
				t.Errorf("Compare finds no difference = %v, want %v", got, tt.equal)
			}
			dc, _ := x.Clone().Packed(px)
			if !dc.Equal(dx) {
				t.Error("a clone's document differs")
			}
		})
	}
}

// TestPackMatchesBundle checks that jsonv.Pack of a decoded document packs
// it to the very bytes a bundle holds it as, so packed documents from the
// planner and from a bundle (the state's base) compare with Doc.Equal.
func TestPackMatchesBundle(t *testing.T) {
	b, err := Read("../testdata/golden/source", ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for e := range b.All() {
		if e.Kind.Shape == schema.ShapeBinary {
			continue
		}
		held, _ := b.Packed(e.Path)
		if got := jsonv.MustPack(e.Doc); !got.Equal(held) {
			t.Errorf("%s: Pack gives %s, the bundle holds %s", e.Path, got.JSON(), held.JSON())
		}
		n++
	}
	if n == 0 {
		t.Fatal("no documents compared")
	}
}
