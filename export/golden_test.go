package export

import (
	"bytes"
	"context"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/tools/octosim/simtest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/source from a fresh export of the source sample")

// goldenDir is the golden copy of the source sample's bundle, in directory form.
var goldenDir = filepath.Join("..", "testdata", "golden", "source")

// TestGolden exports testdata/instances/source.json (served by the
// simulator, with a fixed export time) and compares the bundle file by file
// with the golden copy in testdata/golden/source/.
//
// When a change to the export, the kind registry or the sample instance
// changes the bundle on purpose, refresh the golden copy and review the diff
// like any other change:
//
//	go test ./export -run TestGolden -update
//	git diff testdata/golden
func TestGolden(t *testing.T) {
	sim, url := simtest.Start(t, octosim.Options{Seed: loadSeed(t, "source.json")})
	c := connectAs(t, "http://octopus-source.example.com", url, sim.APIKey())
	res, err := Run(context.Background(), c, Options{ToolVersion: "golden", Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	got := files(t, res.Bundle)
	if *update {
		if err := os.RemoveAll(goldenDir); err != nil {
			t.Fatal(err)
		}
		if err := res.Bundle.Write(goldenDir); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d files to %s", len(got), goldenDir)
		return
	}
	if _, err := os.Stat(goldenDir); err != nil {
		t.Fatalf("no golden bundle (%v); create it with: go test ./export -run TestGolden -update", err)
	}
	want := readDir(t, goldenDir)
	for _, p := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[p]
		switch {
		case !ok:
			t.Errorf("%s: in the golden bundle, not exported", p)
		case !bytes.Equal(g, want[p]):
			t.Errorf("%s: differs from the golden copy:\n%s", p, firstDiff(want[p], g))
		}
	}
	for _, p := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: exported, not in the golden bundle", p)
		}
	}
	if t.Failed() {
		t.Log("if the change is intended: go test ./export -run TestGolden -update")
	}
}

// firstDiff shows the first differing line of two files.
func firstDiff(want, got []byte) string {
	wl := bytes.Split(want, []byte("\n"))
	gl := bytes.Split(got, []byte("\n"))
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g []byte
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if !bytes.Equal(w, g) {
			return "line " + itoa(i+1) + ":\n  golden:   " + string(w) + "\n  exported: " + string(g)
		}
	}
	return "(identical lines, different bytes)"
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
