package bundles

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/octobundle/octobundle/internal/proc"
)

// Temporary siblings. A bundle written to NAME goes first into a hidden
// sibling ".NAME.tmp-HOST-PID-RANDOM" (a directory, or the archive file),
// where HOST is 8 hex digits of the sha256 of the host name and PID the
// writing process: the marker by which a later run on NAME recognises a
// sibling left by a process that died (cleanStale). Replacing an existing
// directory moves the old one aside as ".NAME.old-HOST-PID-RANDOM" where
// the two directories cannot be exchanged in one step.
const (
	tmpInfix = ".tmp-"
	oldInfix = ".old-"
)

// siblingPattern is the os.MkdirTemp / os.CreateTemp pattern of a hidden
// sibling of target with infix (tmpInfix or oldInfix).
func siblingPattern(target, infix string) string {
	return "." + filepath.Base(target) + infix + hostMark() + "-" + strconv.Itoa(os.Getpid()) + "-*"
}

// hostMark is the host part of a sibling's marker.
func hostMark() string {
	h, _ := os.Hostname()
	sum := sha256.Sum256([]byte(h))
	return hex.EncodeToString(sum[:4])
}

// staleSibling reports whether name, an entry beside target, is a hidden
// sibling of target that a process on this host wrote and that process
// is gone; infix says which kind.
func staleSibling(target, name string) (infix string, ok bool) {
	base := "." + filepath.Base(target)
	for _, in := range []string{tmpInfix, oldInfix} {
		rest, found := strings.CutPrefix(name, base+in)
		if !found {
			continue
		}
		parts := strings.SplitN(rest, "-", 3)
		if len(parts) != 3 || parts[0] != hostMark() {
			return "", false
		}
		pid, err := strconv.Atoi(parts[1])
		if err != nil || pid <= 0 || pid == os.Getpid() || proc.Alive(pid) {
			return "", false
		}
		return in, true
	}
	return "", false
}

// cleanStale removes what an interrupted write to target left beside it:
// hidden siblings carrying the marker of a process on this host that is
// gone (see siblingPattern). An archive's temporary file is removed; a
// directory is reconciled with target (reconcile): files of the bundle
// layout and links to target's files go, anything else is moved back
// into target, or left where it is (with a warning) when target has a
// file of that name. An old bundle set aside while target was replaced
// is renamed back when target is missing. Nothing it did not write is
// deleted.
func cleanStale(target string) {
	parent := filepath.Dir(filepath.Clean(target))
	ents, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range ents {
		infix, ok := staleSibling(target, e.Name())
		if !ok {
			continue
		}
		p := filepath.Join(parent, e.Name())
		if !e.IsDir() {
			if e.Type().IsRegular() && os.Remove(p) == nil {
				slog.Info("removed the temporary file of an interrupted write", "file", p)
			}
			continue
		}
		if infix == oldInfix {
			if _, err := os.Lstat(target); errors.Is(err, fs.ErrNotExist) {
				if os.Rename(p, target) == nil {
					slog.Warn("restored the bundle an interrupted write had set aside", "bundle", target)
					continue
				}
			}
		}
		if left := reconcile(p, target); len(left) > 0 {
			slog.Warn("an interrupted write left files that are not octobundle's; they are kept", "dir", p, "files", left)
		} else {
			slog.Info("removed the temporary directory of an interrupted write", "dir", p)
		}
	}
}

// ours reports whether the bundle path p (in a temporary or set-aside
// directory) is a file octobundle wrote: a file of the bundle layout, the
// .gitattributes it writes, or a temporary file of an in-place write.
func ours(p string) bool {
	b := path.Base(p)
	return IsLayoutFile(p) || p == GitAttributesFile || (strings.HasPrefix(b, ".") && strings.HasSuffix(b, tmpSuffix))
}

// reconcile empties dir, a temporary or set-aside sibling of target, of
// what may go: files octobundle wrote (ours) and files that are links of
// the same file at the same path in target (carried by carryForeign).
// Any other file or link is moved to its path in target if that is free;
// the rest is left and returned (dir then stays). Directories left empty
// are removed.
func reconcile(dir, target string) (left []string) {
	var files, dirs []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			dirs = append(dirs, rel)
		} else {
			files = append(files, rel)
		}
		return nil
	})
	for _, rel := range files {
		p, t := filepath.Join(dir, rel), filepath.Join(target, rel)
		pi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		ti, terr := os.Lstat(t)
		switch {
		case ours(filepath.ToSlash(rel)) && (terr != nil || !os.SameFile(pi, ti)):
			_ = os.Remove(p)
		case terr == nil && os.SameFile(pi, ti):
			_ = os.Remove(p) // a second link of target's file
		case terr == nil && sameSymlink(p, t, pi, ti):
			_ = os.Remove(p) // a copy of target's symbolic link
		case errors.Is(terr, fs.ErrNotExist) && os.MkdirAll(filepath.Dir(t), dirMode) == nil && os.Rename(p, t) == nil:
		default:
			left = append(left, filepath.ToSlash(rel))
		}
	}
	slices.SortFunc(dirs, func(a, b string) int { return len(b) - len(a) }) // deepest first
	for _, d := range dirs {
		_ = os.Remove(filepath.Join(dir, d)) // fails unless empty
	}
	if os.Remove(dir) != nil && len(left) == 0 {
		left = append(left, ".")
	}
	return left
}

// checkExisting checks that the existing directory target may be
// replaced by a bundle: no file of the bundle layout in it is a link or
// special file, and one with layout files has manifest.json (it holds a
// bundle, not someone else's files).
func checkExisting(target string) error {
	var stale string
	hasManifest := false
	err := filepath.WalkDir(target, func(fp string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(target, fp)
		p := filepath.ToSlash(rel)
		if p == "." {
			return nil
		}
		if Ignored(p) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !IsLayoutFile(p) {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: %s is not a regular file; refusing to write the bundle there", target, p)
		}
		if p == ManifestFile {
			hasManifest = true
		} else if stale == "" {
			stale = p
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !hasManifest && stale != "" {
		return fmt.Errorf("%s: holds files of the bundle layout (%s) but no %s; refusing to write a bundle over files octobundle did not write (choose a new or empty folder)", target, stale, ManifestFile)
	}
	return nil
}

// errCarry says a file of the existing directory could not be carried into
// the new one (a link refused, say); the caller falls back to updating the
// directory in place.
var errCarry = errors.New("cannot carry the folder's other files over")

// carryForeign makes the staged directory hold, besides the new bundle,
// every file of the existing directory target that is not octobundle's
// (.git, README, CI files, a .gitattributes of the user's): each as a hard
// link of the same file (a symbolic link as a copy of the link), and
// every empty directory, with its mode. The files stay where they are in
// target, so an interruption loses nothing.
func (s *stage) carryForeign() error {
	return filepath.WalkDir(s.target, func(fp string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.target, fp)
		p := filepath.ToSlash(rel)
		if p == "." {
			return nil
		}
		dst := filepath.Join(s.tmp, rel)
		if d.IsDir() {
			empty, err := isEmptyDir(fp)
			if err != nil || !empty {
				return err
			}
			return mkdirParentsLike(s.tmp, s.target, p)
		}
		if p != GitAttributesFile && ours(p) {
			if IsLayoutFile(p) && d.Type().IsRegular() {
				s.linkUnchanged(fp, dst)
			}
			return nil
		}
		if st, err := os.Lstat(dst); err == nil {
			if p == GitAttributesFile && st.Mode().IsRegular() {
				if err := os.Remove(dst); err != nil { // the user's is kept, never changed
					return err
				}
			} else {
				return fmt.Errorf("%s: %s is the bundle's and the folder's own", s.target, p)
			}
		}
		if err := mkdirParentsLike(s.tmp, s.target, path.Dir(p)); err != nil {
			return err
		}
		switch {
		case d.Type().IsRegular():
			if err := os.Link(fp, dst); err != nil {
				return fmt.Errorf("%w: %v", errCarry, err)
			}
		case d.Type()&fs.ModeSymlink != 0:
			to, err := os.Readlink(fp)
			if err == nil {
				err = os.Symlink(to, dst)
			}
			if err != nil {
				return fmt.Errorf("%w: %v", errCarry, err)
			}
		default:
			return fmt.Errorf("%w: %s is a special file", errCarry, p)
		}
		return nil
	})
}

func isEmptyDir(p string) (bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if len(names) == 0 && err != nil {
		return true, nil
	}
	return false, nil
}

// mkdirLike makes the directory dst, if missing, with the mode of src.
func mkdirLike(dst, src string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if err := os.Mkdir(dst, st.Mode().Perm()); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return os.Chmod(dst, st.Mode().Perm())
}

// mkdirParentsLike makes the directory d (a slash path) below root and its
// missing parents, each with the mode of the same directory below like.
func mkdirParentsLike(root, like, d string) error {
	if d == "." {
		return nil
	}
	dst := filepath.Join(root, filepath.FromSlash(d))
	if _, err := os.Lstat(dst); err == nil {
		return nil
	}
	if err := mkdirParentsLike(root, like, path.Dir(d)); err != nil {
		return err
	}
	return mkdirLike(dst, filepath.Join(like, filepath.FromSlash(d)))
}

// swapInto puts the finished stage in place of the existing directory
// target: both exchanged in one step where the system can (Linux's
// renameat2 RENAME_EXCHANGE), else target set aside as an old sibling and
// the stage renamed into place (an interruption between the two is
// repaired by the next run, see cleanStale). The old directory is then
// reconciled with the new one (reconcile): octobundle's files and the
// links carried over go; a file that appeared in the old directory since
// it was carried is moved into the new one.
func (s *stage) swapInto() error {
	old := s.tmp
	if err := exchange(s.tmp, s.target); errors.Is(err, errUnsupported) {
		aside, err := os.MkdirTemp(filepath.Dir(s.target), siblingPattern(s.target, oldInfix))
		if err != nil {
			return err
		}
		if err := os.Remove(aside); err != nil {
			return err
		}
		if err := os.Rename(s.target, aside); err != nil {
			return err
		}
		if err := os.Rename(s.tmp, s.target); err != nil {
			if rerr := os.Rename(aside, s.target); rerr != nil {
				return fmt.Errorf("%w; the old bundle is in %s", err, aside)
			}
			return err
		}
		old = aside
	} else if err != nil {
		return err
	}
	if left := reconcile(old, s.target); len(left) > 0 {
		slog.Warn("files changed in the bundle folder while it was written are kept beside it", "dir", old, "files", left)
	}
	return nil
}

// linkUnchanged replaces the staged file dst by a hard link of the
// existing directory's file src when both hold the same bytes, so that
// an unchanged file keeps its identity and modification time (git and
// editors see no change). Any failure keeps the staged file.
func (s *stage) linkUnchanged(src, dst string) {
	a, err := os.Lstat(src)
	if err != nil {
		return
	}
	b, err := os.Lstat(dst)
	if err != nil || !b.Mode().IsRegular() || a.Size() != b.Size() || a.Mode().Perm() != b.Mode().Perm() || os.SameFile(a, b) {
		return
	}
	x, err := os.ReadFile(src)
	if err != nil {
		return
	}
	y, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(x, y) {
		return
	}
	// A hidden name ending in tmpSuffix: ours, should a kill leave it.
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".link"+tmpSuffix)
	if os.Link(src, tmp) != nil {
		return
	}
	if os.Rename(tmp, dst) != nil {
		os.Remove(tmp)
	}
}

// sameSymlink reports whether a and b (with their Lstat infos) are both
// symbolic links to the same place.
func sameSymlink(a, b string, ai, bi fs.FileInfo) bool {
	if ai.Mode()&fs.ModeSymlink == 0 || bi.Mode()&fs.ModeSymlink == 0 {
		return false
	}
	x, err1 := os.Readlink(a)
	y, err2 := os.Readlink(b)
	return err1 == nil && err2 == nil && x == y
}
