package limits

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestError(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{Size("plan.json", "plan file size", 256<<20), "plan.json: exceeds the plan file size limit of 256 MiB (268435456 bytes)"},
		{Size("x", "total bundle size", 1<<30), "x: exceeds the total bundle size limit of 1 GiB (1073741824 bytes)"},
		{Size("x", "file size", 1000), "x: exceeds the file size limit of 1000 bytes"},
		{Size("x", "file size", 4<<10), "x: exceeds the file size limit of 4 KiB (4096 bytes)"},
		{&Error{Limit: "JSON nesting depth", Max: 512, Unit: "levels"}, "exceeds the JSON nesting depth limit of 512 levels"},
		{&Error{Subject: "a", Limit: "compression ratio", Max: 200, Unit: "times", Note: "possible decompression bomb"},
			"a: exceeds the compression ratio limit of 200 times (possible decompression bomb)"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
		if !Is(fmt.Errorf("wrapped: %w", tt.err)) {
			t.Errorf("Is(wrapped %q) = false", tt.want)
		}
	}
	if Is(errors.New("other")) || Is(nil) {
		t.Error("Is of another error")
	}
}

func TestReadAllAndReadFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		size    int
		max     int64
		wantErr bool
	}{
		{"empty", 0, 10, false},
		{"under", 9, 10, false},
		{"at", 10, 10, false},
		{"over by one", 11, 10, true},
		{"far over", 1 << 20, 10, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			content := strings.Repeat("a", tt.size)
			p := filepath.Join(dir, tt.name)
			if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			for op, read := range map[string]func() ([]byte, error){
				"ReadAll":  func() ([]byte, error) { return ReadAll(strings.NewReader(content), tt.max, "input", "test size") },
				"ReadFile": func() ([]byte, error) { return ReadFile(p, tt.max, "test size") },
			} {
				data, err := read()
				if tt.wantErr {
					var le *Error
					if !errors.As(err, &le) || le.Limit != "test size" || le.Max != tt.max || data != nil {
						t.Fatalf("%s: want a limit error, got %v (%d bytes)", op, err, len(data))
					}
					continue
				}
				if err != nil || string(data) != content {
					t.Fatalf("%s: %v (%d bytes)", op, err, len(data))
				}
			}
		})
	}
	if _, err := ReadFile(filepath.Join(dir, "missing"), 10, "test size"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

// TestBundleFiles: the bundle file count limit is ArchiveEntries unless
// OCTOBUNDLE_MAX_BUNDLE_FILES sets a positive number.
func TestBundleFiles(t *testing.T) {
	tests := []struct {
		env     string
		want    int
		wantErr string
	}{
		{"", ArchiveEntries, ""},
		{"  ", ArchiveEntries, ""},
		{"250000", 250_000, ""},
		{"2_000_000", 2_000_000, ""},
		{" 5 ", 5, ""},
		{"0", 0, `OCTOBUNDLE_MAX_BUNDLE_FILES="0": want a positive number of files`},
		{"-1", 0, `OCTOBUNDLE_MAX_BUNDLE_FILES="-1": want a positive number of files`},
		{"1e6", 0, `OCTOBUNDLE_MAX_BUNDLE_FILES="1e6": want a positive number of files`},
		{"lots", 0, `OCTOBUNDLE_MAX_BUNDLE_FILES="lots": want a positive number of files`},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.env), func(t *testing.T) {
			t.Setenv(ArchiveEntriesEnv, tt.env)
			got, err := BundleFiles()
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("got %d, %v; want the error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}
