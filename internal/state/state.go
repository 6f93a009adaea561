// Package state is apply's memory of each destination: per entity, what
// octobundle last applied there, so that the next apply can merge three
// ways (the bundle, the destination, and this base) and `drift` can tell
// what the destination's people changed since.
//
// Layout of a state directory (--state, OCTOBUNDLE_STATE, default
// .octobundle/), one folder per destination (format v3):
//
//	ROOT/IDENTITY/SPACE/state.json   format, destination, last bundle per source, server IDs
//	ROOT/IDENTITY/SPACE/lock         while an apply runs: its pid, host, start time
//	ROOT/IDENTITY/SPACE/state.pack   per entity, as of the last apply that finished: the
//	                                 bundle's document as applied (the merge base) and what
//	                                 the destination held after the write (drift)
//	ROOT/IDENTITY/SPACE/journal      what applies recorded since then, append-only
//
// IDENTITY is the server's InstallationId (root document), or its
// normalised URL when it has none; SPACE the space name; both escaped as
// bundle names are (bundles.EscapeName). Documents are canonical JSON
// (bundles.Canonical) under the entity's bundle path. The state never
// holds a secret: bundles have none, sensitive values are never part of a
// base, and Record refuses one as reading does.
//
// The pack (PackFile) is one zstd-compressed stream of entries in path
// order, each a path and its base and written documents, ending with the
// number of entries; it is only ever replaced whole (written to a
// temporary file, fsynced, renamed), so a kill leaves the old pack or the
// new one. The journal (JournalFile) is a sequence of records — Record
// (base and, if there is one, written document), RecordID (server ID) and
// Forget — each framed with its length and CRC-32C. Record, RecordID and
// Forget append one record with one write(2): it is in the file once they
// return, and survives a kill of the process. A group commit fsyncs the
// journal at most a second after a record, or every few thousand records,
// so an apply's fsyncs grow with its time, not its entities; a crash of
// the machine loses at most the last second's records, whose entities the
// next plan finds on the destination already and merges two-way. Reading
// replays the journal over the pack; a torn last record (a kill or crash
// mid-write) is dropped, a damaged record before it is an error naming
// the file, the record and its offset. Finish compacts: a new pack
// holding every entity, then the manifest, then the journal emptied, in
// this order, each step durable before the next; a crash between them
// replays the journal over the new pack, which holds it already.
//
// Chain of custody (format v2 and later). state.json binds the folder to
// one destination (installation, URL and space): Open refuses a folder
// whose manifest names another, with the fix. It records, per source
// (server and space of the bundle manifest's Source), the export time and
// digest of the last bundle applied, so that an older bundle from the same
// source is recognised as a rollback (Manifest.Rollback). And it records
// the server ID of every entity apply wrote (RecordID): --prune deletes
// only an entity whose recorded ID it still carries, never one the base
// names that octobundle did not write. IDs recorded during an apply are
// journal records (a kill keeps them) and are written into the manifest
// by Finish.
//
// Older state folders are read and written as v3 by the next Finish: a
// v1 state.json (without sources and IDs), and the v1 and v2 layout of one
// file per entity (BaseDir/PATH, WrittenDir/PATH), read below the pack and
// journal; Finish removes those files (and only those) once the pack
// holding them is durable.
package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/schema"
)

// Format is the state directory's format version: v3 holds the
// entities in a pack and a journal, v2 in one file each and recorded the
// sources of the bundles applied and the server IDs octobundle wrote.
const Format = "octobundle-state/v3"

// FormatV2 is the format before Format: one file per entity (BaseDir,
// WrittenDir). Still read, and written as Format by the next apply.
const FormatV2 = "octobundle-state/v2"

// FormatV1 is the format before FormatV2: still read (it has no sources
// and no IDs), and written as Format by the next apply.
const FormatV1 = "octobundle-state/v1"

// The files of a destination's state folder (and see PackFile and
// JournalFile).
const (
	// ManifestFile describes the state.
	ManifestFile = "state.json"
	// LockFile exists while an apply runs.
	LockFile = "lock"
	// BaseDir held the merge base, one file per entity, before v3: read
	// once, then packed.
	BaseDir = "base"
	// WrittenDir held what the destination held after each write, one
	// file per entity, before v3: read once, then packed.
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
	if m.Format != Format && m.Format != FormatV2 && m.Format != FormatV1 {
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
