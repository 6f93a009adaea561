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

// gcPercent is octobundle's default GOGC. The heap holds the bundle and the
// destination's documents as decoded JSON; with Go's default of 100 the
// heap may grow to twice what is live before a collection, and peak RSS
// followed. 50 measured 25 % less peak RSS for about 10 % more CPU (make
// bench, N = 125). GOGC in the environment overrides it.
const gcPercent = 50

// tuneGC sets the collector's target unless GOGC is set.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}
