package octosim

import (
	"cmp"
	"crypto/rand"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/octobundle/octobundle/schema"
)

// coll is one collection's documents in insertion order. Documents are kept
// in their internal form: secrets in clear, no Links.
type coll struct {
	ids  []string
	docs map[string]map[string]any
	// seq numbers each ID in insertion order, for putting what an index
	// finds back into that order (sorted).
	seq     map[string]uint64
	nextSeq uint64
	// folded finds an ID given in another case (foldKey(id) → id):
	// clients may send IDs in any case, as on a real server.
	folded map[string]string
	// idx finds documents by the case-folded value of a string field
	// (field → foldKey(value) → IDs): where builds a field's index on
	// first use and put and remove keep it, so finding a project's
	// processes or a name's holder stays constant-time as a space grows.
	idxMu sync.Mutex
	idx   map[string]map[string]map[string]bool
	// orders keeps the IDs in a list order (listForm.Order: field →
	// order), built on first use under idxMu; put and remove drop an
	// order they change (a document added or removed, a key changed), so
	// a paged read of a whole collection sorts it once, not once a page.
	orders map[string]*listOrder
	// ver counts the puts and removes, for caches of what is derived
	// from the collection (spaceScope).
	ver atomic.Uint64
}

// listOrder is a collection's IDs sorted by one field as a list form
// sorts them (orderCompare), with the key each ID was sorted by.
type listOrder struct {
	ids  []string
	keys map[string]string
}

func newColl() *coll {
	return &coll{docs: map[string]map[string]any{}, folded: map[string]string{}, seq: map[string]uint64{}}
}

// where returns the documents whose field equals value, case-insensitively
// (as strings.EqualFold), in insertion order.
func (c *coll) where(field, value string) []map[string]any {
	ids := c.whereIDs(field, value)
	slices.SortFunc(ids, func(a, b string) int { return cmp.Compare(c.seq[a], c.seq[b]) })
	return c.docsOf(ids)
}

// whereAny is where in no particular order, for callers that look for one
// match or check every match alike.
func (c *coll) whereAny(field, value string) []map[string]any {
	return c.docsOf(c.whereIDs(field, value))
}

func (c *coll) docsOf(ids []string) []map[string]any {
	if len(ids) == 0 {
		return nil
	}
	out := make([]map[string]any, len(ids))
	for i, id := range ids {
		out[i] = c.docs[id]
	}
	return out
}

// whereIDs returns the IDs of the documents whose field equals value,
// building the field's index on first use.
func (c *coll) whereIDs(field, value string) []string {
	if c == nil {
		return nil
	}
	c.idxMu.Lock()
	defer c.idxMu.Unlock()
	m, ok := c.idx[field]
	if !ok {
		if c.idx == nil {
			c.idx = map[string]map[string]map[string]bool{}
		}
		m = map[string]map[string]bool{}
		for id, d := range c.docs {
			addIndex(m, d[field], id)
		}
		c.idx[field] = m
	}
	set := m[foldKey(value)]
	ids := make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	return ids
}

// reindex moves id's entries in every built index from old (nil: none) to
// doc (nil: removed).
func (c *coll) reindex(id string, old, doc map[string]any) {
	c.idxMu.Lock()
	defer c.idxMu.Unlock()
	for field, m := range c.idx {
		if old != nil {
			if set := m[foldKey(str(old[field]))]; set != nil {
				delete(set, id)
			}
		}
		if doc != nil {
			addIndex(m, doc[field], id)
		}
	}
}

func addIndex(m map[string]map[string]bool, v any, id string) {
	s, ok := v.(string)
	if !ok {
		return
	}
	k := foldKey(s)
	if m[k] == nil {
		m[k] = map[string]bool{}
	}
	m[k][id] = true
}

// foldKey maps s to a key equal for exactly the strings strings.EqualFold
// finds equal: each rune becomes the smallest rune of its simple case
// folding orbit.
func foldKey(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii { // the smallest of an ASCII letter's orbit is its upper case
		return strings.ToUpper(s)
	}
	var b strings.Builder
	for _, r := range s {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		b.WriteRune(m)
	}
	return b.String()
}

func (c *coll) get(id string) map[string]any {
	if c == nil {
		return nil
	}
	if d, ok := c.docs[id]; ok {
		return d
	}
	return c.docs[c.folded[foldKey(id)]]
}

func (c *coll) put(id string, doc map[string]any) {
	old, ok := c.docs[id]
	if !ok {
		c.ids = append(c.ids, id)
		c.folded[foldKey(id)] = id
		c.nextSeq++
		c.seq[id] = c.nextSeq
	}
	c.docs[id] = doc
	c.reindex(id, old, doc)
	c.dropOrders(id, doc)
	c.ver.Add(1)
}

// version is the number of changes the collection has had (0 for nil).
func (c *coll) version() uint64 {
	if c == nil {
		return 0
	}
	return c.ver.Load()
}

// dropOrders drops every list order that id's document doc (nil:
// removed) no longer fits: one that lacks id, or holds it under another
// key.
func (c *coll) dropOrders(id string, doc map[string]any) {
	c.idxMu.Lock()
	defer c.idxMu.Unlock()
	for field, o := range c.orders {
		key, ok := o.keys[id]
		if !ok || doc == nil || key != orderKey(doc, field) {
			delete(c.orders, field)
		}
	}
}

// ordered returns the collection's IDs in the list order of field
// (orderCompare), from the order kept since the last change that
// touched it. The caller holds Server.mu (read or write) and must not
// modify the slice.
func (c *coll) ordered(field string) []string {
	if c == nil {
		return nil
	}
	c.idxMu.Lock()
	defer c.idxMu.Unlock()
	if o := c.orders[field]; o != nil {
		return o.ids
	}
	o := &listOrder{ids: slices.Clone(c.ids), keys: make(map[string]string, len(c.ids))}
	for _, id := range c.ids {
		o.keys[id] = orderKey(c.docs[id], field)
	}
	slices.SortFunc(o.ids, func(a, b string) int {
		return orderCompare(o.keys[a], a, c.seq[a], o.keys[b], b, c.seq[b])
	})
	if c.orders == nil {
		c.orders = map[string]*listOrder{}
	}
	c.orders[field] = o
	return o.ids
}

func (c *coll) remove(id string) {
	old, ok := c.docs[id]
	if !ok {
		return
	}
	delete(c.docs, id)
	delete(c.folded, foldKey(id))
	delete(c.seq, id)
	c.reindex(id, old, nil)
	c.dropOrders(id, nil)
	c.ver.Add(1)
	for i, x := range c.ids {
		if x == id {
			c.ids = append(c.ids[:i:i], c.ids[i+1:]...)
			break
		}
	}
}

// all returns the documents in insertion order.
func (c *coll) all() []map[string]any {
	if c == nil {
		return nil
	}
	out := make([]map[string]any, 0, len(c.ids))
	for _, id := range c.ids {
		out = append(out, c.docs[id])
	}
	return out
}

// space is one space (or, for server-level collections, the server).
type space struct {
	doc   map[string]any // the space resource itself (nil for the server)
	colls map[string]*coll
	// collsMu guards colls: coll creates a collection on first use, which
	// also happens on reads served under Server.mu's read lock.
	collsMu sync.Mutex
	// scopeMu guards scope, the ScopeValues every variable set of the
	// space shares, kept while the collections they come from are
	// unchanged.
	scopeMu sync.Mutex
	scope   *spaceScope
}

func newSpace(doc map[string]any) *space { return &space{doc: doc, colls: map[string]*coll{}} }

func (s *space) id() string {
	if s.doc == nil {
		return ""
	}
	return str(s.doc["Id"])
}

func (s *space) coll(name string) *coll {
	s.collsMu.Lock()
	defer s.collsMu.Unlock()
	c := s.colls[name]
	if c == nil {
		c = newColl()
		s.colls[name] = c
	}
	return c
}

// state is the whole simulated instance. All access goes through Server.mu.
type state struct {
	server   *space // server-level collections (userroles)
	spaces   *coll  // space resources
	spaceSt  map[string]*space
	counters map[string]int // per ID prefix: the last number handed out
	offset   int
}

func newState(offset int) *state {
	return &state{
		server:   newSpace(nil),
		spaces:   newColl(),
		spaceSt:  map[string]*space{},
		counters: map[string]int{},
		offset:   offset,
	}
}

// nextID hands out the next "Prefix-N" ID.
func (st *state) nextID(prefix string) string {
	n := st.counters[prefix]
	if n < st.offset {
		n = st.offset
	}
	n++
	st.counters[prefix] = n
	return prefix + "-" + strconv.Itoa(n)
}

// noteID moves the counter of id's prefix past id's number.
func (st *state) noteID(id string) {
	id = id[strings.LastIndex(id, "/")+1:] // a tag's "TagSets-1/Tags-3"
	i := strings.LastIndex(id, "-")
	if i <= 0 {
		return
	}
	n, err := strconv.Atoi(id[i+1:])
	if err != nil {
		return
	}
	prefix := id[:i]
	if n > st.counters[prefix] {
		st.counters[prefix] = n
	}
}

// lookupSpace returns the space with the given ID (case-insensitive).
func (st *state) lookupSpace(id string) *space {
	return lookupFold(st.spaceSt, id)
}

// lookupFold returns m[id], matching the key case-insensitively as the real
// server matches IDs; the zero value when there is none.
func lookupFold[V any](m map[string]V, id string) V {
	if v, ok := m[id]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, id) {
			return v
		}
	}
	var zero V
	return zero
}

func (st *state) defaultSpace() *space {
	for _, d := range st.spaces.all() {
		if b, _ := d["IsDefault"].(bool); b {
			return st.spaceSt[str(d["Id"])]
		}
	}
	return nil
}

// collFor returns the store of spec in sp (or the server's for server-level specs).
func (st *state) collFor(sp *space, spec *collSpec) *coll {
	if spec.ServerLevel {
		return st.server.coll(spec.Name)
	}
	return sp.coll(spec.Name)
}

// newGUID returns a random version-4 UUID.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func copyDoc(d map[string]any) map[string]any {
	if d == nil {
		return nil
	}
	return schema.DeepCopy(d).(map[string]any)
}

// str returns v if it is a string, else "".
func str(v any) string {
	s, _ := v.(string)
	return s
}

// strs returns the strings of a JSON array (or a single string).
func strs(v any) []string {
	switch t := v.(type) {
	case string:
		if t == "" {
			return nil
		}
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return t
	}
	return nil
}

// slug derives a URL slug from a name the way Octopus does.
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}
