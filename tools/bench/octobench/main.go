// Command octobench runs the scale benchmark (package tools/bench): it
// builds octobundle, measures export, plan, apply and replay against
// generated instances served with latency, prints a Markdown table and
// writes the JSON report.
//
//	go run ./tools/bench/octobench -n 125,250,500 -json docs/bench/bench.json
package main

import (
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
	bin := flag.String("bin", "", "octobundle binary (default: build ./cmd/octobundle)")
	work := flag.String("work", "", "work directory (default: a temporary one, removed)")
	errRate := flag.Float64("error-rate", 0, "during apply: fraction of requests answered 503")
	rlRate := flag.Float64("rate-limit-rate", 0, "during apply: fraction of requests answered 429")
	dropRate := flag.Float64("drop-rate", 0, "during apply: fraction of connections dropped before handling")
	dropAfter := flag.Float64("drop-after-handling-rate", 0, "during apply: fraction of connections dropped after handling")
	profile := flag.String("profile", "", "write CPU and allocation profiles of every step to this directory")
	flag.Parse()

	var ns []int
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return fmt.Errorf("-n: %q is not a positive number", f)
		}
		ns = append(ns, n)
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
		Concurrency: *conc, CPUs: runtime.NumCPU(),
	}
	cfg := bench.Config{
		Binary: *bin, Sizes: ns, Latency: *latency, Concurrency: *conc, WorkDir: dir, Log: os.Stderr, ProfileDir: *profile,
		Faults: octosim.Faults{ErrorRate: *errRate, RateLimitRate: *rlRate, DropRate: *dropRate,
			DropAfterHandlingRate: *dropAfter, Seed: 1, RetryAfter: time.Second},
	}
	if *errRate > 0 || *rlRate > 0 || *dropRate > 0 || *dropAfter > 0 {
		// The fault benchmark: apply under faults against a fault-free apply.
		var all []bench.FaultResult
		failed := false
		for _, n := range ns {
			r, err := bench.RunFaults(cfg, n)
			all = append(all, r)
			if err != nil {
				return err
			}
			fmt.Print(bench.FaultTable(r))
			if len(r.Differences) > 0 || len(r.Duplicates) > 0 || r.Replay.Requests["POST"]+r.Replay.Requests["PUT"]+r.Replay.Requests["DELETE"] > 0 {
				failed = true
			}
		}
		if *jsonOut != "" {
			if err := bench.WriteJSON(*jsonOut, all); err != nil {
				return err
			}
		}
		if failed {
			return fmt.Errorf("under faults the destination differs, holds duplicates, or the replay wrote")
		}
		return nil
	}
	res, err := bench.Run(cfg)
	rep.Results = res
	if err != nil {
		return err
	}
	fmt.Print(bench.Table(rep))
	if *jsonOut != "" {
		return bench.WriteJSON(*jsonOut, rep)
	}
	return nil
}
