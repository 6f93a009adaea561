package main

import (
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
