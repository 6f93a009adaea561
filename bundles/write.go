package bundles

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
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

// rawFile is one file as written.
type rawFile struct {
	path string
	data []byte
}

// snapshot seals the bundle if needed and returns every file, sorted by path.
func (b *Bundle) snapshot() ([]rawFile, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.current() {
		if err := b.seal(); err != nil {
			return nil, err
		}
	}
	out := make([]rawFile, 0, len(b.files)+3)
	for p, f := range b.files {
		out = append(out, rawFile{p, f.data})
	}
	out = append(out, rawFile{ManifestFile, b.manifest}, rawFile{ChecksumsFile, b.checksums})
	if b.policy != nil {
		out = append(out, rawFile{PolicyFile, b.policy})
	}
	if b.signature != nil {
		out = append(out, rawFile{SignatureFile, b.signature})
	}
	sortRaw(out)
	return out, nil
}

func sortRaw(files []rawFile) {
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
}

// Write seals the bundle if needed and writes it to path: an archive when
// path ends in .tar.zst, otherwise a directory. It writes to a temporary
// sibling and renames it into place, so path never holds a partial bundle.
// An existing directory at path is replaced only if it is empty or holds a
// bundle (a manifest.json); an existing archive file is replaced.
func (b *Bundle) Write(path string) error {
	files, err := b.snapshot()
	if err != nil {
		return err
	}
	if IsArchive(path) {
		return writeArchiveFile(path, files)
	}
	return writeDir(path, files)
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
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     f.path,
			Size:     int64(len(f.data)),
			Mode:     fileMode,
			ModTime:  epoch,
			Format:   tar.FormatPAX,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			zw.Close()
			return fmt.Errorf("%s: %w", f.path, err)
		}
		if _, err := tw.Write(f.data); err != nil {
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
	if st, err := os.Lstat(out); err == nil && !st.Mode().IsRegular() {
		return fmt.Errorf("%s: exists and is not a regular file; refusing to overwrite it", out)
	}
	dir := filepath.Dir(out)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(out)+".tmp-*")
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

// writeDir writes files as a directory tree at target, atomically.
func writeDir(target string, files []rawFile) (err error) {
	replace := false
	if st, err := os.Lstat(target); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s: exists and is not a directory; refusing to overwrite it", target)
		}
		entries, err := os.ReadDir(target)
		if err != nil {
			return err
		}
		if len(entries) > 0 {
			if mst, err := os.Lstat(filepath.Join(target, ManifestFile)); err != nil || !mst.Mode().IsRegular() {
				return fmt.Errorf("%s: not empty and not a bundle (no %s); refusing to overwrite it", target, ManifestFile)
			}
		}
		replace = true
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(filepath.Clean(target))
	base := filepath.Base(filepath.Clean(target))
	if err := os.MkdirAll(parent, dirMode); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, dirMode); err != nil {
		return err
	}
	if err := writeTree(tmp, files); err != nil {
		return fmt.Errorf("%s: %w", target, err)
	}
	if !replace {
		return os.Rename(tmp, target)
	}
	old, err := os.MkdirTemp(parent, "."+base+".old-*")
	if err != nil {
		return err
	}
	if err := os.Remove(old); err != nil {
		return err
	}
	if err := os.Rename(target, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, target); err != nil {
		if rerr := os.Rename(old, target); rerr != nil {
			return fmt.Errorf("%w (and restoring the previous bundle from %s failed: %v)", err, old, rerr)
		}
		return err
	}
	return os.RemoveAll(old)
}

// writeTree writes files below dir through an os.Root, so no path can
// leave dir.
func writeTree(dir string, files []rawFile) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	made := map[string]bool{}
	for _, f := range files {
		if err := checkPath(f.path); err != nil {
			return err
		}
		if d := path.Dir(f.path); d != "." && !made[d] {
			if err := root.MkdirAll(filepath.FromSlash(d), dirMode); err != nil {
				return err
			}
			for p := d; p != "." && !made[p]; p = path.Dir(p) {
				made[p] = true
				if err := root.Chmod(filepath.FromSlash(p), dirMode); err != nil {
					return err
				}
			}
		}
		w, err := root.OpenFile(filepath.FromSlash(f.path), os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
		if err != nil {
			return err
		}
		if _, err := w.Write(f.data); err != nil {
			w.Close()
			return err
		}
		if err := w.Chmod(fileMode); err != nil {
			w.Close()
			return err
		}
		if err := w.Sync(); err != nil {
			w.Close()
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
	return nil
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
