//go:build linux

package bundles

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestBeneath checks that the one-call path resolution stays below its
// directory: no link is followed, no ".." leaves it.
func TestBeneath(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	b := openBeneath(dir)
	if b == nil {
		t.Skip("openat2 is not available here")
	}
	defer b.close()
	for _, p := range []string{"link/x.json", "../x.json", "sub/../../x.json", "/tmp/x.json"} {
		if f, err := b.create(p); err == nil {
			f.Close()
			t.Errorf("create(%q) succeeded", p)
		}
		if err := b.mkdir(p + "d"); err == nil {
			t.Errorf("mkdir(%q) succeeded", p+"d")
		}
	}
	if left, _ := os.ReadDir(outside); len(left) != 0 {
		t.Errorf("written outside: %v", left)
	}
	f, err := b.create("sub/ok.json")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := b.mkdir("sub/d"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "sub", "d")); err != nil {
		t.Error(err)
	}
}

// TestReadUmask checks the umask read from /proc against the one the
// process has.
func TestReadUmask(t *testing.T) {
	old := syscall.Umask(0o027)
	syscall.Umask(old)
	got, ok := readUmask()
	if !ok {
		t.Skip("no Umask line in /proc/self/status")
	}
	if got != uint32(old) {
		t.Errorf("readUmask = %#o, want %#o", got, old)
	}
}
