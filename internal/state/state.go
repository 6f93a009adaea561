// Package state is apply's memory of each destination: per entity, what
// octobundle last applied there, so that the next apply can merge three
// ways (the bundle, the destination, and this base) and `drift` can tell
// what the destination's people changed since.
//
// Layout of a state directory (--state, OCTOBUNDLE_STATE, default
// .octobundle/), one folder per destination:
//
//	ROOT/IDENTITY/SPACE/state.json       format, destination, last bundle per source, server IDs
//	ROOT/IDENTITY/SPACE/lock             while an apply runs: its pid, host, start time
//	ROOT/IDENTITY/SPACE/base/PATH        the bundle's document as applied (the merge base)
//	ROOT/IDENTITY/SPACE/written/PATH     what the destination held after the write (drift)
//
// IDENTITY is the server's InstallationId (root document), or its
// normalised URL when it has none; SPACE the space name; both escaped as
// bundle names are (bundles.EscapeName). PATH is the entity's bundle path.
// Every file is canonical JSON (bundles.Canonical), written through a
// temporary file and a rename, so a crash leaves either the old or the new
// file. The state never holds a secret: bundles have none, and sensitive
// values are never part of a base.
//
// Chain of custody (format v2). state.json binds the folder to one
// destination (installation, URL and space): Open refuses a folder whose
// manifest names another, with the fix. It records, per source (server and
// space of the bundle manifest's Source), the export time and digest of the
// last bundle applied, so that an older bundle from the same source is
// recognised as a rollback (Manifest.Rollback). And it records the server
// ID of every entity apply wrote (RecordID): --prune deletes only an entity
// whose recorded ID it still carries, never one a base file names that
// octobundle did not write. The IDs are kept in memory during an apply and
// written with the manifest by Finish: recording them costs no fsync per
// entity. A v1 state.json (without sources and IDs) is read once and
// written as v2 by the next apply's Finish.
package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/limits"
	"github.com/octobundle/octobundle/internal/parallel"
	"github.com/octobundle/octobundle/schema"
)

// Format is the state directory's format version: v2 records the
// sources of the bundles applied and the server IDs octobundle wrote.
const Format = "octobundle-state/v2"

// FormatV1 is the format before Format: still read (it has no sources and
// no IDs), and written as Format by the next apply.
const FormatV1 = "octobundle-state/v1"

// The files of a destination's state folder.
const (
	// ManifestFile describes the state.
	ManifestFile = "state.json"
	// LockFile exists while an apply runs.
	LockFile = "lock"
	// BaseDir holds the merge base, one file per entity.
	BaseDir = "base"
	// WrittenDir holds what the destination held after each write.
	WrittenDir = "written"
)

// DefaultDir is the state directory when neither --state nor
// OCTOBUNDLE_STATE is set.
const DefaultDir = ".octobundle"

// Destination identifies the space a state folder belongs to.
type Destination struct {
	// Server is the server URL (no credentials).
	Server string `json:"server"`
	// InstallationID is the server's InstallationId, if it has one.
	InstallationID string `json:"installationId,omitempty"`
	// Space is the space name.
	Space string `json:"space"`
}

// Identity is the folder name of the destination's server: its
// installation ID, else its normalised URL (lower-case scheme and host, no
// trailing slash).
func (d Destination) Identity() string {
	if d.InstallationID != "" {
		return d.InstallationID
	}
	return NormalizeURL(d.Server)
}

// NormalizeURL is a server URL as the state compares it: lower-case scheme
// and host, no user info, no trailing slash.
func NormalizeURL(server string) string {
	u, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil {
		return strings.ToLower(server)
	}
	u.Scheme, u.Host, u.User = strings.ToLower(u.Scheme), strings.ToLower(u.Host), nil
	return u.String()
}

// Same reports whether d and o are the same destination: the same
// installation (when both know it), the same URL (normalised) and the same
// space (case-insensitively, as Octopus compares names).
func (d Destination) Same(o Destination) bool {
	if d.InstallationID != "" && o.InstallationID != "" && d.InstallationID != o.InstallationID {
		return false
	}
	return NormalizeURL(d.Server) == NormalizeURL(o.Server) && strings.EqualFold(d.Space, o.Space)
}

// String names the destination for messages.
func (d Destination) String() string {
	s := fmt.Sprintf("%s space %q", d.Server, d.Space)
	if d.InstallationID != "" {
		s += " (installation " + d.InstallationID + ")"
	}
	return s
}

// Manifest is the content of ManifestFile.
type Manifest struct {
	// Format is Format.
	Format string `json:"format"`
	// Destination is the space the state belongs to.
	Destination Destination `json:"destination"`
	// BundleDigest is the digest of the last bundle applied.
	BundleDigest string `json:"bundleDigest,omitempty"`
	// Time is when that apply finished (RFC 3339, UTC).
	Time string `json:"time,omitempty"`
	// Sources are, per source the destination received bundles from, the
	// last bundle applied (sorted by server and space). Absent in FormatV1.
	Sources []SourceRecord `json:"sources,omitempty"`
	// IDs are the server IDs of the entities octobundle wrote (created,
	// updated or found as the bundle asks), by bundle path: what --prune
	// may delete. Absent in FormatV1.
	IDs map[string]string `json:"ids,omitempty"`
}

// SourceRecord is the last bundle applied from one source.
type SourceRecord struct {
	// Server is the source's server URL (the bundle manifest's
	// Source.Server).
	Server string `json:"server"`
	// Space is the source's space name.
	Space string `json:"space"`
	// ExportedAt is the bundle's export time (RFC 3339, UTC).
	ExportedAt string `json:"exportedAt"`
	// BundleDigest is the bundle's digest.
	BundleDigest string `json:"bundleDigest"`
	// AppliedAt is when the apply finished (RFC 3339, UTC).
	AppliedAt string `json:"appliedAt"`
}

// Applied describes a bundle an apply applied, for Finish.
type Applied struct {
	// Digest is the bundle's digest.
	Digest string
	// Source is where the bundle was exported from.
	Source bundles.Source
	// ExportedAt is when.
	ExportedAt time.Time
}

// AppliedBundle describes bundle b for Finish.
func AppliedBundle(b *bundles.Bundle) Applied {
	return Applied{Digest: b.Digest(), Source: b.Manifest.Source, ExportedAt: b.Manifest.ExportedAt}
}

// sameSource reports whether r records the source src.
func (r SourceRecord) sameSource(src bundles.Source) bool {
	return NormalizeURL(r.Server) == NormalizeURL(src.Server) && strings.EqualFold(r.Space, src.Space)
}

// Last returns what the manifest records as the last bundle applied from
// source src (nil: none, or a FormatV1 manifest).
func (m *Manifest) Last(src bundles.Source) *SourceRecord {
	if m == nil {
		return nil
	}
	for i := range m.Sources {
		if m.Sources[i].sameSource(src) {
			return &m.Sources[i]
		}
	}
	return nil
}

// Rollback reports whether applying the bundle with the digest, exported
// at exportedAt from src, is a rollback: the destination last received a
// bundle from the same source exported later. It returns that bundle's
// export time. A bundle from another source, the same bundle again (a
// replay: the same digest), or one exported at the same time (the same
// export transformed with other rules) is not a rollback.
func (m *Manifest) Rollback(src bundles.Source, digest string, exportedAt time.Time) (has time.Time, rollback bool) {
	r := m.Last(src)
	if r == nil || (digest != "" && r.BundleDigest == digest) {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, r.ExportedAt)
	if err != nil {
		return time.Time{}, false
	}
	return t, exportedAt.Before(t)
}

// ParseManifest decodes and checks a ManifestFile.
func ParseManifest(data []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestFile, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: trailing data", ManifestFile)
	}
	if m.Format != Format && m.Format != FormatV1 {
		return nil, fmt.Errorf("%s: format %q, not %q", ManifestFile, m.Format, Format)
	}
	if m.Destination.Space == "" || m.Destination.Server == "" {
		return nil, fmt.Errorf("%s: no destination server or space", ManifestFile)
	}
	for i, r := range m.Sources {
		if _, err := time.Parse(time.RFC3339, r.ExportedAt); err != nil {
			return nil, fmt.Errorf("%s: sources[%d].exportedAt: %q is not an RFC 3339 time", ManifestFile, i, r.ExportedAt)
		}
		for j := range i {
			if m.Sources[j].sameSource(bundles.Source{Server: r.Server, Space: r.Space}) {
				return nil, fmt.Errorf("%s: sources[%d]: server %q space %q is listed twice", ManifestFile, i, r.Server, r.Space)
			}
		}
	}
	for p, id := range m.IDs {
		if k, _ := schema.KindForPath(p); k == nil || k.Shape == schema.ShapeBinary {
			return nil, fmt.Errorf("%s: ids[%q]: not the path of an entity file", ManifestFile, p)
		}
		if id == "" {
			return nil, fmt.Errorf("%s: ids[%q]: empty ID", ManifestFile, p)
		}
	}
	return &m, nil
}

// ParseEntity decodes the state file at bundle path p and checks it is
// an entity document of the kind the path names, free of IDs in reference
// positions, and of any secret (a SensitiveValue object that says it holds
// a new value).
func ParseEntity(p string, data []byte) (any, error) {
	k, _ := schema.KindForPath(p)
	if k == nil || k.Shape == schema.ShapeBinary {
		return nil, fmt.Errorf("%s: not the path of an entity file", p)
	}
	doc, err := bundles.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if _, ok := doc.(map[string]any); !ok && k.Shape != schema.ShapeItems {
		return nil, fmt.Errorf("%s: not a JSON object", p)
	}
	if secret(doc) {
		return nil, fmt.Errorf("%s: holds a secret value, which a state never does", p)
	}
	return doc, nil
}

// secret reports whether v holds a SensitiveValue with a new value.
func secret(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		if schema.IsSensitiveValue(t) {
			if nv, ok := t["NewValue"]; ok && nv != nil {
				return true
			}
		}
		for _, x := range t {
			if secret(x) {
				return true
			}
		}
	case []any:
		for _, x := range t {
			if secret(x) {
				return true
			}
		}
	}
	return false
}

// Store is one destination's state folder.
type Store struct {
	dir string
	dst Destination

	mu     sync.Mutex
	ids    map[string]string // IDs recorded since Open (RecordID)
	forgot map[string]bool   // paths forgotten since Open
}

// Open returns the state folder of destination d under root; it is
// created by the first write (reading an absent one gives no base).
// It refuses a folder whose manifest names another destination (another
// installation, server URL or space), naming both and the fix.
func Open(root string, d Destination) (*Store, error) {
	if root == "" {
		root = DefaultDir
	}
	dir := filepath.Join(root, bundles.EscapeName(d.Identity()), bundles.EscapeName(d.Space))
	s := &Store{dir: dir, dst: d, ids: map[string]string{}, forgot: map[string]bool{}}
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

// Base reads the merge base: nil (and digest "") when the folder holds
// none yet. The digest covers every base file's path and content.
func (s *Store) Base() (b *bundles.Bundle, digest string, err error) {
	return s.read(BaseDir)
}

// Written reads what the destination held after octobundle's writes.
func (s *Store) Written() (*bundles.Bundle, error) {
	b, _, err := s.read(WrittenDir)
	return b, err
}

func (s *Store) read(sub string) (*bundles.Bundle, string, error) {
	root := filepath.Join(s.dir, sub)
	if _, err := os.Stat(root); errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	b := bundles.New(bundles.Manifest{})
	var rels []string
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() || strings.HasPrefix(de.Name(), ".tmp-") {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rels = append(rels, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("state: %w", err)
	}
	// Reading, parsing and re-encoding the files is CPU work that grows
	// with the destination: it runs on every core.
	lines := make([]string, len(rels))
	errs := make([]error, len(rels))
	parallel.Each(len(rels), func(i int) {
		rel := rels[i]
		// A state file is a bundle entity file: the same size limit.
		data, err := limits.ReadFile(filepath.Join(root, filepath.FromSlash(rel)), limits.FileSize, "state file size")
		if err != nil {
			errs[i] = err
			return
		}
		doc, err := ParseEntity(rel, data)
		if err == nil {
			err = b.PutFile(rel, doc)
		}
		if err != nil {
			errs[i] = fmt.Errorf("%s: %w", filepath.Join(s.dir, sub), err)
			return
		}
		sum := sha256.Sum256(data)
		lines[i] = hex.EncodeToString(sum[:]) + "  " + rel + "\n"
	})
	for _, err := range errs {
		if err != nil {
			return nil, "", fmt.Errorf("state: %w", err)
		}
	}
	if len(lines) == 0 {
		return nil, "", nil
	}
	sort.Strings(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "")))
	return b, "sha256:" + hex.EncodeToString(sum[:]), nil
}

// Record writes an entity's base and written documents (see package doc):
// written first, so the base never runs ahead of the destination.
func (s *Store) Record(p string, base, written any) error {
	if written != nil {
		if err := s.write(filepath.Join(WrittenDir, filepath.FromSlash(p)), written); err != nil {
			return err
		}
	}
	return s.write(filepath.Join(BaseDir, filepath.FromSlash(p)), base)
}

// HasWritten reports whether the written document recorded for bundle path
// p has the sha256 sum (of its canonical JSON, as Record writes it).
func (s *Store) HasWritten(p string, sum []byte) bool {
	data, err := limits.ReadFile(filepath.Join(s.dir, WrittenDir, filepath.FromSlash(p)), limits.FileSize, "state file size")
	if err != nil {
		return false
	}
	got := sha256.Sum256(data)
	return bytes.Equal(got[:], sum)
}

// RecordID notes the server ID the entity at bundle path p has on the
// destination after octobundle wrote it (what --prune may delete). It is
// kept in memory and written with the manifest by Finish: no file write,
// no fsync per entity.
func (s *Store) RecordID(p, id string) error {
	if id == "" {
		return nil
	}
	s.mu.Lock()
	s.ids[p] = id
	delete(s.forgot, p)
	s.mu.Unlock()
	return nil
}

// IDs returns the server IDs octobundle recorded, by bundle path: the
// manifest's and those recorded since Open, less those forgotten. A
// FormatV1 state has none.
func (s *Store) IDs() (map[string]string, error) {
	m, err := s.Manifest()
	if err != nil {
		return nil, err
	}
	return s.mergedIDs(m), nil
}

// mergedIDs is IDs over the manifest m (nil: none yet).
func (s *Store) mergedIDs(m *Manifest) map[string]string {
	out := map[string]string{}
	if m != nil {
		for p, id := range m.IDs {
			out[p] = id
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.forgot {
		delete(out, p)
	}
	for p, id := range s.ids {
		out[p] = id
	}
	return out
}

// Forget removes an entity from the state.
func (s *Store) Forget(p string) error {
	s.mu.Lock()
	delete(s.ids, p)
	s.forgot[p] = true
	s.mu.Unlock()
	for _, sub := range []string{BaseDir, WrittenDir} {
		err := os.Remove(filepath.Join(s.dir, sub, filepath.FromSlash(p)))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("state: %w", err)
		}
	}
	return nil
}

// Finish records the apply of bundle a in the manifest (written as
// Format, whatever format it was read in): the last bundle, the bundle's
// source and export time (replacing what was recorded for that source),
// and the server IDs recorded since Open (RecordID, Forget). One file
// write for the whole apply.
func (s *Store) Finish(a Applied, now time.Time) error {
	old, err := s.Manifest()
	if err != nil {
		return err
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
	return s.write(ManifestFile, m)
}

// write stores v canonically at rel through a temporary file and a rename.
func (s *Store) write(rel string, v any) error {
	var data []byte
	var err error
	if m, ok := v.(Manifest); ok {
		data, err = json.MarshalIndent(m, "", "  ")
		data = append(data, '\n')
	} else {
		data, err = bundles.Canonical(v)
	}
	if err != nil {
		return fmt.Errorf("state: %s: %w", rel, err)
	}
	if secret(v) {
		return fmt.Errorf("state: %s: refusing to record a secret value", rel)
	}
	full := filepath.Join(s.dir, rel)
	if old, err := os.ReadFile(full); err == nil && bytes.Equal(old, data) {
		// Already recorded (a replay): no temporary file, fsync or rename.
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(full), ".tmp-*")
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if err := os.Rename(f.Name(), full); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	return nil
}
