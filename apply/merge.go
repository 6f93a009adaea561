package apply

import (
	"strconv"

	"github.com/octobundle/octobundle/apply/plans"
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

// mergeDoc returns what is written: bundle (the planned document, resolved
// to server form) laid over dest (the live document). dest nil means a new
// entity: a copy of bundle. k (nil: unknown) and renames say which planned
// elements take the place of a live element of another name (a step
// renamed at the source keeps the destination's ID).
func mergeDoc(k *schema.Kind, renames []plans.Renamed, bundle, dest any) any {
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
	if schema.IsSensitiveValue(d) && hasSecret(d) {
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
	pairs := renamedPairs(list, w.renames, b, d)
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
// the bundle, with a placeholder (see fillSecrets).
func keepsDestElement(b, d any) bool {
	bm, _ := b.(map[string]any)
	dm, _ := d.(map[string]any)
	if bm == nil || dm == nil {
		return false
	}
	ds, _ := schema.SensitiveFlag(dm)
	return ds
}

// sensitiveEither reports whether a variable is sensitive on either side:
// its value is never compared.
func sensitiveEither(b, d any) bool {
	return sens(b) || sens(d)
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
