package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
	ShimMain() // the test binary is the shim between strace and octobundle
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
	reqLog := &bytes.Buffer{}
	cfg := Config{Binary: buildBinary(t), Sizes: []int{10}, Latency: time.Millisecond, Concurrency: 4, WorkDir: t.TempDir(), RequestLog: reqLog}
	res, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	// The request log holds one JSON line per request of every step.
	lines, total := strings.Split(strings.TrimSpace(reqLog.String()), "\n"), 0
	for _, s := range r.Steps {
		total += s.Total
	}
	if len(lines) < total {
		t.Errorf("request log: %d lines for %d requests", len(lines), total)
	}
	var line struct {
		Sim, Method, Path string
		Status            int
		Duration          time.Duration
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &line); err != nil || line.Sim == "" || line.Method == "" || line.Path == "" || line.Duration < time.Millisecond {
		t.Errorf("request log line %q: %+v, %v", lines[len(lines)-1], line, err)
	}
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
	ap := r.Steps[3]
	if ap.UserCPU <= 0 || ap.SysCPU <= 0 || ap.CPU != ap.UserCPU+ap.SysCPU {
		t.Errorf("apply's CPU: user %v + system %v = %v", ap.UserCPU, ap.SysCPU, ap.CPU)
	}
	for _, s := range r.Steps {
		tl := s.Timeline
		if tl == nil || tl.BeforeFirst <= 0 || tl.Requesting <= 0 || tl.AfterLast < 0 || tl.Idle < 0 ||
			tl.MeanInFlight <= 0 || tl.MeanInFlight > float64(cfg.Concurrency) || tl.MaxInFlight < 1 || tl.MaxInFlight > cfg.Concurrency ||
			tl.BeforeFirst+tl.Requesting+tl.AfterLast > s.Wall*1.01 {
			t.Errorf("%s: timeline %+v, wall %v", s.Name, tl, s.Wall)
		}
	}
	if ap.Statuses[201] == 0 || ap.Statuses[200] == 0 {
		t.Errorf("apply's answers by status: %v", ap.Statuses)
	}
	// A 409 here is a conflict octobundle caused (issue 20's 0 target).
	t.Logf("apply: %d 409, errors %v", ap.Conflicts, ap.Errors)
	if s := r.StateAfterApply; s == nil || s.Files == 0 || s.Bytes == 0 || s.DiskBytes == 0 {
		t.Errorf("state after apply: %+v", s)
	}
	if r.Bundle.Files < 10*4 || r.Bundle.Bytes != r.DirBytes {
		t.Errorf("bundle: %+v, %d bytes", r.Bundle, r.DirBytes)
	}
	table := Table(Report{Latency: 1, Concurrency: 4, Results: res})
	for _, want := range []string{"| 10 | apply (empty destination) |", "Requests by path, N = 10:", "| `GET /api` |"} {
		if !strings.Contains(table, want) {
			t.Errorf("no %q in the table:\n%s", want, table)
		}
	}
}

// TestRunSubsetCountingSyncs runs the steps of `make bench-huge`
// (export, apply, replay) under each sync counter this machine has, as
// octobench does: each step has its fsyncs counted and its CPU measured
// by the shim (octobundle's own, not the counter's).
func TestRunSubsetCountingSyncs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the octobundle binary")
	}
	for _, tool := range []string{"perf", "strace"} {
		t.Run(tool, func(t *testing.T) {
			counter, ok, why := FindSyncCounter(tool)
			if !ok {
				t.Skip(why)
			}
			runSubset(t, counter)
		})
	}
}

func runSubset(t *testing.T, counter SyncCounter) {
	cfg := Config{Binary: buildBinary(t), Sizes: []int{5}, Latency: time.Millisecond, Concurrency: 4, WorkDir: t.TempDir(),
		Steps: []string{"export", "apply", "replay"}, SyncCounter: &counter}
	res, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	var names []string
	for _, s := range r.Steps {
		names = append(names, s.Name)
		if s.Fsyncs == nil || s.UserCPU <= 0 || s.PeakRSS <= 0 {
			t.Errorf("%s: fsyncs %v, user CPU %v, peak RSS %v", s.Name, s.Fsyncs, s.UserCPU, s.PeakRSS)
		}
	}
	if want := []string{"export (directory)", "apply (empty destination)", "replay"}; !slices.Equal(names, want) {
		t.Fatalf("steps %v, want %v", names, want)
	}
	// The export flushes its bundle with one syncfs at least; apply
	// makes its state durable.
	for _, s := range r.Steps[:2] {
		if *s.Fsyncs == 0 {
			t.Errorf("%s: no sync system call counted: %v", s.Name, s.SyncCalls)
		}
	}
	if r.ArchiveBytes != 0 || r.StateAfterApply == nil || r.StateAfterReplay == nil {
		t.Errorf("archive %d, state after apply %v, after replay %v", r.ArchiveBytes, r.StateAfterApply, r.StateAfterReplay)
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
