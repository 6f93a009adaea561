// Package bench is the scale benchmark of issue 11: it generates instances
// (tools/gen), serves them from simulators (tools/octosim) that add a
// fixed latency to every request, and runs the octobundle binary as a
// separate process for export, plan and apply, recording wall time, the
// simulator's request counters by path and its answers by status (409s
// above all), the latency bound, the child's peak RSS, CPU time (user and
// system) and fsyncs, and the sizes of the bundle and of the state. The
// command tools/bench/octobench prints the tables and writes the JSON
// (`make bench`, `make bench-large`, `make bench-huge`).
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/octobundle/octobundle/tools/gen"
	"github.com/octobundle/octobundle/tools/octosim"
)

// Config configures one benchmark run.
type Config struct {
	// Binary is the octobundle executable to run.
	Binary string
	// Sizes are the project counts N to measure.
	Sizes []int
	// Latency is added by the simulators to every request.
	Latency time.Duration
	// Concurrency is octobundle's --concurrency.
	Concurrency int
	// Faults, if any rate is set, are injected by the destination simulator
	// during apply (the fault benchmark).
	Faults octosim.Faults
	// WorkDir holds the bundles and state; it must exist.
	WorkDir string
	// Log receives progress lines; nil discards.
	Log io.Writer
	// ProfileDir, if set, receives a CPU and an allocation profile of every
	// step (N-STEP.cpu.pprof, N-STEP.mem.pprof), a CPU profile of the
	// benchmark's own process during each step (N-STEP.server.cpu.pprof:
	// the simulators serving it) and one of the instance's generation and
	// seed load (N-setup.server.cpu.pprof).
	ProfileDir string
	// RequestLog, if set, receives both simulators' request lines (JSON,
	// one per request: its method, path, status, when its answer ended
	// and how long it took, the simulated latency included), for
	// following the requests in flight over time. Its writes are
	// serialised.
	RequestLog io.Writer
	// Steps are the keys (StepKeys) of the operations to measure, in
	// their fixed order; empty measures all.
	Steps []string
	// SyncCounter, if set, counts each step's fsyncs (FindSyncCounter);
	// nil reports them as n/a.
	SyncCounter *SyncCounter
}

// StepKeys name the benchmark's operations, in the order they run, for
// Config.Steps (octobench -steps).
var StepKeys = []string{"export", "export-archive", "plan-empty", "apply", "plan", "replay"}

// stepNeeds lists, for each operation, those it needs to have run first.
var stepNeeds = map[string][]string{
	"plan-empty": {"export"}, "apply": {"export"}, "plan": {"export", "apply"}, "replay": {"export", "apply"},
}

// CheckSteps checks a list of step keys: each known, and each with the
// steps it needs.
func CheckSteps(keys []string) error {
	have := map[string]bool{}
	for _, k := range keys {
		if !slices.Contains(StepKeys, k) {
			return fmt.Errorf("unknown step %q (steps: %s)", k, strings.Join(StepKeys, ", "))
		}
		have[k] = true
	}
	for _, k := range keys {
		for _, need := range stepNeeds[k] {
			if !have[need] {
				return fmt.Errorf("step %q needs step %q", k, need)
			}
		}
	}
	return nil
}

// Step is one measured octobundle invocation.
type Step struct {
	// Name is the operation, e.g. "export (directory)".
	Name string `json:"name"`
	// Wall is the elapsed time in seconds.
	Wall float64 `json:"wall_s"`
	// Requests counts the requests the serving simulator received, by method.
	Requests map[string]int `json:"requests"`
	// Paths counts the requests by "METHOD /normalized/path".
	Paths map[string]int `json:"paths"`
	// Total is the sum of Requests.
	Total int `json:"requests_total"`
	// Bound is the latency bound in seconds: Total × latency ÷ concurrency.
	Bound float64 `json:"latency_bound_s"`
	// Ratio is Wall ÷ Bound.
	Ratio float64 `json:"ratio"`
	// PeakRSS is the child's peak resident set size in MiB: the VmHWM it
	// reports at exit (OCTOBUNDLE_PEAK_RSS_FILE), else its rusage Maxrss,
	// which on Linux is at least the benchmark's own size at the fork.
	PeakRSS float64 `json:"peak_rss_mib"`
	// CPU is the child's user plus system time in seconds.
	CPU float64 `json:"cpu_s"`
	// UserCPU is the user part of CPU.
	UserCPU float64 `json:"user_cpu_s"`
	// SysCPU is the system (kernel) part of CPU: opening, writing and
	// syncing files, sockets. It varies more from run to run than the
	// user part, with the file system's state.
	SysCPU float64 `json:"sys_cpu_s"`
	// Fsyncs is the number of sync system calls (SyncSyscalls) the child
	// made, counted by perf or strace; nil when they were not counted.
	Fsyncs *int `json:"fsyncs"`
	// SyncCalls is Fsyncs by system call.
	SyncCalls map[string]int `json:"sync_calls,omitempty"`
	// Statuses counts the serving simulator's own answers by HTTP status,
	// injected faults excluded (octosim's Server.Statuses).
	Statuses map[int]int `json:"statuses"`
	// Errors counts its answers of status 400 and more, injected faults
	// excluded, by "STATUS METHOD /normalized/path".
	Errors map[string]int `json:"errors,omitempty"`
	// Conflicts, ClientErrors and ServerErrors are the 409s, the 4xx
	// (409s included) and the 5xx among Statuses. A 409 outside a fault
	// run is a conflict octobundle caused itself, and fails the benchmark.
	Conflicts    int `json:"conflicts_409"`
	ClientErrors int `json:"client_errors_4xx"`
	ServerErrors int `json:"server_errors_5xx"`
	// ServerCPU is the CPU time (user plus system, seconds) the benchmark's
	// own process used during the step: the simulators serving octobundle's
	// requests, on the same cores. On 2 cores, CPU + ServerCPU close to
	// 2 × Wall means the step was bound by the machine, not the latency.
	ServerCPU float64 `json:"server_cpu_s"`
	// Faulted is the number of faults the simulator injected during the
	// step (each one costs the client a retry).
	Faulted int `json:"faulted,omitempty"`
	// Timeline says where the wall went: before the first request, while
	// requests were made, after the last answer.
	Timeline *Timeline `json:"timeline,omitempty"`

	started time.Time // when the child was started
}

// Timeline splits a step's wall at the serving simulator's first request
// and last answer (octosim's Occupancy). The latency bound assumes the
// client keeps its concurrency's worth of requests in flight from start
// to end; BeforeFirst and AfterLast are the time it had none (reading a
// bundle, planning, writing files), and MeanInFlight below the
// concurrency is the time it had fewer.
type Timeline struct {
	// BeforeFirst is the time from the child's start to the first request.
	BeforeFirst float64 `json:"before_first_request_s"`
	// Requesting is the time from the first request to the last answer.
	Requesting float64 `json:"requesting_s"`
	// AfterLast is the time from the last answer to the child's exit.
	AfterLast float64 `json:"after_last_answer_s"`
	// Idle is the time within Requesting with no request in flight.
	Idle float64 `json:"idle_while_requesting_s"`
	// MeanInFlight is the mean number of requests in flight during
	// Requesting; MaxInFlight the most at once.
	MeanInFlight float64 `json:"mean_in_flight"`
	MaxInFlight  int     `json:"max_in_flight"`
}

// timeline derives a step's Timeline from the serving simulator's
// occupancy; nil when it served no request.
func timeline(started time.Time, wall float64, o octosim.Occupancy) *Timeline {
	if o.First.IsZero() || o.Last.IsZero() || started.IsZero() {
		return nil
	}
	req := o.Last.Sub(o.First).Seconds()
	t := &Timeline{
		BeforeFirst: o.First.Sub(started).Seconds(),
		Requesting:  req,
		AfterLast:   max(0, wall-o.Last.Sub(started).Seconds()),
		Idle:        max(0, req-o.Busy.Seconds()),
		MaxInFlight: o.Max,
	}
	if req > 0 {
		t.MeanInFlight = o.RequestSeconds / req
	}
	return t
}

// Result is the measurement of one instance size.
type Result struct {
	// N is the number of projects.
	N int `json:"n"`
	// Entities counts the generated instance's entities by collection.
	Entities map[string]int `json:"entities"`
	// Steps are the measured operations in order.
	Steps []Step `json:"steps"`
	// DirBytes is the size of the directory bundle (file contents).
	DirBytes int64 `json:"bundle_dir_bytes"`
	// Bundle is the directory bundle's files, bytes and disk use.
	Bundle Tree `json:"bundle_dir"`
	// ArchiveBytes is the size of the .tar.zst bundle (0: not exported).
	ArchiveBytes int64 `json:"bundle_archive_bytes"`
	// StateAfterApply and StateAfterReplay are the state folder after the
	// apply and after the replay.
	StateAfterApply  *Tree `json:"state_after_apply,omitempty"`
	StateAfterReplay *Tree `json:"state_after_replay,omitempty"`
	// SetupSeconds is the time the benchmark took to generate the instance
	// and load it into the source simulator.
	SetupSeconds float64 `json:"setup_s"`
	// HarnessRSS is the benchmark process's own peak RSS in MiB when this
	// size was done (VmHWM: the generator and both simulators; it never
	// goes down from one size to the next).
	HarnessRSS float64 `json:"harness_peak_rss_mib"`
	// DestinationCounts counts the destination's entities by collection
	// after apply, for comparing runs (faults against none).
	DestinationCounts map[string]int `json:"destination_counts,omitempty"`
}

// Report is the JSON the benchmark writes.
type Report struct {
	// Date is when the run started (UTC, RFC 3339).
	Date string `json:"date"`
	// Latency is the simulated latency per request in milliseconds.
	Latency float64 `json:"latency_ms"`
	// Concurrency is octobundle's --concurrency.
	Concurrency int `json:"concurrency"`
	// CPUs is the number of CPUs the run had.
	CPUs int `json:"cpus"`
	// Fsyncs says how fsyncs were counted, or why they were not.
	Fsyncs string `json:"fsyncs"`
	// MaxRSS is the peak RSS limit in MiB each step had to stay under (0:
	// none).
	MaxRSS float64 `json:"max_rss_mib,omitempty"`
	// Results are per instance size.
	Results []Result `json:"results"`
}

// Tree is the size of a folder: its files, their bytes, and the disk it
// takes (allocated blocks, directories included).
type Tree struct {
	Files     int   `json:"files"`
	Bytes     int64 `json:"bytes"`
	DiskBytes int64 `json:"disk_bytes"`
}

type simProc struct {
	srv    *octosim.Server
	url    string
	cancel context.CancelFunc
	done   chan error
}

func startSim(opts octosim.Options) (*simProc, error) {
	srv, err := octosim.New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &simProc{srv: srv, url: octosim.BaseURL(ln), cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- srv.Serve(ctx, ln) }()
	return p, nil
}

// requestLoggers returns the source and destination simulators' loggers:
// cfg.RequestLog's JSON lines at Debug level, each with sim (source or
// destination); nil without it. Both derive from one handler, whose lock
// they share, so their lines never interleave.
func requestLoggers(cfg Config) (src, dst *slog.Logger) {
	if cfg.RequestLog == nil {
		return nil, nil
	}
	l := slog.New(slog.NewJSONHandler(cfg.RequestLog, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return l.With("sim", "source"), l.With("sim", "destination")
}

func (p *simProc) stop() {
	p.cancel()
	<-p.done
}

// Run measures every size of cfg.Sizes.
func Run(cfg Config) ([]Result, error) {
	var out []Result
	for _, n := range cfg.Sizes {
		r, err := runSize(cfg, n)
		if err != nil {
			return out, fmt.Errorf("%d projects: %w", n, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func logf(cfg Config, format string, args ...any) {
	if cfg.Log != nil {
		fmt.Fprintf(cfg.Log, format+"\n", args...)
	}
}

func runSize(cfg Config, n int) (Result, error) {
	res := Result{N: n, Entities: map[string]int{}}
	setup := time.Now()
	stopProfile, err := profileSelf(cfg, n, "setup")
	if err != nil {
		return res, err
	}
	inst := gen.Generate(gen.Scale(n))
	for coll, es := range inst.Spaces[0].Collections {
		res.Entities[coll] = len(es)
	}
	lat := octosim.Faults{Latency: cfg.Latency}
	srcLog, dstLog := requestLoggers(cfg)
	src, err := startSim(octosim.Options{Seed: inst, Faults: lat, Logger: srcLog})
	if err != nil {
		stopProfile()
		return res, err
	}
	defer src.stop()
	inst = nil
	res.SetupSeconds = time.Since(setup).Seconds()
	stopProfile()
	dst, err := startSim(octosim.Options{IDOffset: 1_000_000, Faults: lat, Logger: dstLog})
	if err != nil {
		return res, err
	}
	defer dst.stop()

	dir := filepath.Join(cfg.WorkDir, fmt.Sprintf("n%d", n))
	if err := os.RemoveAll(dir); err != nil {
		return res, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	bdir, barc, st := filepath.Join(dir, "bundle"), filepath.Join(dir, "bundle.tar.zst"), filepath.Join(dir, "state")
	type op struct {
		key, name string
		sim       *simProc
		args      []string
		faults    bool
	}
	ops := []op{
		{"export", "export (directory)", src, []string{"export", "--out", bdir}, false},
		{"export-archive", "export (archive)", src, []string{"export", "--out", barc}, false},
		{"plan-empty", "plan (empty destination)", dst, []string{"plan", "--state", st, bdir}, false},
		{"apply", "apply (empty destination)", dst, []string{"apply", "--state", st, bdir}, true},
		{"plan", "plan (up to date)", dst, []string{"plan", "--state", st, bdir}, false},
		{"replay", "replay", dst, []string{"apply", "--state", st, bdir}, false},
	}
	for _, o := range ops {
		if len(cfg.Steps) > 0 && !slices.Contains(cfg.Steps, o.key) {
			continue
		}
		if o.faults && (cfg.Faults.ErrorRate > 0 || cfg.Faults.RateLimitRate > 0 || cfg.Faults.DropRate > 0) {
			f := cfg.Faults
			f.Latency = cfg.Latency
			o.sim.srv.SetFaults(f)
		}
		faults0 := sum(o.sim.srv.FaultsInjected())
		var env []string
		if cfg.ProfileDir != "" {
			base := filepath.Join(cfg.ProfileDir, fmt.Sprintf("%d-%s", n, strings.NewReplacer(" ", "-", "(", "", ")", "").Replace(o.name)))
			env = []string{"OCTOBUNDLE_CPUPROFILE=" + base + ".cpu.pprof", "OCTOBUNDLE_MEMPROFILE=" + base + ".mem.pprof"}
		}
		stopProfile, err := profileSelf(cfg, n, o.name)
		if err != nil {
			return res, err
		}
		s, err := runStep(cfg, fmt.Sprintf("N=%d", n), o.name, o.sim, o.args, env)
		stopProfile()
		if o.faults {
			o.sim.srv.SetFaults(lat)
		}
		if err != nil {
			return res, err
		}
		s.Faulted = sum(o.sim.srv.FaultsInjected()) - faults0
		logf(cfg, "N=%d %s: %.2fs, %d requests %v, %d 409, ratio %.2f, %.0f MiB, CPU %.2fs (sys %.2fs), fsyncs %s, server CPU %.2fs",
			n, o.name, s.Wall, s.Total, s.Requests, s.Conflicts, s.Ratio, s.PeakRSS, s.CPU, s.SysCPU, fsyncText(s.Fsyncs), s.ServerCPU)
		res.Steps = append(res.Steps, s)
		if o.key == "replay" && s.Requests["POST"]+s.Requests["PUT"]+s.Requests["DELETE"] > 0 {
			return res, fmt.Errorf("replay wrote: %v", s.Requests)
		}
		switch o.key {
		case "apply", "replay":
			t, err := treeSize(st)
			if err != nil {
				return res, err
			}
			if o.key == "apply" {
				res.StateAfterApply = &t
			} else {
				res.StateAfterReplay = &t
			}
		}
	}
	if res.Bundle, err = treeSize(bdir); err != nil {
		return res, err
	}
	res.DirBytes = res.Bundle.Bytes
	if fi, err := os.Stat(barc); err == nil {
		res.ArchiveBytes = fi.Size()
	}
	res.DestinationCounts = Counts(dst.srv.Dump())
	res.HarnessRSS = selfPeakRSS()
	return res, nil
}

// profileSelf starts a CPU profile of the benchmark's own process (the
// simulators) for step name at size n, when cfg.ProfileDir is set, and
// returns the function that stops it.
func profileSelf(cfg Config, n int, name string) (func(), error) {
	if cfg.ProfileDir == "" {
		return func() {}, nil
	}
	path := filepath.Join(cfg.ProfileDir, fmt.Sprintf("%d-%s.server.cpu.pprof", n, strings.NewReplacer(" ", "-", "(", "", ")", "").Replace(name)))
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// fsyncText renders a fsync count, or n/a.
func fsyncText(n *int) string {
	if n == nil {
		return "n/a"
	}
	return strconv.Itoa(*n)
}

// selfPeakRSS is the benchmark process's VmHWM in MiB (0 if unknown).
func selfPeakRSS() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return float64(kb) / 1024
		}
	}
	return 0
}

// runStep runs the octobundle command args (a subcommand and its
// arguments) against sim, with cfg's concurrency, and measures it: the
// child's wall time, CPU and memory, and the requests sim received.
// label prefixes the progress line.
func runStep(cfg Config, label, name string, sim *simProc, args, env []string) (Step, error) {
	args = append([]string{args[0], "--server", sim.url, "--concurrency", fmt.Sprint(cfg.Concurrency)}, args[1:]...)
	sim.srv.ResetCounters()
	logf(cfg, "%s %s …", label, name)
	before := selfCPU()
	s, err := runChild(cfg, name, args, env)
	if err != nil {
		return s, err
	}
	s.ServerCPU = selfCPU() - before
	s.Timeline = timeline(s.started, s.Wall, sim.srv.Occupancy())
	s.Paths = sim.srv.Counters()
	s.Statuses = sim.srv.Statuses()
	s.Errors = sim.srv.ErrorResponses()
	s.Conflicts, s.ClientErrors, s.ServerErrors = octosim.StatusTotals(s.Statuses)
	s.Requests = map[string]int{}
	for k, v := range s.Paths {
		m, _, _ := strings.Cut(k, " ")
		s.Requests[m] += v
		s.Total += v
	}
	s.Bound = float64(s.Total) * cfg.Latency.Seconds() / float64(cfg.Concurrency)
	if s.Bound > 0 {
		s.Ratio = s.Wall / s.Bound
	}
	return s, nil
}

// Counts counts an instance's entities by collection (space collections
// only, summed over spaces).
func Counts(inst *octosim.Instance) map[string]int {
	out := map[string]int{}
	for _, sp := range inst.Spaces {
		for coll, es := range sp.Collections {
			out[coll] += len(es)
		}
	}
	return out
}

// selfCPU is the benchmark process's own CPU time so far, in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// treeSize measures the folder dir.
func treeSize(dir string) (Tree, error) {
	var t Tree
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			t.DiskBytes += st.Blocks * 512
		}
		if !d.IsDir() {
			t.Files++
			t.Bytes += fi.Size()
		}
		return nil
	})
	return t, err
}

// WriteJSON writes rep (a Report, or fault results) as indented JSON to path.
func WriteJSON(path string, rep any) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
