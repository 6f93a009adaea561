package bundles

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// fuzzLimits keep fuzzing fast: a bomb is caught at these sizes.
var fuzzLimits = ReadOptions{MaxFiles: 200, MaxFileSize: 1 << 20, MaxTotalSize: 4 << 20, MaxRatio: 50}

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
		// Anything accepted re-packs to a bundle with the same digest and files.
		var out bytes.Buffer
		if err := b.WriteArchive(&out); err != nil {
			t.Fatalf("re-pack of an accepted bundle: %v", err)
		}
		r, err := ReadArchive(out.Bytes(), fuzzLimits)
		if err != nil {
			t.Fatalf("re-read of a re-packed bundle: %v", err)
		}
		if r.Digest() != b.Digest() || len(r.Paths()) != len(b.Paths()) {
			t.Fatalf("re-packed bundle differs")
		}
	})
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
