package state

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/internal/limits"
	"github.com/octobundle/octobundle/internal/parallel"
	"github.com/octobundle/octobundle/schema"
)

// Group commit: the journal is fsynced at most syncEvery after a record
// was appended to it, or once syncRecords records wait, whichever comes
// first. A record is in the file (and survives a kill of the process) as
// soon as Record returns; the fsync bounds what a crash of the machine
// can lose, and the number of fsyncs grows with an apply's time, not with
// its entities.
const (
	syncEvery   = time.Second
	syncRecords = 4096
)

// where says which file holds a document of an entity.
type where uint8

const (
	none      where = iota // no such document
	inPack                 // the pack, as of the last Finish
	inJournal              // a journal record (at an offset)
	inLegacy               // a file of the layout before v3 (base/, written/)
)

// doc locates one document of an entity and identifies its content.
type doc struct {
	at  where
	off int64    // the journal record's offset (inJournal)
	sum [32]byte // sha256 of the canonical document
}

// ent is an entity the state records: its base and written documents.
type ent struct{ base, written doc }

// Store is one destination's state folder.
type Store struct {
	dir string
	dst Destination

	mu     sync.Mutex
	loaded bool
	idx    map[string]*ent   // every entity the state records
	mids   map[string]string // the manifest's IDs when loaded
	ids    map[string]string // IDs recorded since the last Finish (journal)
	forgot map[string]bool   // paths forgotten since the last Finish (journal)
	legacy *legacy           // the layout before v3, read once (nil: none)
	pack   os.FileInfo       // the pack as loaded (nil: none)
	jEnd   int64             // the end of the journal's valid records
	jSize  int64             // the journal file's size when loaded
	jf     *os.File          // the journal, open for appending
	wait   int               // records appended since the last fsync
	timer  *time.Timer       // the pending group commit
	err    error             // a failed group commit, returned by the next call
}

// fsyncs counts the fsync calls of this package (tests and benchmarks
// read it).
var fsyncs atomic.Int64

// syncFile fsyncs f.
func syncFile(f *os.File) error {
	fsyncs.Add(1)
	return f.Sync()
}

// syncDir makes the renames in dir durable (not on Windows, where a
// directory cannot be opened for it and renames are journalled).
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return syncFile(f)
}

// Open returns the state folder of destination d under root; it is
// created by the first write (reading an absent one gives no base).
// It refuses a folder whose manifest names another destination (another
// installation, server URL or space), naming both and the fix. The pack
// and journal are read when first needed.
func Open(root string, d Destination) (*Store, error) {
	if root == "" {
		root = DefaultDir
	}
	dir := filepath.Join(root, bundles.EscapeName(d.Identity()), bundles.EscapeName(d.Space))
	s := &Store{dir: dir, dst: d}
	m, err := s.Manifest()
	if err != nil {
		return nil, err
	}
	if m != nil && !m.Destination.Same(d) {
		file := filepath.Join(dir, ManifestFile)
		fix := "this folder holds another destination's state: give this destination a state directory of its own (--state), or remove " + dir + " to start over (the next plan merges two-way)"
		if m.Destination.InstallationID != "" && m.Destination.InstallationID == d.InstallationID && strings.EqualFold(m.Destination.Space, d.Space) {
			fix = fmt.Sprintf("if %s is the same Octopus under a new URL, set \"server\" to %q in %s; otherwise (a restored copy of that server) ", d.Server, d.Server, file) + fix
		}
		return nil, fmt.Errorf("state: %s: destination: it is the state of %s, not of %s; refusing to use it as this destination's merge base: %s", file, m.Destination, d, fix)
	}
	return s, nil
}

// Dir returns the destination's state folder.
func (s *Store) Dir() string { return s.dir }

// Manifest reads the folder's manifest; nil when there is none yet.
func (s *Store) Manifest() (*Manifest, error) {
	data, err := limits.ReadFile(filepath.Join(s.dir, ManifestFile), limits.FileSize, "state file size")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("state: %s: %w", s.dir, err)
	}
	return m, nil
}

// load reads the state (s.mu held): the legacy files, the pack, then the
// journal replayed over them. Once loaded, it reads again only when
// fresh is set and the pack or journal changed since (another Store of
// the folder finished or recorded).
func (s *Store) load(fresh bool) error {
	if s.loaded && (!fresh || !s.changed()) {
		return nil
	}
	s.reset()
	m, err := s.Manifest()
	if err != nil {
		return err
	}
	if m != nil {
		maps := m.IDs
		if maps == nil {
			maps = map[string]string{}
		}
		s.mids = maps
	}
	if s.legacy, err = readLegacy(s.dir); err != nil {
		return err
	}
	if s.legacy != nil {
		for p, l := range s.legacy.docs {
			e := &ent{}
			if l.base != nil {
				e.base = doc{at: inLegacy, sum: sha256.Sum256(l.base)}
			}
			if l.written != nil {
				e.written = doc{at: inLegacy, sum: sha256.Sum256(l.written)}
			}
			s.idx[p] = e
		}
	}
	packPath := filepath.Join(s.dir, PackFile)
	if fi, err := os.Stat(packPath); err == nil {
		s.pack = fi
	}
	err = readPack(packPath, func(pe packEntry) error {
		e := &ent{}
		if pe.base != nil {
			e.base = doc{at: inPack, sum: sha256.Sum256(pe.base)}
		}
		if pe.written != nil {
			e.written = doc{at: inPack, sum: sha256.Sum256(pe.written)}
		}
		s.idx[pe.path] = e // over a legacy file: the pack is newer
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.replay(); err != nil {
		return err
	}
	s.loaded = true
	return nil
}

// reset forgets what load read.
func (s *Store) reset() {
	s.loaded = false
	s.idx = map[string]*ent{}
	s.mids = map[string]string{}
	s.ids = map[string]string{}
	s.forgot = map[string]bool{}
	s.legacy, s.pack = nil, nil
	s.jEnd, s.jSize = 0, 0
	s.closeJournal()
}

// changed reports whether the pack or journal differ from what load read.
func (s *Store) changed() bool {
	fi, err := os.Stat(filepath.Join(s.dir, PackFile))
	switch {
	case err != nil && s.pack != nil, err == nil && s.pack == nil:
		return true
	case err == nil && (!os.SameFile(fi, s.pack) || fi.Size() != s.pack.Size() || !fi.ModTime().Equal(s.pack.ModTime())):
		return true
	}
	size := int64(0)
	if fi, err := os.Stat(filepath.Join(s.dir, JournalFile)); err == nil {
		size = fi.Size()
	}
	if s.jf != nil {
		return size != s.jEnd
	}
	return size != s.jSize
}

// replay applies the journal's records over the pack.
func (s *Store) replay() error {
	path := filepath.Join(s.dir, JournalFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	s.jSize = fi.Size()
	end, err := readJournalFrom(f, fi.Size(), s.apply)
	if err != nil {
		var je *JournalError
		if errors.As(err, &je) {
			je.File = path
		}
		return err
	}
	s.jEnd = end
	return nil
}

// apply applies one journal record (at offset off) to the loaded state.
func (s *Store) apply(off int64, e entry) error {
	if k, _ := schema.KindForPath(e.path); k == nil || k.Shape == schema.ShapeBinary {
		return fmt.Errorf("%q is not the path of an entity file", e.path)
	}
	switch e.op {
	case opRecord:
		x := s.idx[e.path]
		if x == nil {
			x = &ent{}
			s.idx[e.path] = x
		}
		x.base = doc{at: inJournal, off: off, sum: sha256.Sum256(e.base)}
		if e.written != nil {
			x.written = doc{at: inJournal, off: off, sum: sha256.Sum256(e.written)}
		}
	case opID:
		s.ids[e.path] = e.id
		delete(s.forgot, e.path)
	case opForget:
		delete(s.idx, e.path)
		delete(s.ids, e.path)
		s.forgot[e.path] = true
	}
	return nil
}

// readJournalFrom reads the journal in r (size bytes) as readJournal
// does, streaming: fn gets each record with its offset.
func readJournalFrom(r io.ReaderAt, size int64, fn func(int64, entry) error) (int64, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 1<<16)
	var hdr [frameHeader]byte
	var payload []byte
	off := int64(0)
	for n := 1; off < size; n++ {
		bad := func(err error) (int64, error) {
			if tail, zero := tailOf(r, off, size); tail || zero {
				return off, nil
			}
			return off, &JournalError{Record: n, Offset: off, Err: err}
		}
		if size-off < frameHeader {
			return bad(errors.New("truncated header"))
		}
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return off, &JournalError{Record: n, Offset: off, Err: err}
		}
		length := binary.LittleEndian.Uint32(hdr[:])
		if length == 0 || length > maxPayload {
			return bad(fmt.Errorf("record length %d", length))
		}
		if uint64(size-off-frameHeader) < uint64(length) {
			return bad(fmt.Errorf("record length %d past the end of the file", length))
		}
		payload = slices.Grow(payload[:0], int(length))[:length]
		if _, err := io.ReadFull(br, payload); err != nil {
			return off, &JournalError{Record: n, Offset: off, Err: err}
		}
		if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(hdr[4:]) {
			return bad(errors.New("checksum mismatch"))
		}
		e, err := decodePayload(payload)
		if err == nil {
			err = fn(off, e)
		}
		if err != nil {
			return off, &JournalError{Record: n, Offset: off, Err: err}
		}
		off += frameHeader + int64(length)
	}
	return off, nil
}

// tailOf reports, for a record at off that fails, whether it is a torn
// last record (its header runs to or past the end) or is followed only by
// zero bytes (see readJournal).
func tailOf(r io.ReaderAt, off, size int64) (tail, zero bool) {
	var hdr [frameHeader]byte
	if size-off < frameHeader {
		tail = true
	} else if _, err := r.ReadAt(hdr[:], off); err == nil {
		tail = uint64(binary.LittleEndian.Uint32(hdr[:])) >= uint64(size-off-frameHeader)
	}
	if tail {
		return true, false
	}
	buf := make([]byte, 1<<16)
	for pos := off; pos < size; {
		n, err := r.ReadAt(buf[:min(int64(len(buf)), size-pos)], pos)
		if !allZero(buf[:n]) {
			return false, false
		}
		pos += int64(n)
		if err != nil && pos < size {
			return false, false
		}
	}
	return false, true
}

// journalEntry reads the entity record of the journal at off.
func (s *Store) journalEntry(r io.ReaderAt, off int64) (entry, error) {
	name := filepath.Join(s.dir, JournalFile)
	var hdr [frameHeader]byte
	if _, err := r.ReadAt(hdr[:], off); err != nil {
		return entry{}, fmt.Errorf("state: %s: record at byte offset %d: %w", name, off, err)
	}
	payload := make([]byte, binary.LittleEndian.Uint32(hdr[:]))
	if _, err := r.ReadAt(payload, off+frameHeader); err != nil {
		return entry{}, fmt.Errorf("state: %s: record at byte offset %d: %w", name, off, err)
	}
	if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(hdr[4:]) {
		return entry{}, fmt.Errorf("state: %s: record at byte offset %d: changed since it was read (another process writes this state folder?)", name, off)
	}
	e, err := decodePayload(payload)
	if err != nil || e.op != opRecord {
		return entry{}, fmt.Errorf("state: %s: record at byte offset %d: not an entity record", name, off)
	}
	return e, nil
}

// journalReader returns a reader of the journal and its release.
func (s *Store) journalReader() (io.ReaderAt, func(), error) {
	if s.jf != nil {
		return s.jf, func() {}, nil
	}
	f, err := os.Open(filepath.Join(s.dir, JournalFile))
	if errors.Is(err, fs.ErrNotExist) {
		return bytes.NewReader(nil), func() {}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("state: %w", err)
	}
	return f, func() { f.Close() }, nil
}

// each calls fn with the path, base document (nil: none) and written
// document (nil: none) of every entity the state records: those of the
// pack in path order, then the others in path order; only the documents
// asked for are read (s.mu held, loaded).
func (s *Store) each(wantBase, wantWritten bool, fn func(p string, base, written []byte) error) error {
	jr, release, err := s.journalReader()
	if err != nil {
		return err
	}
	defer release()
	var overlay []string
	for p, e := range s.idx {
		if (e.base.at != inPack && e.base.at != none) || (e.written.at != inPack && e.written.at != none) {
			overlay = append(overlay, p)
		}
	}
	sort.Strings(overlay)
	var last entry
	var lastOff int64
	haveLast := false
	resolve := func(p string, d doc, written bool, pe *packEntry) ([]byte, error) {
		switch d.at {
		case inPack:
			if pe == nil {
				return nil, fmt.Errorf("state: %s: %s is not in the pack (another process writes this state folder?)", filepath.Join(s.dir, PackFile), p)
			}
			if written {
				return pe.written, nil
			}
			return pe.base, nil
		case inJournal:
			// One read for both documents when one record holds them.
			if !haveLast || lastOff != d.off {
				e, err := s.journalEntry(jr, d.off)
				if err != nil {
					return nil, err
				}
				last, lastOff, haveLast = e, d.off, true
			}
			if written {
				return last.written, nil
			}
			return last.base, nil
		case inLegacy:
			if written {
				return s.legacy.docs[p].written, nil
			}
			return s.legacy.docs[p].base, nil
		}
		return nil, nil
	}
	emit := func(p string, pe *packEntry) error {
		e := s.idx[p]
		if e == nil {
			return nil // forgotten
		}
		var base, written []byte
		var err error
		if wantBase {
			if base, err = resolve(p, e.base, false, pe); err != nil {
				return err
			}
		}
		if wantWritten {
			if written, err = resolve(p, e.written, true, pe); err != nil {
				return err
			}
		}
		if base == nil && written == nil {
			return nil
		}
		return fn(p, base, written)
	}
	i := 0
	err = readPack(filepath.Join(s.dir, PackFile), func(pe packEntry) error {
		for i < len(overlay) && overlay[i] < pe.path {
			if err := emit(overlay[i], nil); err != nil {
				return err
			}
			i++
		}
		if i < len(overlay) && overlay[i] == pe.path {
			i++
		}
		return emit(pe.path, &pe)
	})
	if err != nil {
		return err
	}
	for ; i < len(overlay); i++ {
		if err := emit(overlay[i], nil); err != nil {
			return err
		}
	}
	return nil
}

// Base reads the merge base: nil (and digest "") when the folder holds
// none yet. The digest covers every base document's path and content (as
// the sha256 sums of the files of the layout before v3 did: the same base
// has the same digest in either layout).
func (s *Store) Base() (b *bundles.Bundle, digest string, err error) {
	b, lines, err := s.read(false)
	if err != nil || b == nil {
		return nil, "", err
	}
	sort.Strings(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "")))
	return b, "sha256:" + hex.EncodeToString(sum[:]), nil
}

// Written reads what the destination held after octobundle's writes.
func (s *Store) Written() (*bundles.Bundle, error) {
	b, _, err := s.read(true)
	return b, err
}

// read builds the bundle of the base (or written) documents, with the
// digest line of each.
func (s *Store) read(written bool) (*bundles.Bundle, []string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(true); err != nil {
		return nil, nil, err
	}
	b := bundles.New(bundles.Manifest{})
	var lines []string
	// Parsing and re-encoding the documents is CPU work that grows with
	// the destination: it runs on every core, a batch at a time (the raw
	// documents of one batch in memory, not all of them).
	type item struct {
		p    string
		data []byte
	}
	var batch []item
	var batchSize int
	flush := func() error {
		// Each document is put into the bundle (packed) as soon as it is
		// parsed: a batch of decoded documents would take ten times its
		// JSON.
		errs := make([]error, len(batch))
		sums := make([]string, len(batch))
		parallel.Each(len(batch), func(i int) {
			doc, err := ParseEntity(batch[i].p, batch[i].data)
			if err == nil {
				err = b.PutFile(batch[i].p, doc)
			}
			if err != nil {
				errs[i] = fmt.Errorf("state: %s: %w", s.dir, err)
				return
			}
			sum := sha256.Sum256(batch[i].data)
			sums[i] = hex.EncodeToString(sum[:]) + "  " + batch[i].p + "\n"
		})
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		lines = append(lines, sums...)
		clear(batch)
		batch, batchSize = batch[:0], 0
		return nil
	}
	err := s.each(!written, written, func(p string, base, w []byte) error {
		data := base
		if written {
			data = w
		}
		if data == nil {
			return nil
		}
		batch = append(batch, item{p, bytes.Clone(data)})
		if batchSize += len(data); batchSize >= 4<<20 || len(batch) >= 4096 {
			return flush()
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	if err != nil {
		return nil, nil, err
	}
	if len(lines) == 0 {
		return nil, nil, nil
	}
	return b, lines, nil
}

// canonical encodes an entity document for the state, refusing a secret.
func canonical(p string, v any) ([]byte, error) {
	if secret(v) {
		return nil, fmt.Errorf("state: %s: refusing to record a secret value", p)
	}
	data, err := bundles.Canonical(v)
	if err != nil {
		return nil, fmt.Errorf("state: %s: %w", p, err)
	}
	return data, nil
}

// Record records an entity's base document and, unless written is nil,
// what the destination held after the write (see the package doc): one
// journal record, appended at once; a record the state already holds
// appends nothing. Either document may be a jsonv.Doc (the zero Doc for
// written is nil), recorded without being decoded.
func (s *Store) Record(p string, base, written any) error {
	if d, ok := written.(jsonv.Doc); ok && d.IsZero() {
		written = nil
	}
	if k, _ := schema.KindForPath(p); k == nil || k.Shape == schema.ShapeBinary {
		return fmt.Errorf("state: %s: not the path of an entity file", p)
	}
	bdata, err := canonicalOf(p, base)
	if err != nil {
		return err
	}
	var wdata []byte
	if written != nil {
		if wdata, err = canonicalOf(p, written); err != nil {
			return err
		}
	}
	bsum := sha256.Sum256(bdata)
	var wsum [32]byte
	if wdata != nil {
		wsum = sha256.Sum256(wdata)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(false); err != nil {
		return err
	}
	if e := s.idx[p]; e != nil && e.base.at != none && e.base.sum == bsum && (wdata == nil || (e.written.at != none && e.written.sum == wsum)) {
		return nil // already recorded (a replay)
	}
	off, err := s.append(entry{op: opRecord, path: p, base: bdata, written: wdata})
	if err != nil {
		return err
	}
	e := s.idx[p]
	if e == nil {
		e = &ent{}
		s.idx[p] = e
	}
	e.base = doc{at: inJournal, off: off, sum: bsum}
	if wdata != nil {
		e.written = doc{at: inJournal, off: off, sum: wsum}
	}
	return nil
}

// HasWritten reports whether the written document recorded for bundle path
// p has the sha256 sum (of its canonical JSON, as Record writes it).
func (s *Store) HasWritten(p string, sum []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.load(false) != nil {
		return false
	}
	e := s.idx[p]
	return e != nil && e.written.at != none && bytes.Equal(e.written.sum[:], sum)
}

// RecordID notes the server ID the entity at bundle path p has on the
// destination after octobundle wrote it (what --prune may delete): a
// journal record, no fsync of its own; Finish writes the IDs into the
// manifest.
func (s *Store) RecordID(p, id string) error {
	if id == "" {
		return nil
	}
	if k, _ := schema.KindForPath(p); k == nil || k.Shape == schema.ShapeBinary {
		return fmt.Errorf("state: %s: not the path of an entity file", p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(false); err != nil {
		return err
	}
	if s.currentID(p) == id {
		return nil
	}
	if _, err := s.append(entry{op: opID, path: p, id: id}); err != nil {
		return err
	}
	s.ids[p] = id
	delete(s.forgot, p)
	return nil
}

// currentID is the ID recorded for p (s.mu held, loaded).
func (s *Store) currentID(p string) string {
	if id, ok := s.ids[p]; ok {
		return id
	}
	if s.forgot[p] {
		return ""
	}
	return s.mids[p]
}

// IDs returns the server IDs octobundle recorded, by bundle path: the
// manifest's and those recorded since the last Finish, less those
// forgotten. A FormatV1 state has none.
func (s *Store) IDs() (map[string]string, error) {
	m, err := s.Manifest()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(true); err != nil {
		return nil, err
	}
	return s.mergedIDs(m), nil
}

// mergedIDs is IDs over the manifest m (nil: none yet); s.mu held.
func (s *Store) mergedIDs(m *Manifest) map[string]string {
	out := map[string]string{}
	if m != nil {
		for p, id := range m.IDs {
			out[p] = id
		}
	}
	for p := range s.forgot {
		delete(out, p)
	}
	for p, id := range s.ids {
		out[p] = id
	}
	return out
}

// Forget removes an entity from the state: a journal record.
func (s *Store) Forget(p string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(false); err != nil {
		return err
	}
	if s.idx[p] == nil && s.currentID(p) == "" {
		return nil // nothing recorded
	}
	if _, err := s.append(entry{op: opForget, path: p}); err != nil {
		return err
	}
	delete(s.idx, p)
	delete(s.ids, p)
	s.forgot[p] = true
	return nil
}

// append appends a record to the journal (s.mu held, loaded) and returns
// its offset; the group commit fsyncs it.
func (s *Store) append(e entry) (int64, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.jf == nil {
		if err := os.MkdirAll(s.dir, 0o700); err != nil {
			return 0, fmt.Errorf("state: %w", err)
		}
		f, err := os.OpenFile(filepath.Join(s.dir, JournalFile), os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return 0, fmt.Errorf("state: %w", err)
		}
		// Cut a torn tail: records appended after it would otherwise
		// follow a damaged one.
		if fi, err := f.Stat(); err == nil && fi.Size() != s.jEnd {
			err = f.Truncate(s.jEnd)
			if err != nil {
				f.Close()
				return 0, fmt.Errorf("state: %w", err)
			}
		}
		s.jf, s.jSize = f, s.jEnd
	}
	frame := appendFrame(nil, e)
	off := s.jEnd
	if _, err := s.jf.Write(frame); err != nil {
		// A part of the frame may be in the file: cut it, or the next
		// record would follow a damaged one.
		if terr := s.jf.Truncate(off); terr != nil {
			s.err = fmt.Errorf("state: %s: %w", s.jf.Name(), terr)
		}
		return 0, fmt.Errorf("state: %w", err)
	}
	s.jEnd += int64(len(frame))
	s.jSize = s.jEnd
	s.wait++
	if s.wait >= syncRecords {
		return off, s.commit()
	}
	if s.timer == nil {
		s.timer = time.AfterFunc(syncEvery, s.timedCommit)
	}
	return off, nil
}

// commit fsyncs the journal's waiting records (s.mu held).
func (s *Store) commit() error {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if s.jf == nil || s.wait == 0 {
		return nil
	}
	s.wait = 0
	if err := syncFile(s.jf); err != nil {
		s.err = fmt.Errorf("state: %s: %w", s.jf.Name(), err)
		return s.err
	}
	return nil
}

// timedCommit is the group commit's timer.
func (s *Store) timedCommit() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timer = nil
	_ = s.commit() // a failure is returned by the next call
}

// closeJournal closes the journal after committing it (s.mu held).
func (s *Store) closeJournal() {
	if s.jf == nil {
		return
	}
	_ = s.commit()
	s.jf.Close()
	s.jf = nil
}

// Finish records the apply of bundle a in the manifest (written as
// Format, whatever format it was read in): the last bundle, the bundle's
// source and export time (replacing what was recorded for that source),
// and the server IDs recorded since (RecordID, Forget). When the journal
// holds records, or the folder is in the layout before v3, it first
// writes a new pack holding every entity and, after the manifest, empties
// the journal and removes the old layout's files: a few fsyncs for the
// whole apply.
func (s *Store) Finish(a Applied, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(true); err != nil {
		return err
	}
	if s.err != nil {
		return s.err
	}
	old, err := s.Manifest()
	if err != nil {
		return err
	}
	compact := s.jEnd > 0 || s.legacy != nil
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	// A kill during an earlier Finish may have left a temporary pack or
	// manifest (the apply holds the lock: no other Finish is writing one).
	if tmps, err := filepath.Glob(filepath.Join(s.dir, ".tmp-*")); err == nil {
		for _, t := range tmps {
			os.Remove(t)
		}
	}
	if compact {
		if err := s.writePack(); err != nil {
			return err
		}
	}
	at := now.UTC().Format(time.RFC3339)
	m := Manifest{Format: Format, Destination: s.dst, BundleDigest: a.Digest, Time: at, IDs: s.mergedIDs(old)}
	rec := SourceRecord{Server: a.Source.Server, Space: a.Source.Space, ExportedAt: a.ExportedAt.UTC().Format(time.RFC3339), BundleDigest: a.Digest, AppliedAt: at}
	if old != nil {
		for _, r := range old.Sources {
			if !r.sameSource(a.Source) {
				m.Sources = append(m.Sources, r)
			}
		}
	}
	m.Sources = append(m.Sources, rec)
	sort.Slice(m.Sources, func(i, j int) bool {
		a, b := m.Sources[i], m.Sources[j]
		if a.Server != b.Server {
			return a.Server < b.Server
		}
		return a.Space < b.Space
	})
	if len(m.IDs) == 0 {
		m.IDs = nil
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("state: %s: %w", ManifestFile, err)
	}
	if err := writeFile(filepath.Join(s.dir, ManifestFile), append(data, '\n')); err != nil {
		return err
	}
	// The pack and manifest renames are durable before the journal is
	// emptied: a crash before this point replays the journal over the new
	// pack, which holds it already (replaying a record twice gives what
	// replaying it once does).
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if compact || s.jSize > 0 {
		if s.legacy != nil {
			s.legacy.remove()
		}
		if err := s.truncateJournal(); err != nil {
			return err
		}
	}
	s.reset() // read again (the new pack) when next needed
	return nil
}

// truncateJournal empties the journal, durably (s.mu held).
func (s *Store) truncateJournal() error {
	path := filepath.Join(s.dir, JournalFile)
	f := s.jf
	if f == nil {
		var err error
		f, err = os.OpenFile(path, os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("state: %w", err)
		}
		defer f.Close()
	}
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("state: %s: %w", path, err)
	}
	s.wait = 0
	if err := syncFile(f); err != nil {
		return fmt.Errorf("state: %s: %w", path, err)
	}
	s.jEnd, s.jSize = 0, 0
	return nil
}

// writePack writes every entity the state records into a new pack, in
// place of the old one (s.mu held, loaded).
func (s *Store) writePack() error {
	return replaceFile(filepath.Join(s.dir, PackFile), func(f *os.File) error {
		pw, err := newPackWriter(f)
		if err != nil {
			return err
		}
		if err := s.each(true, true, func(p string, base, written []byte) error {
			return pw.add(packEntry{path: p, base: base, written: written})
		}); err != nil {
			return err
		}
		return pw.close()
	})
}

// writeFile makes path hold data, durably.
func writeFile(path string, data []byte) error {
	return replaceFile(path, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// replaceFile makes path hold what fill writes, durably: a temporary
// sibling, filled, fsynced and renamed over it (so a kill leaves the old
// file or the new one). The temporary file is removed on failure.
func replaceFile(path string, fill func(*os.File) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := fill(f); err != nil {
		if strings.HasPrefix(err.Error(), "state: ") {
			return err
		}
		return fmt.Errorf("state: writing %s: %w", path, err)
	}
	if err := syncFile(f); err != nil {
		return fmt.Errorf("state: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("state: writing %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("state: writing %s: %w", path, err)
	}
	return nil
}
