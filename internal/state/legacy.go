package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/octobundle/octobundle/internal/limits"
	"github.com/octobundle/octobundle/schema"
)

// legacy is a state folder's files in the layout before v3: one file per
// entity under BaseDir and WrittenDir. They are read once, below the pack
// and the journal, and removed by the Finish that packs them.
type legacy struct {
	dir   string
	docs  map[string]*legacyDoc
	files []string // every file read, and the temporary files the old layout left
}

// legacyDoc is an entity's documents in the old layout (nil: no file).
type legacyDoc struct{ base, written []byte }

// readLegacy reads the old layout's files of the state folder dir; nil
// when it has none.
func readLegacy(dir string) (*legacy, error) {
	l := &legacy{dir: dir, docs: map[string]*legacyDoc{}}
	found := false
	for _, sub := range []string{BaseDir, WrittenDir} {
		root := filepath.Join(dir, sub)
		if _, err := os.Stat(root); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		found = true
		err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() {
				return err
			}
			if strings.HasPrefix(de.Name(), ".tmp-") {
				// A temporary file the old layout's writes left (a kill
				// between its creation and its rename).
				l.files = append(l.files, p)
				return nil
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if k, _ := schema.KindForPath(rel); k == nil || k.Shape == schema.ShapeBinary {
				return fmt.Errorf("%s: %s: not the path of an entity file", root, rel)
			}
			// A state file is a bundle entity file: the same size limit.
			data, err := limits.ReadFile(p, limits.FileSize, "state file size")
			if err != nil {
				return err
			}
			d := l.docs[rel]
			if d == nil {
				d = &legacyDoc{}
				l.docs[rel] = d
			}
			if sub == BaseDir {
				d.base = data
			} else {
				d.written = data
			}
			l.files = append(l.files, p)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
	}
	if !found {
		return nil, nil
	}
	return l, nil
}

// remove deletes the files read (once the pack holding them is durable)
// and the folders they leave empty; anything else in BaseDir and
// WrittenDir stays.
func (l *legacy) remove() {
	dirs := map[string]bool{}
	for _, f := range l.files {
		if os.Remove(f) == nil {
			for d := filepath.Dir(f); d != l.dir && strings.HasPrefix(d, l.dir); d = filepath.Dir(d) {
				dirs[d] = true
			}
		}
	}
	for _, sub := range []string{BaseDir, WrittenDir} {
		dirs[filepath.Join(l.dir, sub)] = true
	}
	// Deepest first: a folder is empty once its subfolders are gone.
	list := make([]string, 0, len(dirs))
	for d := range dirs {
		list = append(list, d)
	}
	slices.SortFunc(list, func(a, b string) int { return len(b) - len(a) })
	for _, d := range list {
		_ = os.Remove(d) // fails, and stays, unless empty
	}
}
