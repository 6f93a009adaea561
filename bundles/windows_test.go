package bundles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/schema"
)

// TestWindowsPathCases runs the writer and the reader through the names
// that break on Windows: separators, reserved device names, characters
// Windows forbids, trailing dots and spaces, names that differ only in
// case (one file on NTFS) and CRLF line endings (git's autocrlf). It runs
// on every OS; on Windows (make test-windows builds it for windows/amd64)
// it runs against the real file system. Each entity is written to a
// directory and an archive and read back by name.
func TestWindowsPathCases(t *testing.T) {
	names := []string{
		`a\b`, "a/b", "C:drive", "CON", "con", "aux.txt", "NUL.json", "COM1", "LPT9.log",
		"trailing.", "trailing ", `<>:"|?*`, "Prod", "ümlaut",
	}
	b := New(sampleManifest(testTime))
	for _, n := range names {
		doc, err := Decode([]byte(`{"Name":` + jsonString(n) + `,"SortOrder":1}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.PutEntity(schema.MustLookup(schema.Environment), []string{n}, doc); err != nil {
			t.Fatalf("%q: %v", n, err)
		}
	}
	// Names that differ only in case are one file on Windows and macOS:
	// refused when put, naming both.
	doc, _ := Decode([]byte(`{"Name":"PROD","SortOrder":1}`))
	if _, err := b.PutEntity(schema.MustLookup(schema.Environment), []string{"PROD"}, doc); err == nil || !strings.Contains(err.Error(), "Prod") {
		t.Errorf("PROD beside Prod: %v, want a case-insensitive collision naming Prod", err)
	}
	if err := b.Seal(); err != nil {
		t.Fatal(err)
	}
	for _, p := range b.Paths() {
		seg := filepath.Base(p)
		stem := strings.TrimSuffix(seg, ".json")
		if strings.ContainsAny(stem, `\/:<>"|?*`) || strings.HasSuffix(stem, ".") || strings.HasSuffix(stem, " ") || isDeviceName(stem) {
			t.Errorf("path %q is not safe on Windows", p)
		}
	}
	tmp := t.TempDir()
	for _, out := range []string{filepath.Join(tmp, "dir"), filepath.Join(tmp, "b.tar.zst")} {
		if err := b.Write(out); err != nil {
			t.Fatalf("write %s: %v", out, err)
		}
		r, err := Read(out, ReadOptions{})
		if err != nil {
			t.Fatalf("read %s: %v", out, err)
		}
		if r.Digest() != b.Digest() {
			t.Errorf("%s: digest %s, want %s", out, r.Digest(), b.Digest())
		}
		got := map[string]bool{}
		for _, e := range r.Entries() {
			if e.Kind.Name == schema.Environment {
				got[e.Names[0]] = true
			}
		}
		for _, n := range names {
			if !got[n] {
				t.Errorf("%s: environment %q not read back (got %v)", out, n, got)
			}
		}
	}
	// A checkout converted to CRLF is refused with the fix named.
	dir := filepath.Join(tmp, "dir")
	for _, p := range b.Paths()[:2] {
		full := filepath.Join(dir, filepath.FromSlash(p))
		data, err := os.ReadFile(full)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(strings.ReplaceAll(string(data), "\n", "\r\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Read(dir, ReadOptions{}); err == nil || !strings.Contains(err.Error(), "CRLF") {
		t.Errorf("a CRLF checkout: %v, want the CRLF error", err)
	}
}
