//go:build !linux

package bundles

import "os"

// syncEach says whether each file of a new directory bundle is synced as
// it is written: yes where no call flushes a whole tree.
const syncEach = true

// syncTree has nothing left to flush: every file was synced.
func syncTree(*os.Root) error { return nil }
