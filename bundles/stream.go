package bundles

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/schema"
)

// A bundle is read file by file. The directory and archive readers hand
// each file's bytes to a loader (add) as they read it; the loader hashes
// it, and checks and packs an entity file on a worker (one per core)
// while the reader reads on, then drops the bytes. So the bytes read and
// the packed documents are never both held whole: at most a few files per
// worker are in flight (a bundle of 10,000 projects has about 530 MB of
// files and packs to a fraction of that).
//
// What cannot be checked one file at a time waits: the entity files read
// before manifest.json (which says the format, and so how they are
// checked), a sidecar file until its entity file takes it (or is packed
// without it), and an entity file until the sidecar files it refers to
// have been read. Readers hand the manifest first where they can (the
// directory reader) and in sorted order otherwise (the archive writer), so
// these waits are short. Every problem a file has is kept with it, and
// bundle reports the first one in the order parse always did, so the
// errors do not depend on the order the files came in.

// fileResult is what the loader found in one file.
type fileResult struct {
	k   *schema.Kind // nil for any other file
	esc []string     // the escaped names in its path, until unescaped
	// nameErr is the problem unescaping them.
	nameErr error
	sum     [sha256.Size]byte
	// crlf is set for a file octobundle writes as text without carriage
	// returns (JSON: entities, manifest, policy; checksums.txt and the
	// signature) that has CRLF line endings. The bytes of a binary file
	// (a logo) and of a sidecar text file (a script, which may well have
	// CRLF line endings in Octopus) are kept as they are.
	crlf bool
	f    *file
	used []string // the sidecar files it refers to
	// early is a problem reading it, before its sidecar files are
	// counted; late a problem with its content, after.
	early, late error
}

// pendingEntity is an entity file waiting for the manifest or for its
// sidecar files.
type pendingEntity struct {
	p       string
	r       *fileResult
	names   []string // unescaped
	data    []byte
	doc     any               // decoded (when waiting for sidecar files)
	got     map[string][]byte // the sidecar files it has
	missing map[string]bool   // those it waits for
}

// loader checks and packs the files of one bundle as they are read; see
// above. add is called from one goroutine, then finish (or, after a read error, stop).
type loader struct {
	jobs chan func()
	wg   sync.WaitGroup

	// Set by the reading goroutine only.
	res                            map[string]*fileResult
	manifest, checksums, signature []byte
	hasManifest                    bool
	// held are the files kept whole: the policy file and attached files.
	held map[string][]byte

	mu sync.Mutex
	// format is the manifest's Format once it has been read ("" before);
	// skip is set when it cannot be read (entity files are then only
	// hashed: the manifest's error is the one reported).
	format string
	skip   bool
	// early are the entity files read before the manifest.
	early []*pendingEntity
	// side holds, by folder, the sidecar files no entity file has taken
	// yet; parked the entity files waiting for theirs, by sidecar folder;
	// taken the folders whose entity file has taken its files.
	side   map[string]map[string][]byte
	parked map[string]*pendingEntity
	taken  map[string]bool
	ended  bool
	// live counts the files read whose bytes the loader still holds
	// (peak: its maximum), for tests.
	live, peak int
}

// peakHook, when set (by tests), is called by finish with the most file
// buffers the loader held at once and the number of files read.
var peakHook func(peak, files int)

func newLoader() *loader {
	n := runtime.GOMAXPROCS(0)
	l := &loader{
		jobs:   make(chan func(), n),
		res:    map[string]*fileResult{},
		held:   map[string][]byte{},
		side:   map[string]map[string][]byte{},
		parked: map[string]*pendingEntity{},
		taken:  map[string]bool{},
	}
	for range n {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for job := range l.jobs {
				job()
			}
		}()
	}
	return l
}

// track counts n file buffers taken (n > 0) or dropped (n < 0).
func (l *loader) track(n int) {
	l.mu.Lock()
	l.live += n
	l.peak = max(l.peak, l.live)
	l.mu.Unlock()
}

// add takes the file p (its bytes data) of the bundle; the loader owns
// data from now on. Each path is added once.
func (l *loader) add(p string, data []byte) {
	l.track(1)
	r := &fileResult{}
	l.res[p] = r
	switch p {
	case ManifestFile, ChecksumsFile, SignatureFile:
		r.crlf = bytes.Contains(data, crlf)
		switch p {
		case ManifestFile:
			l.manifest, l.hasManifest = data, true
			l.setFormat(data)
		case ChecksumsFile:
			l.checksums = data
		default:
			l.signature = data
		}
		return
	}
	r.k, r.esc = schema.KindForPath(p)
	if r.k != nil {
		pe := &pendingEntity{p: p, r: r, data: data}
		l.mu.Lock()
		if l.format == "" && !l.skip {
			l.early = append(l.early, pe)
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		l.jobs <- func() { l.entity(pe) }
		return
	}
	r.sum = sha256.Sum256(data)
	switch {
	case p == PolicyFile:
		r.crlf = bytes.Contains(data, crlf)
		l.held[p] = data
	case isAttachPath(p):
		// No kind has files below AttachDir, so no entity file has a
		// sidecar file there.
		l.held[p] = data
	case isSidecarPath(p):
		l.offer(p, data)
	default:
		l.track(-1) // an unknown file: bundle reports it
	}
}

var crlf = []byte("\r\n")

// setFormat reads the format from the manifest's bytes and lets the
// entity files that waited for it go.
func (l *loader) setFormat(data []byte) {
	var m struct{ Format string }
	err := json.Unmarshal(data, &m)
	l.mu.Lock()
	if err != nil || !Known(m.Format) {
		l.skip = true
	} else {
		l.format = m.Format
	}
	early := l.early
	l.early = nil
	var drop int
	if !HasSidecars(l.format) {
		// No file is a sidecar file in this format: each is reported
		// as unknown.
		for d, fs := range l.side {
			drop += len(fs)
			delete(l.side, d)
		}
	}
	l.live -= drop
	l.mu.Unlock()
	for _, pe := range early {
		l.jobs <- func() { l.entity(pe) }
	}
}

// offer hands the sidecar file sp to its entity file, or holds it until
// that comes.
func (l *loader) offer(sp string, data []byte) {
	d := path.Dir(sp)
	l.mu.Lock()
	if l.format != "" && !HasSidecars(l.format) || l.skip {
		l.live--
		l.mu.Unlock()
		return
	}
	pe := l.parked[d]
	switch {
	case pe != nil && pe.missing[sp]:
		pe.got[sp] = data
		delete(pe.missing, sp)
		if len(pe.missing) > 0 {
			l.mu.Unlock()
			return
		}
		delete(l.parked, d)
		l.takeLocked(d)
		l.mu.Unlock()
		l.jobs <- func() { l.join(pe) }
		return
	case pe != nil || l.taken[d]:
		l.live-- // its entity file does not refer to it: bundle reports it
	default:
		if l.side[d] == nil {
			l.side[d] = map[string][]byte{}
		}
		l.side[d][sp] = data
	}
	l.mu.Unlock()
}

// takeLocked marks the sidecar folder d as taken and drops the files held
// for it that its entity file does not use.
func (l *loader) takeLocked(d string) {
	l.taken[d] = true
	l.live -= len(l.side[d])
	delete(l.side, d)
}

// release drops pe's bytes.
func (l *loader) release(pe *pendingEntity) {
	l.mu.Lock()
	l.live -= 1 + len(pe.got)
	l.mu.Unlock()
	pe.data, pe.doc, pe.got = nil, nil, nil
}

// entity hashes the entity file pe and checks and packs it (joining its
// sidecar files, which it may have to wait for).
func (l *loader) entity(pe *pendingEntity) {
	r, p, k := pe.r, pe.p, pe.r.k
	r.sum = sha256.Sum256(pe.data)
	if k.Shape != schema.ShapeBinary {
		r.crlf = bytes.Contains(pe.data, crlf)
	}
	l.mu.Lock()
	format, skip := l.format, l.skip
	l.mu.Unlock()
	names, err := unescapeAll(r.esc)
	r.esc, r.nameErr, pe.names = nil, err, names
	if skip || err != nil { // bundle reports the manifest's or the name's problem
		l.release(pe)
		return
	}
	if k.Shape == schema.ShapeBinary {
		if r.early = checkBinary(p, pe.data); r.early == nil {
			r.f = &file{kind: k, names: names, bin: pe.data}
		}
		l.release(pe)
		return
	}
	if pe.doc, err = Decode(pe.data); err != nil {
		r.early = fmt.Errorf("%s: %w", p, err)
		l.release(pe)
		return
	}
	if !HasSidecars(format) {
		if canon, _ := Canonical(pe.doc); !bytes.Equal(canon, pe.data) {
			r.early = fmt.Errorf("%s: not in canonical form (sorted keys, 2-space indent, trailing newline)", p)
		} else {
			l.pack(pe)
		}
		l.release(pe)
		return
	}
	// Take the sidecar files it refers to, or wait for them.
	d := SidecarDir(p)
	pe.got = map[string][]byte{}
	l.mu.Lock()
	for _, sp := range sidecarRefs(p, k, pe.doc) {
		if data, ok := l.side[d][sp]; ok {
			pe.got[sp] = data
			delete(l.side[d], sp)
		} else if !l.ended {
			if pe.missing == nil {
				pe.missing = map[string]bool{}
			}
			pe.missing[sp] = true
		}
	}
	if len(pe.missing) > 0 {
		l.parked[d] = pe
		l.mu.Unlock()
		return
	}
	l.takeLocked(d)
	l.mu.Unlock()
	l.join(pe)
}

// join checks and packs the entity file pe of a format with sidecar
// files, which has all of its sidecar files that were read.
func (l *loader) join(pe *pendingEntity) {
	defer l.release(pe)
	r, p, k := pe.r, pe.p, pe.r.k
	var err error
	if r.used, err = joinDoc(p, k, pe.doc, pe.got); err != nil {
		r.early = err
		return
	}
	if err := checkSplit(p, k, pe.doc, pe.data, r.used, pe.got); err != nil {
		r.early = err
		return
	}
	l.pack(pe)
}

// pack checks the decoded entity document of pe and packs it.
func (l *loader) pack(pe *pendingEntity) {
	r, p, k, names := pe.r, pe.p, pe.r.k, pe.names
	// The compact bytes are hashed, validated and packed (a copy), then
	// dropped: a pooled buffer.
	buf := jsonv.Buffer()
	defer jsonv.PutBuffer(buf)
	data, err := compactJSONTo(buf, pe.doc)
	if err != nil {
		r.late = fmt.Errorf("%s: %w", p, err)
		return
	}
	if err := fillLastName(p, k, names, pe.doc); err != nil {
		r.late = err
		return
	}
	if err := checkEntity(p, k, names, pe.doc, data); err != nil {
		r.late = err
		return
	}
	r.f = &file{kind: k, names: names, doc: jsonv.PackCompact(data)}
}

// stop lets the waiting entity files go (without what they still wait
// for) and waits for the workers.
func (l *loader) stop() {
	l.mu.Lock()
	l.ended = true
	if l.format == "" {
		l.skip = true // no manifest: only hash what waited for it
	}
	waiting := l.early
	l.early = nil
	parked := slices.Collect(maps.Values(l.parked))
	for d := range l.parked {
		l.takeLocked(d)
	}
	clear(l.parked)
	l.mu.Unlock()
	for _, pe := range waiting {
		l.jobs <- func() { l.entity(pe) }
	}
	for _, pe := range parked {
		l.jobs <- func() { l.join(pe) }
	}
	close(l.jobs)
	l.wg.Wait()
	l.mu.Lock()
	for _, fs := range l.side {
		l.live -= len(fs)
	}
	clear(l.side)
	l.mu.Unlock()
}

// finish waits for the files in flight and builds the bundle from what
// was found, reporting the first problem in the order parse always has:
// line endings, the manifest, checksums.txt, each file's place and
// checksum in path order, each entity file in path order, then the
// sidecar files no entity refers to and the counts.
func (l *loader) finish() (*Bundle, error) {
	l.stop()
	if peakHook != nil {
		peakHook(l.peak, len(l.res))
	}
	if err := l.lineEndings(); err != nil {
		return nil, err
	}
	raw := l.manifest
	if !l.hasManifest {
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
	if format != l.format {
		// The loader read the format the same way; this cannot happen.
		return nil, fmt.Errorf("%s: format %q read as %q", ManifestFile, format, l.format)
	}

	sums := l.checksums
	if _, ok := l.res[ChecksumsFile]; !ok {
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
	paths := make([]string, 0, len(l.res))
	for p := range l.res {
		if p != ManifestFile && p != ChecksumsFile && p != SignatureFile {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	listed := make(map[string]string, len(lines))
	for _, ln := range lines {
		listed[ln.path] = ln.sum
	}
	for _, p := range paths {
		r := l.res[p]
		if r.k == nil && p != PolicyFile && !(attach && isAttachPath(p)) && !(HasSidecars(format) && isSidecarPath(p)) {
			return nil, fmt.Errorf("%s: unknown file (not part of the %s layout; keep other files outside the bundle folder)", p, format)
		}
		want, ok := listed[p]
		if !ok {
			return nil, fmt.Errorf("%s: not listed in %s", p, ChecksumsFile)
		}
		if got := hex.EncodeToString(r.sum[:]); got != want {
			return nil, fmt.Errorf("%s: checksum mismatch: %s lists %s, the file's sha256 is %s", p, ChecksumsFile, want, got)
		}
	}
	for _, ln := range lines {
		if _, ok := l.res[ln.path]; !ok {
			return nil, fmt.Errorf("%s: listed in %s but missing", ln.path, ChecksumsFile)
		}
	}

	b := New(m)
	counts := map[string]int{}
	unclaimed := map[string]bool{} // sidecar files not yet referenced
	if HasSidecars(format) {
		b.sidecars = map[string]string{}
		for _, p := range paths {
			if l.res[p].k == nil && p != PolicyFile && !(attach && isAttachPath(p)) {
				unclaimed[p] = true
			}
		}
	}
	for _, p := range paths {
		r := l.res[p]
		if r.k == nil {
			switch {
			case attach && isAttachPath(p):
				if b.attached == nil {
					b.attached = map[string][]byte{}
				}
				b.attached[p] = l.held[p]
			case p == PolicyFile:
				if _, err := decodePolicy(l.held[p]); err != nil {
					return nil, err
				}
				b.policy = l.held[p]
			}
			continue
		}
		if r.nameErr != nil {
			return nil, fmt.Errorf("%s: %w", p, r.nameErr)
		}
		if err := b.claim(p); err != nil {
			return nil, err
		}
		if r.early != nil {
			return nil, r.early
		}
		for _, sp := range r.used {
			if !unclaimed[sp] {
				return nil, fmt.Errorf("%s: sidecar file %s is referenced twice", p, sp)
			}
			delete(unclaimed, sp)
			b.sidecars[sp] = p
		}
		if r.late != nil {
			return nil, r.late
		}
		b.files[p] = r.f
		counts[r.k.Name]++
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
	b.signature = l.signature
	return b, nil
}

// lineEndings fails, naming the files and the fix, when text files have
// CRLF line endings (see checkLineEndings).
func (l *loader) lineEndings() error {
	var bad []string
	for p, r := range l.res {
		if r.crlf {
			bad = append(bad, p)
		}
	}
	return crlfError(bad)
}
