package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
)

// Profiling for the scale benchmark (internal/bench): with
// OCTOBUNDLE_CPUPROFILE=FILE the process writes a CPU profile to FILE, with
// OCTOBUNDLE_MEMPROFILE=FILE a heap profile (allocations and in-use) at
// exit. Neither is a flag: they are for developers, not users.
const (
	envCPUProfile = "OCTOBUNDLE_CPUPROFILE"
	envMemProfile = "OCTOBUNDLE_MEMPROFILE"
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
	return func() {
		for _, s := range stops {
			s()
		}
	}
}

// memoryLimit is octobundle's default soft memory limit (GOMEMLIMIT).
// Documents are held packed (internal/jsonv), so what stays live is
// small — the name/ID index and compressed JSON — and nearly everything
// allocated is a document decoded for one entity and dropped. With Go's
// default GOGC of 100 alone, bursts of such garbage (reading a bundle on
// every core, a page of a large collection) set the peak RSS; the limit
// makes the collector run early only when the heap nears it, so it costs
// no CPU on small instances and bounds the peak on large ones. It is soft:
// a heap that needs more gets it (the collector then uses at most about
// half the CPU). GOMEMLIMIT in the environment overrides it, GOGC too.
const memoryLimit = 256 << 20

// tuneGC sets the soft memory limit unless GOMEMLIMIT is set.
func tuneGC() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}
