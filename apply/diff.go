package apply

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/schema"
)

// canonical returns the canonical bundle encoding of v; values that cannot
// be encoded (never the case for decoded JSON) compare as their error text.
func canonical(v any) []byte {
	b, err := bundles.Canonical(v)
	if err != nil {
		return []byte("!" + err.Error())
	}
	return b
}

// equal reports whether two decoded JSON values have the same canonical
// bundle form: the exact no-op test.
func equal(a, b any) bool { return bytes.Equal(canonical(a), canonical(b)) }

// diff lists the fields where before (the destination's bundle form) and
// after (what the destination will hold) differ, as JSON pointers into
// after (into before for removed elements), each with its readable label
// (see labelPath). Objects are compared key by key; arrays of elements with
// an identity (see identify) element by element, matched by identity, so a
// new step is one added element and not a cascade of changed indices; other
// arrays are compared whole.
func diff(before, after any) []FieldDiff {
	var out []FieldDiff
	diffAt(nil, "", before, after, nil, &out)
	return out
}

// diffKind is diff for an entity of kind k: map keys that k's references
// say are names (a tenant's projects, environments and templates) are
// labelled as names, in brackets —
// `ProjectVariables["OctoFX"].Variables["Staging"]["Old.Template"]` — not as
// fields.
func diffKind(k *schema.Kind, before, after any) []FieldDiff {
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
	diffAt(nil, "", before, after, nameKey, &out)
	return out
}

// diffAt adds the differences below at to out; nameKey (nil: none) tells
// the map keys to label as names.
func diffAt(at []string, lbl string, before, after any, nameKey func(at []string) bool, out *[]FieldDiff) {
	if equal(before, after) {
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
			klbl := keyLabel(lbl, k)
			if nameKey != nil && nameKey(kat) {
				klbl = lbl + "[" + strconv.Quote(k) + "]"
			}
			switch {
			case !inB:
				add(kat, klbl, nil, av)
			case !inA:
				add(kat, klbl, bv, nil)
			default:
				diffAt(kat, klbl, bv, av, nameKey, out)
			}
		}
		return
	case []any:
		b, ok := before.([]any)
		if !ok || !named(a) || !named(b) {
			break
		}
		pairs, _ := matchElements(a, b)
		matchedB := map[int]bool{}
		for i, el := range a {
			iat, ilbl := append(at[:len(at):len(at)], strconv.Itoa(i)), lbl+elementLabel(el, strconv.Itoa(i))
			j, ok := pairs[i]
			if !ok {
				add(iat, ilbl, nil, el)
				continue
			}
			matchedB[j] = true
			diffAt(iat, ilbl, b[j], el, nameKey, out)
		}
		for j, el := range b {
			if !matchedB[j] {
				add(append(at[:len(at):len(at)], strconv.Itoa(j)), lbl+elementLabel(el, strconv.Itoa(j)), el, nil)
			}
		}
		return
	}
	add(at, lbl, before, after)
}

// named reports whether every element of arr is an object with a Name.
func named(arr []any) bool {
	for _, el := range arr {
		if _, ok := identity(el); !ok {
			return false
		}
	}
	return true
}

// elemID is an array element's identity: key matches it across the bundle
// and the destination (merge, diff, prune), label names it for people.
type elemID struct {
	key   string
	label string
}

// identify returns the identity an array element is matched by across the
// bundle and the destination: its Name, plus its Scope for variables (a
// variable is identified by name and scope, never by position); a team's
// scoped user role, which has no name, by its UserRoleId (in bundle form the
// user role's name). Scopes compare with their value lists sorted and empty
// lists ignored. Other elements have no identity.
//
// The label is what plans print inside brackets: `"OctoFX.Port"`,
// `"OctoFX.Port" Environment=Production`, `"Project deployer"`.
func identify(el any) (elemID, bool) {
	m, ok := el.(map[string]any)
	if !ok {
		return elemID{}, false
	}
	name, ok := m["Name"].(string)
	if !ok {
		if role, isRole := m["UserRoleId"].(string); isRole && role != "" {
			return elemID{key: "\x00role\x00" + role, label: strconv.Quote(role)}, true
		}
		return elemID{}, false
	}
	if sc, has := m["Scope"]; has {
		norm := normScope(sc)
		b, _ := json.Marshal(norm)
		lbl := strconv.Quote(name)
		for _, k := range slices.Sorted(maps.Keys(norm)) {
			vals := make([]string, len(norm[k]))
			for i, v := range norm[k] {
				vals[i] = labelValue(v)
			}
			lbl += " " + k + "=" + strings.Join(vals, ",")
		}
		return elemID{key: name + "\x00" + string(b), label: lbl}, true
	}
	return elemID{key: name, label: strconv.Quote(name)}, true
}

// identity is identify's matching key.
func identity(el any) (string, bool) {
	id, ok := identify(el)
	return id.key, ok
}

// labelValue quotes a scope value in a label when it is not a plain word.
func labelValue(s string) string {
	if s == "" || strings.ContainsAny(s, " \t,\"[]=") {
		return strconv.Quote(s)
	}
	return s
}

// normScope returns a variable scope with its value lists sorted and empty
// lists left out.
func normScope(sc any) map[string][]string {
	m, _ := sc.(map[string]any)
	norm := map[string][]string{}
	for k, v := range m {
		arr, _ := v.([]any)
		var vals []string
		for _, x := range arr {
			if s, ok := x.(string); ok {
				vals = append(vals, s)
			}
		}
		if len(vals) == 0 {
			continue
		}
		sort.Strings(vals)
		norm[k] = vals
	}
	return norm
}

// matchElements pairs elements of a with elements of b by identity (the
// n-th element with an identity pairs with the n-th element of b with the
// same identity). Objects without identity pair by position when both
// arrays hold no named objects at all. It returns a→b index pairs and
// whether any element had an identity.
func matchElements(a, b []any) (map[int]int, bool) {
	pairs := map[int]int{}
	byID := map[string][]int{}
	anyNamed := false
	for j, el := range b {
		if id, ok := identity(el); ok {
			byID[id] = append(byID[id], j)
			anyNamed = true
		}
	}
	for i, el := range a {
		id, ok := identity(el)
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

// hasSecret reports whether a SensitiveValue object says a value is set.
func hasSecret(v any) bool {
	m, ok := v.(map[string]any)
	if !ok || !schema.IsSensitiveValue(m) {
		return false
	}
	hv, _ := m["HasValue"].(bool)
	return hv
}

// labelPath renders the path at (map keys and array indices, as in a JSON
// pointer) into doc for people: array elements by their identity (see
// identify), map keys as .Key, or ["key"] when the key is not a plain word —
// `Steps["Deploy Web"].Actions["Deploy Web"].Properties["Octopus.Action.MaxParallelism"]`.
// Elements without an identity keep their index ([2]).
func labelPath(doc any, at []string) string {
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
		lbl = keyLabel(lbl, s)
	}
	return lbl
}

// elementLabel is an array element's part of a label: [identity], or
// [index] for an element without one.
func elementLabel(el any, index string) string {
	if id, ok := identify(el); ok {
		return "[" + id.label + "]"
	}
	return "[" + index + "]"
}

// keyLabel appends a map key to the label lbl: .Key, or ["key"] when the
// key is not a plain word.
func keyLabel(lbl, key string) string {
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
