package main

import (
	"math"
	"runtime/debug"
	"strings"
	"testing"
)

func TestPeakRSS(t *testing.T) {
	for _, tc := range []struct {
		name, status string
		want         int64
		err          string
	}{
		{"linux status", "Name:\toctobundle\nVmPeak:\t 1234 kB\nVmHWM:\t   20480 kB\nVmRSS:\t 1000 kB\n", 20480 << 10, ""},
		{"no VmHWM", "Name:\toctobundle\n", 0, "no VmHWM"},
		{"odd unit", "VmHWM:\t 12 MB\n", 0, `VmHWM is "12 MB"`},
		{"not a number", "VmHWM:\t x kB\n", 0, "VmHWM"},
	} {
		got, err := peakRSS(tc.status)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %d, %v; want %d", tc.name, got, err, tc.want)
		}
	}
}

// TestTuneGC: octobundle's GOGC is gcPercent unless GOGC is set, and its
// soft memory limit at least the floor unless GOMEMLIMIT is set. (The test
// process keeps the limit that follows its live heap afterwards.)
func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	tests := []struct {
		name, gogc, memlimit string
		wantPercent          int
		wantLimitAtLeast     int64
	}{
		// First: once started, the limit follows the live heap for the
		// rest of the process, and "left alone" could not be told.
		{"GOMEMLIMIT set", "", "1GiB", gcPercent, 0},
		{"defaults", "", "", gcPercent, memoryLimit},
		{"GOGC set", "50", "", 50, memoryLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GOGC", tt.gogc)
			t.Setenv("GOMEMLIMIT", tt.memlimit)
			debug.SetGCPercent(50) // what the runtime read from GOGC=50
			debug.SetMemoryLimit(math.MaxInt64)
			tuneGC()
			if got := debug.SetGCPercent(-1); got != tt.wantPercent {
				t.Errorf("GOGC %d, want %d", got, tt.wantPercent)
			}
			debug.SetGCPercent(100)
			got := debug.SetMemoryLimit(-1)
			if tt.wantLimitAtLeast == 0 && got != math.MaxInt64 {
				t.Errorf("memory limit %d, want it left alone", got)
			}
			if got < tt.wantLimitAtLeast {
				t.Errorf("memory limit %d, want at least %d", got, tt.wantLimitAtLeast)
			}
		})
	}
}
