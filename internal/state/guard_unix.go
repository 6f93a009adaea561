//go:build unix

package state

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// guard takes an exclusive OS lock (flock(2)) on the file path, creating
// it if needed, waiting while another process holds it; the returned
// function releases it. The kernel releases it when the process dies.
func guard(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, &os.PathError{Op: "flock", Path: path, Err: err}
	}
	return func() { f.Close() }, nil // closing releases the lock
}
