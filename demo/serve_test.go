package demo

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServe: the env file appears once both simulators listen, names them
// and the key files (readable only by the user), and every file Serve
// wrote is gone when it stops; a folder holding other files is refused,
// untouched.
func TestServe(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	o := ServeOptions{
		SourceSeed:      filepath.Join(root, "testdata", "instances", "source.json"),
		DestinationSeed: filepath.Join(root, "testdata", "instances", "destination.json"),
	}

	t.Run("serves and cleans up", func(t *testing.T) {
		o := o
		o.Dir = filepath.Join(t.TempDir(), "servers")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- Serve(ctx, o) }()
		env := filepath.Join(o.Dir, EnvFile)
		var data []byte
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if data, err = os.ReadFile(env); err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			cancel()
			t.Fatalf("no env file: %v", err)
		}
		for _, want := range []string{"export DEV_URL=http://127.0.0.1:", "export DEV_KEY=" + filepath.Join(o.Dir, SourceKeyFile), "export PROD_URL=http://127.0.0.1:", "export PROD_KEY=" + filepath.Join(o.Dir, DestinationKeyFile)} {
			if !strings.Contains(string(data), want) {
				t.Errorf("env file lacks %q:\n%s", want, data)
			}
		}
		for _, k := range []string{SourceKeyFile, DestinationKeyFile} {
			st, err := os.Stat(filepath.Join(o.Dir, k))
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("%s: %v %v", k, st, err)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Serve: %v", err)
		}
		left, _ := os.ReadDir(o.Dir)
		if len(left) != 0 {
			t.Errorf("left behind: %v", left)
		}
	})

	t.Run("refuses a folder of other files", func(t *testing.T) {
		o := o
		o.Dir = t.TempDir()
		mine := filepath.Join(o.Dir, "notes.txt")
		if err := os.WriteFile(mine, []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
		err := Serve(context.Background(), o)
		if err == nil || !strings.Contains(err.Error(), "holds notes.txt") {
			t.Fatalf("error %v", err)
		}
		if b, _ := os.ReadFile(mine); string(b) != "mine" {
			t.Error("the folder's file changed")
		}
	})
}
