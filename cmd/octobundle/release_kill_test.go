package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/tools/octosim/simtest"
)

// TestReleaseApplySurvivesSIGKILL kills a real `octobundle release apply`
// (a built binary, against a simulator with latency) after each of its
// writes — package uploads, build information, the release — and runs it
// again: the re-run finishes, every package is in the feed once, the
// release exists once with the bundle's versions, and a replay writes
// nothing (issue 22).
func TestReleaseApplySurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	seed := func(name string) *octosim.Instance { return testSeed(t, name) }
	ctx := context.Background()
	src, srcURL := simtest.Start(t, octosim.Options{Seed: seed("source.json")})
	connect := func(url, key string) *octopus.Client {
		c, err := octopus.Connect(ctx, octopus.Config{URL: url, APIKey: key})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	pkgs := []string{"NotesBot", "NotesWorker", "NotesDocs"}
	var sels []string
	for i, p := range pkgs {
		sels = append(sels, fmt.Sprintf("Deploy %d=%s:2.0.0", i, p))
	}
	if err := makeRelease(ctx, connect(srcURL, src.APIKey()), "Release Notes Bot", "2.0.0", append(sels, "content="+string(make([]byte, 64<<10)))); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rules := filepath.Join(root, "testdata", "rules", "staging-production.yaml")
	command := func(key string, args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "OCTOPUS_API_KEY="+key, "OCTOBUNDLE_LOG_LEVEL=warn")
		return cmd
	}
	mustRun := func(cmd *exec.Cmd) {
		t.Helper()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
		}
	}
	config, rel := filepath.Join(dir, "config"), filepath.Join(dir, "release.tar.zst")
	mustRun(command(src.APIKey(), "export", "--server", srcURL, "--out", config))
	mustRun(command(src.APIKey(), "release", "export", "--server", srcURL, "--project", "Release Notes Bot", "--version", "2.0.0", "--with-packages", "--out", rel))

	destination := func(t *testing.T) (*octosim.Server, string) {
		dst, dstURL := simtest.Start(t, octosim.Options{Seed: seed("destination.json"), Faults: octosim.Faults{Latency: 3 * time.Millisecond}})
		mustRun(command(dst.APIKey(), "apply", "--server", dstURL, "--state", t.TempDir(), "--rules", rules, config))
		dst.ResetCounters()
		return dst, dstURL
	}
	releaseApply := func(dst *octosim.Server, dstURL, state string) *exec.Cmd {
		return command(dst.APIKey(), "release", "apply", "--server", dstURL, "--state", state, "--rules", rules, rel)
	}
	ref, refURL := destination(t)
	mustRun(releaseApply(ref, refURL, t.TempDir()))
	total := ref.Writes()
	t.Logf("an uninterrupted release apply makes %d writes", total)
	if total != 2*len(pkgs)+1 {
		t.Fatalf("%d writes, want %d (an upload and build information per package, the release)", total, 2*len(pkgs)+1)
	}
	for at := 1; at < total; at++ {
		t.Run(fmt.Sprintf("killed after %d of %d writes", at, total), func(t *testing.T) {
			dst, dstURL := destination(t)
			state := t.TempDir()
			killed := killWhen(t, releaseApply(dst, dstURL, state), func() bool { return dst.Writes() >= at })
			t.Logf("killed: %v, after %d writes", killed, dst.Writes())
			mustRun(releaseApply(dst, dstURL, state))
			dst.ResetCounters()
			mustRun(releaseApply(dst, dstURL, state))
			if n := dst.Writes(); n != 0 {
				t.Errorf("the replay made %d writes", n)
			}
			c := connect(dstURL, dst.APIKey())
			for _, p := range pkgs {
				for _, coll := range []string{"packages", "build-information"} {
					q := url.Values{"nuGetPackageId": {p}, "packageId": {p}}
					items, err := c.List(ctx, c.SpacePath(coll, false), q)
					if err != nil {
						t.Fatal(err)
					}
					if len(items) != 1 {
						t.Errorf("%s: %d of %s, want 1", coll, len(items), p)
					}
				}
			}
			items, err := c.List(ctx, c.SpacePath("releases", false), nil)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, it := range items {
				if it["Version"] == "2.0.0" {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d releases 2.0.0, want 1", n)
			}
		})
	}
}
