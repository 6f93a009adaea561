package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestVersionStamped builds the binary as make build and make dist do
// (-ldflags -X main.version=…) and checks that version and --version
// report the stamped version, not "dev".
func TestVersionStamped(t *testing.T) {
	t.Parallel()
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
// skips the test under -short. Without arguments the binary is built once
// per test process and shared (the tests that use it run in parallel).
func buildBinary(t *testing.T, args ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if len(args) == 0 {
		plainBin.once.Do(func() {
			plainBin.path, plainBin.err = goBuild(filepath.Join(sharedTempDir(), "plain"))
		})
		if plainBin.err != nil {
			t.Fatal(plainBin.err)
		}
		return plainBin.path
	}
	bin, err := goBuild(t.TempDir(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// plainBin is the binary buildBinary builds without arguments.
var plainBin struct {
	once sync.Once
	path string
	err  error
}

// goBuild builds octobundle with go build and args into dir.
func goBuild(dir string, args ...string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "octobundle")
	build := goCommand(append(append([]string{"build"}, args...), "-o", bin, ".")...)
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// userCacheHome is XDG_CACHE_HOME as this process found it, before
// TestMain pointed it at a folder of the tests' own (package variables are
// set before TestMain runs).
var userCacheHome, userCacheHomeSet = os.LookupEnv("XDG_CACHE_HOME")

// goCommand is the go command with args, in this process's environment
// but with the user's XDG_CACHE_HOME, so that it uses the user's build
// cache (GOCACHE defaults to $XDG_CACHE_HOME/go-build): in the tests'
// empty cache folder every build compiled the standard library and every
// dependency again.
func goCommand(args ...string) *exec.Cmd {
	cmd := exec.Command("go", args...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "XDG_CACHE_HOME=") })
	if userCacheHomeSet {
		cmd.Env = append(cmd.Env, "XDG_CACHE_HOME="+userCacheHome)
	}
	return cmd
}
