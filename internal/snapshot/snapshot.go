// Package snapshot reads one Octopus space into memory — every collection of
// the kind registry once, in parallel, plus the per-owner singletons
// (deployment processes, variable sets, runbook processes, tenant variables)
// — and indexes it both ways: server ID → name and name → server ID, within
// the scope each name is unique in. Export reads the source this way and
// turns IDs into names; apply reads the destination this way and turns names
// back into IDs. Both directions use the same Index.
//
// Entities hold their documents packed (internal/jsonv.Doc) and decode a
// fresh copy on demand, so a snapshot costs about its compressed JSON plus
// its index, not the decoded documents of a whole space: every answer is
// decoded once as it arrives, for the IDs and names the index needs, and
// kept as the server sent it.
package snapshot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/schema"
)

// Entity is one entity read from the server. It holds its document packed
// (jsonv.Doc; the bytes for ShapeBinary kinds): a snapshot holds every entity
// of a space for a whole run, and decoded documents would cost ten times
// their JSON. Doc and Object decode a fresh copy on every call; decode once
// per use, not per field looked up.
type Entity struct {
	// Kind is the entity's kind.
	Kind *schema.Kind
	// ID is the server ID ("" for ShapeItems files).
	ID string
	// Name is the entity's own name; singletons take their owner's name.
	Name string
	// Owner is the owning entity (a channel's project), nil at top level.
	Owner *Entity

	doc jsonv.Doc // the server's JSON, packed
	bin []byte    // the bytes of a ShapeBinary kind's file
	// provided is Kind.Provided of the document, taken when it was set, so
	// the names an entity provides are known without decoding it again.
	provided []schema.Provided
}

// NewEntity returns an entity holding doc, packed: the server's JSON as
// decoded (an object, or an array for ShapeItems kinds; anything encoding/json
// marshals) or, for ShapeBinary kinds, the bytes ([]byte, kept as they are: the
// caller must not change them afterwards).
func NewEntity(k *schema.Kind, id, name string, owner *Entity, doc any) *Entity {
	e := &Entity{Kind: k, ID: id, Name: name, Owner: owner}
	e.SetDoc(doc)
	return e
}

// newPacked returns an entity holding doc, already packed; v is doc's
// decoded value, for the names it provides.
func newPacked(k *schema.Kind, id, name string, owner *Entity, v any, doc jsonv.Doc) *Entity {
	e := &Entity{Kind: k, ID: id, Name: name, Owner: owner, doc: doc}
	e.setProvided(v)
	return e
}

// SetDoc replaces the entity's document (see NewEntity for what doc may
// be). It does not re-index the names the entity provides: for an entity
// of a snapshot use Snapshot.Replace.
func (e *Entity) SetDoc(doc any) {
	e.provided = nil
	if b, ok := doc.([]byte); ok {
		e.doc, e.bin = jsonv.Doc{}, b
		return
	}
	e.bin = nil
	if doc == nil {
		e.doc = jsonv.Doc{}
		return
	}
	e.doc = jsonv.MustPack(doc)
	e.setProvided(doc)
}

func (e *Entity) setProvided(v any) {
	e.provided = nil
	if m, ok := v.(map[string]any); ok && e.Kind != nil {
		e.provided = e.Kind.Provided(m)
	}
}

// Doc returns a fresh copy of the entity's document: the server's JSON
// decoded (an object, or an array for ShapeItems kinds; nil when it has none),
// or a copy of the bytes for ShapeBinary kinds. Callers may change it; the
// change sticks only through SetDoc or Snapshot.Replace.
func (e *Entity) Doc() any {
	if e.bin != nil {
		return bytes.Clone(e.bin)
	}
	return e.doc.Value()
}

// Object returns a fresh copy of the document as an object (nil for Many
// and ShapeBinary kinds).
func (e *Entity) Object() map[string]any {
	if e.bin != nil {
		return nil
	}
	return e.doc.Object()
}

// Bytes returns the file of a ShapeBinary kind (nil for others). It is the
// entity's own slice: callers must not change it.
func (e *Entity) Bytes() []byte { return e.bin }

// MayContain reports whether the entity's document may hold text (in a
// string or a key), looking at its JSON without decoding it: false means it
// certainly does not. text must not hold characters JSON escapes other than
// as \u (quotes, backslashes, control characters); a document that uses
// \u escapes may hold text and is reported as such.
func (e *Entity) MayContain(text string) bool {
	if e.bin != nil {
		return bytes.Contains(e.bin, []byte(text))
	}
	data := e.doc.JSON()
	return bytes.Contains(data, []byte(text)) || bytes.Contains(data, []byte(`\u`))
}

// Packed returns the entity's packed document (the zero Doc for Binary
// kinds).
func (e *Entity) Packed() jsonv.Doc { return e.doc }

// Size is the number of bytes the entity's document takes in memory.
func (e *Entity) Size() int { return e.doc.Size() + len(e.bin) }

// Root returns the top-level owner of e (e itself at top level).
func (e *Entity) Root() *Entity {
	for e.Owner != nil {
		e = e.Owner
	}
	return e
}

// Names returns the names of e's owners and of e itself, outermost first —
// the names that place it in a bundle. Singletons and ShapeItems files add no name
// of their own.
func (e *Entity) Names() []string {
	var out []string
	if e.Owner != nil {
		out = e.Owner.Names()
	}
	if !e.Kind.IsSingleton() && e.Kind.Shape != schema.ShapeItems {
		out = append(out, e.Name)
	}
	return out
}

// Label names the entity for messages: "Channel OctoFX/Release".
func (e *Entity) Label() string {
	n := strings.Join(e.Names(), "/")
	if n == "" {
		return e.Kind.Name
	}
	return e.Kind.Name + " " + n
}

// Snapshot is a space as read.
type Snapshot struct {
	// Server is the server URL, ServerVersion its version.
	Server, ServerVersion string
	// SpaceID and SpaceName identify the space.
	SpaceID, SpaceName string
	// Index maps IDs and names both ways.
	Index *Index
	// Parts records, per kind of schema.ShapeParts, whether the server reads
	// and writes it as its parts (true) or as the legacy document.
	Parts map[string]bool

	mu     sync.Mutex
	byKind map[string][]*Entity
	// byName finds an entity by kind and joined Names (the first added
	// wins, as in byKind's order); children lists an owner's entities by
	// kind in byKind's order. They make Find and Children constant-time, so
	// plan and apply stay linear in the number of entities.
	byName   map[string]map[string]*Entity
	children map[*Entity]map[string][]*Entity
}

func nameKey(names []string) string { return strings.Join(names, "\x00") }

// indexLocked adds e to byName and children; s.mu is held.
func (s *Snapshot) indexLocked(e *Entity) {
	if s.byName == nil {
		s.byName = map[string]map[string]*Entity{}
		s.children = map[*Entity]map[string][]*Entity{}
	}
	m := s.byName[e.Kind.Name]
	if m == nil {
		m = map[string]*Entity{}
		s.byName[e.Kind.Name] = m
	}
	if key := nameKey(e.Names()); m[key] == nil {
		m[key] = e
	}
	if e.Owner != nil {
		c := s.children[e.Owner]
		if c == nil {
			c = map[string][]*Entity{}
			s.children[e.Owner] = c
		}
		c[e.Kind.Name] = append(c[e.Kind.Name], e)
	}
}

// Entities returns the entities of one kind, ordered by owner names then name.
func (s *Snapshot) Entities(kind string) []*Entity {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Entity(nil), s.byKind[kind]...)
}

// Children returns the entities of kind whose owner is owner.
func (s *Snapshot) Children(owner *Entity, kind string) []*Entity {
	s.mu.Lock()
	defer s.mu.Unlock()
	if owner == nil {
		var out []*Entity
		for _, e := range s.byKind[kind] {
			if e.Owner == nil {
				out = append(out, e)
			}
		}
		return out
	}
	return append([]*Entity(nil), s.children[owner][kind]...)
}

// Find returns the entity of kind with the given names (owners first), or nil.
func (s *Snapshot) Find(kind string, names ...string) *Entity {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byName[kind][nameKey(names)]
}

// Add records an entity (read, or created by apply) and indexes its names.
func (s *Snapshot) Add(e *Entity) {
	s.mu.Lock()
	s.byKind[e.Kind.Name] = append(s.byKind[e.Kind.Name], e)
	s.indexLocked(e)
	s.mu.Unlock()
	s.indexEntity(e)
}

// Replace swaps the document of an entity after apply wrote it, re-indexing
// the names it provides (new actions, templates).
func (s *Snapshot) Replace(e *Entity, doc any) {
	s.mu.Lock()
	e.SetDoc(doc)
	s.mu.Unlock()
	s.indexEntity(e)
}

func (s *Snapshot) indexEntity(e *Entity) {
	k := e.Kind
	if e.ID != "" && !k.IsSingleton() && k.Shape != schema.ShapeItems {
		scope := ""
		if e.Owner != nil {
			scope = e.Root().ID
		}
		s.Index.Add(k.Name, scope, e.ID, e.Name)
		if k.IndexAs != "" {
			s.Index.Add(k.IndexAs, scope, e.ID, e.Name)
		}
	}
	for _, p := range ProvidedNames(e) {
		if p.ID != "" {
			s.Index.Add(p.Kind, p.Scope, p.ID, p.Name)
		}
	}
}

// Provided is a scoped name an entity contributes (an action of a process,
// a tenant variable template of a project), placed in its index scope.
type Provided struct {
	// Kind is the namespace (schema.Action, schema.ProjectTemplate …).
	Kind string
	// Scope is the server ID the name is unique within.
	Scope string
	// ID is the server ID or GUID of the named thing.
	ID string
	// Name is the name, qualified by the owner where the registry says so
	// (runbook actions are "Runbook/Action").
	Name string
}

// ProvidedNames returns the scoped names e contributes, as the registry's
// Provides declare them.
func ProvidedNames(e *Entity) []Provided {
	var out []Provided
	for _, p := range e.provided {
		scope := e.ID
		switch p.Within {
		case schema.ScopeOwner:
			scope = e.Root().ID
		case schema.ScopeSpace:
			scope = ""
		}
		name := p.Name
		if p.Qualify {
			if e.Owner != nil {
				name = e.Owner.Name + "/" + name
			} else {
				name = e.Name + "/" + name
			}
		}
		out = append(out, Provided{Kind: p.Kind, Scope: scope, ID: p.ID, Name: name})
	}
	return out
}

// Options say what to read.
type Options struct {
	// Optional reads the optional kinds (deployment targets, workers) as
	// entities; they are always indexed by name, since variables may be
	// scoped to machines.
	Optional bool
	// Concurrency bounds parallel requests (default 8).
	Concurrency int
	// ListBatch is how many singletons one list request asks for
	// (default ListBatch).
	ListBatch int
	// Slots, if set, bounds the requests in flight in place of
	// Concurrency: a request holds one slot (a send) until it is
	// answered. A caller that has its own requests in flight shares its
	// bound this way (apply's executor reading new singletons mid-apply).
	Slots chan struct{}
	// Logger receives progress at debug level.
	Logger *slog.Logger
	// Progress, if set, is called after each request-level step with the
	// number of steps done and known so far.
	Progress func(done, total int)
	// Ready, if set, is called once for each top-level entity as soon as it
	// and every document below it are read (a project once its processes,
	// variables and the rest are in), so a caller can start on it while
	// the rest of the space is read. Names an entity's own documents
	// provide may be missing from the index of the others at that point:
	// processes provide action names within their own project, nothing
	// wider (the registry's Provides). It is called from the reading
	// goroutines, possibly at the same time, and not at all when Read
	// fails.
	Ready func(s *Snapshot, root *Entity)
}

// slots returns Slots, or a new bound of Concurrency requests.
func (o Options) slots() chan struct{} {
	if o.Slots != nil {
		return o.Slots
	}
	return make(chan struct{}, o.Concurrency)
}

// Read reads the client's space.
func Read(ctx context.Context, c *octopus.Client, o Options) (*Snapshot, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Snapshot{
		Server: c.Server(), ServerVersion: c.ServerVersion,
		SpaceID: c.SpaceID, SpaceName: c.SpaceName,
		Index:  NewIndex(),
		byKind: map[string][]*Entity{},
	}
	r := &reader{c: c, s: s, sem: o.slots(), log: log, progress: o.Progress, batch: listBatch(o)}
	parts, err := DetectParts(ctx, c)
	if err != nil {
		return nil, err
	}
	s.Parts = parts

	// Pass 1: every collection kind, in parallel: the first page of each,
	// then every further page of all of them at once (a collection's pages
	// one after another made pass 1 as long as its largest collection).
	// Each item is decoded once, as its page arrives, for its ID, name,
	// owner and the names it provides, and kept packed.
	type listing struct {
		k     *schema.Kind
		path  string
		query url.Values
		total int      // as the first page reports it
		size  int      // items on the first page: the server's page size
		pages [][]item // in order
	}
	var listings []*listing
	for _, k := range schema.Kinds() {
		if k.Collection == "" || k.Policy == schema.PolicyNever {
			continue
		}
		q := url.Values{}
		for key, v := range k.Filter {
			q.Set(key, v)
		}
		listings = append(listings, &listing{k: k, path: c.SpacePath(k.Collection, k.ServerLevel), query: q})
	}
	readPage := func(ctx context.Context, l *listing, n int) error {
		raw, total, err := c.ListPage(ctx, l.path, l.query, n*l.size)
		answered(ctx)
		if err != nil {
			return fmt.Errorf("reading %s: %w", l.k.Title, err)
		}
		items := make([]item, len(raw))
		for i, r := range raw {
			if items[i], err = readItem(l.k, r, l.k.Optional && !o.Optional); err != nil {
				return fmt.Errorf("reading %s: GET %s: item %d: %w", l.k.Title, l.path, n*l.size+i, err)
			}
			raw[i] = nil // the packed copy is what stays
		}
		if n == 0 {
			l.total, l.size = total, len(items)
			if l.size > 0 && total > l.size {
				l.pages = make([][]item, (total+l.size-1)/l.size)
			} else {
				l.pages = make([][]item, 1)
			}
		}
		l.pages[n] = items
		return nil
	}
	g := r.group(ctx)
	for _, l := range listings {
		g.add(func(ctx context.Context) error {
			if err := readPage(ctx, l, 0); err != nil {
				return err
			}
			var more []func(context.Context) error
			for n := 1; n < len(l.pages); n++ {
				more = append(more, func(ctx context.Context) error { return readPage(ctx, l, n) })
			}
			g.addFirst(more...)
			return nil
		})
	}
	if err := g.wait(); err != nil {
		return nil, err
	}
	lists := map[string][]item{}
	for _, l := range listings {
		var items []item
		for _, p := range l.pages {
			items = append(items, p...)
		}
		if len(items) != l.total {
			return nil, fmt.Errorf("reading %s: GET %s: the server reported %d items but returned %d (did the collection change while it was read?)", l.k.Title, l.path, l.total, len(items))
		}
		lists[l.k.Name] = items
		log.Debug("read collection", "kind", l.k.Name, "count", len(items))
	}
	// Top-level entities first, then owned ones, so owners exist to attach to.
	byID := map[string]*Entity{}
	for _, k := range schema.Kinds() {
		items, ok := lists[k.Name]
		if !ok || k.Parent != "" {
			continue
		}
		for _, it := range items {
			e := it.e
			if k.Optional && !o.Optional {
				// Indexed for name lookups (variable machine and role
				// scopes), not kept.
				s.Index.Add(k.Name, "", e.ID, e.Name)
				for _, p := range ProvidedNames(e) {
					s.Index.Add(p.Kind, p.Scope, p.ID, p.Name)
				}
				continue
			}
			byID[e.ID] = e
			s.Add(e)
		}
	}
	for _, k := range schema.Kinds() {
		items, ok := lists[k.Name]
		if !ok || k.Parent == "" {
			continue
		}
		if k.Shape == schema.ShapeItems {
			groups := map[string][]json.RawMessage{}
			var order []string
			for _, it := range items {
				if groups[it.parent] == nil {
					order = append(order, it.parent)
				}
				groups[it.parent] = append(groups[it.parent], it.raw)
			}
			for _, ownerID := range order {
				if owner := byID[ownerID]; owner != nil {
					doc, err := jsonv.Pack(groups[ownerID])
					if err != nil {
						return nil, fmt.Errorf("reading %s of %s: %w", k.Title, owner.Label(), err)
					}
					s.Add(newPacked(k, "", "", owner, nil, doc))
				}
			}
			continue
		}
		for _, it := range items {
			owner := byID[it.parent]
			if owner == nil {
				log.Debug("skipping entity whose owner is not in the space", "kind", k.Name, "id", it.e.ID)
				continue
			}
			e := it.e
			e.Owner = owner
			byID[e.ID] = e
			s.Add(e)
		}
	}

	// Pass 2: singletons (processes, variable sets, tenant variables,
	// deployment settings, logos), all at once: in list requests where
	// the kind has a list form (ReadAll), one GET per owner otherwise and
	// for owners a list answer lacks. Runbook processes hang off runbooks,
	// which were attached above, so one pass suffices.
	owners := map[string][]*Entity{}
	for _, k := range schema.Kinds() {
		if k.Read != "" {
			owners[k.Name] = s.Entities(k.Parent)
		}
	}
	g = r.group(ctx)
	rd := &owned{r: r, g: g, got: func(_ *schema.Kind, _, e *Entity) { s.Add(e) }}
	var rank func(*Entity) int
	if o.Ready != nil {
		rd.settled, rank = readyRoots(s, owners, o.Ready)
	}
	rd.read(owners, rank)
	if err := g.wait(); err != nil {
		return nil, err
	}
	s.sort()
	return s, nil
}

// item is one item of a collection as read: its entity (without its owner
// yet, and without a document when it is only indexed) and its owner's ID;
// for ShapeItems kinds the item's JSON, which is grouped by owner into one
// document.
type item struct {
	e      *Entity
	parent string
	raw    json.RawMessage
}

// DecodeObject decodes a server document that must be an object (an
// entity, a collection item).
func DecodeObject(raw json.RawMessage) (map[string]any, error) {
	v, err := jsonv.Decode(raw)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("not an object")
	}
	return m, nil
}

// readItem decodes one collection item of kind k. indexOnly leaves its
// document out (an optional kind read only to index names).
func readItem(k *schema.Kind, raw json.RawMessage, indexOnly bool) (item, error) {
	m, err := DecodeObject(raw)
	if err != nil {
		return item{}, err
	}
	it := item{parent: str(m[k.ParentField])}
	if k.Shape == schema.ShapeItems && k.Parent != "" {
		it.raw = raw // grouped by owner into one document
		return it, nil
	}
	var doc jsonv.Doc
	if !indexOnly {
		// The server's JSON as sent, compacted: no second encoding.
		if doc, err = jsonv.Pack(raw); err != nil {
			return item{}, err
		}
	}
	it.e = newPacked(k, str(m["Id"]), str(m[k.NameField]), nil, m, doc)
	return it, nil
}

// singleton decodes the document of a singleton kind k (a process, a
// variable set) as the server sent it, converting a Parts kind's legacy
// document to the parts' shape: the entity (its Name and Owner not set)
// and its owner's ID.
func singleton(k *schema.Kind, raw json.RawMessage) (item, error) {
	m, err := DecodeObject(raw)
	if err != nil {
		return item{}, err
	}
	var doc jsonv.Doc
	legacy := fromLegacy(k, m)
	if k.Shape != schema.ShapeParts || k.Parts.FromLegacy == nil {
		doc, err = jsonv.Pack(raw) // as sent: no second encoding
	} else {
		doc, err = jsonv.Pack(legacy)
	}
	if err != nil {
		return item{}, err
	}
	return item{e: newPacked(k, str(m["Id"]), "", nil, legacy, doc), parent: str(m[k.ParentField])}, nil
}

// FeatureTogglesPath is where a server lists its feature toggles.
const FeatureTogglesPath = "configuration/feature-toggles"

// DetectParts tells, for every kind of schema.ShapeParts, whether the server
// serves the parts: the feature toggle's state where the server lists it
// (GET /api/configuration/feature-toggles), else whether its version is at
// least Parts.Since.
func DetectParts(ctx context.Context, c *octopus.Client) (map[string]bool, error) {
	out := map[string]bool{}
	var toggles map[string]bool
	for _, k := range schema.Kinds() {
		if k.Shape != schema.ShapeParts {
			continue
		}
		if toggles == nil {
			toggles = map[string]bool{}
			doc, err := c.Get(ctx, c.SpacePath(FeatureTogglesPath, true))
			switch {
			case err == nil:
				for _, t := range asList(doc["FeatureToggles"]) {
					if m, ok := t.(map[string]any); ok {
						on, _ := m["IsEnabled"].(bool)
						toggles[strings.ToLower(str(m["Name"]))] = on
					}
				}
			case octopus.IsStatus(err, 404):
				// An older server without the endpoint.
			default:
				return nil, fmt.Errorf("reading the feature toggles: %w", err)
			}
		}
		on, listed := toggles[strings.ToLower(k.Parts.Toggle)]
		if !listed {
			on = schema.VersionAtLeast(c.ServerVersion, k.Parts.Since)
		}
		out[k.Name] = on
	}
	return out, nil
}

// ReadParts reads the parts of a Parts kind's entity owned by owner (a
// server document) and assembles the entity: one field per part holding the
// part's items, and the owner's ID in ParentField.
func ReadParts(ctx context.Context, c *octopus.Client, k *schema.Kind, owner map[string]any) (map[string]any, error) {
	doc := map[string]any{}
	if k.ParentField != "" {
		doc[k.ParentField] = owner["Id"]
	}
	for _, p := range k.Parts.Parts {
		path, err := expand(p.Path, owner)
		if err != nil {
			return nil, err
		}
		got, err := c.Get(ctx, c.SpacePath(path, false))
		if err != nil {
			return nil, err
		}
		items := asList(got[p.Items])
		if items == nil {
			items = []any{}
		}
		doc[p.Field] = items
	}
	return doc, nil
}

// fromLegacy converts a legacy document of a Parts kind to the parts' shape.
func fromLegacy(k *schema.Kind, doc map[string]any) map[string]any {
	if k.Shape != schema.ShapeParts || k.Parts.FromLegacy == nil {
		return doc
	}
	out := k.Parts.FromLegacy(doc)
	if k.ParentField != "" {
		out[k.ParentField] = doc[k.ParentField]
	}
	return out
}

// FromLegacy is fromLegacy for apply, which reads back what it wrote.
func FromLegacy(k *schema.Kind, doc map[string]any) map[string]any { return fromLegacy(k, doc) }

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// New returns an empty snapshot (for tests and for apply to an empty space).
func New(server, version, spaceID, spaceName string) *Snapshot {
	return &Snapshot{Server: server, ServerVersion: version, SpaceID: spaceID, SpaceName: spaceName, Index: NewIndex(), Parts: map[string]bool{}, byKind: map[string][]*Entity{}}
}

func (s *Snapshot) sort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byName, s.children = nil, nil
	for kind, es := range s.byKind {
		keys := make(map[*Entity]string, len(es))
		for _, e := range es {
			keys[e] = nameKey(e.Names())
		}
		sort.SliceStable(es, func(i, j int) bool { return keys[es[i]] < keys[es[j]] })
		s.byKind[kind] = es
	}
	for _, es := range s.byKind {
		for _, e := range es {
			s.indexLocked(e)
		}
	}
}

// readyRoots tracks the top-level entities below which owners' singletons
// are read: it calls ready for each once its last singleton is settled
// (read, or known to be absent) — at once for those with none — and
// returns settled and the rank reads go in (their top-level entity's
// place, so one entity's documents are read together).
func readyRoots(s *Snapshot, owners map[string][]*Entity, ready func(*Snapshot, *Entity)) (settled func(*Entity), rank func(*Entity) int) {
	var top []*Entity
	for _, k := range schema.Kinds() {
		if k.Parent == "" {
			top = append(top, s.Entities(k.Name)...)
		}
	}
	order := make(map[*Entity]int, len(top))
	for i, e := range top {
		order[e] = i
	}
	pending := map[*Entity]int{}
	for _, os := range owners {
		for _, o := range os {
			pending[o.Root()]++
		}
	}
	for _, e := range top {
		if pending[e] == 0 {
			ready(s, e)
		}
	}
	var mu sync.Mutex
	settled = func(owner *Entity) {
		root := owner.Root()
		mu.Lock()
		pending[root]--
		done := pending[root] == 0
		mu.Unlock()
		if done {
			ready(s, root)
		}
	}
	rank = func(e *Entity) int { return order[e.Root()] }
	return settled, rank
}

// expand fills {Field} placeholders of a Read path from the owner document.
func expand(tmpl string, owner map[string]any) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			b.WriteString(tmpl)
			return b.String(), nil
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("bad path template %q", tmpl)
		}
		field := tmpl[i+1 : i+j]
		v := str(owner[field])
		if v == "" {
			return "", fmt.Errorf("the server did not return %s, needed to read %s", field, tmpl)
		}
		b.WriteString(tmpl[:i])
		b.WriteString(url.PathEscape(v))
		tmpl = tmpl[i+j+1:]
	}
}

// expandFor is expand with the owner's document decoded only when the
// template needs more of it than its ID ("projects/{Id}/logo").
func expandFor(tmpl string, owner *Entity) (string, error) {
	if owner.ID != "" && strings.Count(tmpl, "{") == strings.Count(tmpl, "{Id}") {
		return expand(tmpl, map[string]any{"Id": owner.ID})
	}
	return expand(tmpl, owner.Object())
}

// Expand fills {Field} placeholders of a kind's Read path from its owner's
// document ("variables/{VariableSetId}" → "variables/variableset-Projects-1").
func Expand(tmpl string, owner map[string]any) (string, error) { return expand(tmpl, owner) }

func str(v any) string {
	s, _ := v.(string)
	return s
}

type reader struct {
	c        *octopus.Client
	s        *Snapshot
	sem      chan struct{}
	log      *slog.Logger
	progress func(done, total int)
	batch    int // singletons per list request
	minWhole int // fewest owners a whole space's paged list is read for
	mu       sync.Mutex
	done     int
	total    int
}
