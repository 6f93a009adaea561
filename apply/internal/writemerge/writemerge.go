// Package writemerge lays the document a plan decided over the
// destination's live document when it is written (keeping the
// destination's IDs, versions and secrets), and pairs list elements by
// identity and rename for it: the executor writes with it, the planner
// pairs with it.
package writemerge

import (
	"strconv"
	"strings"

	"github.com/octobundle/octobundle/apply/internal/secrets"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/schema"
)

// The write merge: how the document the plan decided (Change.Desired, see
// merge3.go for how it is decided) is laid over the destination's live
// document when it is written, in server form (IDs):
//
//   - Objects: the planned value wins key by key; keys it does not have
//     keep the live value (server bookkeeping: IDs, versions, links, and
//     fields a newer server has), except the keys the plan removes
//     (Change.RemoveKeys, deleted separately).
//   - Arrays of identified objects (steps, actions, variables, templates,
//     tags, parameters) are matched element by element by identity (name,
//     plus scope for variables), in the planned order; matched elements
//     merge recursively, so the destination's nested IDs (action GUIDs,
//     variable IDs, template IDs) are kept. The planned list is the result:
//     it already holds the destination-only elements the merge keeps.
//   - Other arrays (scope lists, tag lists, environment lists) are the
//     planned ones.
//   - Secrets are never overwritten or wiped: an existing SensitiveValue on
//     the destination is kept as it is, and so is a variable sensitive on
//     the destination.

// Doc returns what is written: bundle (the planned document, resolved
// to server form) laid over dest (the live document). dest nil means a new
// entity: a copy of bundle. k (nil: unknown) and renames say which planned
// elements take the place of a live element of another name (a step
// renamed at the source keeps the destination's ID).
func Doc(k *schema.Kind, renames []plans.Renamed, bundle, dest any) any {
	if dest == nil {
		return schema.DeepCopy(bundle)
	}
	w := writeMerge{k: k, renames: renames}
	return w.value(nil, bundle, dest)
}

// writeMerge is one write merge: the kind and the change's renames.
type writeMerge struct {
	k       *schema.Kind
	renames []plans.Renamed
}

func (w writeMerge) value(at []string, b, d any) any {
	if schema.IsSensitiveValue(d) && secrets.HasSecret(d) {
		return schema.DeepCopy(d) // an existing secret is never touched
	}
	switch bt := b.(type) {
	case map[string]any:
		dm, ok := d.(map[string]any)
		if !ok || schema.IsSensitiveValue(bt) {
			return schema.DeepCopy(b)
		}
		out := make(map[string]any, len(bt)+len(dm))
		for k, v := range dm {
			if _, inB := bt[k]; !inB {
				out[k] = schema.DeepCopy(v)
			}
		}
		for k, v := range bt {
			if dv, ok := dm[k]; ok {
				out[k] = w.value(append(at[:len(at):len(at)], k), v, dv)
			} else {
				out[k] = schema.DeepCopy(v)
			}
		}
		return out
	case []any:
		da, ok := d.([]any)
		if !ok {
			return schema.DeepCopy(b)
		}
		return w.array(at, bt, da)
	}
	return b
}

// array merges arrays as described above: the result has b's elements, in
// b's order (Change.RemoveKeys paths index it).
func (w writeMerge) array(at []string, b, d []any) []any {
	var list *schema.List
	if w.k != nil {
		list = w.k.ListAt(at)
	}
	pairs := Pairs(list, w.renames, b, d)
	out := make([]any, len(b))
	for i, el := range b {
		j, ok := pairs[i]
		switch {
		case !ok:
			out[i] = schema.DeepCopy(el)
		case keepsDestElement(el, d[j]):
			out[i] = schema.DeepCopy(d[j])
		default:
			out[i] = w.value(append(at[:len(at):len(at)], strconv.Itoa(i)), el, d[j])
		}
	}
	return out
}

// keepsDestElement reports whether a matched destination element is kept
// as it is when writing: a variable sensitive on the destination (its
// secret must survive). One made sensitive at the source is written from
// the bundle, with a placeholder (see secrets.Fill).
func keepsDestElement(b, d any) bool {
	bm, _ := b.(map[string]any)
	dm, _ := d.(map[string]any)
	if bm == nil || dm == nil {
		return false
	}
	ds, _ := schema.SensitiveFlag(dm)
	return ds
}

// Pairs pairs the elements of b (the planned list) and d (the live
// list) by identity, then the still unpaired ones a rename names (the
// planned element's new name, the live element's old one); list is the
// registry list at the arrays' place (nil: identity only).
func Pairs(list *schema.List, renames []plans.Renamed, b, d []any) map[int]int {
	var pairs map[int]int
	if list != nil && list.Strategy == schema.StrategyMerge {
		pairs = KeyPairs(list, b, d)
	} else {
		pairs, _ = bundles.MatchElements(b, d)
	}
	if list == nil || len(renames) == 0 {
		return pairs
	}
	taken := map[int]bool{}
	for _, j := range pairs {
		taken[j] = true
	}
	for i, el := range b {
		if _, ok := pairs[i]; ok {
			continue
		}
		n := NameOf(el)
		for _, r := range renames {
			if r.List != list.Path || !strings.EqualFold(r.To, n) {
				continue
			}
			for j, del := range d {
				if !taken[j] && strings.EqualFold(NameOf(del), r.From) {
					pairs[i] = j
					taken[j] = true
					break
				}
			}
		}
	}
	return pairs
}

// KeyPairs pairs the elements of b and d by their key in list l, as the
// plan's merge aligned them: the n-th element of a key in b with the n-th
// of that key in d.
func KeyPairs(l *schema.List, b, d []any) map[int]int {
	byKey := map[string][]int{}
	for j, el := range d {
		if id, ok := l.Identify(el); ok {
			byKey[id.Key] = append(byKey[id.Key], j)
		}
	}
	pairs := map[int]int{}
	for i, el := range b {
		id, ok := l.Identify(el)
		if !ok {
			continue
		}
		if js := byKey[id.Key]; len(js) > 0 {
			pairs[i] = js[0]
			byKey[id.Key] = js[1:]
		}
	}
	return pairs
}

// NameOf is an element's Name.
func NameOf(el any) string {
	m, _ := el.(map[string]any)
	s, _ := m["Name"].(string)
	return s
}

// DeleteKeys deletes the keys at the given paths (see removedKeys) from
// doc, a server-form document whose arrays are in the order of the
// desired document the paths were computed on.
func DeleteKeys(doc any, paths []string) {
	for _, p := range paths {
		at := ParsePointer(p)
		if len(at) == 0 {
			continue
		}
		if m, ok := schema.At(doc, at[:len(at)-1]).(map[string]any); ok {
			delete(m, at[len(at)-1])
		}
	}
}

// ParsePointer splits a JSON pointer written by schema.Pointer.
func ParsePointer(p string) []string {
	if p == "" || p == "/" {
		return nil
	}
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, s := range segs {
		segs[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return segs
}
