package bundles

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/schema"
)

// fuzzLimits keep fuzzing fast: a bomb is caught at these sizes.
var fuzzLimits = ReadOptions{MaxFiles: 50, MaxFileSize: 256 << 10, MaxTotalSize: 512 << 10, MaxRatio: 50}

func FuzzRead(f *testing.F) {
	for _, name := range []string{"good_archive.tar.zst", "fail_truncated.tar.zst", "fail_dotdot.tar.zst", "fail_symlink.tar.zst", "fail_duplicate.tar.zst", "fail_checksum_mismatch.tar.zst", "fail_not_zstd.tar.zst"} {
		data, err := os.ReadFile(filepath.Join(corpusDir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	var buf bytes.Buffer
	if err := sampleBundle(f, testTime).WriteArchive(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ReadArchive(data, fuzzLimits)
		if err != nil {
			return
		}
		checkRepack(t, b)
	})
}

// checkRepack checks that an accepted bundle re-packs to an archive that
// reads back with the same digest and files.
func checkRepack(t *testing.T, b *Bundle) {
	t.Helper()
	var out bytes.Buffer
	if err := b.WriteArchive(&out); err != nil {
		t.Fatalf("re-pack of an accepted bundle: %v", err)
	}
	r, err := ReadArchive(out.Bytes(), fuzzLimits)
	if err != nil {
		t.Fatalf("re-read of a re-packed bundle: %v", err)
	}
	if r.Digest() != b.Digest() || !slices.Equal(r.Paths(), b.Paths()) {
		t.Fatalf("re-packed bundle differs: %s %s", r.Digest(), b.Digest())
	}
}

func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[1.0,"<&>"]}`, `[]`, `"\u2028"`, `{"a":{"b":{"c":null}}}`, `1e400`, `-0.0`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data)
		if err != nil {
			return
		}
		c, err := Canonical(v)
		if err != nil {
			t.Fatalf("Canonical of a decoded value: %v", err)
		}
		v2, err := Decode(c)
		if err != nil {
			t.Fatalf("Decode of canonical output: %v\n%s", err, c)
		}
		c2, err := Canonical(v2)
		if err != nil || !bytes.Equal(c, c2) {
			t.Fatalf("Canonical is not a fixed point:\n%s\n%s", c, c2)
		}
	})
}

// FuzzBundleFiles fuzzes the bundle reader behind both forms (manifest,
// checksums, canonical JSON, schemas, ID-freeness, names): one file of the
// small good bundle is replaced or added, checksums.txt and the manifest's
// digest and counts are recomputed so the input gets past them, and the
// result is read. Anything accepted must re-pack to the same digest. Seeded
// with every file of testdata/bundles/good_dir and testdata/golden/source.
func FuzzBundleFiles(f *testing.F) {
	base := loadFiles(f, filepath.Join(corpusDir, "good_dir"))
	for _, dir := range []string{filepath.Join(corpusDir, "good_dir"), filepath.Join("..", "testdata", "golden", "source")} {
		files := loadFiles(f, dir)
		for _, p := range slices.Sorted(maps.Keys(files)) {
			f.Add(p, files[p])
		}
	}
	f.Fuzz(func(t *testing.T, path string, data []byte) {
		files := maps.Clone(base)
		files[path] = data
		fuzzReseal(files)
		b, err := parse(files)
		if err != nil {
			return
		}
		checkRepack(t, b)
	})
}

// loadFiles reads every file below dir, keyed by slash path.
func loadFiles(f *testing.F, dir string) map[string][]byte {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil || len(files) == 0 {
		f.Fatalf("loading %s: %v", dir, err)
	}
	return files
}

// fuzzReseal recomputes checksums.txt and, when the manifest is a JSON
// object, its Digest and Counts: the fuzzed file is then judged on its
// content, not rejected for its checksum.
func fuzzReseal(files map[string][]byte) {
	var sums strings.Builder
	counts := map[string]any{}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if p == ManifestFile || p == ChecksumsFile || p == SignatureFile {
			continue
		}
		h := sha256.Sum256(files[p])
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(h[:]), p)
		if k, _ := schema.KindForPath(p); k != nil {
			n, _ := counts[k.Name].(int)
			counts[k.Name] = n + 1
		}
	}
	files[ChecksumsFile] = []byte(sums.String())
	m, err := Decode(files[ManifestFile])
	obj, ok := m.(map[string]any)
	if err != nil || !ok {
		return
	}
	d := sha256.Sum256(files[ChecksumsFile])
	obj["Digest"] = "sha256:" + hex.EncodeToString(d[:])
	obj["Counts"] = counts
	if c, err := Canonical(obj); err == nil {
		files[ManifestFile] = c
	}
}
