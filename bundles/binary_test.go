package bundles

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/schema"
)

// TestBinaryFiles checks the files of ShapeBinary kinds (a project logo): kept
// byte for byte through both forms, listed in checksums.txt and counted,
// and refused when empty, too large or not bytes.
func TestBinaryFiles(t *testing.T) {
	logoKind := schema.MustLookup(schema.ProjectLogo)
	// Not UTF-8, not JSON, no trailing newline: kept as they are.
	logo := []byte("\x89PNG\r\n\x1a\n\x00\xff\xfe binary {\"not\": json}")
	b := New(sampleManifest(testTime))
	for _, e := range sampleEntities {
		doc, err := Decode([]byte(e.doc))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.PutEntity(schema.MustLookup(e.kind), e.names, doc); err != nil {
			t.Fatal(err)
		}
	}
	p, err := b.PutEntity(logoKind, []string{"OctoFX"}, logo)
	if err != nil || p != "projects/OctoFX/logo" {
		t.Fatalf("PutEntity: %q %v", p, err)
	}
	logo[0] = 'X' // the bundle holds its own copy
	if err := b.Seal(); err != nil {
		t.Fatal(err)
	}
	want := []byte("\x89PNG\r\n\x1a\n\x00\xff\xfe binary {\"not\": json}")
	sum := sha256.Sum256(want)
	sums, _ := b.Raw(ChecksumsFile)
	if !bytes.Contains(sums, []byte(hex.EncodeToString(sum[:])+"  projects/OctoFX/logo\n")) {
		t.Errorf("checksums.txt lacks the logo:\n%s", sums)
	}
	if b.Manifest.Counts[schema.ProjectLogo] != 1 {
		t.Errorf("Counts: %v", b.Manifest.Counts)
	}
	tmp := t.TempDir()
	for _, path := range []string{filepath.Join(tmp, "dir"), filepath.Join(tmp, "b.tar.zst")} {
		if err := b.Write(path); err != nil {
			t.Fatal(err)
		}
		r, err := Read(path, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, ok := r.Entity(logoKind, "OctoFX")
		if !ok || !bytes.Equal(got.([]byte), want) || r.Digest() != b.Digest() {
			t.Errorf("%s: logo read back as %q (digest %s, want %s)", path, got, r.Digest(), b.Digest())
		}
		if len(Compare(b, r)) != 0 {
			t.Errorf("%s: Compare finds differences: %+v", path, Compare(b, r))
		}
	}
	if data, err := os.ReadFile(filepath.Join(tmp, "dir", "projects", "OctoFX", "logo")); err != nil || !bytes.Equal(data, want) {
		t.Errorf("the directory holds %q, %v", data, err)
	}
	// A changed logo is a difference between two bundles.
	c := b.Clone()
	if _, err := c.PutEntity(logoKind, []string{"OctoFX"}, []byte("other")); err != nil {
		t.Fatal(err)
	}
	if d := Compare(b, c); len(d) != 1 || d[0].Path != "projects/OctoFX/logo" || d[0].Op != '~' {
		t.Errorf("Compare after a change: %+v", d)
	}

	for _, tc := range []struct {
		name string
		doc  any
		want string
	}{
		{"empty", []byte{}, "empty file"},
		{"too large", make([]byte, MaxBinarySize+1), "more than"},
		{"a JSON document", map[string]any{"a": 1}, "holds bytes, not map[string]interface {}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(sampleManifest(testTime)).PutEntity(logoKind, []string{"OctoFX"}, tc.doc)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "projects/OctoFX/logo") {
				t.Errorf("got %v, want an error naming the file and saying %q", err, tc.want)
			}
		})
	}

	// A bundle whose logo was emptied on disk is refused, naming the file.
	dir := filepath.Join(tmp, "dir")
	if err := os.WriteFile(filepath.Join(dir, "projects", "OctoFX", "logo"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir, ReadOptions{}); err == nil || !strings.Contains(err.Error(), "projects/OctoFX/logo") {
		t.Errorf("reading a bundle with an emptied logo: %v", err)
	}
}
