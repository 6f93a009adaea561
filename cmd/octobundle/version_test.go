package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVersionStamped builds the binary as make build and make dist do
// (-ldflags -X main.version=…) and checks that version and --version
// report the stamped version, not "dev".
func TestVersionStamped(t *testing.T) {
	bin := buildBinary(t, "-ldflags", "-X main.version=v9.8.7-test")
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !strings.Contains(string(out), "v9.8.7-test") || strings.Contains(string(out), "dev") {
			t.Errorf("%v printed %q, want the stamped version", args, out)
		}
	}
}

// buildBinary builds the octobundle binary with go build and the extra
// arguments (flags) into a temporary directory and returns its path; it
// skips the test under -short.
func buildBinary(t *testing.T, args ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "octobundle")
	build := exec.Command("go", append(append([]string{"build"}, args...), "-o", bin, ".")...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
