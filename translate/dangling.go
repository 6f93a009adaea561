package translate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/octobundle/octobundle/schema"
)

// Dangling references: an ID that does not exist in the snapshot read. A
// real Octopus server holds them (a step deleted while variables are still
// scoped to it, an apply that failed half-way), so reading one is never an
// error; each is a warning naming the entity and the field, and the bundle
// form holds:
//
//   - for an entry of a list (an array element, an element of a joined
//     list, a map key): nothing, the entry is dropped. A scope entry that
//     names nothing never matched anything, so the rest of the list means
//     what it meant;
//   - for the last entries of a restriction (schema.Ref.Restricts: a
//     variable's scope, a step's environments), when dropping them would
//     leave the list empty: an empty restriction means "everywhere", which
//     would widen the holder, so the holder (the variable, the step action,
//     the tenant's project link; schema.Ref.Holder) is left out instead — as
//     read it applies nowhere. A restriction of the entity itself (Holder
//     empty) keeps one marker entry, MissingName, which resolves to nothing:
//     a bundle holding it fails the reference check, and apply refuses the
//     entity, rather than widen it. Restrictions of one Group are one scope
//     dimension: the holder goes only when the whole group is left empty;
//   - for a single-valued reference whose holder goes with it
//     (schema.OnDropHolder: a tenant value of a deleted template): the
//     holder is left out;
//   - for any other single-valued reference: the field is left out.

// missingPrefix starts every marker MissingName returns.
const missingPrefix = "(missing "

// MissingName is the marker a restriction list of an entity itself holds
// in the bundle form when each of its entries referred to an ID that does
// not exist (see the package's dangling-reference rules): never a valid
// name, never the shape of an ID.
func MissingName(kind, id string) string {
	return missingPrefix + kind + " " + id + ")"
}

// emptied marks, during a rewrite, an entry of a restriction list all of
// whose entries dangle; fixDangling finds the marks and removes their
// holders. It holds a NUL, so it is never a name read from a server.
const emptied = "\x00octobundle:dangling\x00"

// danglingFix is one reference of a rewrite whose target does not exist.
type danglingFix struct {
	ref    schema.Ref
	at     []string // the path as read
	target string
	id     string
	list   bool // an entry of a list (dropped), not a single value
	// emptied is set when the reference leaves a mark: its restriction
	// list dangles entirely, or it takes its holder with it.
	emptied bool
}

// isListEntry reports whether at (as a RefFunc receives it) is an entry of
// a list rather than the value of a single field: an element of an array,
// a joined list (Split) or a key of a map ("~"). k is the kind rewritten.
func isListEntry(k *schema.Kind, ref schema.Ref, at []string) bool {
	if ref.Split != "" || strings.HasSuffix(ref.Path, "~") {
		return true
	}
	depth := strings.Count(ref.Path, "/") + 1
	if k.Shape == schema.ShapeItems {
		depth++
	}
	return len(at) > depth
}

// danglingValue is what the rewrite puts in place of a dangling reference
// at at in doc (being rewritten) of kind k: schema.Drop, or emptied when
// every entry of a restriction list dangles or the reference takes its
// holder with it. alive reports whether a list entry resolves.
func danglingValue(k *schema.Kind, doc any, d danglingFix, alive func(id string) bool) any {
	if !d.list {
		if d.ref.OnDrop == schema.OnDropHolder && d.ref.Holder != "" {
			return emptied
		}
		return schema.Drop
	}
	if !d.ref.Restricts {
		return schema.Drop
	}
	var entries []string
	switch {
	case strings.HasSuffix(d.ref.Path, "~"):
		return schema.Drop // map keys restrict nothing
	case d.ref.Split != "":
		s, _ := schema.At(doc, d.at).(string)
		for _, el := range strings.Split(s, d.ref.Split) {
			if el = strings.TrimSpace(el); el != "" {
				entries = append(entries, el)
			}
		}
	default:
		arr, _ := schema.At(doc, d.at[:len(d.at)-1]).([]any)
		for _, el := range arr {
			if s, ok := el.(string); ok && s != "" {
				entries = append(entries, s)
			}
		}
	}
	for _, id := range entries {
		if alive(id) {
			return schema.Drop
		}
	}
	return emptied
}

// fixDangling removes, from doc (the rewritten document of kind k), the
// holders that marked entries (emptied) stand for, and returns a warning
// for each dangling reference of fixes. label names the entity.
func fixDangling(k *schema.Kind, doc any, fixes []danglingFix, label string) []string {
	var warnings []string
	for _, d := range fixes {
		what := fmt.Sprintf("%s: %s refers to %s %s, which does not exist", label, schema.Pointer(d.at), d.target, d.id)
		switch {
		case d.emptied && d.list:
			warnings = append(warnings, what+"; it is the last entry of a restriction")
		case d.emptied:
			warnings = append(warnings, what+"; what holds it goes with it")
		case d.list:
			warnings = append(warnings, what+"; the entry is dropped")
		default:
			warnings = append(warnings, what+"; the field is left out")
		}
	}
	// Find the marks, with the paths of the rewritten document (map keys
	// may have been rewritten from IDs to names meanwhile).
	type mark struct {
		ref schema.Ref
		at  []string
	}
	var marks []mark
	_ = k.Rewrite(doc, func(ref schema.Ref, at []string, v any) (any, error) {
		if s, ok := v.(string); ok && strings.Contains(s, emptied) {
			marks = append(marks, mark{ref, at})
		}
		return v, nil
	})
	var holders [][]string
	seen := map[string]bool{}         // lists handled
	goingHolders := map[string]bool{} // holders left out
	for _, m := range marks {
		depth := 0
		if m.ref.Holder != "" {
			depth = strings.Count(m.ref.Holder, "/") + 1
		}
		if k.Shape == schema.ShapeItems {
			depth++
		}
		holderAt := m.at[:min(depth, len(m.at))]
		hkey := strings.Join(holderAt, "\x00")
		key := strings.Join(listPath(m.ref, m.at), "\x00")
		if seen[key] || goingHolders[hkey] {
			continue
		}
		seen[key] = true
		if groupStillRestricts(k, doc, m.ref, holderAt) {
			clearMarks(doc, m.ref, m.at)
			warnings = append(warnings, fmt.Sprintf("%s: %s lost every entry, but other lists of its scope still restrict %s", label, schema.Pointer(listPath(m.ref, m.at)), holderLabel(doc, holderAt)))
			continue
		}
		if len(holderAt) == 0 || (k.Shape == schema.ShapeItems && len(holderAt) == 1 && m.ref.Holder == "") {
			setMarker(doc, m.ref, m.at)
			warnings = append(warnings, fmt.Sprintf("%s: every entry of %s refers to something that does not exist; it keeps one entry %q that names nothing rather than become empty (which would mean everywhere): fix it on the server", label, schema.Pointer(listPath(m.ref, m.at)), markerIn(doc, m.ref, m.at)))
			continue
		}
		what := "every entry of " + schema.Pointer(listPath(m.ref, m.at)) + " refers to something that does not exist"
		if !m.ref.Restricts {
			what = schema.Pointer(m.at) + " refers to something that does not exist"
		} else {
			what += " (an empty restriction would mean everywhere; as read it applies nowhere)"
		}
		warnings = append(warnings, fmt.Sprintf("%s: %s; %s is left out", label, what, holderLabel(doc, holderAt)))
		holders = append(holders, holderAt)
		goingHolders[hkey] = true
	}
	removeHolders(k, doc, holders)
	// No mark survives: one left in a holder that stays (never expected)
	// becomes the MissingName it carries.
	_ = k.Rewrite(doc, func(_ schema.Ref, _ []string, v any) (any, error) {
		if s, ok := v.(string); ok && strings.Contains(s, emptied) {
			return strings.ReplaceAll(s, emptied, ""), nil
		}
		return v, nil
	})
	return warnings
}

// listPath is the path of the list holding the entry at at.
func listPath(ref schema.Ref, at []string) []string {
	if ref.Split != "" {
		return at
	}
	return at[:len(at)-1]
}

// groupStillRestricts reports whether another list of ref's Group, in the
// same holder, still holds an entry that is not a mark.
func groupStillRestricts(k *schema.Kind, doc any, ref schema.Ref, holderAt []string) bool {
	if ref.Group == "" {
		return false
	}
	for _, o := range k.Refs {
		if o.Group != ref.Group || o.Holder != ref.Holder || o.Path == ref.Path {
			continue
		}
		rel := o.Path
		if o.Holder != "" {
			rel = strings.TrimPrefix(o.Path, o.Holder+"/")
		}
		if strings.Contains(rel, "*") {
			continue
		}
		at := append(slices.Clone(holderAt), strings.Split(rel, "/")...)
		switch v := schema.At(doc, at).(type) {
		case []any:
			for _, el := range v {
				if s, ok := el.(string); ok && s != "" && !strings.Contains(s, emptied) {
					return true
				}
			}
		case string:
			if v != "" && !strings.Contains(v, emptied) {
				return true
			}
		}
	}
	return false
}

// clearMarks removes the marks from the list at at (a mark's path).
func clearMarks(doc any, ref schema.Ref, at []string) {
	lp := listPath(ref, at)
	parent, _ := schema.At(doc, lp[:len(lp)-1]).(map[string]any)
	if parent == nil {
		return
	}
	field := lp[len(lp)-1]
	switch v := parent[field].(type) {
	case []any:
		out := make([]any, 0, len(v))
		for _, el := range v {
			if s, ok := el.(string); !ok || !strings.Contains(s, emptied) {
				out = append(out, el)
			}
		}
		parent[field] = out
	case string:
		var keep []string
		for _, el := range strings.Split(v, ref.Split) {
			if !strings.Contains(el, emptied) {
				keep = append(keep, el)
			}
		}
		parent[field] = strings.Join(keep, ref.Split)
	}
}

// setMarker replaces the marks of the list at at by one MissingName entry.
func setMarker(doc any, ref schema.Ref, at []string) {
	lp := listPath(ref, at)
	parent, _ := schema.At(doc, lp[:len(lp)-1]).(map[string]any)
	if parent == nil {
		return
	}
	field := lp[len(lp)-1]
	switch v := parent[field].(type) {
	case []any:
		for _, el := range v {
			if s, ok := el.(string); ok && strings.Contains(s, emptied) {
				parent[field] = []any{strings.ReplaceAll(s, emptied, "")}
				return
			}
		}
	case string:
		for _, el := range strings.Split(v, ref.Split) {
			if strings.Contains(el, emptied) {
				parent[field] = strings.ReplaceAll(el, emptied, "")
				return
			}
		}
	}
}

// markerIn returns the MissingName marker the list at at holds.
func markerIn(doc any, ref schema.Ref, at []string) string {
	switch v := schema.At(doc, listPath(ref, at)).(type) {
	case []any:
		if len(v) > 0 {
			s, _ := v[0].(string)
			return s
		}
	case string:
		return v
	}
	return ""
}

// holderLabel names the holder at at for people: its JSON pointer and, when
// it has one, its Name.
func holderLabel(doc any, at []string) string {
	if m, ok := schema.At(doc, at).(map[string]any); ok {
		if n, ok := m["Name"].(string); ok && n != "" {
			return fmt.Sprintf("%s (%q)", schema.Pointer(at), n)
		}
	}
	return schema.Pointer(at)
}

// removeHolders removes the holders at the given paths of doc (array
// elements or map values), deepest index first, then the containers of k
// (a step) that removing them left without items.
func removeHolders(k *schema.Kind, doc any, holders [][]string) {
	if len(holders) == 0 {
		return
	}
	// Higher indices first, so the lower paths stay valid.
	slices.SortFunc(holders, func(a, b []string) int {
		for i := 0; i < len(a) && i < len(b); i++ {
			if a[i] == b[i] {
				continue
			}
			ai, aerr := strconv.Atoi(a[i])
			bi, berr := strconv.Atoi(b[i])
			if aerr == nil && berr == nil {
				return bi - ai
			}
			return strings.Compare(b[i], a[i])
		}
		return len(b) - len(a)
	})
	for _, at := range holders {
		removePath(doc, at)
	}
	for _, c := range k.Containers {
		if c.Path == "" {
			continue
		}
		depth := strings.Count(c.Path, "/") + 1
		var empty [][]string
		for _, at := range holders {
			if len(at) <= depth+1 || at[depth] != c.Items {
				continue
			}
			cat := at[:depth]
			if m, ok := schema.At(doc, cat).(map[string]any); ok {
				if items, ok := m[c.Items].([]any); ok && len(items) == 0 && !slices.ContainsFunc(empty, func(p []string) bool { return slices.Equal(p, cat) }) {
					empty = append(empty, cat)
				}
			}
		}
		slices.SortFunc(empty, func(a, b []string) int {
			ai, _ := strconv.Atoi(a[len(a)-1])
			bi, _ := strconv.Atoi(b[len(b)-1])
			return bi - ai
		})
		for _, at := range empty {
			removePath(doc, at)
		}
	}
}

// removePath removes the array element or map key at at from doc.
func removePath(doc any, at []string) {
	if len(at) == 0 {
		return
	}
	parentAt, last := at[:len(at)-1], at[len(at)-1]
	var holder map[string]any
	field := ""
	if len(parentAt) > 0 {
		holder, _ = schema.At(doc, parentAt[:len(parentAt)-1]).(map[string]any)
		field = parentAt[len(parentAt)-1]
	}
	switch p := schema.At(doc, parentAt).(type) {
	case map[string]any:
		delete(p, last)
	case []any:
		i, err := strconv.Atoi(last)
		if err != nil || i < 0 || i >= len(p) || holder == nil {
			return
		}
		holder[field] = slices.Delete(slices.Clone(p), i, i+1)
	}
}
