package bundles

import (
	"archive/tar"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/internal/limits"
	"github.com/octobundle/octobundle/schema"
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
	var content int64 // the size of good's files, without their names
	for _, data := range good {
		content += int64(len(data))
	}
	const env = limits.ArchiveEntriesEnv
	tests := []struct {
		name      string
		archive   bool
		files     map[string][]byte // written as a directory or a plain archive
		raw       []byte            // or these archive bytes
		opts      ReadOptions
		env       string // OCTOBUNDLE_MAX_BUNDLE_FILES, when not empty
		wantLimit string
		wantIn    []string
		wantNot   []string
	}{
		// A limit the caller chose is not raised by the variable: its
		// error does not point to it.
		{name: "file count, directory", files: good, opts: ReadOptions{MaxFiles: 5}, env: "1000",
			wantLimit: "file count", wantIn: []string{"exceeds the file count limit of 5 files"}, wantNot: []string{env}},
		{name: "entry count, archive", archive: true, files: good, opts: ReadOptions{MaxFiles: 5}, env: "1000",
			wantLimit: "archive entry count", wantIn: []string{"entry \"", "archive entry count limit of 5 entries"}, wantNot: []string{env}},
		// The default limit comes from the variable, and its error says
		// how to raise it.
		{name: "file count from the environment, directory", files: good, env: "5",
			wantLimit: "file count", wantIn: []string{"exceeds the file count limit of 5 files (set " + env + " to a larger number"}},
		{name: "entry count from the environment, archive", archive: true, files: good, env: "5",
			wantLimit: "archive entry count", wantIn: []string{"entry \"", "exceeds the archive entry count limit of 5 entries (set " + env + " to a larger number"}},
		{name: "file size, directory", files: good, opts: ReadOptions{MaxFileSize: 200},
			wantLimit: "file size", wantIn: []string{": exceeds the file size limit of 200 bytes"}},
		{name: "file size, archive", archive: true, files: good, opts: ReadOptions{MaxFileSize: 200},
			wantLimit: "file size", wantIn: []string{`entry "`, "bytes): exceeds the file size limit of 200 bytes"}},
		{name: "total size, directory", files: good, opts: ReadOptions{MaxTotalSize: 1000},
			wantLimit: "total bundle size", wantIn: []string{"exceeds the total bundle size limit of 1000 bytes"}},
		{name: "total size, archive", archive: true, files: good, opts: ReadOptions{MaxTotalSize: 1000},
			wantLimit: "total decompressed size", wantIn: []string{`entry "`, "total decompressed size limit of 1000 bytes"}},
		// Names are held as content is: room for exactly the content is
		// not enough.
		{name: "total size counts names, directory", files: good, opts: ReadOptions{MaxTotalSize: content},
			wantLimit: "total bundle size", wantIn: []string{"exceeds the total bundle size limit of"}},
		{name: "total size counts names, archive", archive: true, files: good, opts: ReadOptions{MaxTotalSize: content},
			wantLimit: "total decompressed size", wantIn: []string{`entry "`, "total decompressed size limit of"}},
		{name: "a long name in many segments, archive", archive: true,
			raw:       zst(t, tarBytes(t, regular(map[string][]byte{strings.Repeat("n/", 2000) + "e.json": nil}))),
			opts:      ReadOptions{MaxTotalSize: 3000},
			wantLimit: "total decompressed size", wantIn: []string{"n/n/n/", "total decompressed size limit of 3000 bytes"}},
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
			if tt.env != "" {
				t.Setenv(env, tt.env)
			}
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
			for _, w := range tt.wantNot {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error %q contains %q", err, w)
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

// TestReadManyFiles reads a bundle with more files than the old limit of
// 100,000 (an N = 10,000 space has about 186,000) with the default limits,
// and the same bundle with OCTOBUNDLE_MAX_BUNDLE_FILES below its size, or
// set to something that is not a positive number.
func TestReadManyFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 100,000-file bundle")
	}
	files := goodFiles(t)
	const extra = 100_000
	for i := range extra {
		name := fmt.Sprintf("Env %06d", i)
		files["environments/"+name+".json"] = fmt.Appendf(nil, "{\n  \"Name\": %q,\n  \"SortOrder\": %d\n}\n", name, 10+i)
	}
	archive := zst(t, tarBytes(t, regular(reseal(t, files, false))))
	if len(files) <= 100_000 {
		t.Fatalf("only %d files", len(files))
	}
	b, err := ReadArchive(archive, ReadOptions{})
	if err != nil {
		t.Fatalf("%d files with the default limits: %v", len(files), err)
	}
	if got := b.Manifest.Counts[schema.Environment]; got != extra+3 {
		t.Errorf("read %d environments, want %d", got, extra+3)
	}
	for _, tc := range []struct{ env, want string }{
		{"100_000", "exceeds the archive entry count limit of 100000 entries (set " + limits.ArchiveEntriesEnv},
		{"many", limits.ArchiveEntriesEnv + `="many": want a positive number of files`},
		{"0", limits.ArchiveEntriesEnv + `="0": want a positive number of files`},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(limits.ArchiveEntriesEnv, tc.env)
			_, err := ReadArchive(archive, ReadOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
