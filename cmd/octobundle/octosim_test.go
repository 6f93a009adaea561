package main

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/octobundle/octobundle/internal/simproc"
)

// scriptOctosim is the octosim program the scripts' demo commands run
// (OCTOBUNDLE_OCTOSIM, set by scriptParams), built once per test binary by
// simproc.Find from this source tree.
var scriptOctosim = sync.OnceValues(func() (string, error) {
	return simproc.Find(context.Background(), "", nil)
})

// TestBinaryLinksNoSimulator: the shipped binary links neither the
// simulator nor the test packages (go list -deps ./cmd/octobundle).
func TestBinaryLinksNoSimulator(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to run go list -deps with")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps lists %d packages", len(deps))
	}
	for _, d := range deps {
		// tools/ holds the simulator and the other developer tooling
		// (ARCHITECTURE.md): nothing there may be linked.
		if d == "testing" || d == "net/http/httptest" || strings.HasPrefix(d, "testing/") ||
			strings.HasPrefix(d, "github.com/octobundle/octobundle/tools/") {
			t.Errorf("cmd/octobundle links %s", d)
		}
	}
}
