//go:build !unix && !windows

package state

import (
	"errors"
	"io/fs"
	"os"
	"time"
)

// guard is the portable fallback where no OS file lock is available: a
// guard file created exclusively and removed on release. A guard left by
// a killed process is broken after guardStale.
func guard(path string) (func(), error) {
	path += ".held"
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if time.Since(start) > guardStale {
			os.Remove(path)
			start = time.Now()
		}
	}
}

// guardStale is how long the fallback guard waits before breaking a
// guard file whose holder must have died (it is held for milliseconds).
const guardStale = 10 * time.Second
