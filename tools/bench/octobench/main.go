// Command octobench runs the scale benchmark (package tools/bench): it
// builds octobundle, measures export, plan, apply and replay against
// generated instances served with latency, prints the Markdown tables and
// writes the JSON report. It fails when the simulator answered a 409 that
// was not injected (a conflict octobundle caused itself), when a step's
// peak RSS reached -max-rss-mib, or when the replay wrote.
//
//	go run ./tools/bench/octobench -n 125,250,500 -json docs/bench/bench.json -md docs/bench/bench.md
//	go run ./tools/bench/octobench -n 10000 -steps export,apply,replay -max-rss-mib 1024 -json docs/bench/bench-huge.json
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/octobundle/octobundle/tools/bench"
	"github.com/octobundle/octobundle/tools/octosim"
)

func main() {
	bench.ShimMain()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "octobench:", err)
		os.Exit(1)
	}
}

func run() error {
	sizes := flag.String("n", "125,250,500", "comma-separated project counts")
	latency := flag.Duration("latency", 20*time.Millisecond, "latency per request")
	conc := flag.Int("concurrency", 8, "octobundle --concurrency")
	jsonOut := flag.String("json", "", "write the JSON report to this file")
	mdOut := flag.String("md", "", "also write the Markdown tables to this file")
	steps := flag.String("steps", strings.Join(bench.StepKeys, ","), "comma-separated steps to measure, of: "+strings.Join(bench.StepKeys, ", "))
	maxRSS := flag.Float64("max-rss-mib", 0, "fail when a step's peak RSS reaches this many MiB (0: no limit)")
	syncs := flag.String("fsyncs", "auto", "how to count each step's fsyncs: perf (perf stat, syscall tracepoints), strace, TOOL:PATH, auto (perf, else strace) or off")
	bin := flag.String("bin", "", "octobundle binary (default: build ./cmd/octobundle)")
	work := flag.String("work", "", "work directory (default: a temporary one, removed)")
	errRate := flag.Float64("error-rate", 0, "during apply: fraction of requests answered 503")
	rlRate := flag.Float64("rate-limit-rate", 0, "during apply: fraction of requests answered 429")
	dropRate := flag.Float64("drop-rate", 0, "during apply: fraction of connections dropped before handling")
	dropAfter := flag.Float64("drop-after-handling-rate", 0, "during apply: fraction of connections dropped after handling")
	profile := flag.String("profile", "", "write CPU and allocation profiles of every step to this directory, and CPU profiles of the simulators (this process) during each step and the setup (N-STEP.server.cpu.pprof)")
	reqLog := flag.String("request-log", "", "write the simulators' request lines (JSON: method, path, status, end time, duration) to this file")
	flag.Parse()

	var ns []int
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return fmt.Errorf("-n: %q is not a positive number", f)
		}
		ns = append(ns, n)
	}
	stepKeys := strings.Split(*steps, ",")
	for i := range stepKeys {
		stepKeys[i] = strings.TrimSpace(stepKeys[i])
	}
	if err := bench.CheckSteps(stepKeys); err != nil {
		return fmt.Errorf("-steps: %w", err)
	}
	counter, ok, why := bench.FindSyncCounter(*syncs)
	fsyncs := counter.String()
	var counterp *bench.SyncCounter
	if ok {
		counterp = &counter
	} else {
		fsyncs = "n/a: " + why
		fmt.Fprintln(os.Stderr, "octobench: fsyncs are not counted:", why)
	}
	dir := *work
	if dir == "" {
		d, err := os.MkdirTemp("", "octobench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if *bin == "" {
		*bin = filepath.Join(dir, "octobundle")
		build := exec.Command("go", "build", "-o", *bin, "./cmd/octobundle")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
	}
	rep := bench.Report{
		Date: time.Now().UTC().Format(time.RFC3339), Latency: float64(*latency) / float64(time.Millisecond),
		Concurrency: *conc, CPUs: runtime.NumCPU(), Fsyncs: fsyncs, MaxRSS: *maxRSS,
	}
	cfg := bench.Config{
		Binary: *bin, Sizes: ns, Latency: *latency, Concurrency: *conc, WorkDir: dir, Log: os.Stderr, ProfileDir: *profile,
		Steps: stepKeys, SyncCounter: counterp,
		Faults: octosim.Faults{ErrorRate: *errRate, RateLimitRate: *rlRate, DropRate: *dropRate,
			DropAfterHandlingRate: *dropAfter, Seed: 1, RetryAfter: time.Second},
	}
	if *reqLog != "" {
		f, err := os.Create(*reqLog)
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		defer func() {
			if err := w.Flush(); err != nil {
				fmt.Fprintln(os.Stderr, "octobench: request log:", err)
			}
			f.Close()
		}()
		cfg.RequestLog = w
	}
	if *errRate > 0 || *rlRate > 0 || *dropRate > 0 || *dropAfter > 0 {
		// The fault benchmark: apply under faults against a fault-free apply.
		var all []bench.FaultResult
		var md strings.Builder
		var violations []string
		fmt.Fprintf(&md, "latency %.0f ms, concurrency %d, %d CPUs, %s; fsyncs: %s\n\n", rep.Latency, rep.Concurrency, rep.CPUs, rep.Date, rep.Fsyncs)
		for _, n := range ns {
			r, err := bench.RunFaults(cfg, n)
			all = append(all, r)
			if err != nil {
				return err
			}
			md.WriteString(bench.FaultTable(r))
			violations = append(violations, bench.FaultViolations(r)...)
		}
		fmt.Print(md.String())
		if err := write(*jsonOut, *mdOut, all, md.String()); err != nil {
			return err
		}
		return fail(violations)
	}
	res, err := bench.Run(cfg)
	rep.Results = res
	if err != nil {
		// What was measured is still shown, to see what went wrong.
		fmt.Print(bench.Table(rep))
		return err
	}
	table := bench.Table(rep)
	fmt.Print(table)
	for _, g := range bench.GrowthFlags(rep) {
		fmt.Fprintln(os.Stderr, "octobench: growth beyond the linear bound:", g)
	}
	if err := write(*jsonOut, *mdOut, rep, table); err != nil {
		return err
	}
	return fail(bench.Violations(rep))
}

// write writes the JSON report and the Markdown tables to the files
// named (none when empty). A failing run is written too, so that its
// counters can be read.
func write(jsonOut, mdOut string, rep any, md string) error {
	if jsonOut != "" {
		if err := bench.WriteJSON(jsonOut, rep); err != nil {
			return err
		}
	}
	if mdOut != "" {
		if err := os.MkdirAll(filepath.Dir(mdOut), 0o755); err != nil {
			return err
		}
		return os.WriteFile(mdOut, []byte(md), 0o644)
	}
	return nil
}

// fail turns violations into the run's error.
func fail(violations []string) error {
	if len(violations) == 0 {
		return nil
	}
	return fmt.Errorf("%d violation(s):\n  %s", len(violations), strings.Join(violations, "\n  "))
}
