package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octobundle/octobundle/tools/octosim"
)

// buildBinary builds octobundle once per test binary run (into a folder
// TestMain removes).
func buildBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "octobundle-bench-test-")
		if err != nil {
			built.err = err
			return
		}
		built.dir = dir
		bin := filepath.Join(dir, "octobundle")
		cmd := exec.Command("go", "build", "-o", bin, "../../cmd/octobundle")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		built.bin = bin
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// built is the binary buildBinary built.
var built struct {
	once     sync.Once
	dir, bin string
	err      error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// TestRun runs the benchmark sequence on a small instance: every step
// succeeds, the requests are counted, and the replay writes nothing (Run
// fails if it does).
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the octobundle binary")
	}
	cfg := Config{Binary: buildBinary(t), Sizes: []int{10}, Latency: time.Millisecond, Concurrency: 4, WorkDir: t.TempDir()}
	res, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	want := []string{"export (directory)", "export (archive)", "plan (empty destination)", "apply (empty destination)", "plan (up to date)", "replay"}
	if len(r.Steps) != len(want) {
		t.Fatalf("%d steps, want %d", len(r.Steps), len(want))
	}
	for i, s := range r.Steps {
		if s.Name != want[i] || s.Total == 0 || s.Wall <= 0 || s.PeakRSS <= 0 {
			t.Errorf("step %d: %+v", i, s)
		}
	}
	if ap := r.Steps[3]; ap.Requests["POST"] == 0 || ap.Requests["PUT"] == 0 {
		t.Errorf("apply wrote nothing: %v", ap.Requests)
	}
	if r.DirBytes == 0 || r.ArchiveBytes == 0 || r.ArchiveBytes >= r.DirBytes {
		t.Errorf("bundle sizes: directory %d, archive %d", r.DirBytes, r.ArchiveBytes)
	}
	for coll, n := range map[string]int{"projects": 10, "channels": 30, "runbooks": 20} {
		if got := r.DestinationCounts[coll]; got != n {
			t.Errorf("destination %s: %d, want %d", coll, got, n)
		}
	}
	table := Table(Report{Latency: 1, Concurrency: 4, Results: res})
	if !strings.Contains(table, "| 10 | apply (empty destination) |") {
		t.Errorf("table:\n%s", table)
	}
}

// TestApplyUnderFaults applies a 50-project instance under 5 % 503, 2 %
// 429 and 1 % dropped connections (half of them after the server handled
// the request, POSTs included) and checks that the destination ends in the
// same state as a fault-free apply, without duplicates, and that a replay
// writes nothing. `make bench-faults` runs the same at N = 500 with 20 ms
// latency.
func TestApplyUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the octobundle binary")
	}
	cfg := Config{
		Binary: buildBinary(t), Concurrency: 8, WorkDir: t.TempDir(),
		Faults: octosim.Faults{ErrorRate: 0.05, RateLimitRate: 0.02, DropRate: 0.005, DropAfterHandlingRate: 0.005,
			Seed: 3, RetryAfter: time.Second},
	}
	r, err := RunFaults(cfg, 50)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", FaultTable(r))
	if r.Files < 50*4 {
		t.Errorf("compared only %d files", r.Files)
	}
	if len(r.Differences) > 0 {
		t.Errorf("the faulted destination differs from the fault-free one: %v", r.Differences)
	}
	if len(r.Duplicates) > 0 {
		t.Errorf("duplicates: %v", r.Duplicates)
	}
	if w := r.Replay.Requests["POST"] + r.Replay.Requests["PUT"] + r.Replay.Requests["DELETE"]; w > 0 {
		t.Errorf("the replay after faults wrote %d times: %v", w, r.Replay.Paths)
	}
	for _, kind := range []string{"5xx", "429", "drop", "drop-after-handling"} {
		if r.Injected[kind] == 0 {
			t.Errorf("no %s fault was injected: %v", kind, r.Injected)
		}
	}
	if r.ExtraRequests <= 0 {
		t.Errorf("the faulted apply made %d extra requests; the faults were not retried", r.ExtraRequests)
	}
}
