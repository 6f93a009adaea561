package bundles

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/internal/parallel"
	"github.com/octobundle/octobundle/schema"
)

// FormatV1 is the first format version: every text inline in the JSON
// files. It is still read (and a bundle read as FormatV1 is written back as
// FormatV1); new bundles are Format (FormatV3).
const FormatV1 = "octobundle/v1"

// Names of the bundle files that are not entities.
const (
	// ManifestFile describes the bundle (see Manifest).
	ManifestFile = "manifest.json"
	// ChecksumsFile lists the sha256 of every other file.
	ChecksumsFile = "checksums.txt"
	// SignatureFile is the optional minisign signature of checksums.txt
	// (see package sign); it is not listed in checksums.txt.
	SignatureFile = ChecksumsFile + ".minisig"
)

// Manifest is the content of manifest.json.
type Manifest struct {
	// Format is the bundle format version, Format (or FormatV2 or
	// FormatV1 for a bundle read in that format).
	Format string
	// ToolVersion is the version of octobundle that wrote the bundle.
	ToolVersion string
	// Source is where the content was exported from.
	Source Source
	// Projects lists, sorted, the projects a partial export (--project)
	// selected, with what they depend on; empty means the whole space. A
	// bundle is authoritative only for what it holds.
	Projects []string `json:",omitempty"`
	// ExportedAt is when the export ran (UTC, whole seconds).
	ExportedAt time.Time
	// Counts is the number of entity files per kind name; set by Seal.
	Counts map[string]int
	// Digest is "sha256:" plus the hex sha256 of checksums.txt; set by Seal.
	Digest string
	// Rules are the rule files that transformed the bundle, in order. The
	// apply-time policy they set is the bundle file PolicyFile (covered by
	// the digest).
	Rules []RuleRef `json:",omitempty"`
	// Input identifies the bundle transform read to make this one: its
	// digest and the key that signed it. Absent in an exported bundle.
	Input *InputRef `json:",omitempty"`
	// Kind is what the bundle carries (see Kinds): absent for a
	// configuration bundle, KindRelease for a release bundle, KindResults
	// for a results bundle.
	Kind string `json:",omitempty"`
}

// InputRef records the input bundle of a transform.
type InputRef struct {
	// Digest is the input bundle's digest ("sha256:…").
	Digest string
	// Format is the input bundle's format version.
	Format string
	// KeyID is the ID (upper-case hex) of the minisign key whose
	// signature the input carried, "" when it was unsigned. Transform
	// records the key the signature names; whether that key was trusted
	// is checked where the input was verified (plan/apply --pubkey, or
	// verify --pubkey of the input).
	KeyID string `json:",omitempty"`
	// Verified reports that the signature was checked against a trusted
	// key when the transform ran (transform --pubkey).
	Verified bool `json:",omitempty"`
}

// Source identifies the Octopus space a bundle was exported from.
type Source struct {
	// Server is the server URL, without credentials.
	Server string
	// ServerVersion is the Octopus Server version ("2024.1.1234").
	ServerVersion string
	// Space is the space name.
	Space string
}

// RuleRef records one rule file applied by transform.
type RuleRef struct {
	// Name is the rule file's name as given to transform.
	Name string
	// Digest is "sha256:" plus the hex sha256 of the rule file's bytes.
	Digest string
	// Text is the rule file's normalised content (canonical JSON of the
	// parsed rules), so a reviewer sees exactly what was done.
	Text string `json:",omitempty"`
}

// Bundle is a bundle in memory: the manifest and every entity document,
// held once, packed (see jsonv.Doc): a bundle of thousands of entities
// decoded whole would cost ten times its JSON. The canonical bytes of a
// file, its bytes as written and its sidecar files are made on demand (Raw,
// Write), and Entity and Entries decode a fresh copy each time. It is safe
// for concurrent use.
type Bundle struct {
	// Manifest is the bundle's manifest. Seal fills Counts and Digest.
	Manifest Manifest

	mu        sync.RWMutex
	files     map[string]*file  // entity files by path
	folded    map[string]string // foldKey(path or directory) → path that claimed it
	sealed    bool
	checksums []byte
	manifest  []byte
	signature []byte
	sealedAs  []byte // Canonical(Manifest) when sealed, to notice later changes
	policy    []byte // canonical PolicyFile, nil when the bundle has none
	// attached are the attached files by path (see Attach); replaced or
	// added to under mu, the byte slices never changed.
	attached map[string][]byte
	// sidecars maps, once sealed (or read) in FormatV2, the path of every
	// sidecar file to the path of the entity file whose text it holds.
	// It is replaced, never changed in place.
	sidecars map[string]string
	// stage, when set, writes the files of each entity put into a new
	// directory as they come (see StageDir).
	stage *stage
}

// file is one entity file; it is never changed once made (put replaces
// it), so clones share it.
type file struct {
	kind  *schema.Kind
	names []string  // unescaped
	doc   jsonv.Doc // the document, packed from its compactJSON form
	bin   []byte    // the bytes of the file of a ShapeBinary kind
	// written caches the checksums of the file as written in one format,
	// so that sealing does not render again what StageDir or an earlier
	// seal rendered.
	written atomic.Pointer[writtenSums]
}

// writtenSums are the checksums of an entity file as written in format:
// the entity file's own first, then its sidecar files'.
type writtenSums struct {
	format string
	sums   []pathSum
}

// pathSum is a file's path and the hex sha256 of its bytes.
type pathSum struct{ path, sum string }

// part is a file as written: its path and bytes.
type part struct {
	path string
	data []byte
}

// render returns the files the entity file at p is written as in format:
// itself first, then (FormatV2) its sidecar files in path order. It
// caches their checksums.
func (f *file) render(p, format string) ([]part, error) {
	var parts []part
	if !HasSidecars(format) || f.kind.Shape == schema.ShapeBinary {
		parts = []part{{p, f.canonical()}}
	} else {
		jd, side, err := splitEntity(p, f.kind, f.value())
		if err != nil {
			return nil, fmt.Errorf("bundles: %s: %w", p, err)
		}
		parts = make([]part, 0, 1+len(side))
		parts = append(parts, part{p, jd})
		for _, sp := range slices.Sorted(maps.Keys(side)) {
			parts = append(parts, part{sp, side[sp]})
		}
	}
	ws := &writtenSums{format: format, sums: make([]pathSum, len(parts))}
	for i, pt := range parts {
		h := sha256.Sum256(pt.data)
		ws.sums[i] = pathSum{pt.path, hex.EncodeToString(h[:])}
	}
	f.written.Store(ws)
	return parts, nil
}

// checksums returns the checksums of the files the entity file at p is
// written as in format (see render), rendering them unless cached.
func (f *file) checksums(p, format string) ([]pathSum, error) {
	if ws := f.written.Load(); ws != nil && ws.format == format {
		return ws.sums, nil
	}
	if _, err := f.render(p, format); err != nil {
		return nil, err
	}
	return f.written.Load().sums, nil
}

// value decodes a fresh copy of the file's document (for a ShapeBinary kind, a
// copy of its bytes).
func (f *file) value() any {
	if f.kind.Shape == schema.ShapeBinary {
		return bytes.Clone(f.bin)
	}
	return f.doc.Value()
}

// canonical returns the file's Canonical bytes (for a ShapeBinary kind, its
// bytes). The packed form is compactJSON's, whose indented form is exactly
// Canonical's.
func (f *file) canonical() []byte {
	if f.kind.Shape == schema.ShapeBinary {
		return f.bin
	}
	data, err := CanonicalPacked(f.doc)
	if err != nil {
		// Only encodeEntity and parse make packed documents, from
		// compactJSON's output.
		panic(fmt.Sprintf("bundles: packed document does not indent: %v", err))
	}
	return data
}

// New returns an empty bundle with manifest m (Format defaults to Format,
// the current format).
func New(m Manifest) *Bundle {
	if m.Format == "" {
		m.Format = Format
	}
	return &Bundle{Manifest: m, files: map[string]*file{}, folded: map[string]string{}}
}

// PutEntity adds (or replaces) the entity of kind k with the given
// unescaped names (owners first, then the entity's own name; none of its
// own for singletons). doc is canonically encoded, validated against the
// kind's schema, checked for IDs in reference positions, and, for named
// kinds, its name field must equal the last name. A path that differs from
// an existing one only in case is an error naming both. It returns the
// bundle path.
func (b *Bundle) PutEntity(k *schema.Kind, names []string, doc any) (string, error) {
	if k == nil || k.File == "" {
		return "", errors.New("bundles: PutEntity: kind has no bundle file")
	}
	esc := make([]string, len(names))
	for i, n := range names {
		if n == "" {
			return "", fmt.Errorf("bundles: %s: empty name", k.Name)
		}
		esc[i] = EscapeName(n)
	}
	p, err := k.Path(esc...)
	if err != nil {
		return "", fmt.Errorf("bundles: %w", err)
	}
	if err := b.put(p, k, append([]string(nil), names...), doc); err != nil {
		return "", err
	}
	return p, nil
}

// PutFile adds (or replaces) the file at bundle path p; p must be an entity
// path of some kind (see schema.KindForPath), with escaped names. It applies
// the checks of PutEntity.
func (b *Bundle) PutFile(p string, doc any) error {
	if p == ManifestFile || p == ChecksumsFile || p == SignatureFile {
		return fmt.Errorf("bundles: %s is written by Seal, not PutFile", p)
	}
	if p == PolicyFile {
		return fmt.Errorf("bundles: %s is written by SetApplyPolicy, not PutFile", p)
	}
	if err := checkPath(p); err != nil {
		return fmt.Errorf("bundles: %w", err)
	}
	k, esc := schema.KindForPath(p)
	if k == nil {
		return fmt.Errorf("bundles: %s: not a bundle file of any kind", p)
	}
	names, err := unescapeAll(esc)
	if err != nil {
		return fmt.Errorf("bundles: %s: %w", p, err)
	}
	if err := fillLastName(p, k, names, doc); err != nil {
		return fmt.Errorf("bundles: %w", err)
	}
	if slices.Contains(names, "") {
		b.mu.RLock()
		tmp := maps.Clone(b.files)
		b.mu.RUnlock()
		tmp[p] = &file{kind: k, names: names}
		err := resolveShortened(tmp)
		if err != nil {
			return fmt.Errorf("bundles: %w", err)
		}
	}
	return b.put(p, k, names, doc)
}

// unescapeAll unescapes the names of a path. A shortened file name
// (ErrShortened) leaves "" in its place, for fillLastName (the entity's
// own name, from its name field) or resolveShortened (an owner's name,
// from the owner's file) to fill.
func unescapeAll(esc []string) ([]string, error) {
	names := make([]string, len(esc))
	for i, e := range esc {
		n, err := UnescapeName(e)
		if err != nil && !errors.Is(err, ErrShortened) {
			return nil, err
		}
		names[i] = n
	}
	return names, nil
}

// fillLastName sets the last of names, which the file name at p holds
// shortened (see ShortenedSuffix), from doc's name field, when it is the
// entity's own name; it checks that the name has that file name.
func fillLastName(p string, k *schema.Kind, names []string, doc any) error {
	last := len(names) - 1
	if last < 0 || names[last] != "" || k.IsSingleton() || k.Shape == schema.ShapeItems {
		return nil
	}
	esc, _ := k.MatchPath(p)
	m, _ := doc.(map[string]any)
	got, _ := m[k.NameField].(string)
	if got == "" || len(esc) != len(names) || EscapeName(got) != esc[last] {
		return fmt.Errorf("%s: %s is %q, whose file name is not %q", p, k.NameField, got, esc[len(esc)-1])
	}
	names[last] = got
	return nil
}

// ownerKey identifies the i-th name of the entity file at p (of kind k)
// by its place in the tree: the path up to that escaped name, without
// the extension, so that "tenants/X/tenant.json" and
// "tenants/X/variables.json" give "tenants/X" for i = 0.
func ownerKey(k *schema.Kind, p string, i int) string {
	pat := strings.Split(k.File, "/")
	got := strings.Split(p, "/")
	n := -1
	for j, part := range pat {
		if !strings.Contains(part, "{}") {
			continue
		}
		if n++; n == i && j < len(got) {
			pre, suf, _ := strings.Cut(part, "{}")
			seg := strings.TrimSuffix(strings.TrimPrefix(got[j], pre), suf)
			return strings.Join(append(got[:j:j], seg), "/")
		}
	}
	return ""
}

// resolveShortened fills the owners' names that files hold shortened
// (left "" by unescapeAll) from the files of those owners: the named
// entity whose own name sits at the same place in the tree.
func resolveShortened(files map[string]*file) error {
	var todo []string
	for p, f := range files {
		if slices.Contains(f.names, "") {
			todo = append(todo, p)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	own := map[string]string{}
	for p, f := range files {
		if k := f.kind; !k.IsSingleton() && k.Shape != schema.ShapeItems && len(f.names) > 0 {
			own[ownerKey(k, p, len(f.names)-1)] = f.names[len(f.names)-1]
		}
	}
	sort.Strings(todo)
	for _, p := range todo {
		f := files[p]
		for i, n := range f.names {
			if n != "" {
				continue
			}
			name, ok := own[ownerKey(f.kind, p, i)]
			if !ok || name == "" {
				return fmt.Errorf("%s: shortened file name, and no entity file holds the name it stands for (%s)", p, ownerKey(f.kind, p, i))
			}
			f.names[i] = name
		}
	}
	return nil
}

// encodeEntity normalises doc (to what Decode of its Canonical form gives),
// checks it as an entity file at p and packs it. The file of a ShapeBinary kind
// is its bytes (doc is a []byte), kept as they are.
func encodeEntity(p string, k *schema.Kind, names []string, doc any) (*file, error) {
	if k.Shape == schema.ShapeBinary {
		data, ok := doc.([]byte)
		if !ok {
			return nil, fmt.Errorf("%s: a %s file holds bytes, not %T", p, k.Name, doc)
		}
		if err := checkBinary(p, data); err != nil {
			return nil, err
		}
		return &file{kind: k, names: names, bin: bytes.Clone(data)}, nil
	}
	// The compact form of the canonical encoding: the same checks (valid
	// UTF-8, numbers, depth) and conversions (structs, Go numbers), one
	// decoding to validate, and the bytes to pack (a copy: the buffer is
	// pooled).
	buf := jsonv.Buffer()
	defer jsonv.PutBuffer(buf)
	data, err := compactJSONTo(buf, doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	// A document of plain decoded JSON values (what export and transform
	// build) is validated as it is; any other (Go numbers, structs) as its
	// JSON decodes.
	dec := doc
	if !plainJSON(doc, 0) {
		if dec, err = Decode(data); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	if err := checkEntity(p, k, names, dec, data); err != nil {
		return nil, err
	}
	return &file{kind: k, names: names, doc: jsonv.PackCompact(data)}, nil
}

// plainJSON reports whether v holds only what Decode returns: objects,
// arrays, strings, json.Number, booleans and null.
func plainJSON(v any, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch t := v.(type) {
	case nil, bool, string, json.Number:
		return true
	case map[string]any:
		for _, e := range t {
			if !plainJSON(e, depth+1) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range t {
			if !plainJSON(e, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// MaxBinarySize bounds the file of a ShapeBinary kind (a project logo).
const MaxBinarySize = 8 << 20

// checkBinary checks the file of a ShapeBinary kind: a file name within bounds,
// not empty, not larger than MaxBinarySize.
func checkBinary(p string, data []byte) error {
	for _, seg := range strings.Split(p, "/") {
		if len(seg) > MaxSegment {
			return fmt.Errorf("%s: file name longer than %d bytes (name too long)", p, MaxSegment)
		}
	}
	if len(data) == 0 {
		return fmt.Errorf("%s: empty file", p)
	}
	if len(data) > MaxBinarySize {
		return fmt.Errorf("%s: %d bytes, more than the %d a binary file may have", p, len(data), MaxBinarySize)
	}
	return nil
}

// checkEntity validates a decoded entity file: schema, ID-freeness, name.
//
// data is doc's compact canonical JSON: the schema and ID-freeness checks,
// which depend on nothing else, are made once per content (see validated).
func checkEntity(p string, k *schema.Kind, names []string, doc any, data []byte) error {
	for _, seg := range strings.Split(p, "/") {
		if len(seg) > MaxSegment {
			return fmt.Errorf("%s: file name longer than %d bytes (name too long)", p, MaxSegment)
		}
	}
	sch, ok := schema.SchemaFor(p)
	if !ok {
		return fmt.Errorf("%s: no schema for this file (not a bundle file)", p)
	}
	key := contentKey(sch, k, data)
	if !validated.has(key) {
		if err := schema.ValidateFile(p, doc); err != nil {
			return err
		}
		if err := k.CheckIDFree(doc); err != nil {
			return fmt.Errorf("%s: not ID-free: %w", p, err)
		}
		validated.add(key)
	}
	if !k.IsSingleton() && k.Shape != schema.ShapeItems && len(names) > 0 {
		m, _ := doc.(map[string]any)
		got, _ := m[k.NameField].(string)
		if want := names[len(names)-1]; got != want {
			return fmt.Errorf("%s: %s is %q but the file name says %q", p, k.NameField, got, want)
		}
	}
	return nil
}

func (b *Bundle) put(p string, k *schema.Kind, names []string, doc any) error {
	f, err := encodeEntity(p, k, names, doc)
	if err != nil {
		return fmt.Errorf("bundles: %w", err)
	}
	b.mu.Lock()
	if err := b.claim(p); err != nil {
		b.mu.Unlock()
		return fmt.Errorf("bundles: %w", err)
	}
	b.files[p] = f
	b.unseal()
	st, format := b.stage, b.Manifest.Format
	b.mu.Unlock()
	if st != nil {
		st.put(p, f, format)
	}
	return nil
}

// claim records p and its directories in the case-folded index, failing
// if a different path (or a file where a directory is, or the reverse)
// already folds to the same key.
func (b *Bundle) claim(p string) error {
	if _, ok := b.files[p]; ok {
		return nil
	}
	segs := strings.Split(p, "/")
	type claimKey struct{ key, val string }
	var add []claimKey
	for i := range segs {
		sub := strings.Join(segs[:i+1], "/")
		val := sub
		if i < len(segs)-1 {
			val += "/"
		}
		key := foldKey(sub)
		if prev, ok := b.folded[key]; ok {
			if prev == val {
				continue
			}
			return fmt.Errorf("%s collides with %s on case-insensitive file systems (names that differ only in case cannot both be in a bundle)",
				describe(p), describe(b.ownerOf(prev)))
		}
		add = append(add, claimKey{key, val})
	}
	for _, c := range add {
		b.folded[c.key] = c.val
	}
	return nil
}

// ownerOf returns an entity path that claimed the folded entry prev.
func (b *Bundle) ownerOf(prev string) string {
	if !strings.HasSuffix(prev, "/") {
		return prev
	}
	var best string
	for p := range b.files {
		if strings.HasPrefix(p, prev) && (best == "" || p < best) {
			best = p
		}
	}
	if best == "" {
		return strings.TrimSuffix(prev, "/")
	}
	return best
}

// describe names the entity stored at p: `Environment "Production" (environments/Production.json)`.
func describe(p string) string {
	k, esc := schema.KindForPath(p)
	if k == nil {
		return p
	}
	names, err := unescapeAll(esc)
	if err != nil {
		return p
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return fmt.Sprintf("%s %s (%s)", k.Name, strings.Join(q, "/"), p)
}

func (b *Bundle) unseal() {
	b.sealed = false
	b.checksums = nil
	b.manifest = nil
	b.signature = nil
	b.sealedAs = nil
	b.sidecars = nil
}

// snapshotManifest records the manifest's state at sealing time.
func snapshotManifest(m Manifest) []byte {
	data, _ := Canonical(m)
	return data
}

// current reports whether the bundle is sealed and its Manifest unchanged
// since.
func (b *Bundle) current() bool {
	return b.sealed && bytes.Equal(snapshotManifest(b.Manifest), b.sealedAs)
}

// Remove deletes the file at bundle path p and reports whether it was there.
func (b *Bundle) Remove(p string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.files[p]; !ok {
		return false
	}
	delete(b.files, p)
	b.folded = map[string]string{}
	for q := range b.files {
		_ = b.claim(q)
	}
	b.unseal()
	return true
}

// Entity returns the document of the entity of kind k with the given
// unescaped names (owners first), decoded afresh: it is the caller's own,
// to change at will; changes stick only when put back with PutEntity. For a
// ShapeBinary kind it is a copy of the file's bytes, as a []byte.
func (b *Bundle) Entity(k *schema.Kind, names ...string) (any, bool) {
	esc := make([]string, len(names))
	for i, n := range names {
		esc[i] = EscapeName(n)
	}
	p, err := k.Path(esc...)
	if err != nil {
		return nil, false
	}
	b.mu.RLock()
	f, ok := b.files[p]
	b.mu.RUnlock()
	if !ok {
		return nil, false
	}
	return f.value(), true
}

// Has reports whether the bundle holds the entity of kind k with the given
// unescaped names (owners first), without decoding its document.
func (b *Bundle) Has(k *schema.Kind, names ...string) bool {
	esc := make([]string, len(names))
	for i, n := range names {
		esc[i] = EscapeName(n)
	}
	p, err := k.Path(esc...)
	if err != nil {
		return false
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	_, ok := b.files[p]
	return ok
}

// Packed returns the packed document of the entity file at bundle path p
// (the zero Doc for a ShapeBinary kind): what the bundle holds, without
// decoding it. Its JSON is compact with keys in byte order, so two
// documents are equal exactly when their Docs are (jsonv.Doc.Equal).
func (b *Bundle) Packed(p string) (jsonv.Doc, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	f, ok := b.files[p]
	if !ok {
		return jsonv.Doc{}, false
	}
	return f.doc, true
}

// Entry is one entity file of a bundle.
type Entry struct {
	// Kind is the entity's kind.
	Kind *schema.Kind
	// Names are the unescaped names, owners first.
	Names []string
	// Path is the bundle path.
	Path string
	// Doc is the document, decoded afresh (the caller's own; see Entity);
	// for a ShapeBinary kind (a project logo) a copy of the file's bytes, as a
	// []byte.
	Doc any
}

// Entries returns every entity, sorted by kind Order, then kind name, then
// path, each with its document decoded afresh: the caller holds all of them
// decoded at once, which for a large bundle is ten times its JSON. A loop
// over the entities that needs one document at a time uses All.
func (b *Bundle) Entries() []Entry {
	list := b.sorted()
	out := make([]Entry, len(list))
	for i, s := range list {
		out[i] = Entry{Kind: s.f.kind, Names: append([]string(nil), s.f.names...), Path: s.path, Doc: s.f.value()}
	}
	return out
}

// All yields every entity in the order of Entries, decoding each document
// as it is reached: the caller holds one at a time (or those it keeps).
// The entities are those of the bundle when All is called.
func (b *Bundle) All() iter.Seq[Entry] {
	list := b.sorted()
	return func(yield func(Entry) bool) {
		for _, s := range list {
			if !yield(Entry{Kind: s.f.kind, Names: append([]string(nil), s.f.names...), Path: s.path, Doc: s.f.value()}) {
				return
			}
		}
	}
}

// pathFile is an entity file and its path.
type pathFile struct {
	path string
	f    *file
}

// sorted returns the entity files in the order of Entries.
func (b *Bundle) sorted() []pathFile {
	b.mu.RLock()
	out := make([]pathFile, 0, len(b.files))
	for p, f := range b.files {
		out = append(out, pathFile{p, f})
	}
	b.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		a, c := out[i], out[j]
		if a.f.kind.Order != c.f.kind.Order {
			return a.f.kind.Order < c.f.kind.Order
		}
		if a.f.kind.Name != c.f.kind.Name {
			return a.f.kind.Name < c.f.kind.Name
		}
		return a.path < c.path
	})
	return out
}

// Paths returns the path of every file in the bundle, sorted: entity files,
// and manifest.json, checksums.txt, the signature and (FormatV2) the
// sidecar files once sealed or read.
func (b *Bundle) Paths() []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]string, 0, len(b.files)+3)
	for p := range b.files {
		out = append(out, p)
	}
	if b.policy != nil {
		out = append(out, PolicyFile)
	}
	for p := range b.attached {
		out = append(out, p)
	}
	for p := range b.sidecars {
		out = append(out, p)
	}
	if b.sealed {
		out = append(out, ManifestFile, ChecksumsFile)
		if b.signature != nil {
			out = append(out, SignatureFile)
		}
	}
	sort.Strings(out)
	return out
}

// Raw returns the bytes of the file at bundle path p (manifest.json,
// checksums.txt and sidecar files only once sealed). For an entity file it
// returns the Canonical JSON of the whole document, texts inline — in a
// FormatV2 bundle the file as written differs (texts in sidecar files,
// Name and Value first); checksums.txt covers the files as written. The
// bytes of entity and sidecar files are made on each call; the caller must
// not change the bytes it gets.
func (b *Bundle) Raw(p string) ([]byte, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	switch p {
	case ManifestFile:
		return b.manifest, b.sealed
	case ChecksumsFile:
		return b.checksums, b.sealed
	case SignatureFile:
		return b.signature, b.sealed && b.signature != nil
	case PolicyFile:
		return b.policy, b.policy != nil
	}
	if f, ok := b.files[p]; ok {
		return f.canonical(), true
	}
	if d, ok := b.attached[p]; ok {
		return d, true
	}
	owner, ok := b.sidecars[p]
	if !ok {
		return nil, false
	}
	f := b.files[owner]
	_, sidecars, err := splitEntity(owner, f.kind, f.value())
	if err != nil {
		// seal or parse split this very document.
		panic(fmt.Sprintf("bundles: %s: %v", owner, err))
	}
	d, ok := sidecars[p]
	return d, ok
}

// Len returns the number of entity files.
func (b *Bundle) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.files)
}

// Clone returns a copy of the bundle that shares no mutable state with b
// (the manifest's maps and slices are copied). It is cheap: the packed
// documents are immutable and shared.
func (b *Bundle) Clone() *Bundle {
	b.mu.RLock()
	defer b.mu.RUnlock()
	m := b.Manifest
	m.Counts = copyMap(m.Counts)
	m.Rules = append([]RuleRef(nil), m.Rules...)
	if m.Input != nil {
		in := *m.Input
		m.Input = &in
	}
	c := New(m)
	c.files = maps.Clone(b.files) // files are never changed: put replaces them
	c.folded = maps.Clone(b.folded)
	c.policy = b.policy
	c.attached = maps.Clone(b.attached) // the byte slices are never changed
	c.sidecars = b.sidecars             // never modified in place: seal replaces it
	c.sealed, c.checksums, c.manifest, c.signature, c.sealedAs = b.sealed, b.checksums, b.manifest, b.signature, b.sealedAs
	return c
}

func copyMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Seal computes checksums.txt, the manifest's Counts and Digest, and the
// canonical manifest.json. It normalises ExportedAt to UTC whole seconds and
// rejects a Source.Server carrying credentials. Changing the bundle after
// Seal unseals it (and drops any signature); Write seals as needed.
func (b *Bundle) Seal() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seal()
}

func (b *Bundle) seal() error {
	m := b.Manifest
	if m.Format == "" {
		m.Format = Format
	}
	if !Known(m.Format) {
		return fmt.Errorf("bundles: cannot write format %q (this version writes %s)", m.Format, strings.Join(Formats, ", "))
	}
	clean, err := cleanServerURL(m.Source.Server)
	if err != nil {
		return fmt.Errorf("bundles: manifest Source.Server: %w", err)
	}
	m.Source.Server = clean
	m.ExportedAt = m.ExportedAt.UTC().Truncate(time.Second)
	m.Counts = map[string]int{}
	for _, f := range b.files {
		m.Counts[f.kind.Name]++
	}
	sumList, sidecars, err := b.render(m.Format)
	if err != nil {
		return err
	}
	if b.policy != nil {
		h := sha256.Sum256(b.policy)
		sumList = append(sumList, pathSum{PolicyFile, hex.EncodeToString(h[:])})
	}
	if err := checkKind(m.Kind, len(b.attached)); err != nil {
		return fmt.Errorf("bundles: %w", err)
	}
	for p, data := range b.attached {
		if _, clash := b.files[p]; clash {
			return fmt.Errorf("bundles: %s is both an entity file and an attached file", p)
		}
		h := sha256.Sum256(data)
		sumList = append(sumList, pathSum{p, hex.EncodeToString(h[:])})
	}
	sort.Slice(sumList, func(i, j int) bool { return sumList[i].path < sumList[j].path })
	var sums bytes.Buffer
	for _, s := range sumList {
		sums.WriteString(s.sum)
		sums.WriteString("  ")
		sums.WriteString(s.path)
		sums.WriteByte('\n')
	}
	d := sha256.Sum256(sums.Bytes())
	m.Digest = "sha256:" + hex.EncodeToString(d[:])
	mdata, err := Canonical(m)
	if err != nil {
		return fmt.Errorf("bundles: manifest: %w", err)
	}
	doc, err := Decode(mdata)
	if err != nil {
		return fmt.Errorf("bundles: manifest: %w", err)
	}
	if err := schema.ValidateFile(ManifestFile, doc); err != nil {
		return fmt.Errorf("bundles: %w", err)
	}
	if !bytes.Equal(mdata, b.manifest) {
		b.signature = nil
	}
	b.Manifest = m
	b.sidecars = sidecars
	b.checksums = sums.Bytes()
	b.manifest = mdata
	b.sealed = true
	b.sealedAs = snapshotManifest(m)
	return nil
}

// render returns the checksums of every entity and sidecar file as
// written in format (FormatV2: text fields in sidecar files), rendering
// the files whose checksums are not cached (see file.checksums) on every
// core: rendering decodes and re-encodes a document, the CPU work of
// sealing. For FormatV2 it also returns the sidecar index (see
// Bundle.sidecars). The caller holds b.mu.
func (b *Bundle) render(format string) ([]pathSum, map[string]string, error) {
	paths := make([]string, 0, len(b.files))
	for p := range b.files {
		paths = append(paths, p)
	}
	each := make([][]pathSum, len(paths))
	errs := make([]error, len(paths))
	parallel.Each(len(paths), func(i int) {
		each[i], errs[i] = b.files[paths[i]].checksums(paths[i], format)
	})
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	var sidecars map[string]string
	if HasSidecars(format) {
		sidecars = map[string]string{}
	}
	out := make([]pathSum, 0, len(paths))
	for i, p := range paths {
		out = append(out, each[i]...)
		for _, s := range each[i][1:] {
			if _, clash := b.files[s.path]; clash {
				return nil, nil, fmt.Errorf("bundles: %s: its sidecar file %s is also an entity file", p, s.path)
			}
			sidecars[s.path] = p
		}
	}
	return out, sidecars, nil
}

// cleanServerURL refuses URLs with credentials (user info, or an apikey
// query parameter) and drops query and fragment.
func cleanServerURL(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	if u.User != nil {
		return "", errors.New("URL carries credentials; record the server without them")
	}
	for k := range u.Query() {
		if strings.EqualFold(k, "apikey") || strings.EqualFold(k, "api_key") || strings.EqualFold(k, "token") {
			return "", errors.New("URL carries an API key; record the server without it")
		}
	}
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	return u.String(), nil
}

// Digest returns the bundle digest ("sha256:…", the sha256 of
// checksums.txt), or "" when the bundle is not sealed.
func (b *Bundle) Digest() string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if !b.sealed {
		return ""
	}
	return b.Manifest.Digest
}

// SetSignature attaches the content of the signature file (a minisign
// signature of checksums.txt; its format belongs to package sign).
// The bundle must be sealed; changing the bundle afterwards (an entity, the
// apply policy or the manifest) drops the signature.
func (b *Bundle) SetSignature(sig []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.sealed {
		return errors.New("bundles: SetSignature: bundle is not sealed")
	}
	b.signature = append([]byte(nil), sig...)
	return nil
}

// Signature returns the content of the signature file, or nil.
func (b *Bundle) Signature() []byte {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.signature
}

// DropSignature removes the bundle's signature and reports whether it had
// one. Changing a bundle drops its signature anyway (at the change, or at
// Seal for a changed manifest); a tool that rewrites a bundle, such as
// transform, calls DropSignature to know whether it must say that the
// result is no longer signed.
func (b *Bundle) DropSignature() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	had := b.signature != nil
	b.signature = nil
	return had
}
