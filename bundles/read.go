package bundles

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/internal/limits"
	"github.com/octobundle/octobundle/internal/parallel"
	"github.com/octobundle/octobundle/schema"
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
	var files map[string][]byte
	if IsArchive(path) {
		files, err = readArchiveFile(path, o)
	} else {
		files, err = readDir(path, o)
	}
	if err != nil {
		return nil, err
	}
	b, err := parse(files)
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

// readDir loads every regular file below root; symlinks and other special
// files are errors.
func readDir(root string, o ReadOptions) (map[string][]byte, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory (archives must end in %s)", root, ArchiveExt)
	}
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	var total int64
	err = filepath.WalkDir(real, func(p string, d fs.DirEntry, err error) error {
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
		if len(files) >= o.MaxFiles {
			return o.tooManyFiles(fmt.Sprintf("%s (at %s)", root, rel), "file count", "files")
		}
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
		data, err := readLimited(p, name, o.MaxFileSize)
		if err != nil {
			return err
		}
		files[rel] = data
		return nil
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}

// readLimited reads the file at p (named name in errors), which may have
// grown since it was listed, up to limit bytes.
func readLimited(p, name string, limit int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return limits.ReadAll(f, limit, name, "file size")
}

func readArchiveFile(path string, o ReadOptions) (map[string][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	files, err := readArchive(bufio.NewReader(f), st.Size(), o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return files, nil
}

// ReadArchive reads and verifies a bundle from archive bytes, as Read does for
// a .tar.zst file.
func ReadArchive(data []byte, o ReadOptions) (*Bundle, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	files, err := readArchive(bytes.NewReader(data), int64(len(data)), o)
	if err != nil {
		return nil, err
	}
	return parse(files)
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

func readArchive(r io.Reader, compressed int64, o ReadOptions) (files map[string][]byte, err error) {
	window := min(maxWindow, o.MaxTotalSize+1<<20)
	zr, err := zstd.NewReader(r,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxWindow(uint64(window)),
		zstd.WithDecoderMaxMemory(uint64(o.MaxTotalSize)+1<<20),
	)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	cr := &countingReader{
		r: zr, compressed: max(compressed, 1), maxRatio: o.MaxRatio,
		// Headers and padding: at most 3 KiB per entry beyond the content.
		maxStream: o.MaxTotalSize + int64(o.MaxFiles)*3072 + 1<<20,
	}
	tr := tar.NewReader(cr)
	files = map[string][]byte{}
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
			return nil, archiveErr(err, window)
		}
		entries++
		if entries > o.MaxFiles {
			return nil, o.tooManyFiles(fmt.Sprintf("entry %.300q", hdr.Name), "archive entry count", "entries")
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
				return nil, fmt.Errorf("entry %q: %w", hdr.Name, err)
			}
			continue
		case tar.TypeSymlink:
			return nil, fmt.Errorf("entry %q: symbolic link (to %q) not allowed in a bundle", hdr.Name, hdr.Linkname)
		case tar.TypeLink:
			return nil, fmt.Errorf("entry %q: hard link (to %q) not allowed in a bundle", hdr.Name, hdr.Linkname)
		default:
			return nil, fmt.Errorf("entry %q: %s not allowed in a bundle (regular files only)", hdr.Name, typeName(hdr.Typeflag))
		}
		if err := checkPath(name); err != nil {
			return nil, fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
		if _, dup := files[name]; dup {
			return nil, fmt.Errorf("entry %q: duplicate entry", hdr.Name)
		}
		if prev, dup := folded[foldKey(name)]; dup {
			return nil, fmt.Errorf("entry %q: collides with %q on case-insensitive file systems", hdr.Name, prev)
		}
		folded[foldKey(name)] = name
		if hdr.Size < 0 || hdr.Size > o.MaxFileSize {
			return nil, limits.Size(fmt.Sprintf("entry %q (%d bytes)", hdr.Name, hdr.Size), "file size", o.MaxFileSize)
		}
		// The name counts: the reader keeps it (twice), and a tar name
		// can be up to 1 MiB long (a PAX record).
		total += hdr.Size + int64(len(name))
		if total > o.MaxTotalSize {
			return nil, limits.Size(fmt.Sprintf("entry %q", hdr.Name), "total decompressed size", o.MaxTotalSize)
		}
		data := make([]byte, hdr.Size)
		if _, err := io.ReadFull(tr, data); err != nil {
			return nil, fmt.Errorf("entry %q: %w", hdr.Name, archiveErr(err, window))
		}
		files[name] = data
	}
	dropIgnored("archive", files)
	// The rest of the stream must be tar padding (zeros) and a complete,
	// checksummed zstd frame: this catches truncation after the last entry.
	var buf [32 << 10]byte
	for {
		n, err := cr.Read(buf[:])
		for _, c := range buf[:n] {
			if c != 0 {
				return nil, errors.New("data after the end of the tar archive")
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, archiveErr(err, window)
		}
	}
	return files, nil
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

// parse verifies loaded files and builds the bundle.
func parse(files map[string][]byte) (*Bundle, error) {
	if err := checkLineEndings(files); err != nil {
		return nil, err
	}
	raw, ok := files[ManifestFile]
	if !ok {
		return nil, errors.New("missing manifest.json: not an octobundle bundle")
	}
	mdoc, err := Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestFile, err)
	}
	mobj, _ := mdoc.(map[string]any)
	format, _ := mobj["Format"].(string)
	switch {
	case mobj == nil || mobj["Format"] == nil:
		return nil, fmt.Errorf("%s: no Format field: not an octobundle manifest", ManifestFile)
	case !Known(format):
		return nil, fmt.Errorf("%s: unsupported format version %q (this octobundle reads %s)", ManifestFile, mobj["Format"], strings.Join(Formats, ", "))
	}
	if err := schema.ValidateFile(ManifestFile, mdoc); err != nil {
		return nil, err
	}
	if canon, _ := Canonical(mdoc); !bytes.Equal(canon, raw) {
		return nil, fmt.Errorf("%s: not in canonical form", ManifestFile)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestFile, err)
	}

	sums, ok := files[ChecksumsFile]
	if !ok {
		return nil, fmt.Errorf("missing %s", ChecksumsFile)
	}
	lines, err := parseChecksums(sums)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ChecksumsFile, err)
	}
	d := sha256.Sum256(sums)
	if got := "sha256:" + hex.EncodeToString(d[:]); got != m.Digest {
		return nil, fmt.Errorf("%s: its sha256 is %s but the manifest's Digest is %s (checksums.txt or manifest.json was altered)", ChecksumsFile, got, m.Digest)
	}

	attach := m.Kind != KindConfiguration
	if err := checkKind(m.Kind, 0); err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		if p != ManifestFile && p != ChecksumsFile && p != SignatureFile {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	listed := make(map[string]string, len(lines))
	for _, l := range lines {
		listed[l.path] = l.sum
	}
	// The kind of every path, looked up once (nil for the policy and
	// sidecar files).
	type kindOf struct {
		k   *schema.Kind
		esc []string
	}
	kinds := make([]kindOf, len(paths))
	sumErrs := make([]error, len(paths))
	parallel.Each(len(paths), func(i int) {
		p := paths[i]
		k, esc := schema.KindForPath(p)
		kinds[i] = kindOf{k, esc}
		if k == nil && p != PolicyFile && !(attach && isAttachPath(p)) && !(HasSidecars(format) && isSidecarPath(p)) {
			sumErrs[i] = fmt.Errorf("%s: unknown file (not part of the %s layout; keep other files outside the bundle folder)", p, format)
			return
		}
		want, ok := listed[p]
		if !ok {
			sumErrs[i] = fmt.Errorf("%s: not listed in %s", p, ChecksumsFile)
			return
		}
		h := sha256.Sum256(files[p])
		if got := hex.EncodeToString(h[:]); got != want {
			sumErrs[i] = fmt.Errorf("%s: checksum mismatch: %s lists %s, the file's sha256 is %s", p, ChecksumsFile, want, got)
		}
	})
	for _, err := range sumErrs {
		if err != nil {
			return nil, err
		}
	}
	for _, l := range lines {
		if _, ok := files[l.path]; !ok {
			return nil, fmt.Errorf("%s: listed in %s but missing", l.path, ChecksumsFile)
		}
	}

	b := New(m)
	counts := map[string]int{}
	unclaimed := map[string]bool{} // sidecar files not yet referenced
	// The sidecar files of each folder (an entity file's sidecar folder).
	sideDirs := map[string]map[string][]byte{}
	if HasSidecars(format) {
		b.sidecars = map[string]string{}
		for i, p := range paths {
			if kinds[i].k == nil && p != PolicyFile && !(attach && isAttachPath(p)) {
				unclaimed[p] = true
				d := path.Dir(p)
				if sideDirs[d] == nil {
					sideDirs[d] = map[string][]byte{}
				}
				sideDirs[d][p] = files[p]
			}
		}
	}
	// The entity files are checked and packed on every core. What must
	// be in path order (claiming a path, counting a sidecar file once)
	// happens before and after, in order, so the first problem in path
	// order is the one reported, as when they were read one by one. Each
	// entity's bytes are dropped once it is packed, so the bytes read and
	// the packed documents are not both held whole.
	type item struct {
		p     string
		k     *schema.Kind
		names []string
		data  []byte
		side  map[string][]byte // its sidecar folder's files
		prior error             // a problem found in path order, before it is parsed
		f     *file
		used  []string // the sidecar files it refers to
		early error    // a problem reading it, before its sidecar files are counted
		late  error    // a problem with its content, after
	}
	var items []*item
	for i, p := range paths {
		if kinds[i].k == nil {
			if attach && isAttachPath(p) {
				if b.attached == nil {
					b.attached = map[string][]byte{}
				}
				b.attached[p] = files[p]
				continue
			}
			if p == PolicyFile {
				if _, err := decodePolicy(files[p]); err != nil {
					items = append(items, &item{p: p, prior: err})
					break
				}
				b.policy = files[p]
			}
			continue
		}
		it := &item{p: p, k: kinds[i].k, data: files[p]}
		items = append(items, it)
		var err error
		if it.names, err = unescapeAll(kinds[i].esc); err != nil {
			it.prior = fmt.Errorf("%s: %w", p, err)
			break
		}
		if err := b.claim(p); err != nil {
			it.prior = err
			break
		}
		if HasSidecars(format) {
			it.side = sideDirs[SidecarDir(p)]
		}
	}
	signature := files[SignatureFile]
	files, sideDirs = nil, nil // each item holds what it needs; see above
	parallel.Each(len(items), func(i int) {
		it := items[i]
		if it.prior != nil {
			return
		}
		defer func() { it.data, it.side = nil, nil }()
		k, p := it.k, it.p
		if k.Shape == schema.ShapeBinary {
			if it.early = checkBinary(p, it.data); it.early == nil {
				it.f = &file{kind: k, names: it.names, bin: it.data}
			}
			return
		}
		var doc any
		var err error
		if HasSidecars(format) {
			if doc, it.used, err = joinEntity(p, k, it.data, it.side); err != nil {
				it.early = err
				return
			}
			if err := checkSplit(p, k, doc, it.data, it.used, it.side); err != nil {
				it.early = err
				return
			}
		} else {
			if doc, err = Decode(it.data); err != nil {
				it.early = fmt.Errorf("%s: %w", p, err)
				return
			}
			if canon, _ := Canonical(doc); !bytes.Equal(canon, it.data) {
				it.early = fmt.Errorf("%s: not in canonical form (sorted keys, 2-space indent, trailing newline)", p)
				return
			}
		}
		data, err := compactJSON(doc)
		if err != nil {
			it.late = fmt.Errorf("%s: %w", p, err)
			return
		}
		if err := fillLastName(p, k, it.names, doc); err != nil {
			it.late = err
			return
		}
		if err := checkEntity(p, k, it.names, doc, data); err != nil {
			it.late = err
			return
		}
		it.f = &file{kind: k, names: it.names, doc: jsonv.PackCompact(data)}
	})
	for _, it := range items {
		switch {
		case it.prior != nil:
			return nil, it.prior
		case it.early != nil:
			return nil, it.early
		}
		for _, sp := range it.used {
			if !unclaimed[sp] {
				return nil, fmt.Errorf("%s: sidecar file %s is referenced twice", it.p, sp)
			}
			delete(unclaimed, sp)
			b.sidecars[sp] = it.p
		}
		if it.late != nil {
			return nil, it.late
		}
		b.files[it.p] = it.f
		counts[it.k.Name]++
	}
	for _, p := range slices.Sorted(maps.Keys(unclaimed)) {
		return nil, fmt.Errorf("%s: unknown file (a sidecar file no text field of %s refers to)", p, path.Dir(p)+".json")
	}
	if err := resolveShortened(b.files); err != nil {
		return nil, err
	}
	for _, k := range schema.Kinds() {
		if got, want := counts[k.Name], m.Counts[k.Name]; got != want {
			return nil, fmt.Errorf("%s: Counts says %d %s, the bundle has %d", ManifestFile, want, k.Title, got)
		}
	}
	for name := range m.Counts {
		if schema.Lookup(name) == nil {
			return nil, fmt.Errorf("%s: Counts names an unknown kind %q", ManifestFile, name)
		}
	}
	b.checksums = sums
	b.manifest = raw
	b.sealed = true
	b.sealedAs = snapshotManifest(m)
	b.signature = signature
	return b, nil
}
