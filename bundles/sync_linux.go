//go:build linux

package bundles

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncEach says whether each file of a new directory bundle is synced as
// it is written. Not on Linux: the tree is flushed at once by syncTree,
// one syncfs(2) instead of an fsync per file (thousands of them, each a
// wait for the disk on a real one).
const syncEach = false

// syncTree flushes everything written below root (the filesystem holding
// it) to the disk.
func syncTree(root *os.Root) error {
	f, err := root.Open(".")
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
