//go:build linux

package bundles

import (
	"bufio"
	"errors"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// beneath resolves a path below a directory in one system call, without
// leaving the directory or following a link (openat2(2), Linux 5.6), so
// that writing a bundle of tens of thousands of files costs one open each
// instead of one per path component (os.Root's walk). The kernel time of
// those walks grew faster than the bundle.
type beneath struct {
	dir *os.File
}

// noOpenat2 is set once openat2 turned out to be unavailable (an old
// kernel, or a seccomp filter that refuses it).
var noOpenat2 atomic.Bool

func openBeneath(dir string) *beneath {
	if noOpenat2.Load() {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil
	}
	return &beneath{dir: f}
}

func (b *beneath) close() {
	if b != nil {
		b.dir.Close()
	}
}

const resolveBeneath = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// open opens p below the directory with flags, mode; errUnsupported when
// openat2 is not available.
func (b *beneath) open(p string, flags int, mode uint32) (int, error) {
	if noOpenat2.Load() {
		return -1, errUnsupported
	}
	fd, err := unix.Openat2(int(b.dir.Fd()), p, &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Mode: uint64(mode), Resolve: resolveBeneath})
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		noOpenat2.Store(true)
		return -1, errUnsupported
	}
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: p, Err: err}
	}
	return fd, nil
}

// create creates or truncates the file p for writing.
func (b *beneath) create(p string) (*os.File, error) {
	fd, err := b.open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, fileMode)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), p), nil
}

// mkdir makes the directory d (its parent exists); an existing one is an
// fs.ErrExist error.
func (b *beneath) mkdir(d string) error {
	parent := int(b.dir.Fd())
	if pd := path.Dir(d); pd != "." {
		fd, err := b.open(pd, unix.O_PATH|unix.O_DIRECTORY, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		parent = fd
	}
	if err := unix.Mkdirat(parent, path.Base(d), dirMode); err != nil {
		return &os.PathError{Op: "mkdir", Path: d, Err: err}
	}
	return nil
}

// umaskClears reports whether the process's umask clears any bit of mode,
// so that a file or directory created with mode needs a chmod to have it.
// It reads the umask from /proc (Linux 4.7); unknown means yes.
func umaskClears(mode os.FileMode) bool {
	mask, ok := umask()
	return !ok || uint32(mode)&mask != 0
}

var umask = sync.OnceValues(readUmask)

func readUmask() (uint32, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Umask:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			return uint32(m), err == nil
		}
	}
	return 0, false
}

// exchange swaps the directories a and b in one step (renameat2
// RENAME_EXCHANGE, Linux 3.15); errUnsupported where the file system or
// kernel cannot.
func exchange(a, b string) error {
	err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EPERM) {
		return errUnsupported
	}
	if err != nil {
		return &os.LinkError{Op: "exchange", Old: a, New: b, Err: err}
	}
	return nil
}
