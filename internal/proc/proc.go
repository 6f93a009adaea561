// Package proc answers questions about processes on this host: whether a
// process is still running, for the state lock's stale takeover and for
// cleaning what an interrupted bundle write left behind.
package proc

import (
	"errors"
	"os"
	"runtime"
	"syscall"
)

// Alive reports whether a process with the pid exists on this host.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	if runtime.GOOS == "windows" {
		// FindProcess opens the process: it exists. (Signal cannot probe
		// it there.)
		_ = p.Release()
		return true
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}
