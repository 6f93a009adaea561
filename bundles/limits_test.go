package bundles

import (
	"archive/tar"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/internal/limits"
)

// TestReadLimits checks every limit on bundle input, in both forms where the
// form allows it: each fails with a *limits.Error naming the limit and the
// file, entry or archive.
func TestReadLimits(t *testing.T) {
	good := goodFiles(t)
	deep := func() map[string][]byte {
		f := clone(good)
		f["environments/Dev.json"] = []byte(strings.Repeat("[", 600) + strings.Repeat("]", 600) + "\n")
		return reseal(t, f, true)
	}
	longName := "environments/" + strings.Repeat("n", 300) + ".json"
	tests := []struct {
		name      string
		archive   bool
		files     map[string][]byte // written as a directory or a plain archive
		raw       []byte            // or these archive bytes
		opts      ReadOptions
		wantLimit string
		wantIn    []string
	}{
		{name: "file count, directory", files: good, opts: ReadOptions{MaxFiles: 5},
			wantLimit: "file count", wantIn: []string{"exceeds the file count limit of 5 files"}},
		{name: "entry count, archive", archive: true, files: good, opts: ReadOptions{MaxFiles: 5},
			wantLimit: "archive entry count", wantIn: []string{"entry \"", "archive entry count limit of 5 entries"}},
		{name: "file size, directory", files: good, opts: ReadOptions{MaxFileSize: 200},
			wantLimit: "file size", wantIn: []string{": exceeds the file size limit of 200 bytes"}},
		{name: "file size, archive", archive: true, files: good, opts: ReadOptions{MaxFileSize: 200},
			wantLimit: "file size", wantIn: []string{`entry "`, "bytes): exceeds the file size limit of 200 bytes"}},
		{name: "total size, directory", files: good, opts: ReadOptions{MaxTotalSize: 1000},
			wantLimit: "total bundle size", wantIn: []string{"exceeds the total bundle size limit of 1000 bytes"}},
		{name: "total size, archive", archive: true, files: good, opts: ReadOptions{MaxTotalSize: 1000},
			wantLimit: "total decompressed size", wantIn: []string{`entry "`, "total decompressed size limit of 1000 bytes"}},
		{name: "decompressed stream (padding after the tar)", archive: true,
			raw:       zst(t, append(tarBytes(t, regular(good)), make([]byte, 11<<20)...)),
			opts:      ReadOptions{MaxFiles: 10, MaxTotalSize: 9 << 20, MaxRatio: 1e9},
			wantLimit: "total decompressed size", wantIn: []string{"the archive's decompressed stream: exceeds the total decompressed size limit of 10270 KiB (10516480 bytes)"}},
		{name: "zstd window larger than the total size allows", archive: true,
			raw:       zst(t, append(tarBytes(t, regular(good)), make([]byte, 3<<20)...)),
			opts:      ReadOptions{MaxFiles: 10, MaxTotalSize: 100_000},
			wantLimit: "zstd window size", wantIn: []string{"the archive's zstd frame: exceeds the zstd window size limit of 1148576 bytes"}},
		{name: "compression ratio", archive: true,
			raw:       zst(t, tarBytes(t, []tarEntry{{tar.Header{Typeflag: tar.TypeReg, Name: "environments/Big.json", Mode: 0o644}, make([]byte, 12<<20)}})),
			wantLimit: "compression ratio", wantIn: []string{"compressed): exceeds the compression ratio limit of 200 times (possible decompression bomb)"}},
		{name: "file name length, archive", archive: true, raw: zst(t, tarBytes(t, regular(map[string][]byte{longName: []byte("{}\n")}))),
			wantLimit: "file name length", wantIn: []string{"nnnn", "exceeds the file name length limit of 255 bytes"}},
		{name: "JSON depth, directory", files: deep(),
			wantLimit: "JSON nesting depth", wantIn: []string{"environments/Dev.json: exceeds the JSON nesting depth limit of 512 levels"}},
		{name: "JSON depth, archive", archive: true, files: deep(),
			wantLimit: "JSON nesting depth", wantIn: []string{"environments/Dev.json: exceeds the JSON nesting depth limit of 512 levels"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var path string
			switch {
			case tt.raw != nil:
				path = filepath.Join(dir, "b.tar.zst")
				if err := os.WriteFile(path, tt.raw, 0o644); err != nil {
					t.Fatal(err)
				}
			case tt.archive:
				path = filepath.Join(dir, "b.tar.zst")
				if err := os.WriteFile(path, zst(t, tarBytes(t, regular(tt.files))), 0o644); err != nil {
					t.Fatal(err)
				}
			default:
				path = filepath.Join(dir, "b")
				writeFiles(t, path, tt.files)
			}
			// Without the limit under test (defaults), the input is
			// accepted or fails for another reason: the limit is what trips.
			_, err := Read(path, tt.opts)
			var le *limits.Error
			if !errors.As(err, &le) || le.Limit != tt.wantLimit {
				t.Fatalf("want a %q limit error, got %v", tt.wantLimit, err)
			}
			for _, w := range append(tt.wantIn, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	// The good bundle itself is within the default limits in both forms.
	dir := t.TempDir()
	writeFiles(t, filepath.Join(dir, "b"), good)
	if _, err := Read(filepath.Join(dir, "b"), ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadArchive(zst(t, tarBytes(t, regular(good))), ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	// Decode on its own: 512 levels are read, 513 are not.
	if _, err := Decode([]byte(strings.Repeat("[", 512) + strings.Repeat("]", 512))); err != nil {
		t.Fatalf("512 levels: %v", err)
	}
	if _, err := Decode([]byte(strings.Repeat("[", 513) + strings.Repeat("]", 513))); !limits.Is(err) {
		t.Fatalf("513 levels: %v", err)
	}
	if _, err := Canonical(nest(600)); !limits.Is(err) {
		t.Fatalf("Canonical of 600 levels: %v", err)
	}
}

func nest(n int) any {
	var v any = []any{}
	for i := 0; i < n; i++ {
		v = []any{v}
	}
	return v
}
