package bundles

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/octobundle/octobundle/schema"
)

// Fixed archive settings (see the format specification in doc.go).
const (
	fileMode = 0o644
	dirMode  = 0o755
	// zstdLevel is the fixed compression level of archives.
	zstdLevel = zstd.SpeedBetterCompression
)

// epoch is the modification time of every archive entry.
var epoch = time.Unix(0, 0).UTC()

// rawFile is one file as written: its bytes, or (entity and sidecar files)
// the function that renders them when the file is written, so that a
// bundle being written is never held whole as bytes.
type rawFile struct {
	path string
	data []byte
	load func() ([]byte, error) // when set, makes data
}

// bytes returns the file's bytes.
func (f rawFile) bytes() ([]byte, error) {
	if f.load != nil {
		return f.load()
	}
	return f.data, nil
}

// snapshot seals the bundle if needed and returns every file as written,
// sorted by path. Entity and sidecar files are rendered from the packed
// documents as they are written (see lazyRender).
func (b *Bundle) snapshot() ([]rawFile, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.current() {
		if err := b.seal(); err != nil {
			return nil, err
		}
	}
	r := &lazyRender{format: b.Manifest.Format, files: maps.Clone(b.files), split: map[string]*splitFile{}}
	out := make([]rawFile, 0, len(b.files)+len(b.sidecars)+4)
	for p := range b.files {
		out = append(out, rawFile{path: p, load: func() ([]byte, error) { return r.load(p, p) }})
	}
	for sp, owner := range b.sidecars {
		out = append(out, rawFile{path: sp, load: func() ([]byte, error) { return r.load(owner, sp) }})
	}
	out = append(out, rawFile{path: ManifestFile, data: b.manifest}, rawFile{path: ChecksumsFile, data: b.checksums})
	if b.policy != nil {
		out = append(out, rawFile{path: PolicyFile, data: b.policy})
	}
	for p, data := range b.attached {
		out = append(out, rawFile{path: p, data: data})
	}
	if b.signature != nil {
		out = append(out, rawFile{path: SignatureFile, data: b.signature})
	}
	sortRaw(out)
	return out, nil
}

// lazyRender renders the entity and sidecar files of a sealed bundle as
// they are written. A FormatV2 entity file and its sidecar files come from
// one split of the document: the parts not yet written wait in split until
// they are (in path order a sidecar folder follows its JSON file, so few
// wait at a time). It is safe for concurrent use.
type lazyRender struct {
	format string
	files  map[string]*file
	mu     sync.Mutex
	split  map[string]*splitFile // by entity path
}

// splitFile is the parts of a split entity file not yet written.
type splitFile struct {
	parts map[string][]byte // path → bytes: the JSON file and its sidecars
}

// load returns the bytes of the file p, the entity file owner or one of
// its sidecar files.
func (r *lazyRender) load(owner, p string) ([]byte, error) {
	f, ok := r.files[owner]
	if !ok {
		return nil, fmt.Errorf("bundles: %s: no entity file %s", p, owner)
	}
	r.mu.Lock()
	s, ok := r.split[owner]
	r.mu.Unlock()
	if !ok {
		parts, err := f.render(owner, r.format)
		if err != nil {
			return nil, err
		}
		if len(parts) == 1 {
			return parts[0].data, nil
		}
		s = &splitFile{parts: make(map[string][]byte, len(parts))}
		for _, pt := range parts {
			s.parts[pt.path] = pt.data
		}
		r.mu.Lock()
		if prev, ok := r.split[owner]; ok {
			s = prev // split concurrently: keep the one others took parts of
		} else {
			r.split[owner] = s
		}
		r.mu.Unlock()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	data, ok := s.parts[p]
	if !ok {
		return nil, fmt.Errorf("bundles: %s: not a file of %s, or written twice", p, owner)
	}
	delete(s.parts, p)
	if len(s.parts) == 0 {
		delete(r.split, owner)
	}
	return data, nil
}

func sortRaw(files []rawFile) {
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
}

// Write seals the bundle if needed and writes it to path: an archive when
// path ends in .tar.zst, otherwise a directory. The archive or directory
// is written to a temporary sibling and renamed into place, so path never
// holds a partial bundle; an existing archive file is replaced. An existing
// directory (a git work tree holding a bundle, say) is swapped with the
// new one, into which every file that is not octobundle's (.git, README,
// CI files) is carried as a hard link first (see swapInto): only files of
// the bundle layout change, and a kill leaves the old bundle or the new
// one. Where that cannot be done it is updated in place (see updateDir).
// A directory gets a .gitattributes that keeps git from changing line
// endings, unless it has one. A directory staged by StageDir is finished
// rather than written whole.
func (b *Bundle) Write(path string) error {
	files, err := b.snapshot()
	if err != nil {
		return err
	}
	if IsArchive(path) {
		return writeArchiveFile(path, files)
	}
	st, sums, err := b.takeStage(path)
	if err != nil {
		return err
	}
	if st != nil {
		err := st.finish(files, sums)
		if errors.Is(err, errCarry) {
			return updateDir(path, files)
		}
		return err
	}
	return writeDir(path, files)
}

// isBundleArchive reports whether the file at path is a zstd-compressed
// tar whose first entry is a file of the bundle layout: an archive
// octobundle wrote, which Write may replace.
func isBundleArchive(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	zr, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return false
	}
	defer zr.Close()
	hdr, err := tar.NewReader(zr).Next()
	return err == nil && IsLayoutFile(hdr.Name)
}

// WriteArchive writes the bundle's archive form to w (sealing it if needed).
func (b *Bundle) WriteArchive(w io.Writer) error {
	files, err := b.snapshot()
	if err != nil {
		return err
	}
	return writeArchive(w, files)
}

func writeArchive(w io.Writer, files []rawFile) error {
	zw, err := zstd.NewWriter(w,
		zstd.WithEncoderLevel(zstdLevel),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(true),
		zstd.WithWindowSize(8<<20),
	)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	for _, f := range files {
		data, err := f.bytes()
		if err != nil {
			zw.Close()
			return err
		}
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     f.path,
			Size:     int64(len(data)),
			Mode:     fileMode,
			ModTime:  epoch,
			Format:   tar.FormatPAX,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			zw.Close()
			return fmt.Errorf("%s: %w", f.path, err)
		}
		if _, err := tw.Write(data); err != nil {
			zw.Close()
			return fmt.Errorf("%s: %w", f.path, err)
		}
	}
	if err := tw.Close(); err != nil {
		zw.Close()
		return err
	}
	return zw.Close()
}

func writeArchiveFile(out string, files []rawFile) (err error) {
	if st, err := os.Lstat(out); err == nil {
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%s: exists and is not a regular file; refusing to overwrite it", out)
		}
		if !isBundleArchive(out) {
			return fmt.Errorf("%s: exists and is not a bundle archive (its first entry is not a file of the bundle layout); refusing to replace a file octobundle did not write", out)
		}
	}
	dir := filepath.Dir(out)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return err
	}
	cleanStale(out)
	tmp, err := os.CreateTemp(dir, siblingPattern(out, tmpInfix))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := writeArchive(tmp, files); err != nil {
		return fmt.Errorf("%s: %w", out, err)
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Chmod(fileMode); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

// writeDir writes files as a directory tree at target, through a
// temporary sibling (a stage, as StageDir's, finished at once): renamed
// into place when target is new, swapped with it when it exists (the
// folder's other files carried over, see swapInto). Where the folder's
// files cannot be carried (a hard link refused) or no sibling can be made
// (no right to write the parent), an existing directory is updated in
// place by updateDir.
func writeDir(target string, files []rawFile) error {
	st, err := os.Lstat(target)
	switch {
	case err == nil && !st.IsDir():
		return fmt.Errorf("%s: exists and is not a directory; refusing to overwrite it", target)
	case err == nil:
		if err := checkExisting(target); err != nil {
			return err
		}
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	s, err := newStage(target)
	if err != nil {
		if st != nil && errors.Is(err, fs.ErrPermission) {
			return updateDir(target, files)
		}
		return err
	}
	err = s.finish(files, nil)
	if st != nil && errors.Is(err, errCarry) {
		return updateDir(target, files)
	}
	return err
}

// IsLayoutFile reports whether the bundle path p is a file of the bundle
// layout: manifest.json, checksums.txt, the signature, the apply policy, an
// attached file,
// entity file of some kind, or a file in the sidecar folder of one. Writing a bundle into an existing directory
// replaces and removes layout files only.
func IsLayoutFile(p string) bool {
	switch p {
	case ManifestFile, ChecksumsFile, SignatureFile, PolicyFile:
		return true
	}
	k, _ := schema.KindForPath(p)
	return k != nil || isSidecarPath(p) || isAttachPath(p)
}

// updateDir writes files into the existing directory target in place (the
// fallback of writeDir where the directory cannot be swapped), touching
// nothing but files of the bundle layout (see IsLayoutFile): other files
// (.git, a README, CI configuration) are left as they are. Files whose
// content is unchanged are not rewritten; each written file goes through a
// temporary sibling and a rename; manifest.json is written last; layout
// files the new bundle does not have are then removed, with the directories
// they leave empty. A directory that holds layout files but no manifest.json
// (something else's files, or not a bundle) is refused, and so is one in
// which a bundle path is taken by a directory or a link. .gitattributes is
// created when missing, never changed.
func updateDir(target string, files []rawFile) error {
	root, err := os.OpenRoot(target)
	if err != nil {
		return err
	}
	defer root.Close()
	want := make(map[string]bool, len(files))
	for _, f := range files {
		if err := checkPath(f.path); err != nil {
			return err
		}
		want[f.path] = true
	}
	var stale, leftovers []string
	hasManifest := false
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if Ignored(p) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.IsDir() && strings.HasSuffix(p, tmpSuffix) && strings.HasPrefix(path.Base(p), ".") {
			leftovers = append(leftovers, p) // from an interrupted write
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
		}
		if !want[p] {
			stale = append(stale, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !hasManifest && len(stale) > 0 {
		return fmt.Errorf("%s: holds files of the bundle layout (%s) but no %s; refusing to write a bundle over files octobundle did not write (choose a new or empty folder)", target, stale[0], ManifestFile)
	}
	// manifest.json last: until it is written the old manifest (and its
	// digest) stays, so an interrupted export fails verification instead
	// of passing off a mixture as the new bundle.
	ordered := make([]rawFile, 0, len(files))
	var manifest *rawFile
	for i := range files {
		if files[i].path == ManifestFile {
			manifest = &files[i]
			continue
		}
		ordered = append(ordered, files[i])
	}
	if manifest != nil {
		ordered = append(ordered, *manifest)
	}
	for _, f := range ordered {
		if err := replaceFile(root, f); err != nil {
			return fmt.Errorf("%s: %s: %w", target, f.path, err)
		}
	}
	for _, p := range leftovers {
		_ = root.Remove(filepath.FromSlash(p))
	}
	sort.Sort(sort.Reverse(sort.StringSlice(stale)))
	dirs := map[string]bool{}
	for _, p := range stale {
		if err := root.Remove(filepath.FromSlash(p)); err != nil {
			return fmt.Errorf("%s: removing %s, which the bundle no longer has: %w", target, p, err)
		}
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	// Remove the directories stale files left empty, deepest first; a
	// directory that still holds something (the new bundle's files, or
	// files of others) fails to be removed and stays.
	ds := make([]string, 0, len(dirs))
	for d := range dirs {
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool {
		return strings.Count(ds[i], "/") > strings.Count(ds[j], "/") || (strings.Count(ds[i], "/") == strings.Count(ds[j], "/") && ds[i] > ds[j])
	})
	for _, d := range ds {
		_ = root.Remove(filepath.FromSlash(d))
	}
	if _, err := root.Lstat(GitAttributesFile); errors.Is(err, os.ErrNotExist) {
		if err := replaceFile(root, rawFile{path: GitAttributesFile, data: []byte(GitAttributes)}); err != nil {
			return fmt.Errorf("%s: %s: %w", target, GitAttributesFile, err)
		}
	}
	return nil
}

// tmpSuffix ends the temporary sibling replaceFile writes first (as
// ".NAME" + tmpSuffix); updateDir removes any left by an interrupted write.
const tmpSuffix = ".octobundle-tmp"

// replaceFile writes f below root through a temporary sibling and a rename,
// unless the file already holds exactly f's bytes.
func replaceFile(root *os.Root, f rawFile) error {
	data, err := f.bytes()
	if err != nil {
		return err
	}
	name := filepath.FromSlash(f.path)
	if st, err := root.Lstat(name); err == nil {
		if !st.Mode().IsRegular() {
			return errors.New("exists and is not a regular file; refusing to replace it")
		}
		if old, err := root.ReadFile(name); err == nil && string(old) == string(data) {
			return nil
		}
	}
	if d := path.Dir(f.path); d != "." {
		if err := root.MkdirAll(filepath.FromSlash(d), dirMode); err != nil {
			return err
		}
	}
	tmp := filepath.FromSlash(path.Join(path.Dir(f.path), "."+path.Base(f.path)+tmpSuffix))
	w, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	if err == nil {
		err = w.Chmod(fileMode)
	}
	if err == nil {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		_ = root.Remove(tmp)
	}
	return err
}

// Pack verifies the bundle directory dir and writes its archive form to out
// (which should end in .tar.zst). Two packs of the same directory are
// byte-identical.
func Pack(dir, out string) error {
	if IsArchive(dir) {
		return fmt.Errorf("%s: Pack reads a directory", dir)
	}
	b, err := Read(dir, ReadOptions{})
	if err != nil {
		return err
	}
	files, err := b.snapshot()
	if err != nil {
		return err
	}
	return writeArchiveFile(out, files)
}

// Unpack verifies the archive in completely, in memory and within the
// default limits, and only then writes it as a directory at dir (through a
// temporary sibling and a rename). It rejects paths leaving the bundle,
// links and special files, duplicate entries, decompression bombs and
// truncated archives; on failure nothing is written.
func Unpack(in, dir string) error {
	b, err := Read(in, ReadOptions{})
	if err != nil {
		return err
	}
	files, err := b.snapshot()
	if err != nil {
		return err
	}
	if strings.HasSuffix(dir, ArchiveExt) {
		return fmt.Errorf("%s: Unpack writes a directory", dir)
	}
	return writeDir(dir, files)
}
