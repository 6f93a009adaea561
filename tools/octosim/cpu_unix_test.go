//go:build unix

package octosim

import (
	"syscall"
	"time"
)

// processCPU is the process's CPU time so far (user and system): what
// the benchmarks report, as the wall time on a shared machine is noise.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
