package schema

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/octobundle/octobundle/internal/jsonv"
)

// Drop, returned by a RefFunc, removes the reference: an array element is
// removed, a map key deleted, a single-valued field deleted.
var Drop = dropValue{}

type dropValue struct{}

// RefFunc is called for every non-empty reference value. at is the JSON path
// of the value (map keys and array indices, as read before any rewriting);
// v is a string, or for AnyKind references possibly a {"$ref"} object. It
// returns the replacement value, or Drop.
type RefFunc func(ref Ref, at []string, v any) (any, error)

// Rewrite calls fn for every reference of k in doc and replaces each value by
// fn's result. References are visited deepest path first, so a reference
// whose scope is an ancestor map key (ScopeKey1) sees that key as read. For
// ShapeItems kinds doc is an array and each item is rewritten.
func (k *Kind) Rewrite(doc any, fn RefFunc) error { return k.rewrite(doc, fn, false) }

// rewrite is Rewrite; with readOnly it only calls fn and never changes doc
// (fn's results are ignored), so a shared document can be visited without
// a copy.
func (k *Kind) rewrite(doc any, fn RefFunc, readOnly bool) error {
	refs, segs, skips := k.rewritePlan()
	return eachItem(k, doc, func(item map[string]any, prefix []string) error {
		for i, r := range refs {
			skip := skips[i]
			err := walkLeaves(item, segs[i], prefix, nil, readOnly, func(at []string, parent map[string]any, v any) (any, error) {
				if v == nil || v == "" {
					return v, nil
				}
				if skip[at[len(at)-1]] {
					return v, nil
				}
				if r.When != nil && !r.When.holds(parent) {
					return v, nil
				}
				if s, ok := v.(string); ok && r.Split != "" {
					return rewriteList(r, at, s, fn)
				}
				return fn(r, at, v)
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// rewritePlan returns k's references in the order rewrite visits them,
// each one's path split and the keys its catch-all skips: the same for
// every document of the kind, so worked out once per kind (again if its
// Refs are replaced) and shared, read-only.
func (k *Kind) rewritePlan() (refs []Ref, segs [][]string, skips []map[string]bool) {
	if c, ok := rewritePlans.Load(k); ok {
		if p := c.(*rewritePlanOf); p.same(k.Refs) {
			return p.refs, p.segs, p.skips
		}
	}
	refs = append([]Ref(nil), k.Refs...)
	sort.SliceStable(refs, func(i, j int) bool {
		di, dj := strings.Count(refs[i].Path, "/"), strings.Count(refs[j].Path, "/")
		if di != dj {
			return di > dj
		}
		// A reference scoped by a sibling field comes before the sibling's
		// own reference rewrites it.
		return refs[i].Within == ScopeSibling && refs[j].Within != ScopeSibling
	})
	// A catch-all "X/*" reference skips the keys of X that a more specific
	// reference ("X/Key") already covers.
	covered := map[string]map[string]bool{}
	for _, r := range refs {
		if dir, last, ok := cutLast(r.Path); ok && last != "*" && last != "~" {
			if covered[dir] == nil {
				covered[dir] = map[string]bool{}
			}
			covered[dir][last] = true
		}
	}
	// Each reference's path and skipped keys, once for all the items.
	segs = make([][]string, len(refs))
	skips = make([]map[string]bool, len(refs))
	for i, r := range refs {
		segs[i] = strings.Split(r.Path, "/")
		if dir, last, ok := cutLast(r.Path); ok && last == "*" {
			skips[i] = covered[dir]
		}
	}
	p := &rewritePlanOf{refs: refs, segs: segs, skips: skips, n: len(k.Refs)}
	if len(k.Refs) > 0 {
		p.first = &k.Refs[0]
	}
	rewritePlans.Store(k, p)
	return refs, segs, skips
}

// rewritePlans caches rewritePlan by kind.
var rewritePlans sync.Map // *Kind → *rewritePlanOf

// rewritePlanOf is one kind's rewritePlan, and the Refs it was made from.
type rewritePlanOf struct {
	refs  []Ref
	segs  [][]string
	skips []map[string]bool
	first *Ref
	n     int
}

// same reports whether refs is the slice the plan was made from.
func (p *rewritePlanOf) same(refs []Ref) bool {
	if len(refs) != p.n {
		return false
	}
	return len(refs) == 0 || &refs[0] == p.first
}

// SiblingValue returns the value of ref's Sibling field next to the
// reference at at (a path as passed to a RefFunc) in doc: the scope of a
// ScopeSibling reference. doc is the document being rewritten (Rewrite
// visits sibling-scoped references before the sibling's own reference, so
// it still holds the sibling as read) or the original.
func SiblingValue(doc any, ref Ref, at []string) (string, bool) {
	if ref.Sibling == "" || len(at) == 0 {
		return "", false
	}
	m, ok := At(doc, at[:len(at)-1]).(map[string]any)
	if !ok {
		return "", false
	}
	v, ok := m[ref.Sibling].(string)
	return v, ok && v != ""
}

// At returns the value at a decoded path (map keys and array indexes, as
// walkers report them) of doc, or nil when the path does not exist.
func At(doc any, at []string) any {
	cur := doc
	for _, seg := range at {
		switch n := cur.(type) {
		case map[string]any:
			cur = n[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(n) {
				return nil
			}
			cur = n[i]
		default:
			return nil
		}
	}
	return cur
}

// rewriteList rewrites each element of a joined list ("Teams-1,Teams-2").
func rewriteList(r Ref, at []string, s string, fn RefFunc) (any, error) {
	var out []string
	for _, el := range strings.Split(s, r.Split) {
		el = strings.TrimSpace(el)
		if el == "" {
			continue
		}
		nv, err := fn(r, at, el)
		if err != nil {
			return nil, err
		}
		if _, drop := nv.(dropValue); drop {
			continue
		}
		ns, ok := nv.(string)
		if !ok {
			return nil, fmt.Errorf("%s: a list element must rewrite to a string, got %T", Pointer(at), nv)
		}
		out = append(out, ns)
	}
	return strings.Join(out, r.Split), nil
}

func cutLast(path string) (dir, last string, ok bool) {
	i := strings.LastIndex(path, "/")
	if i < 0 {
		return "", "", false
	}
	return path[:i], path[i+1:], true
}

// eachItem calls fn with each object of the document a kind's shape
// holds: the entity itself (ShapeObject, ShapeParts), each item of a
// ShapeItems file, none for ShapeBinary (bytes: nothing to rewrite or
// check).
func eachItem(k *Kind, doc any, fn func(item map[string]any, prefix []string) error) error {
	switch k.Shape {
	case ShapeBinary:
		return nil
	case ShapeItems:
		if d, ok := doc.([]any); ok {
			for i, el := range d {
				m, ok := el.(map[string]any)
				if !ok {
					return fmt.Errorf("%s: item %d is not an object", k.Name, i)
				}
				if err := fn(m, []string{strconv.Itoa(i)}); err != nil {
					return err
				}
			}
			return nil
		}
	}
	switch d := doc.(type) {
	case map[string]any:
		return fn(d, nil)
	case []any:
		return fmt.Errorf("%s: expected an object, got an array", k.Name)
	default:
		return fmt.Errorf("%s: expected an object, got %T", k.Name, doc)
	}
}

// Holds reports whether the condition holds for parent, the object
// holding the position it restricts: parent's Field, as text, is one of
// Values (case-insensitively). It is false without a parent.
func (c *Cond) Holds(parent map[string]any) bool { return c.holds(parent) }

func (c *Cond) holds(parent map[string]any) bool {
	if parent == nil {
		return false
	}
	var got string
	switch t := parent[c.Field].(type) {
	case string:
		got = t
	case bool:
		got = strconv.FormatBool(t)
	default:
		got = fmt.Sprint(t)
	}
	for _, v := range c.Values {
		if strings.EqualFold(got, v) {
			return true
		}
	}
	return false
}

type leafFn func(at []string, parent map[string]any, v any) (any, error)

// walkLeaves follows segs from node and calls fn on each leaf, replacing it
// with the result (Drop removes it). parent is the object holding node.
// With readOnly it calls fn on every leaf and changes nothing.
//
// Most steps lead to no leaf (a property the action lacks), so the path
// down is kept in one buffer, extended in place; fn gets a copy of its
// own.
func walkLeaves(node any, segs []string, at []string, parent map[string]any, readOnly bool, fn leafFn) error {
	buf := make([]string, len(at), len(at)+len(segs)+1)
	copy(buf, at)
	return walkDown(node, segs, buf, parent, readOnly, fn)
}

// walkDown is walkLeaves over at, a buffer it may extend in place: no
// call keeps at or a slice of it (a leaf's path is copied).
func walkDown(node any, segs []string, at []string, parent map[string]any, readOnly bool, fn leafFn) error {
	if len(segs) == 0 {
		return nil
	}
	seg := segs[0]
	rest := segs[1:]
	switch seg {
	case "*":
		switch n := node.(type) {
		case []any:
			for i := range n {
				if len(rest) == 0 {
					continue // "*" as the last segment is handled by the parent's leaf step
				}
				m, _ := n[i].(map[string]any)
				if err := walkDown(n[i], rest, append(at, strconv.Itoa(i)), m, readOnly, fn); err != nil {
					return err
				}
			}
		case map[string]any:
			for _, key := range slices.Sorted(maps.Keys(n)) {
				if len(rest) == 0 {
					nv, err := applyLeaf(n[key], appendPath(at, key), n, readOnly, fn)
					if err != nil {
						return err
					}
					if !readOnly {
						setOrDelete(n, key, nv)
					}
					continue
				}
				child, _ := n[key].(map[string]any)
				if err := walkDown(n[key], rest, append(at, key), child, readOnly, fn); err != nil {
					return err
				}
			}
		}
		return nil
	case "~":
		m, ok := node.(map[string]any)
		if !ok {
			return nil
		}
		for _, key := range slices.Sorted(maps.Keys(m)) {
			nv, err := fn(appendPath(at, key), m, key)
			if err != nil {
				return err
			}
			if readOnly {
				continue
			}
			if _, drop := nv.(dropValue); drop {
				delete(m, key)
				continue
			}
			nk, ok := nv.(string)
			if !ok {
				return fmt.Errorf("%s: a map key must rewrite to a string, got %T", Pointer(appendPath(at, key)), nv)
			}
			if nk != key {
				if _, clash := m[nk]; clash {
					return fmt.Errorf("%s: rewriting key %q to %q collides with an existing key", Pointer(at), key, nk)
				}
				m[nk] = m[key]
				delete(m, key)
			}
		}
		return nil
	default:
		m, ok := node.(map[string]any)
		if !ok {
			return nil
		}
		v, present := m[seg]
		if !present || v == nil {
			return nil
		}
		if len(rest) == 0 {
			nv, err := applyLeaf(v, appendPath(at, seg), m, readOnly, fn)
			if err != nil {
				return err
			}
			if !readOnly {
				setOrDelete(m, seg, nv)
			}
			return nil
		}
		if len(rest) == 1 && rest[0] == "*" {
			// "Field/*": the field's elements (or map values) are the leaves.
			switch n := v.(type) {
			case []any:
				nv, err := applyLeaf(n, appendPath(at, seg), m, readOnly, fn)
				if err != nil {
					return err
				}
				if !readOnly {
					setOrDelete(m, seg, nv)
				}
				return nil
			case map[string]any:
				return walkDown(n, rest, append(at, seg), m, readOnly, fn)
			}
			return nil
		}
		child, _ := v.(map[string]any)
		if child == nil {
			// arrays continue with "*"; pass the holder as parent
			child = m
		}
		return walkDown(v, rest, append(at, seg), child, readOnly, fn)
	}
}

// applyLeaf calls fn on a leaf value; arrays of leaves are visited element by
// element and dropped elements removed.
// With readOnly it builds no new array.
func applyLeaf(v any, at []string, parent map[string]any, readOnly bool, fn leafFn) (any, error) {
	arr, ok := v.([]any)
	if !ok {
		return fn(at, parent, v)
	}
	var out []any
	if !readOnly {
		out = make([]any, 0, len(arr))
	}
	for i, el := range arr {
		nv, err := fn(appendPath(at, strconv.Itoa(i)), parent, el)
		if err != nil {
			return nil, err
		}
		if _, drop := nv.(dropValue); drop || readOnly {
			continue
		}
		out = append(out, nv)
	}
	if readOnly {
		return v, nil
	}
	return out, nil
}

func setOrDelete(m map[string]any, key string, v any) {
	if _, drop := v.(dropValue); drop {
		delete(m, key)
		return
	}
	m[key] = v
}

func appendPath(at []string, seg string) []string {
	out := make([]string, len(at), len(at)+1)
	copy(out, at)
	return append(out, seg)
}

// Pointer renders a path as a JSON pointer ("/Steps/0/Actions/1/Environments/0").
func Pointer(at []string) string {
	if len(at) == 0 {
		return "/"
	}
	var b strings.Builder
	for _, s := range at {
		b.WriteByte('/')
		s = strings.ReplaceAll(s, "~", "~0")
		b.WriteString(strings.ReplaceAll(s, "/", "~1"))
	}
	return b.String()
}

// Strip removes the kind's volatile fields (and the global ones: Id, Links,
// SpaceId, LastModified*) from doc.
func (k *Kind) Strip(doc any) error {
	return eachItem(k, doc, func(item map[string]any, _ []string) error {
		for _, f := range GlobalVolatile {
			delete(item, f)
		}
		for _, p := range k.Volatile {
			deletePath(item, strings.Split(p, "/"))
		}
		return nil
	})
}

func deletePath(node any, segs []string) {
	if len(segs) == 0 {
		return
	}
	switch n := node.(type) {
	case map[string]any:
		if len(segs) == 1 {
			if segs[0] == "*" {
				for k := range n {
					delete(n, k)
				}
				return
			}
			delete(n, segs[0])
			return
		}
		if segs[0] == "*" {
			for _, v := range n {
				deletePath(v, segs[1:])
			}
			return
		}
		deletePath(n[segs[0]], segs[1:])
	case []any:
		if segs[0] != "*" {
			return
		}
		for _, el := range n {
			deletePath(el, segs[1:])
		}
	}
}

// SortSets sorts the kind's set-like arrays in place: strings in byte order,
// objects by their SetSpec.Key fields then by their JSON encoding.
func (k *Kind) SortSets(doc any) error {
	for _, s := range k.Sets {
		if s.Path == "" {
			if arr, ok := doc.([]any); ok {
				sortArray(arr, s.Key)
			}
			continue
		}
		err := eachItem(k, doc, func(item map[string]any, _ []string) error {
			forEachAt(item, strings.Split(s.Path, "/"), func(v any) {
				if arr, ok := v.([]any); ok {
					sortArray(arr, s.Key)
				}
			})
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// forEachAt calls fn with every value reached by segs.
func forEachAt(node any, segs []string, fn func(v any)) {
	if len(segs) == 0 {
		fn(node)
		return
	}
	switch n := node.(type) {
	case map[string]any:
		if segs[0] == "*" {
			for _, k := range slices.Sorted(maps.Keys(n)) {
				forEachAt(n[k], segs[1:], fn)
			}
			return
		}
		if v, ok := n[segs[0]]; ok && v != nil {
			forEachAt(v, segs[1:], fn)
		}
	case []any:
		if segs[0] == "*" {
			for _, el := range n {
				forEachAt(el, segs[1:], fn)
			}
		}
	}
}

func sortArray(arr []any, key []string) {
	if len(arr) < 2 {
		return
	}
	keys := make([][]string, len(arr))
	for i, el := range arr {
		if m, ok := el.(map[string]any); ok && len(key) > 0 {
			keys[i] = make([]string, 0, len(key))
			for _, f := range key {
				keys[i] = append(keys[i], sprint(m[f]))
			}
		}
	}
	// An element's encoding orders elements whose key fields tie: a
	// string as it is, anything else as json.Marshal writes it
	// (jsonv.AppendMarshal writes exactly those bytes, without
	// reflection), "" where that fails. Made only when a comparison
	// needs it.
	enc := make([]string, len(arr))
	encoded := make([]bool, len(arr))
	var buf []byte
	encoding := func(i int) string {
		if !encoded[i] {
			encoded[i] = true
			if s, ok := arr[i].(string); ok {
				enc[i] = s
			} else if b, err := jsonv.AppendMarshal(buf[:0], arr[i]); err == nil {
				buf, enc[i] = b, string(b)
			}
		}
		return enc[i]
	}
	idx := make([]int, len(arr))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ka, kb := keys[idx[a]], keys[idx[b]]
		for f := 0; f < len(ka) && f < len(kb); f++ {
			if ka[f] != kb[f] {
				return ka[f] < kb[f]
			}
		}
		return encoding(idx[a]) < encoding(idx[b])
	})
	sorted := make([]any, len(arr))
	for i, j := range idx {
		sorted[i] = arr[j]
	}
	copy(arr, sorted)
}

// sprint is fmt.Sprint(v), without fmt for a string.
func sprint(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// Scrub removes any secret from doc: a SensitiveValue object keeps HasValue
// and loses NewValue; a plain value at a secret position becomes null. It
// returns the JSON paths it changed, so callers can report what was removed
// (never the values). The API never returns secrets; Scrub makes sure that a
// server (or a bug) that does cannot leak one into a bundle.
func (k *Kind) Scrub(doc any) ([]string, error) {
	var changed []string
	err := eachItem(k, doc, func(item map[string]any, prefix []string) error {
		for _, s := range k.Sensitive {
			s := s
			err := walkLeaves(item, strings.Split(s.Path, "/"), prefix, nil, false, func(at []string, parent map[string]any, v any) (any, error) {
				if s.When != nil && !s.When.holds(parent) {
					return v, nil
				}
				switch t := v.(type) {
				case map[string]any:
					if nv, ok := t["NewValue"]; ok && nv != nil {
						t["NewValue"] = nil
						changed = append(changed, Pointer(at))
					}
					return t, nil
				case string:
					if s.Mixed {
						return v, nil
					}
					if s.When != nil { // a sensitive variable's value
						if t != "" {
							changed = append(changed, Pointer(at))
						}
						return nil, nil
					}
					if t == "" {
						return v, nil
					}
					changed = append(changed, Pointer(at))
					return map[string]any{"HasValue": true, "NewValue": nil}, nil
				}
				return v, nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return changed, err
}

// WithoutSecrets returns a copy of doc (an entity of kind k, in bundle or
// server form) without its write-only positions (k.Sensitive): the
// SensitiveValue objects of secret fields (an account's or a
// certificate's Password, a certificate's CertificateData; at Mixed
// positions only those objects, never plain values) and the values of
// sensitive variables. The server never returns a secret, so two
// instances cannot be compared there: a comparison that would otherwise
// report such a field differing forever compares these copies. doc is
// not modified.
func (k *Kind) WithoutSecrets(doc any) any {
	out := deepCopy(doc)
	if len(k.Sensitive) == 0 {
		return out
	}
	_ = eachItem(k, out, func(item map[string]any, prefix []string) error {
		for _, s := range k.Sensitive {
			s := s
			_ = walkLeaves(item, strings.Split(s.Path, "/"), prefix, nil, false, func(at []string, parent map[string]any, v any) (any, error) {
				if s.When != nil && !s.When.holds(parent) {
					return v, nil
				}
				if s.Mixed && !IsSensitiveValue(v) {
					return v, nil
				}
				return Drop, nil
			})
		}
		return nil
	})
	return out
}

// RefValue is the bundle form of a reference whose kind is told by its ID
// prefix (free-form step properties): {"$ref": KIND, "name": NAME}.
func RefValue(kind, name string) map[string]any {
	return map[string]any{"$ref": kind, "name": name}
}

// ParseRefValue reads a RefValue.
func ParseRefValue(v any) (kind, name string, ok bool) {
	m, isMap := v.(map[string]any)
	if !isMap || len(m) != 2 {
		return "", "", false
	}
	kind, ok1 := m["$ref"].(string)
	name, ok2 := m["name"].(string)
	return kind, name, ok1 && ok2 && Lookup(kind) != nil
}

// CheckIDFree reports the first reference position in doc (a bundle entity of
// kind k) that holds a server ID instead of a name, or a top-level Id.
func (k *Kind) CheckIDFree(doc any) error {
	var problems []string
	err := eachItem(k, doc, func(item map[string]any, prefix []string) error {
		if id, ok := item["Id"]; ok && id != nil {
			problems = append(problems, fmt.Sprintf("%s holds the server ID %v", Pointer(appendPath(prefix, "Id")), id))
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = k.rewrite(doc, func(ref Ref, at []string, v any) (any, error) {
		s, isString := v.(string)
		if !isString {
			if ref.To == AnyKind {
				if _, _, ok := ParseRefValue(v); ok {
					return v, nil
				}
				return v, nil // a sensitive property object, not a reference
			}
			problems = append(problems, fmt.Sprintf("%s: reference to %s is not a name (%T)", Pointer(at), ref.To, v))
			return v, nil
		}
		if looksLikeIDOf(ref.To, s) {
			problems = append(problems, fmt.Sprintf("%s: reference to %s holds the ID %q, not a name", Pointer(at), refTitle(ref.To), s))
		}
		return v, nil
	}, true)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

func refTitle(to string) string {
	if to == AnyKind {
		return "another entity"
	}
	return to
}

// looksLikeIDOf reports whether s has the shape of a server ID of kind to.
func looksLikeIDOf(to, s string) bool {
	switch to {
	case AnyKind:
		return KindForID(s) != nil
	case Action, ProjectTemplate, LibraryTemplate:
		return LooksLikeGUID(s)
	case ProcessOwner:
		return MustLookup(Project).LooksLikeID(s) || MustLookup(Runbook).LooksLikeID(s)
	}
	if k := Lookup(to); k != nil {
		return k.LooksLikeID(s)
	}
	return false
}

// LooksLikeIDOf reports whether s has the shape of a server ID of the
// reference target to (a kind name, Action, ProcessOwner, a template
// namespace or AnyKind).
func LooksLikeIDOf(to, s string) bool { return looksLikeIDOf(to, s) }

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, e := range t {
			a[i] = deepCopy(e)
		}
		return a
	case []map[string]any:
		a := make([]any, len(t))
		for i, e := range t {
			a[i] = deepCopy(e)
		}
		return a
	case []string:
		a := make([]any, len(t))
		for i, e := range t {
			a[i] = e
		}
		return a
	}
	return v
}

// DeepCopy returns a deep copy of a decoded JSON value. Slices built in Go
// ([]string, []map[string]any) come back as []any, the shape decoding
// gives and the walker expects.
func DeepCopy(v any) any { return deepCopy(v) }

// Provided is one scoped name an entity contributes (see Provide).
type Provided struct {
	Provide
	// ID is the server ID (or GUID) of the named thing.
	ID string
	// Name is its name, not yet qualified.
	Name string
}

// Provided lists the scoped names doc (an entity of kind k, as read from the
// server) contributes: action names of a process, template names …
func (k *Kind) Provided(doc map[string]any) []Provided {
	var out []Provided
	for _, p := range k.Provides {
		if p.Path == "" {
			id, _ := doc["Id"].(string)
			name, _ := doc[k.NameField].(string)
			out = append(out, Provided{Provide: p, ID: id, Name: name})
			continue
		}
		forEachAt(doc, strings.Split(p.Path, "/"), func(v any) {
			if s, ok := v.(string); ok && s != "" {
				// A name that is its own identity (a machine role).
				out = append(out, Provided{Provide: p, ID: s, Name: s})
				return
			}
			if m, ok := v.(map[string]any); ok {
				id, _ := m["Id"].(string)
				name, _ := m["Name"].(string)
				if name != "" {
					out = append(out, Provided{Provide: p, ID: id, Name: name})
				}
			}
		})
	}
	return out
}

// Visit calls fn with every reference value in doc — string values, the
// elements of joined lists one by one, and map keys — without changing doc.
func (k *Kind) Visit(doc any, fn func(ref Ref, at []string, v string)) error {
	return k.VisitValues(doc, func(ref Ref, at []string, v any) {
		if s, ok := v.(string); ok {
			fn(ref, at, s)
		}
	})
}

// VisitValues is Visit with every value as Rewrite would pass it (a string,
// or for AnyKind references possibly a {"$ref"} object).
func (k *Kind) VisitValues(doc any, fn func(ref Ref, at []string, v any)) error {
	return k.rewrite(doc, func(ref Ref, at []string, v any) (any, error) {
		fn(ref, at, v)
		return v, nil
	}, true)
}

// Stamp calls fn for every reference of k in doc that has a Stamp, with the
// object holding the reference, so the writer can fill the stamp field.
func (k *Kind) Stamp(doc any, fn func(ref Ref, holder map[string]any, v string)) error {
	return eachItem(k, doc, func(item map[string]any, prefix []string) error {
		for _, r := range k.Refs {
			if r.Stamp == nil {
				continue
			}
			r := r
			err := walkLeaves(item, strings.Split(r.Path, "/"), prefix, nil, true, func(_ []string, holder map[string]any, v any) (any, error) {
				if s, ok := v.(string); ok && s != "" && holder != nil {
					fn(r, holder, s)
				}
				return v, nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// VisitRefs is Visit for an explicit list of references (the union of
// several kinds' references, as a shared collection has).
func VisitRefs(refs []Ref, doc map[string]any, fn func(ref Ref, at []string, v string)) error {
	return (&Kind{Name: "references", Refs: refs}).Visit(doc, fn)
}

// IsSensitiveValue reports whether v is an Octopus SensitiveValue object: a
// map with HasValue or NewValue and no keys but HasValue, NewValue and Hint.
func IsSensitiveValue(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	_, hv := m["HasValue"]
	_, nv := m["NewValue"]
	if !hv && !nv {
		return false
	}
	for k := range m {
		switch k {
		case "HasValue", "NewValue", "Hint":
		default:
			return false
		}
	}
	return true
}

// sensitiveFields are the fields (ValueSpec.Sensitive) that mark a
// variable value object sensitive, across the registry.
var sensitiveFields = sync.OnceValue(func() []string {
	var out []string
	for _, k := range ordered {
		for _, v := range k.Values {
			if v.Sensitive != "" && !slices.Contains(out, v.Sensitive) {
				out = append(out, v.Sensitive)
			}
		}
	}
	return out
})

// SensitiveFlag reports whether m, a variable value object, is marked
// sensitive by the field a ValueSpec names (ValueSpec.Sensitive:
// "IsSensitive"), and whether m has such a field at all (a value of a
// variable set, not another object).
func SensitiveFlag(m map[string]any) (sensitive, marked bool) {
	for _, f := range sensitiveFields() {
		if v, ok := m[f]; ok {
			b, _ := v.(bool)
			return b, true
		}
	}
	return false, false
}
