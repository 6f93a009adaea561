package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/state"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/tools/octosim/simtest"
)

// TestApplyRefusesDestinationLockedElsewhere: while an apply on this host
// holds a destination with one state folder, an apply with another state
// folder is refused before it writes, naming the holder's folder (issue
// 18: applies with different --state folders did not see each other).
func TestApplyRefusesDestinationLockedElsewhere(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	load := func(name string) *octosim.Instance {
		inst, err := octosim.LoadSeed(filepath.Join(root, "testdata", "instances", name))
		if err != nil {
			t.Fatal(err)
		}
		return inst
	}
	src, srcURL := simtest.Start(t, octosim.Options{Seed: load("source.json")})
	dst, dstURL := simtest.Start(t, octosim.Options{Seed: load("destination.json")})
	work := t.TempDir()
	bundle := filepath.Join(work, "bundle")
	var out, errb bytes.Buffer
	t.Setenv("OCTOPUS_API_KEY", src.APIKey())
	if code := run([]string{"octobundle", "export", "--server", srcURL, "--out", bundle}, &out, &errb); code != 0 {
		t.Fatalf("export: %d\n%s", code, errb.String())
	}
	t.Setenv("OCTOPUS_API_KEY", dst.APIKey())
	cl, err := octopus.Connect(context.Background(), octopus.Config{URL: dstURL, APIKey: dst.APIKey()})
	if err != nil {
		t.Fatal(err)
	}
	held, err := state.Open(filepath.Join(work, "state-a"), state.Destination{Server: cl.Server(), InstallationID: cl.InstallationID, Space: cl.SpaceName})
	if err != nil {
		t.Fatal(err)
	}
	unlock, _, err := held.Lock(false)
	if err != nil {
		t.Fatal(err)
	}
	dst.ResetCounters()
	errb.Reset()
	code := run([]string{"octobundle", "apply", "--server", dstURL, "--state", filepath.Join(work, "state-b"), bundle}, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "locked by another apply") || !strings.Contains(errb.String(), "state-a") {
		t.Fatalf("apply with another state folder: exit %d\n%s", code, errb.String())
	}
	if dst.Writes() != 0 {
		t.Errorf("the refused apply wrote %d times", dst.Writes())
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := run([]string{"octobundle", "apply", "--server", dstURL, "--state", filepath.Join(work, "state-b"), bundle}, &out, &errb); code != 0 {
		t.Fatalf("apply after the release: exit %d\n%s", code, errb.String())
	}
}
