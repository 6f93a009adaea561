// Package bench is the scale benchmark of issue 11: it generates instances
// (tools/gen), serves them from simulators (tools/octosim) that add a
// fixed latency to every request, and runs the octobundle binary as a
// separate process for export, plan and apply, recording wall time, the
// simulator's request counters, the latency bound, the child's peak RSS and
// CPU time, and the bundle sizes. The command tools/bench/octobench
// prints the table and writes the JSON (`make bench`).
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
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
	// step (N-STEP.cpu.pprof, N-STEP.mem.pprof).
	ProfileDir string
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
	// SysCPU is the system (kernel) part of CPU: opening, writing and
	// syncing files, sockets. It varies more from run to run than the
	// user part, with the file system's state.
	SysCPU float64 `json:"sys_cpu_s"`
	// ServerCPU is the CPU time (user plus system, seconds) the benchmark's
	// own process used during the step: the simulators serving octobundle's
	// requests, on the same cores. On 2 cores, CPU + ServerCPU close to
	// 2 × Wall means the step was bound by the machine, not the latency.
	ServerCPU float64 `json:"server_cpu_s"`
	// Faulted is the number of faults the simulator injected during the
	// step (each one costs the client a retry).
	Faulted int `json:"faulted,omitempty"`
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
	// ArchiveBytes is the size of the .tar.zst bundle.
	ArchiveBytes int64 `json:"bundle_archive_bytes"`
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
	// Results are per instance size.
	Results []Result `json:"results"`
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
	inst := gen.Generate(gen.Scale(n))
	for coll, es := range inst.Spaces[0].Collections {
		res.Entities[coll] = len(es)
	}
	lat := octosim.Faults{Latency: cfg.Latency}
	src, err := startSim(octosim.Options{Seed: inst, Faults: lat})
	if err != nil {
		return res, err
	}
	defer src.stop()
	inst = nil
	dst, err := startSim(octosim.Options{IDOffset: 1_000_000, Faults: lat})
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
		name   string
		sim    *simProc
		args   []string
		faults bool
		codes  []int
	}
	ops := []op{
		{"export (directory)", src, []string{"export", "--out", bdir}, false, []int{0}},
		{"export (archive)", src, []string{"export", "--out", barc}, false, []int{0}},
		{"plan (empty destination)", dst, []string{"plan", "--state", st, bdir}, false, []int{0}},
		{"apply (empty destination)", dst, []string{"apply", "--state", st, bdir}, true, []int{0}},
		{"plan (up to date)", dst, []string{"plan", "--state", st, bdir}, false, []int{0}},
		{"replay", dst, []string{"apply", "--state", st, bdir}, false, []int{0}},
	}
	for _, o := range ops {
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
		s, err := runStep(cfg, fmt.Sprintf("N=%d", n), o.name, o.sim, o.args, env)
		if o.faults {
			o.sim.srv.SetFaults(lat)
		}
		if err != nil {
			return res, err
		}
		s.Faulted = sum(o.sim.srv.FaultsInjected()) - faults0
		logf(cfg, "N=%d %s: %.2fs, %d requests %v, ratio %.2f, %.0f MiB, CPU %.2fs, server CPU %.2fs", n, o.name, s.Wall, s.Total, s.Requests, s.Ratio, s.PeakRSS, s.CPU, s.ServerCPU)
		if o.name == "replay" && s.Requests["POST"]+s.Requests["PUT"]+s.Requests["DELETE"] > 0 {
			return res, fmt.Errorf("replay wrote: %v", s.Requests)
		}
		res.Steps = append(res.Steps, s)
	}
	if res.DirBytes, err = dirSize(bdir); err != nil {
		return res, err
	}
	fi, err := os.Stat(barc)
	if err != nil {
		return res, err
	}
	res.ArchiveBytes = fi.Size()
	res.DestinationCounts = Counts(dst.srv.Dump())
	return res, nil
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
	s.Paths = sim.srv.Counters()
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

func runChild(cfg Config, name string, args, env []string) (Step, error) {
	rssFile, err := os.CreateTemp("", "octobench-rss-*")
	if err != nil {
		return Step{}, err
	}
	rssFile.Close()
	defer os.Remove(rssFile.Name())
	cmd := exec.Command(cfg.Binary, args...)
	cmd.Env = append(os.Environ(), "OCTOPUS_API_KEY="+octosim.DefaultAPIKey, "OCTOBUNDLE_LOG_LEVEL=warn", "OCTOBUNDLE_PEAK_RSS_FILE="+rssFile.Name())
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return Step{}, fmt.Errorf("%s: octobundle %s: %v\n%s", name, strings.Join(args, " "), err, tail(stderr.String(), 2000))
	}
	s := Step{Name: name, Wall: wall.Seconds()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.PeakRSS = float64(ru.Maxrss) / 1024 // kB on Linux
		s.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
		s.SysCPU = time.Duration(ru.Stime.Nano()).Seconds()
	}
	if data, err := os.ReadFile(rssFile.Name()); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64); err == nil && n > 0 {
			s.PeakRSS = float64(n) / (1 << 20)
		}
	}
	return s, nil
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

func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			total += fi.Size()
		}
		return err
	})
	return total, err
}

// Table renders results as a Markdown table.
func Table(rep Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "latency %.0f ms, concurrency %d, %d CPUs, %s\n\n", rep.Latency, rep.Concurrency, rep.CPUs, rep.Date)
	b.WriteString("| N | operation | GET | POST | PUT | DELETE | requests | wall s | bound s | ratio | CPU s | of which sys s | server CPU s | peak RSS MiB | faults |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rep.Results {
		for _, s := range r.Steps {
			fmt.Fprintf(&b, "| %d | %s | %d | %d | %d | %d | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f | %d |\n",
				r.N, s.Name, s.Requests["GET"], s.Requests["POST"], s.Requests["PUT"], s.Requests["DELETE"], s.Total,
				s.Wall, s.Bound, s.Ratio, s.CPU, s.SysCPU, s.ServerCPU, s.PeakRSS, s.Faulted)
		}
	}
	b.WriteString("\n| N | bundle directory bytes | archive bytes | archive ÷ directory |\n|---|---|---|---|\n")
	for _, r := range rep.Results {
		fmt.Fprintf(&b, "| %d | %d | %d | %.2f %% |\n", r.N, r.DirBytes, r.ArchiveBytes, 100*float64(r.ArchiveBytes)/float64(max(r.DirBytes, 1)))
	}
	if len(rep.Results) > 1 {
		b.WriteString("\n| growth | operation | requests | wall | CPU | peak RSS |\n|---|---|---|---|---|---|\n")
		sorted := append([]Result(nil), rep.Results...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].N < sorted[j].N })
		for i := 1; i < len(sorted); i++ {
			a, z := sorted[i-1], sorted[i]
			for k := range z.Steps {
				if k >= len(a.Steps) {
					break
				}
				sa, sz := a.Steps[k], z.Steps[k]
				fmt.Fprintf(&b, "| %d→%d | %s | %.2f× | %.2f× | %.2f× | %.2f× |\n", a.N, z.N, sz.Name,
					div(float64(sz.Total), float64(sa.Total)), div(sz.Wall, sa.Wall), div(sz.CPU, sa.CPU), div(sz.PeakRSS, sa.PeakRSS))
			}
		}
	}
	return b.String()
}

func div(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
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
