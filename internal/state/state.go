// Package state is apply's memory of each destination: per entity, what
// octobundle last applied there, so that the next apply can merge three
// ways (the bundle, the destination, and this base) and `drift` can tell
// what the destination's people changed since.
//
// Layout of a state directory (--state, OCTOBUNDLE_STATE, default
// .octobundle/), one folder per destination:
//
//	ROOT/IDENTITY/SPACE/state.json       format, destination, last bundle digest, time
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
	"time"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/limits"
	"github.com/octobundle/octobundle/internal/parallel"
	"github.com/octobundle/octobundle/schema"
)

// Format is the state directory's format version.
const Format = "octobundle-state/v1"

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
	u, err := url.Parse(strings.TrimRight(d.Server, "/"))
	if err != nil {
		return strings.ToLower(d.Server)
	}
	u.Scheme, u.Host, u.User = strings.ToLower(u.Scheme), strings.ToLower(u.Host), nil
	return u.String()
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
	if m.Format != Format {
		return nil, fmt.Errorf("%s: format %q, not %q", ManifestFile, m.Format, Format)
	}
	if m.Destination.Space == "" || m.Destination.Server == "" {
		return nil, fmt.Errorf("%s: no destination server or space", ManifestFile)
	}
	return &m, nil
}

// ParseEntity decodes the state file at bundle path p and checks it is
// an entity document of the kind the path names, free of IDs in reference
// positions, and of any secret (a SensitiveValue object that says it holds
// a new value).
func ParseEntity(p string, data []byte) (any, error) {
	k, _ := schema.KindForPath(p)
	if k == nil || k.Binary {
		return nil, fmt.Errorf("%s: not the path of an entity file", p)
	}
	doc, err := bundles.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if _, ok := doc.(map[string]any); !ok && !k.Many {
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
}

// Open returns the state folder of destination d under root; it is
// created by the first write (reading an absent one gives no base).
// It refuses a folder whose manifest names another destination.
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
	if m != nil && !strings.EqualFold(m.Destination.Space, d.Space) {
		return nil, fmt.Errorf("state: %s belongs to space %q, not %q", filepath.Join(dir, ManifestFile), m.Destination.Space, d.Space)
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

// Forget removes an entity from the state.
func (s *Store) Forget(p string) error {
	for _, sub := range []string{BaseDir, WrittenDir} {
		err := os.Remove(filepath.Join(s.dir, sub, filepath.FromSlash(p)))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("state: %w", err)
		}
	}
	return nil
}

// Finish records the apply of the bundle with the given digest in the
// manifest.
func (s *Store) Finish(bundleDigest string, now time.Time) error {
	m := Manifest{Format: Format, Destination: s.dst, BundleDigest: bundleDigest, Time: now.UTC().Format(time.RFC3339)}
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
