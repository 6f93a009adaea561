package bundles

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/schema"
)

// FieldDiff is one changed field.
type FieldDiff struct {
	// Path is a JSON pointer into the entity's bundle document (into the
	// destination's, for a removed element), for machines.
	Path string `json:"path"`
	// Label is the same place for people: array elements by the identity
	// they are matched by (see Identify), map keys as .Key or ["key"] —
	// `Steps["Deploy Web"].Actions["Deploy Web"].Properties["Octopus.Action.MaxParallelism"]`,
	// `Variables["OctoFX.Port" Environment=Production].Value`. Empty for
	// the whole document.
	Label string `json:"label,omitempty"`
	// Before is the destination's value (absent when added).
	Before any `json:"before,omitempty"`
	// After is the value apply writes (absent when the field is removed).
	After any `json:"after,omitempty"`
}

// canonicalBytes returns the canonical bundle encoding of v; values that cannot
// be encoded (never the case for decoded JSON) compare as their error text.
func canonicalBytes(v any) []byte {
	b, err := compactJSON(v) // the canonical form without its whitespace
	if err != nil {
		return []byte("!" + err.Error())
	}
	return b
}

// Equal reports whether two decoded JSON values have the same canonical
// bundle form: the exact no-op test. Values that are the same in place
// (sameValue) are equal without encoding either; the others are compared
// by their canonical bytes, which also settles the cases where different
// Go values have one form (json.Number("1") and 1.0, a nil map and nil).
func Equal(a, b any) bool {
	if sameValue(a, b, 0) {
		return true
	}
	ba, bb := jsonv.Buffer(), jsonv.Buffer()
	defer jsonv.PutBuffer(ba)
	defer jsonv.PutBuffer(bb)
	return bytes.Equal(canonicalBytesTo(ba, a), canonicalBytesTo(bb, b))
}

// canonicalBytesTo is canonicalBytes encoding into buf.
func canonicalBytesTo(buf *bytes.Buffer, v any) []byte {
	b, err := compactJSONTo(buf, v)
	if err != nil {
		return []byte("!" + err.Error())
	}
	return b
}

// sameValue reports whether a and b are the same decoded JSON value: the
// same Go types throughout, objects with the same keys, arrays of the same
// length, equal strings, number literals and bools, floats with the same
// bits. Same values have the same canonical bytes (encoding is
// deterministic), so true needs no encoding; false says nothing (other
// types, mixed number types and depths past maxDepth all answer false) and
// Equal then compares the canonical bytes.
func sameValue(a, b any, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case json.Number:
		y, ok := b.(json.Number)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) || (x == nil) != (y == nil) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !sameValue(xv, yv, depth+1) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) || (x == nil) != (y == nil) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i], depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// Diff lists the fields where before (the destination's bundle form) and
// after (what the destination will hold) differ, as JSON pointers into
// after (into before for removed elements), each with its readable label
// (see LabelPath). Objects are compared key by key; arrays of elements with
// an identity (see Identify) element by element, matched by identity, so a
// new step is one added element and not a cascade of changed indices; other
// arrays are compared whole.
func Diff(before, after any) []FieldDiff {
	var out []FieldDiff
	diffAt(nil, "", before, after, nil, nil, &out)
	return out
}

// DiffKind is Diff for an entity of kind k: map keys that k's references
// say are names (a tenant's projects, environments and templates) are
// labelled as names, in brackets —
// `ProjectVariables["OctoFX"].Variables["Staging"]["Old.Template"]` — not as
// fields.
func DiffKind(k *schema.Kind, before, after any) []FieldDiff {
	var keyPaths [][]string
	for _, r := range k.Refs {
		if segs := strings.Split(r.Path, "/"); segs[len(segs)-1] == "~" {
			keyPaths = append(keyPaths, segs)
		}
	}
	nameKey := func(at []string) bool {
		for _, segs := range keyPaths {
			if len(segs) != len(at) {
				continue
			}
			match := true
			for i, s := range segs[:len(segs)-1] {
				if s != "*" && s != at[i] {
					match = false
					break
				}
			}
			if match {
				return true
			}
		}
		return false
	}
	var out []FieldDiff
	diffAt(nil, "", before, after, nameKey, k, &out)
	return out
}

// diffAt adds the differences below at to out; nameKey (nil: none) tells
// the map keys to label as names.
//
// kind, when known, says how each array's elements are identified (its
// schema.List, as the merge aligns them); without it, elements are
// identified by the registry's key shapes (Identify).
func diffAt(at []string, lbl string, before, after any, nameKey func(at []string) bool, kind *schema.Kind, out *[]FieldDiff) {
	if Equal(before, after) {
		return
	}
	add := func(at []string, lbl string, b, a any) {
		*out = append(*out, FieldDiff{Path: schema.Pointer(at), Label: lbl, Before: b, After: a})
	}
	switch a := after.(type) {
	case map[string]any:
		b, ok := before.(map[string]any)
		if !ok || schema.IsSensitiveValue(a) || schema.IsSensitiveValue(b) {
			break
		}
		keys := map[string]bool{}
		for k := range a {
			keys[k] = true
		}
		for k := range b {
			keys[k] = true
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			bv, inB := b[k]
			av, inA := a[k]
			kat := append(at[:len(at):len(at)], k)
			klbl := KeyLabel(lbl, k)
			if nameKey != nil && nameKey(kat) {
				klbl = lbl + "[" + strconv.Quote(k) + "]"
			}
			switch {
			case !inB:
				add(kat, klbl, nil, av)
			case !inA:
				add(kat, klbl, bv, nil)
			default:
				diffAt(kat, klbl, bv, av, nameKey, kind, out)
			}
		}
		return
	case []any:
		b, ok := before.([]any)
		if !ok {
			break
		}
		var l *schema.List
		if kind != nil {
			l = kind.ListAt(at)
		}
		var pairs map[int]int
		switch {
		case l != nil && l.Strategy == schema.StrategyMerge && listed(l, a) && listed(l, b):
			pairs = pairByKey(l, a, b)
		case l == nil && Identified(a) && Identified(b):
			pairs, _ = MatchElements(a, b)
		default:
			add(at, lbl, before, after) // one value (schema.StrategyReplace)
			return
		}
		elLabel := func(el any, index string) string {
			if l != nil {
				if id, ok := l.Identify(el); ok {
					return "[" + id.Label + "]"
				}
			}
			return elementLabel(el, index)
		}
		matchedB := map[int]bool{}
		for i, el := range a {
			iat, ilbl := append(at[:len(at):len(at)], strconv.Itoa(i)), lbl+elLabel(el, strconv.Itoa(i))
			j, ok := pairs[i]
			if !ok {
				add(iat, ilbl, nil, el)
				continue
			}
			matchedB[j] = true
			diffAt(iat, ilbl, b[j], el, nameKey, kind, out)
		}
		for j, el := range b {
			if !matchedB[j] {
				add(append(at[:len(at):len(at)], strconv.Itoa(j)), lbl+elLabel(el, strconv.Itoa(j)), el, nil)
			}
		}
		return
	}
	add(at, lbl, before, after)
}

// listed reports whether every element of arr has a key in list l.
func listed(l *schema.List, arr []any) bool {
	for _, el := range arr {
		if _, ok := l.Identify(el); !ok {
			return false
		}
	}
	return true
}

// pairByKey pairs the elements of a with those of b by their key in list
// l: the n-th of a key with the n-th of that key.
func pairByKey(l *schema.List, a, b []any) map[int]int {
	byKey := map[string][]int{}
	for j, el := range b {
		id, _ := l.Identify(el)
		byKey[id.Key] = append(byKey[id.Key], j)
	}
	pairs := map[int]int{}
	for i, el := range a {
		id, _ := l.Identify(el)
		if js := byKey[id.Key]; len(js) > 0 {
			pairs[i] = js[0]
			byKey[id.Key] = js[1:]
		}
	}
	return pairs
}

// Identified reports whether every element of arr has an identity
// (Identity): a Name, or a key such as TemplateId or UserRoleId.
func Identified(arr []any) bool {
	for _, el := range arr {
		if _, ok := Identity(el); !ok {
			return false
		}
	}
	return true
}

// ElementID is an array element's identity: key matches it across the bundle
// and the destination (merge, diff, prune), label names it for people.
type ElementID struct {
	// Key matches the element across two documents.
	Key string
	// Label names it for people, inside brackets.
	Label string
}

// Identify returns the identity an array element is matched by across the
// bundle and the destination where its kind and place are not known: the
// first key shape the registry declares (schema.List) whose fields it has,
// longest first — name and scope for variables, owner, template and scope
// for tenant values, name for steps, user role for a team's roles (see
// schema.KindlessIdentify). Scopes compare with their value lists sorted
// and empty lists ignored. Other elements have no identity.
//
// The label is what plans print inside brackets: `"OctoFX.Port"`,
// `"OctoFX.Port" Environment=Production`, `"Project deployer"`.
func Identify(el any) (ElementID, bool) {
	id, ok := schema.KindlessIdentify(el)
	return ElementID{Key: id.Key, Label: id.Label}, ok
}

// Identity is Identify's matching key. Names compare as the registry's
// List.Fold says: a step renamed "Deploy Rate Service" → "Deploy rate
// service" is the same step (the server refuses names differing only in
// case); variables CaseVar and casevar are two (the server keeps them
// apart).
func Identity(el any) (string, bool) {
	id, ok := Identify(el)
	return id.Key, ok
}

// MatchElements pairs elements of a with elements of b by identity (the
// n-th element with an identity pairs with the n-th element of b with the
// same identity). Objects without identity pair by position when both
// arrays hold no named objects at all. It returns a→b index pairs and
// whether any element had an identity.
func MatchElements(a, b []any) (map[int]int, bool) {
	pairs := map[int]int{}
	byID := map[string][]int{}
	anyNamed := false
	for j, el := range b {
		if id, ok := Identity(el); ok {
			byID[id] = append(byID[id], j)
			anyNamed = true
		}
	}
	for i, el := range a {
		id, ok := Identity(el)
		if !ok {
			continue
		}
		anyNamed = true
		if js := byID[id]; len(js) > 0 {
			pairs[i] = js[0]
			byID[id] = js[1:]
		}
	}
	if !anyNamed {
		for i := range a {
			if i >= len(b) {
				break
			}
			_, aObj := a[i].(map[string]any)
			_, bObj := b[i].(map[string]any)
			if aObj && bObj {
				pairs[i] = i
			}
		}
	}
	return pairs, anyNamed
}

// LabelPath renders the path at (map keys and array indices, as in a JSON
// pointer) into doc for people: array elements by their identity (see
// Identify), map keys as .Key, or ["key"] when the key is not a plain word —
// `Steps["Deploy Web"].Actions["Deploy Web"].Properties["Octopus.Action.MaxParallelism"]`.
// Elements without an identity keep their index ([2]).
func LabelPath(doc any, at []string) string {
	lbl := ""
	cur := doc
	for _, s := range at {
		if arr, ok := cur.([]any); ok {
			cur = nil
			if i, err := strconv.Atoi(s); err == nil && i >= 0 && i < len(arr) {
				cur = arr[i]
			}
			lbl += elementLabel(cur, s)
			continue
		}
		m, _ := cur.(map[string]any)
		cur = m[s]
		lbl = KeyLabel(lbl, s)
	}
	return lbl
}

// elementLabel is an array element's part of a label: [identity], or
// [index] for an element without one.
func elementLabel(el any, index string) string {
	if id, ok := Identify(el); ok {
		return "[" + id.Label + "]"
	}
	return "[" + index + "]"
}

// KeyLabel appends a map key to the label lbl: .Key, or ["key"] when the
// key is not a plain word.
func KeyLabel(lbl, key string) string {
	if !plainWord(key) {
		return lbl + "[" + strconv.Quote(key) + "]"
	}
	if lbl == "" {
		return key
	}
	return lbl + "." + key
}

// plainWord reports whether s is a letter or underscore followed by
// letters, digits and underscores.
func plainWord(s string) bool {
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && r >= '0' && r <= '9':
		default:
			return false
		}
	}
	return s != ""
}

// EntryDiff is how one entity file differs between two bundles.
type EntryDiff struct {
	// Op is '+' (only in the second bundle), '-' (only in the first) or
	// '~' (in both, with different content).
	Op byte
	// Path is the entity's bundle path.
	Path string
	// Fields are the field-level differences of a changed entity (Op '~'),
	// labelled as in DiffKind.
	Fields []FieldDiff
}

// Compare lists the entities that differ between bundles a and b, sorted by
// path: the structural diff of two bundles. Manifests and checksums are not
// compared (they record the server, the time and the digest).
//
// The packed documents are compared first, and only those that differ are
// decoded (one pair at a time).
func Compare(a, b *Bundle) []EntryDiff {
	a.mu.RLock()
	af := maps.Clone(a.files)
	a.mu.RUnlock()
	b.mu.RLock()
	bf := maps.Clone(b.files)
	b.mu.RUnlock()
	var out []EntryDiff
	for p, fa := range af {
		fb, ok := bf[p]
		switch {
		case !ok:
			out = append(out, EntryDiff{Op: '-', Path: p})
		case fa.kind.Shape == schema.ShapeBinary || fb.kind.Shape == schema.ShapeBinary:
			if !bytes.Equal(fa.bin, fb.bin) {
				out = append(out, EntryDiff{Op: '~', Path: p, Fields: DiffKind(fa.kind, fa.value(), fb.value())})
			}
		case !fa.doc.Equal(fb.doc):
			if da, db := fa.value(), fb.value(); !Equal(da, db) {
				out = append(out, EntryDiff{Op: '~', Path: p, Fields: DiffKind(fa.kind, da, db)})
			}
		}
	}
	for p := range bf {
		if _, ok := af[p]; !ok {
			out = append(out, EntryDiff{Op: '+', Path: p})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
