//go:build !linux

package bundles

import "os"

// beneath is Linux's one-call path resolution (see stage_linux.go); other
// systems write through os.Root.
type beneath struct{}

func openBeneath(string) *beneath { return nil }

func (b *beneath) close() {}

func (b *beneath) create(string) (*os.File, error) { return nil, errUnsupported }

func (b *beneath) mkdir(string) error { return errUnsupported }

// umaskClears reports whether a chmod is needed after creating with mode:
// always, where the umask cannot be read without changing it.
func umaskClears(os.FileMode) bool { return true }

// exchange is not available: the caller renames twice.
func exchange(string, string) error { return errUnsupported }
