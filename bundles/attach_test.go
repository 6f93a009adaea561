package bundles

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAttachedFiles checks a release bundle's attached files: kept byte
// for byte through both forms, covered by checksums.txt and the digest,
// and refused in a configuration bundle, outside attached/, when altered
// and when not listed.
func TestAttachedFiles(t *testing.T) {
	pkg := []byte("PK\x03\x04\x00\xff binary")
	newRelease := func() *Bundle {
		m := sampleManifest(testTime)
		m.Kind = KindRelease
		b := New(m)
		if err := b.Attach("attached/release.json", []byte("{}\n")); err != nil {
			t.Fatal(err)
		}
		if err := b.Attach("attached/packages/Acme.Web.1.0.0.zip", pkg); err != nil {
			t.Fatal(err)
		}
		return b
	}
	tmp := t.TempDir()
	b := newRelease()
	for _, p := range []string{filepath.Join(tmp, "dir"), filepath.Join(tmp, "r.tar.zst")} {
		if err := b.Write(p); err != nil {
			t.Fatal(err)
		}
		r, err := Read(p, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, ok := r.Attached("attached/packages/Acme.Web.1.0.0.zip")
		if !ok || !bytes.Equal(got, pkg) || r.Digest() != b.Digest() || r.Manifest.Kind != KindRelease {
			t.Errorf("%s: read back %q kind %q digest %s (want %s)", p, got, r.Manifest.Kind, r.Digest(), b.Digest())
		}
		if paths := r.AttachedPaths(); len(paths) != 2 {
			t.Errorf("%s: AttachedPaths %v", p, paths)
		}
	}
	if err := newRelease().Attach("packages/x.zip", pkg); err == nil {
		t.Error("Attach outside attached/: no error")
	}
	for _, tc := range []struct {
		name string
		edit func(dir string)
		want string
	}{
		{"altered", func(dir string) {
			os.WriteFile(filepath.Join(dir, "attached/packages/Acme.Web.1.0.0.zip"), []byte("other"), 0o644)
		}, "checksum mismatch"},
		{"unlisted", func(dir string) {
			os.WriteFile(filepath.Join(dir, "attached/packages/Extra.1.0.0.zip"), []byte("x"), 0o644)
		}, "not listed"},
		{"configuration kind", func(dir string) {
			m, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
			os.WriteFile(filepath.Join(dir, ManifestFile), bytes.Replace(m, []byte("  \"Kind\": \"release\",\n"), nil, 1), 0o644)
		}, "unknown file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "b")
			if err := newRelease().Write(dir); err != nil {
				t.Fatal(err)
			}
			tc.edit(dir)
			_, err := Read(dir, ReadOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Read: %v, want an error containing %q", err, tc.want)
			}
		})
	}
	cfg := New(sampleManifest(testTime))
	if err := cfg.Attach("attached/x", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Seal(); err == nil {
		t.Error("Seal of a configuration bundle with an attached file: no error")
	}
}
