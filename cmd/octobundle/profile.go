package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/octobundle/octobundle/internal/gctune"
)

// Profiling for the scale benchmark (tools/bench): with
// OCTOBUNDLE_CPUPROFILE=FILE the process writes a CPU profile to FILE, with
// OCTOBUNDLE_MEMPROFILE=FILE a heap profile (allocations and in-use) at
// exit, and with OCTOBUNDLE_PEAK_RSS_FILE=FILE it writes its peak resident
// set size in bytes to FILE at exit (Linux only: VmHWM of /proc/self/status).
// None is a flag: they are for developers, not users.
//
// The benchmark needs the last one because the rusage of a child process
// is no measure of it on Linux: the child is forked sharing its parent's
// memory, and the kernel carries the high-water mark from before the exec
// into ru_maxrss, so a small octobundle run measured from a benchmark that
// holds two simulated instances reports the benchmark's size. VmHWM is the
// process's own address space since the exec.
const (
	envCPUProfile = "OCTOBUNDLE_CPUPROFILE"
	envMemProfile = "OCTOBUNDLE_MEMPROFILE"
	envPeakRSS    = "OCTOBUNDLE_PEAK_RSS_FILE"
)

// startProfiles starts the profiles the environment asks for and returns
// the function that writes them.
func startProfiles(stderr io.Writer) (stop func()) {
	var stops []func()
	if path := os.Getenv(envCPUProfile); path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "octobundle: %s: %v\n", envCPUProfile, err)
		} else {
			stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
		}
	}
	if path := os.Getenv(envMemProfile); path != "" {
		runtime.MemProfileRate = 64 << 10
		stops = append(stops, func() {
			f, err := os.Create(path)
			if err == nil {
				err = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
			if err != nil {
				fmt.Fprintf(stderr, "octobundle: %s: %v\n", envMemProfile, err)
			}
		})
	}
	if path := os.Getenv(envPeakRSS); path != "" {
		stops = append(stops, func() {
			if err := writePeakRSS(path); err != nil {
				fmt.Fprintf(stderr, "octobundle: %s: %v\n", envPeakRSS, err)
			}
		})
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}

// memoryLimit is the floor of octobundle's soft memory limit (GOMEMLIMIT),
// which internal/gctune keeps at one and a half times the live heap above
// it, up to memoryCeiling. Documents are held packed (internal/jsonv), so what stays live is
// small — the name/ID index and compressed JSON, about 50 MB at 500
// projects and 150 MB at 2,000 — and nearly everything allocated is a
// document decoded for one entity and dropped. With Go's default GOGC of
// 100 the heap may reach twice what is live; the floor caps bursts above
// that for instances up to about 2,000 projects (at 2,000 projects a plan
// took 34 s of CPU under a fixed 256 MiB, 27 s under 320 MiB with a peak
// of 331 MiB, 25 s under 384 MiB with a peak of 394 MiB). A fixed limit
// close to or under the live heap makes the collector run after every few
// megabytes allocated, each time marking the whole live heap, and CPU
// grows with the square of the instance (export at 5,000 projects: 6.3
// times the CPU of 2,000 under a fixed 320 MiB); the limit that follows
// the live heap keeps it linear. It is soft: a heap that needs more gets
// it. GOMEMLIMIT in the environment overrides it.
const memoryLimit = 320 << 20

// memoryCeiling bounds the soft memory limit that follows the live heap:
// past it the heap may grow by a tenth of what is live instead of a half,
// so the collector runs more often and the process stays under 1 GiB up to
// about 800 MB live. An apply of 10,000 projects under 1.5 times the live
// heap peaked at 1,036 MiB (make bench-huge, 2026-12-07); what is not
// heap (the binary, stacks, runtime) is most of the last 100 MiB.
const memoryCeiling = 896 << 20

// gcPercent is octobundle's GOGC: a collection when the heap has grown by
// twice what the last one found live, instead of Go's default of once.
// Under the soft memory limit above the heap still stays within bounds:
// at 2,000 projects the limit, not GOGC, decides (a plan against an empty
// destination peaked at 318 MiB instead of 297), while the collector runs
// half as often — 102 collections instead of 216, 3.2 s of GC CPU instead
// of 8.5 s, and the whole plan 13.8 s of CPU instead of 18.5 s (gctrace,
// 2026-12-07). At 500 projects (about 35 MB live) the heap may reach
// about 105 MB instead of 70.
const gcPercent = 200

// tuneGC starts the soft memory limit that follows the live heap, unless
// GOMEMLIMIT is set, and sets GOGC to gcPercent, unless GOGC is set.
func tuneGC() {
	if os.Getenv("GOMEMLIMIT") == "" {
		gctune.Start(memoryLimit, memoryCeiling)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

// writePeakRSS writes the process's peak resident set size in bytes
// (VmHWM) to path.
func writePeakRSS(path string) error {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	n, err := peakRSS(string(status))
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(strconv.FormatInt(n, 10)+"\n"), 0o644)
}

// peakRSS reads VmHWM from the text of /proc/self/status, in bytes.
func peakRSS(status string) (int64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("/proc/self/status: VmHWM is %q", strings.TrimSpace(rest))
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/self/status: VmHWM: %w", err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("/proc/self/status has no VmHWM")
}
