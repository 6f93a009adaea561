package bundles

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/schema"
)

// TestAwkwardNamesRoundTrip: names of files readers skip (Thumbs.db,
// desktop.ini, .DS_Store, .git) and names longer than a file name allows
// round-trip through both bundle forms, as tenants, projects (directories,
// with a runbook below), environments and channels (issue 18: a tenant
// named Thumbs.db made a directory bundle its own verify rejected; a name
// whose escape exceeded 255 bytes aborted the export).
func TestAwkwardNamesRoundTrip(t *testing.T) {
	long := strings.Repeat("Ä long project name ", 15)[:300]
	longPct := strings.Repeat("50%/", 80) // 960 escaped bytes
	longCase := strings.Repeat("x", 290) + "A"
	for _, name := range []string{
		"Thumbs.db", "thumbs.DB", "desktop.ini", "Desktop.INI", ".DS_Store", ".git", ".gitattributes",
		long, longPct, longCase, strings.Repeat("é", 300), strings.Repeat("€", 100) + "\u200b",
	} {
		t.Run(fmt.Sprintf("%.20q", name), func(t *testing.T) {
			b := New(sampleManifest(testTime))
			other := strings.Repeat("x", 290) + "a" // folds to longCase: kept apart by the hash
			put := func(kind string, names []string, doc map[string]any) {
				t.Helper()
				if _, err := b.PutEntity(schema.MustLookup(kind), names, doc); err != nil {
					t.Fatalf("%s %q: %v", kind, names, err)
				}
			}
			put(schema.Environment, []string{name}, map[string]any{"Name": name})
			put(schema.Environment, []string{other}, map[string]any{"Name": other})
			put(schema.Tenant, []string{name}, map[string]any{"Name": name, "TenantTags": []any{}, "ProjectEnvironments": map[string]any{}})
			put(schema.Project, []string{name}, map[string]any{"Name": name})
			put(schema.DeploymentProcess, []string{name}, map[string]any{"Steps": []any{}})
			put(schema.Runbook, []string{name, name}, map[string]any{"Name": name})
			put(schema.RunbookProcess, []string{name, name}, map[string]any{"Steps": []any{}})
			if err := b.Seal(); err != nil {
				t.Fatal(err)
			}
			for _, p := range b.Paths() {
				for _, seg := range strings.Split(p, "/") {
					if len(seg) > MaxSegment {
						t.Errorf("%s: segment of %d bytes", p, len(seg))
					}
				}
				if Ignored(p) {
					t.Errorf("%s: a path readers skip", p)
				}
			}
			tmp := t.TempDir()
			for _, p := range []string{filepath.Join(tmp, "dir"), filepath.Join(tmp, "b.tar.zst")} {
				if err := b.Write(p); err != nil {
					t.Fatal(err)
				}
				if _, err := Verify(p); err != nil {
					t.Fatalf("Verify(%s): %v", p, err)
				}
				r, err := Read(p, ReadOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if r.Digest() != b.Digest() {
					t.Errorf("%s: digest differs", p)
				}
				if !reflect.DeepEqual(r.Entries(), b.Entries()) {
					t.Errorf("%s: entries (names) differ:\n%v\n%v", p, r.Entries(), b.Entries())
				}
				if _, ok := r.Entity(schema.MustLookup(schema.RunbookProcess), name, name); !ok {
					t.Errorf("%s: runbook process of %q not found by name", p, name)
				}
			}
		})
	}
}

func TestShortenedNames(t *testing.T) {
	long := strings.Repeat("a", 256)
	seg := EscapeName(long)
	if !IsShortened(seg) || len(seg) > MaxEscaped || !strings.HasPrefix(seg, strings.Repeat("a", 100)) {
		t.Fatalf("EscapeName(256 × a) = %q", seg)
	}
	if _, err := UnescapeName(seg); err == nil {
		t.Error("UnescapeName of a shortened name: no error")
	}
	if EscapeName(strings.Repeat("a", MaxEscaped)) != strings.Repeat("a", MaxEscaped) {
		t.Error("a name of MaxEscaped bytes is shortened")
	}
	// Every name has one file name: the whole escape of a long name is
	// not accepted beside its shortened one.
	if name, err := UnescapeName(strings.Repeat("a", 230)); err == nil {
		t.Errorf("UnescapeName(230 × a) = %.20q…; want an error (its file name is shortened)", name)
	}
	// An escape is never cut in two.
	pct := EscapeName(strings.Repeat("%", 100))
	if i := strings.Index(pct, ShortenedSuffix); i%3 != 0 {
		t.Errorf("cut inside an escape: %q", pct)
	}
	// A file whose name field does not shorten to its file name is refused.
	b := New(sampleManifest(testTime))
	if _, err := b.PutEntity(schema.MustLookup(schema.Environment), []string{long}, map[string]any{"Name": long}); err != nil {
		t.Fatal(err)
	}
	if err := b.PutFile("environments/"+seg+".json", map[string]any{"Name": long + "b"}); err == nil {
		t.Error("PutFile with another name under a shortened file name: no error")
	}
	if err := b.PutFile("environments/"+seg+".json", map[string]any{"Name": long, "SortOrder": 2}); err != nil {
		t.Errorf("PutFile under a shortened file name: %v", err)
	}
}
