package bundles

import (
	"errors"
	"fmt"
	"hash/maphash"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/octobundle/octobundle/internal/parallel"
)

// stage writes a new directory bundle while its bundle is filled (see
// StageDir): each entity's files go into a temporary sibling of the
// target as the entity is put, and Write finishes the directory and
// renames it into place.
type stage struct {
	target string // the directory Write completes, cleaned
	tmp    string // the temporary sibling being written
	// made are the missing parents of target StageDir created, deepest
	// first: a discarded stage removes them again if they are empty.
	made []string
	root *os.Root
	fast *beneath // nil where files are made through root only

	// locks serialise the writers of one path (by hash): a path put twice
	// at once must end holding what staged says it holds.
	locks [64]sync.Mutex
	seed  maphash.Seed

	mu     sync.Mutex
	dirs   map[string]bool   // directories made below tmp
	staged map[string]string // path → hex sha256 of the bytes written there
	err    error             // the first write that failed
}

// StageDir starts writing b as a new directory bundle at target while it
// is filled. From then on the files of each entity put are rendered and
// written into a temporary sibling of target at once, by the goroutine
// that puts it: an export that puts each entity as soon as it is read
// writes the bundle while it waits for the server, instead of after.
// Write(target) then writes only what is missing or changed (entities put
// again or removed since, manifest.json, checksums.txt), removes what the
// bundle no longer has, syncs the directory and renames it into place, as
// Write always does: target never holds a partial bundle.
//
// An existing directory (a bundle written before, a git work tree holding
// one) is staged too: Write carries the folder's other files (.git, a
// README) into the staged directory as hard links and swaps the two (see
// swapInto), so that a kill at any point leaves the old bundle or the new
// one, never a mixture. It refuses a directory that holds files of the
// bundle layout but no manifest.json.
//
// It stages nothing, and reports false, when target names an archive or
// exists and is not a directory. A staged bundle that is never written
// must be discarded (DiscardStage), which removes the temporary directory.
func (b *Bundle) StageDir(target string) (bool, error) {
	if IsArchive(target) {
		return false, nil
	}
	if st, err := os.Lstat(target); err == nil {
		if !st.IsDir() {
			return false, nil
		}
		if err := checkExisting(target); err != nil {
			return false, err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	st, err := newStage(target)
	if err != nil {
		return false, err
	}
	b.swapStage(st)
	return true, nil
}

// newStage starts a directory bundle at target: a temporary sibling (and
// the missing parents) to write the files into. finish renames it into
// place (or swaps it with an existing target); discard removes it. What
// an interrupted earlier write to target left beside it is cleaned first
// (cleanStale).
func newStage(target string) (*stage, error) {
	clean := filepath.Clean(target)
	cleanStale(clean)
	parent, base := filepath.Dir(clean), filepath.Base(clean)
	var made []string
	for d := parent; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		made = append(made, d)
	}
	if err := os.MkdirAll(parent, dirMode); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, siblingPattern(base, tmpInfix))
	if err != nil {
		removeEmpty(made)
		return nil, err
	}
	root, err := os.OpenRoot(tmp)
	if err == nil {
		err = os.Chmod(tmp, dirMode)
	}
	if err != nil {
		if root != nil {
			root.Close()
		}
		os.RemoveAll(tmp)
		removeEmpty(made)
		return nil, err
	}
	return &stage{target: clean, tmp: tmp, made: made, root: root, fast: openBeneath(tmp), seed: maphash.MakeSeed(),
		dirs: map[string]bool{".": true}, staged: map[string]string{}}, nil
}

// DiscardStage removes what StageDir wrote, if Write has not taken it.
func (b *Bundle) DiscardStage() { b.swapStage(nil) }

// swapStage makes st the bundle's stage and discards the one it had.
func (b *Bundle) swapStage(st *stage) {
	b.mu.Lock()
	old := b.stage
	b.stage = st
	b.mu.Unlock()
	if old != nil {
		old.discard()
	}
}

// takeStage returns the stage Write(target) finishes, if any, and the
// sealed checksums by path (from checksums.txt). The caller has sealed
// the bundle.
func (b *Bundle) takeStage(target string) (*stage, map[string]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.stage
	if st == nil || st.target != filepath.Clean(target) {
		return nil, nil, nil
	}
	b.stage = nil
	lines, err := parseChecksums(b.checksums)
	if err != nil {
		st.discard()
		return nil, nil, fmt.Errorf("bundles: %s: %w", ChecksumsFile, err)
	}
	sums := make(map[string]string, len(lines))
	for _, l := range lines {
		sums[l.path] = l.sum
	}
	return st, sums, nil
}

func (s *stage) discard() {
	s.root.Close()
	s.fast.close()
	os.RemoveAll(s.tmp)
	removeEmpty(s.made)
}

// removeEmpty removes the directories dirs (deepest first) that are empty:
// parents newStage made for a bundle that was not written.
func removeEmpty(dirs []string) {
	for _, d := range dirs {
		if os.Remove(d) != nil { // not empty: someone else's now
			return
		}
	}
}

// writeWorkers bounds the goroutines finish writes files on.
const writeWorkers = 16

// errUnsupported says the fast way to make a file (beneath) is not
// available; the caller goes through os.Root.
var errUnsupported = errors.New("not supported here")

// create creates or truncates the file p below the stage for writing.
func (s *stage) create(p string) (*os.File, error) {
	if s.fast != nil {
		if w, err := s.fast.create(p); !errors.Is(err, errUnsupported) {
			return w, err
		}
	}
	return s.root.OpenFile(filepath.FromSlash(p), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileMode)
}

// mkdir makes the directory d below the stage (its parent exists).
func (s *stage) mkdir(d string) error {
	if s.fast != nil {
		if err := s.fast.mkdir(d); !errors.Is(err, errUnsupported) {
			return err
		}
	}
	return s.root.Mkdir(filepath.FromSlash(d), dirMode)
}

// put writes the files of the entity file f at p, as written in format.
// A failure is kept for Write to report; a document that does not render
// is left to Seal, which reports it.
func (s *stage) put(p string, f *file, format string) {
	s.mu.Lock()
	failed := s.err != nil
	s.mu.Unlock()
	if failed {
		return
	}
	parts, err := f.render(p, format)
	if err != nil {
		return
	}
	sums := f.written.Load().sums
	for i, pt := range parts {
		if err := s.write(pt.path, pt.data, sums[i].sum); err != nil {
			s.mu.Lock()
			if s.err == nil {
				s.err = fmt.Errorf("%s: %w", pt.path, err)
			}
			s.mu.Unlock()
			return
		}
	}
}

// write makes the file p hold data (whose checksum is sum), unless it
// already does; with sum "", it writes whatever p holds.
func (s *stage) write(p string, data []byte, sum string) error {
	if err := checkPath(p); err != nil {
		return err
	}
	l := &s.locks[maphash.String(s.seed, p)%uint64(len(s.locks))]
	l.Lock()
	defer l.Unlock()
	s.mu.Lock()
	have, ok := s.staged[p]
	s.mu.Unlock()
	if ok && sum != "" && have == sum {
		return nil
	}
	if err := s.mkdirAll(path.Dir(p)); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.staged, p) // unknown until the write is done
	s.mu.Unlock()
	w, err := s.create(p)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	if err == nil && umaskClears(fileMode) {
		err = w.Chmod(fileMode) // whatever the umask
	}
	if err == nil && syncEach {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.staged[p] = sum
	s.mu.Unlock()
	return nil
}

// mkdirAll makes the directory d below the stage and its parents.
func (s *stage) mkdirAll(d string) error {
	s.mu.Lock()
	made := s.dirs[d]
	s.mu.Unlock()
	if made {
		return nil
	}
	if err := s.mkdirAll(path.Dir(d)); err != nil {
		return err
	}
	if err := s.mkdir(d); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if umaskClears(dirMode) {
		if err := s.root.Chmod(filepath.FromSlash(d), dirMode); err != nil { // whatever the umask
			return err
		}
	}
	s.mu.Lock()
	s.dirs[d] = true
	s.mu.Unlock()
	return nil
}

// finish completes the staged directory with files (the sealed bundle's,
// with sums their checksums by path: a staged file with its checksum is
// not written again; nil writes every file), syncs it and renames it into
// place. Every put has returned. On failure the temporary directory is
// removed.
func (s *stage) finish(files []rawFile, sums map[string]string) (err error) {
	defer func() {
		if err != nil {
			s.discard()
		}
	}()
	if s.err != nil {
		return fmt.Errorf("%s: %w", s.target, s.err)
	}
	files = append(files[:len(files):len(files)], rawFile{path: GitAttributesFile, data: []byte(GitAttributes)})
	want := make(map[string]bool, len(files))
	for _, f := range files {
		want[f.path] = true
	}
	// What the bundle no longer has goes first, with the directories it
	// leaves empty; a wanted file that a removed one folds to (the same
	// file on a case-insensitive file system) is then written again.
	var gone []string
	for p := range s.staged {
		if !want[p] {
			gone = append(gone, p)
		}
	}
	removed := map[string]bool{}
	emptied := map[string]bool{}
	for _, p := range gone {
		if err := s.root.Remove(filepath.FromSlash(p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: removing %s: %w", s.target, p, err)
		}
		delete(s.staged, p)
		removed[foldKey(p)] = true
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			emptied[d] = true
		}
	}
	ds := slices.Collect(maps.Keys(emptied))
	slices.SortFunc(ds, func(a, b string) int { // deepest first
		if c := strings.Count(b, "/") - strings.Count(a, "/"); c != 0 {
			return c
		}
		return strings.Compare(b, a)
	})
	for _, d := range ds {
		if s.root.Remove(filepath.FromSlash(d)) == nil { // fails unless empty
			s.mu.Lock()
			delete(s.dirs, d)
			s.mu.Unlock()
		}
	}
	var todo []rawFile
	for _, f := range files {
		if sum, ok := sums[f.path]; ok && s.staged[f.path] == sum && !removed[foldKey(f.path)] {
			continue
		}
		todo = append(todo, f)
	}
	errs := make([]error, len(todo))
	// Files, not CPU: more writers than cores (each file is synced where
	// the tree cannot be synced at once, see syncEach).
	parallel.EachN(len(todo), writeWorkers, func(i int) {
		data, err := todo[i].bytes()
		if err == nil {
			err = s.write(todo[i].path, data, "")
		}
		if err != nil {
			errs[i] = fmt.Errorf("%s: %w", todo[i].path, err)
		}
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: %w", s.target, err)
	}
	existing, err := os.Lstat(s.target)
	switch {
	case err == nil && !existing.IsDir():
		return fmt.Errorf("%s: exists and is not a directory; refusing to overwrite it", s.target)
	case err == nil:
		if err := checkExisting(s.target); err != nil {
			return err
		}
		if err := s.carryForeign(); err != nil {
			return err
		}
		if err := os.Chmod(s.tmp, existing.Mode().Perm()); err != nil {
			return err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if err := syncTree(s.root); err != nil {
		return fmt.Errorf("%s: %w", s.target, err)
	}
	s.fast.close()
	if err := s.root.Close(); err != nil {
		return err
	}
	if existing != nil {
		return s.swapInto()
	}
	return os.Rename(s.tmp, s.target)
}
