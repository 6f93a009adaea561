package bundles

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/octobundle/octobundle/internal/limits"
)

// Default limits of ReadOptions (see internal/limits for why these values).
// The environment variable limits.ArchiveEntriesEnv
// (OCTOBUNDLE_MAX_BUNDLE_FILES) replaces DefaultMaxFiles.
const (
	DefaultMaxFiles     = limits.ArchiveEntries
	DefaultMaxFileSize  = limits.FileSize  // 64 MiB
	DefaultMaxTotalSize = limits.TotalSize // 1 GiB
	DefaultMaxRatio     = limits.CompressionRatio
	// ratioFloor is the decompressed size below which MaxRatio is not
	// applied (tiny archives of tiny files compress very well).
	ratioFloor = 8 << 20
)

// ArchiveExt is the file name suffix of the archive form.
const ArchiveExt = ".tar.zst"

// ReadOptions bound what Read accepts from untrusted input. Zero fields take
// the defaults (DefaultMaxFiles …).
type ReadOptions struct {
	// MaxFiles is the most files (archive entries) a bundle may have; zero
	// takes OCTOBUNDLE_MAX_BUNDLE_FILES when it is set, else DefaultMaxFiles.
	MaxFiles int
	// MaxFileSize is the largest file, in bytes.
	MaxFileSize int64
	// MaxTotalSize is the largest total size of all files, decompressed,
	// their path names included (a name costs memory as content does).
	MaxTotalSize int64
	// MaxRatio is the largest ratio of decompressed to compressed size of an
	// archive (applied once more than 8 MiB has been decompressed).
	MaxRatio float64

	// filesNote says how to raise MaxFiles when it came from the default.
	filesNote string
}

func (o ReadOptions) withDefaults() (ReadOptions, error) {
	if o.MaxFiles <= 0 {
		n, err := limits.BundleFiles()
		if err != nil {
			return o, err
		}
		o.MaxFiles = n
		o.filesNote = "set " + limits.ArchiveEntriesEnv + " to a larger number to read a bundle this large"
	}
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = DefaultMaxFileSize
	}
	if o.MaxTotalSize <= 0 {
		o.MaxTotalSize = DefaultMaxTotalSize
	}
	if o.MaxRatio <= 0 {
		o.MaxRatio = DefaultMaxRatio
	}
	return o, nil
}

// tooManyFiles is the error for a bundle with more than o.MaxFiles files,
// found at subject (the directory, or the first entry past the limit).
func (o ReadOptions) tooManyFiles(subject, limit, unit string) error {
	return &limits.Error{Subject: subject, Limit: limit, Max: int64(o.MaxFiles), Unit: unit, Note: o.filesNote}
}

// IsArchive reports whether path names the archive form (ends in .tar.zst).
func IsArchive(path string) bool { return strings.HasSuffix(path, ArchiveExt) }

// Read reads and verifies the bundle at path: a directory, or an archive when
// path ends in .tar.zst. It checks the format version, that every file is a
// known bundle file listed in checksums.txt with the right sha256, the
// digest, the counts, that every JSON file is canonical and valid against its
// schema, and that entities are ID-free. Errors name the offending file.
func Read(path string, o ReadOptions) (*Bundle, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	l := newLoader()
	if IsArchive(path) {
		err = readArchiveFile(path, o, l)
	} else {
		err = readDir(path, o, l)
	}
	if err != nil {
		l.stop()
		return nil, err
	}
	b, err := l.finish()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// Report is what Verify found.
type Report struct {
	// Format is the manifest's format version.
	Format string
	// Digest is the bundle digest ("sha256:…").
	Digest string
	// Files is the number of files covered by checksums.txt.
	Files int
	// Counts is the number of entity files per kind name.
	Counts map[string]int
	// Signed reports whether the bundle has a signature file (not checked).
	Signed bool
	// Input is the manifest's record of the bundle transform made this one
	// from (nil for an exported bundle).
	Input *InputRef
}

// Verify reads the bundle at path with the default limits and reports its
// digest and counts; any inconsistency is an error naming the file. It also
// checks that every reference resolves (see CheckReferences): a dangling one
// is an error naming the entity file and field.
func Verify(path string) (*Report, error) {
	b, err := Read(path, ReadOptions{})
	if err != nil {
		return nil, err
	}
	return VerifyRead(path, b)
}

// VerifyRead is Verify for the bundle b, already read from path: it checks
// that every reference resolves and reports its digest and counts.
func VerifyRead(path string, b *Bundle) (*Report, error) {
	problems, err := b.CheckReferences()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = p.String()
		}
		return nil, fmt.Errorf("%s: %d dangling reference(s): %s", path, len(problems), strings.Join(msgs, "; "))
	}
	return &Report{
		Format: b.Manifest.Format,
		Digest: b.Manifest.Digest,
		Files:  b.Len(),
		Counts: copyMap(b.Manifest.Counts),
		Signed: b.Signature() != nil,
		Input:  b.Manifest.Input,
	}, nil
}

// readDir reads every regular file below root into l, manifest.json
// first; symlinks and other special files are errors.
func readDir(root string, o ReadOptions, l *loader) error {
	st, err := os.Stat(root)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s: not a directory (archives must end in %s)", root, ArchiveExt)
	}
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return err
	}
	// The manifest first, so that the entity files are checked as they
	// are read (it says how). The walk below checks it as any other file
	// and, when this failed, reads it in its turn.
	var manifest []byte
	mp := filepath.Join(real, ManifestFile)
	if fi, err := os.Lstat(mp); err == nil && fi.Mode().IsRegular() && fi.Size() <= o.MaxFileSize {
		if data, err := readLimited(mp, filepath.Join(root, ManifestFile), o.MaxFileSize); err == nil {
			manifest = data
			l.add(ManifestFile, data)
		}
	}
	files := 0
	var total int64
	return filepath.WalkDir(real, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(real, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		name := filepath.Join(root, filepath.FromSlash(rel))
		if Ignored(rel) {
			slog.Debug("ignoring a file that is not part of the bundle", "bundle", root, "file", rel)
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s: symbolic links are not allowed in a bundle", name)
		case d.IsDir():
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("%s: not a regular file", name)
		}
		if err := checkPath(rel); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if files >= o.MaxFiles {
			return o.tooManyFiles(fmt.Sprintf("%s (at %s)", root, rel), "file count", "files")
		}
		files++
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > o.MaxFileSize {
			return limits.Size(name, "file size", o.MaxFileSize)
		}
		total += info.Size() + int64(len(rel))
		if total > o.MaxTotalSize {
			return limits.Size(root, "total bundle size", o.MaxTotalSize)
		}
		if rel == ManifestFile && manifest != nil {
			return nil // read first, above
		}
		data, err := readLimited(p, name, o.MaxFileSize)
		if err != nil {
			return err
		}
		l.add(rel, data)
		return nil
	})
}

// readLimited reads the file at p (named name in errors), which may have
// grown since it was listed, up to limit bytes.
func readLimited(p, name string, limit int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() <= limit {
		// Its size is known: read it into a buffer of that size (and a
		// byte more, to see its end), not one grown by doubling.
		buf := make([]byte, st.Size()+1)
		n, err := io.ReadFull(f, buf)
		switch err {
		case io.EOF, io.ErrUnexpectedEOF:
			return buf[:n], nil
		case nil: // it grew since: read on, within the limit
			return limits.ReadAll(io.MultiReader(bytes.NewReader(buf), f), limit, name, "file size")
		default:
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return limits.ReadAll(f, limit, name, "file size")
}

func readArchiveFile(path string, o ReadOptions, l *loader) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", path)
	}
	if err := readArchive(bufio.NewReader(f), st.Size(), o, l); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ReadArchive reads and verifies a bundle from archive bytes, as Read does for
// a .tar.zst file.
func ReadArchive(data []byte, o ReadOptions) (*Bundle, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	l := newLoader()
	if err := readArchive(bytes.NewReader(data), int64(len(data)), o, l); err != nil {
		l.stop()
		return nil, err
	}
	return l.finish()
}

// countingReader counts decompressed bytes and enforces the total and ratio
// limits while the archive is being read.
type countingReader struct {
	r          io.Reader
	n          int64
	compressed int64
	maxStream  int64
	maxRatio   float64
	err        error
}

// Read reads from the decompressor and fails once a limit is passed.
func (c *countingReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	switch {
	case c.n > ratioFloor && float64(c.n) > c.maxRatio*float64(c.compressed):
		c.err = &limits.Error{Subject: fmt.Sprintf("the archive (%d bytes compressed)", c.compressed), Limit: "compression ratio",
			Max: int64(c.maxRatio), Unit: "times", Note: "possible decompression bomb"}
	case c.n > c.maxStream:
		c.err = limits.Size("the archive's decompressed stream", "total decompressed size", c.maxStream)
	}
	if c.err != nil {
		return n, c.err
	}
	return n, err
}

// readArchive reads the entries of the archive r (compressed bytes long)
// into l.
func readArchive(r io.Reader, compressed int64, o ReadOptions, l *loader) error {
	window := min(maxWindow, o.MaxTotalSize+1<<20)
	zr, err := zstd.NewReader(r,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxWindow(uint64(window)),
		zstd.WithDecoderMaxMemory(uint64(o.MaxTotalSize)+1<<20),
	)
	if err != nil {
		return err
	}
	defer zr.Close()
	cr := &countingReader{
		r: zr, compressed: max(compressed, 1), maxRatio: o.MaxRatio,
		// Headers and padding: at most 3 KiB per entry beyond the content.
		maxStream: o.MaxTotalSize + int64(o.MaxFiles)*3072 + 1<<20,
	}
	tr := tar.NewReader(cr)
	seen := map[string]bool{}
	folded := map[string]string{}
	var total int64
	entries := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, tar.ErrInsecurePath) && hdr != nil {
			err = nil // checkPath below says what is wrong with the name
		}
		if err != nil {
			return archiveErr(err, window)
		}
		entries++
		if entries > o.MaxFiles {
			return o.tooManyFiles(fmt.Sprintf("entry %.300q", hdr.Name), "archive entry count", "entries")
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		switch hdr.Typeflag {
		case tar.TypeReg, '\x00': // '\x00' marks a regular file in pre-POSIX tars
		case tar.TypeDir:
			name = strings.TrimSuffix(name, "/")
			if name == "" || name == "." {
				continue
			}
			if err := checkPath(name); err != nil {
				return fmt.Errorf("entry %q: %w", hdr.Name, err)
			}
			continue
		case tar.TypeSymlink:
			return fmt.Errorf("entry %q: symbolic link (to %q) not allowed in a bundle", hdr.Name, hdr.Linkname)
		case tar.TypeLink:
			return fmt.Errorf("entry %q: hard link (to %q) not allowed in a bundle", hdr.Name, hdr.Linkname)
		default:
			return fmt.Errorf("entry %q: %s not allowed in a bundle (regular files only)", hdr.Name, typeName(hdr.Typeflag))
		}
		if err := checkPath(name); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
		if seen[name] {
			return fmt.Errorf("entry %q: duplicate entry", hdr.Name)
		}
		if prev, dup := folded[foldKey(name)]; dup {
			return fmt.Errorf("entry %q: collides with %q on case-insensitive file systems", hdr.Name, prev)
		}
		folded[foldKey(name)] = name
		seen[name] = true
		if hdr.Size < 0 || hdr.Size > o.MaxFileSize {
			return limits.Size(fmt.Sprintf("entry %q (%d bytes)", hdr.Name, hdr.Size), "file size", o.MaxFileSize)
		}
		// The name counts: the reader keeps it (twice), and a tar name
		// can be up to 1 MiB long (a PAX record).
		total += hdr.Size + int64(len(name))
		if total > o.MaxTotalSize {
			return limits.Size(fmt.Sprintf("entry %q", hdr.Name), "total decompressed size", o.MaxTotalSize)
		}
		data := make([]byte, hdr.Size)
		if _, err := io.ReadFull(tr, data); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, archiveErr(err, window))
		}
		if Ignored(name) {
			slog.Debug("ignoring a file that is not part of the bundle", "bundle", "archive", "file", name)
			continue
		}
		l.add(name, data)
	}
	// The rest of the stream must be tar padding (zeros) and a complete,
	// checksummed zstd frame: this catches truncation after the last entry.
	var buf [32 << 10]byte
	for {
		n, err := cr.Read(buf[:])
		for _, c := range buf[:n] {
			if c != 0 {
				return errors.New("data after the end of the tar archive")
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return archiveErr(err, window)
		}
	}
	return nil
}

func typeName(t byte) string {
	switch t {
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "named pipe"
	case tar.TypeXGlobalHeader:
		return "global PAX header"
	case tar.TypeGNUSparse:
		return "sparse file"
	}
	return fmt.Sprintf("entry type %q", t)
}

// maxWindow is the largest zstd window the archive reader accepts (and
// never more than the total size limit plus 1 MiB): the decoder allocates
// the window up front.
const maxWindow = 64 << 20

func archiveErr(err error, window int64) error {
	switch {
	case limits.Is(err):
		return err
	case errors.Is(err, zstd.ErrWindowSizeExceeded):
		return limits.Size("the archive's zstd frame", "zstd window size", window)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("truncated archive: %w", err)
	case errors.Is(err, zstd.ErrMagicMismatch):
		return fmt.Errorf("not a zstd-compressed archive: %w", err)
	}
	return fmt.Errorf("corrupt or truncated archive: %w", err)
}

// checksumLine is one parsed line of checksums.txt.
type checksumLine struct{ sum, path string }

func parseChecksums(data []byte) ([]checksumLine, error) {
	if len(data) == 0 {
		return nil, nil
	}
	if data[len(data)-1] != '\n' {
		return nil, errors.New("last line does not end in a newline")
	}
	var out []checksumLine
	for i, line := range strings.Split(string(data[:len(data)-1]), "\n") {
		sum, p, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 || !isLowerHex(sum) {
			return nil, fmt.Errorf("line %d: want \"<64 lower-case hex digits>  <path>\"", i+1)
		}
		if err := checkPath(p); err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		if p == ManifestFile || p == ChecksumsFile || p == SignatureFile {
			return nil, fmt.Errorf("line %d: %s must not be listed", i+1, p)
		}
		if len(out) > 0 && out[len(out)-1].path >= p {
			return nil, fmt.Errorf("line %d: %s is out of order or duplicated (lines are sorted by path)", i+1, p)
		}
		out = append(out, checksumLine{sum, p})
	}
	return out, nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// parse verifies loaded files (path → bytes) and builds the bundle, as
// Read does for the files it reads.
func parse(files map[string][]byte) (*Bundle, error) {
	l := newLoader()
	for _, p := range slices.Sorted(maps.Keys(files)) {
		l.add(p, files[p])
	}
	return l.finish()
}
