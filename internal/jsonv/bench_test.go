package jsonv

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goldenJSON returns the JSON files of the golden export bundle
// (testdata/golden/source): real entity documents of every kind.
func goldenJSON(tb testing.TB) [][]byte {
	tb.Helper()
	root := filepath.Join("..", "..", "testdata", "golden", "source")
	var out [][]byte
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		data, err := os.ReadFile(p)
		out = append(out, data)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(out) < 50 {
		tb.Fatalf("found %d JSON files in %s, expected the golden bundle", len(out), root)
	}
	return out
}

// BenchmarkDecode decodes every JSON file of the golden bundle once per
// iteration (bytes/op is their total size):
//
//	go test -run '^$' -bench Decode -benchmem ./internal/jsonv
func BenchmarkDecode(b *testing.B) {
	files := goldenJSON(b)
	total := 0
	for _, f := range files {
		total += len(f)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for _, f := range files {
			if _, err := Decode(f); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkEncode encodes the decoded JSON files of the golden bundle once
// per iteration, as Pack does (bytes/op is their total size):
//
//	go test -run '^$' -bench Encode -benchmem ./internal/jsonv
func BenchmarkEncode(b *testing.B) {
	files := goldenJSON(b)
	values := make([]any, len(files))
	total := 0
	for i, f := range files {
		v, err := Decode(f)
		if err != nil {
			b.Fatal(err)
		}
		values[i] = v
		total += len(f)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		for _, v := range values {
			var err error
			if buf, err = appendCompact(buf[:0], v, 0); err != nil {
				b.Fatal(err)
			}
		}
	}
}
