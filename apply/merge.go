package apply

import (
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/schema"
)

// How an entity that exists on both sides is brought in line with the
// bundle. Both the plan (in bundle form, names) and the execution (in server
// form, IDs) merge the same way, which is what makes a replay a no-op:
//
//   - Objects: the bundle's value wins key by key; keys the bundle does not
//     have keep the destination's value (the Octopus API treats an absent
//     property as unchanged, and a newer destination server's fields
//     survive an older source's bundle).
//   - Arrays of named objects (steps, actions, variables, templates, tags,
//     parameters) are matched element by element by identity (name, plus
//     scope for variables). Matched elements merge recursively, so the
//     destination's nested IDs (action GUIDs, variable IDs, template IDs)
//     are kept. For synced kinds, destination-only elements are kept: a
//     destination-only step stays where it was (after the step it followed),
//     a destination-only variable stays — unless a bundle element supersedes
//     it (a tenant variable value the bundle scopes to an environment the
//     destination's value covers: the server keeps one value per template
//     and environment). For exact-match kinds the bundle's list is the
//     result.
//   - Other arrays (scope lists, tag lists, environment lists) are the
//     bundle's.
//   - Secrets are never overwritten or wiped: an existing SensitiveValue on
//     the destination is kept as it is, and a variable that is sensitive on
//     either side and already exists on the destination is kept exactly as
//     the destination has it.

// mergePolicy selects the array rule.
type mergePolicy struct {
	// keepDestOnly keeps destination-only named elements (synced kinds).
	keepDestOnly bool
}

// mergeDoc returns what the destination will hold: bundle merged onto dest
// (both in bundle form, or both in server form). dest nil means a new entity:
// a copy of bundle.
func mergeDoc(bundle, dest any, p mergePolicy) any {
	if dest == nil {
		return schema.DeepCopy(bundle)
	}
	return mergeValue(bundle, dest, p)
}

func mergeValue(b, d any, p mergePolicy) any {
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
				out[k] = mergeValue(v, dv, p)
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
		return mergeArray(bt, da, p)
	}
	return b
}

// mergeArray merges arrays as described above.
func mergeArray(b, d []any, p mergePolicy) []any {
	pairs, anyNamed := bundles.MatchElements(b, d)
	out := make([]any, 0, len(b))
	merged := make([]any, len(b))
	for i, el := range b {
		j, ok := pairs[i]
		switch {
		case !ok:
			merged[i] = schema.DeepCopy(el)
		case keepsDestElement(el, d[j]):
			merged[i] = schema.DeepCopy(d[j])
		default:
			merged[i] = mergeValue(el, d[j], p)
		}
	}
	if !anyNamed || !p.keepDestOnly {
		return append(out, merged...)
	}
	// Destination-only named elements stay, each after the element it
	// followed on the destination (at the front if none).
	matchedD := map[int]int{} // d index → b index
	for i, j := range pairs {
		matchedD[j] = i
	}
	after := map[int][]any{} // b index (-1 = front) → destination-only elements
	anchor := -1
	for j, el := range d {
		if i, ok := matchedD[j]; ok {
			anchor = i
			continue
		}
		if _, named := bundles.Identity(el); !named {
			continue // unnamed elements of a named list are not kept
		}
		if supersededBy(el, b) {
			continue // the bundle's value replaces it (a re-scoped tenant value)
		}
		after[anchor] = append(after[anchor], schema.DeepCopy(el))
	}
	out = append(out, after[-1]...)
	for i, el := range merged {
		out = append(out, el)
		out = append(out, after[i]...)
	}
	return out
}

// supersededBy reports whether a destination-only element is replaced by
// one of the bundle's elements (see bundles.Supersedes).
func supersededBy(d any, b []any) bool {
	for _, el := range b {
		if bundles.Supersedes(el, d) {
			return true
		}
	}
	return false
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
	ds, _ := dm["IsSensitive"].(bool)
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
