package apply

import (
	"strings"

	"github.com/octobundle/octobundle/apply/internal/writemerge"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/schema"
)

// Renames: a step, action or phase renamed at the source is renamed on the
// destination in place, so it keeps its ID and everything the destination
// scopes to it keeps working.
//
// A rename is told from the base and the source (the lists the registry
// marks schema.List.Renames): an element the base has and the source does
// not, and one the source has and the base does not, at the same place
// (same index, or after the same element) and equal apart from their names
// (nested renameable lists' names too), are one element renamed. Without a
// base (or for an element the base never had), a destination-only and a
// source-only element are one element renamed when they share a key in
// the list's SameIf list (a step whose action kept its name): the two would
// otherwise collide on the server ("Action names must be unique").
//
// The plan applies the renames to the base and the destination's documents
// before the merge (so the merge aligns the renamed element with its old
// self), rewrites the references other entities of the same owner make to
// a renamed name the kind provides (a variable scoped to a renamed action),
// and Execute matches the renamed element with the live one by its old name
// (Change.Renames), keeping its ID.

// detectRenames returns the renames from base to src, both documents of
// kind k in bundle form, outer lists before inner ones.
func detectRenames(k *schema.Kind, base, src any) []plans.Renamed {
	var out []plans.Renamed
	bm, sm := asMap(base), asMap(src)
	if bm == nil || sm == nil {
		return nil
	}
	for i := range k.Lists {
		l := &k.Lists[i]
		if l.Renames && !strings.Contains(l.Path, "/") {
			ba, _ := bm[l.Path].([]any)
			sa, _ := sm[l.Path].([]any)
			out = renamesIn(k, l, "", ba, sa, out)
		}
	}
	return out
}

// renamesIn adds the renames between the base's list b and the source's
// list s (list l), then those of their nested renameable lists.
func renamesIn(k *schema.Kind, l *schema.List, parent string, b, s []any, out []plans.Renamed) []plans.Renamed {
	bIdx, sIdx := keyIndex(l, b), keyIndex(l, s)
	pair := map[int]int{} // index in b → index in s
	for i, el := range b {
		if id, ok := l.Identify(el); ok {
			if j, in := sIdx[id.Key]; in {
				pair[i] = j
			}
		}
	}
	used := map[int]bool{}
	for i, el := range b {
		if _, ok := pair[i]; ok {
			continue
		}
		for j, sel := range s {
			id, ok := l.Identify(sel)
			if !ok || used[j] {
				continue
			}
			if _, inB := bIdx[id.Key]; inB {
				continue
			}
			if samePlace(l, b, i, s, j) && sameApartFromNames(k, l, el, sel) || shareSameIf(k, l, el, sel) {
				used[j] = true
				pair[i] = j
				out = append(out, plans.Renamed{List: l.Path, Parent: parent, From: writemerge.NameOf(el), To: writemerge.NameOf(sel)})
				break
			}
		}
	}
	for _, nl := range nestedRenameable(k, l) {
		field := nl.Path[len(l.Path)+3:]
		for i, j := range pair {
			nb, _ := asMap(b[i])[field].([]any)
			ns, _ := asMap(s[j])[field].([]any)
			out = renamesIn(k, nl, writemerge.NameOf(s[j]), nb, ns, out)
		}
	}
	return out
}

// samePlace reports whether element i of b and element j of s stand at
// the same place: the same index, or after elements with the same key.
func samePlace(l *schema.List, b []any, i int, s []any, j int) bool {
	if i == j {
		return true
	}
	if i == 0 || j == 0 {
		return false
	}
	pb, ok1 := l.Identify(b[i-1])
	ps, ok2 := l.Identify(s[j-1])
	return ok1 && ok2 && pb.Key == ps.Key
}

// shareSameIf reports whether a and b (elements of list l) share a key in
// l's SameIf list (two steps holding an action of one name).
func shareSameIf(k *schema.Kind, l *schema.List, a, b any) bool {
	if l.SameIf == "" {
		return false
	}
	nl := k.List(l.Path + "/*/" + l.SameIf)
	if nl == nil {
		return false
	}
	aa, _ := asMap(a)[l.SameIf].([]any)
	ba, _ := asMap(b)[l.SameIf].([]any)
	keys := keyIndex(nl, ba)
	for _, el := range aa {
		if id, ok := nl.Identify(el); ok {
			if _, in := keys[id.Key]; in {
				return true
			}
		}
	}
	return false
}

// keyIndex maps the keys of arr's elements (list l) to their first index.
func keyIndex(l *schema.List, arr []any) map[string]int {
	out := make(map[string]int, len(arr))
	for i, el := range arr {
		if id, ok := l.Identify(el); ok {
			if _, dup := out[id.Key]; !dup {
				out[id.Key] = i
			}
		}
	}
	return out
}

// nestedRenameable returns the renameable lists directly inside the
// elements of l ("Steps/*/Actions" inside "Steps").
func nestedRenameable(k *schema.Kind, l *schema.List) []*schema.List {
	var out []*schema.List
	prefix := l.Path + "/*/"
	for i := range k.Lists {
		nl := &k.Lists[i]
		if nl.Renames && strings.HasPrefix(nl.Path, prefix) && !strings.Contains(nl.Path[len(prefix):], "/") {
			out = append(out, nl)
		}
	}
	return out
}

// sameApartFromNames reports whether two elements of list l are equal once
// their names, and the names in their nested renameable lists, are left
// out.
func sameApartFromNames(k *schema.Kind, l *schema.List, a, b any) bool {
	return bundles.Equal(withoutNames(k, l, a), withoutNames(k, l, b))
}

// withoutNames is a copy of el (an element of list l) without its name
// and the names of the elements of its nested renameable lists.
func withoutNames(k *schema.Kind, l *schema.List, el any) any {
	m := asMap(el)
	if m == nil {
		return el
	}
	out := make(map[string]any, len(m))
	for f, v := range m {
		out[f] = v
	}
	delete(out, "Name")
	for _, nl := range nestedRenameable(k, l) {
		field := nl.Path[len(l.Path)+3:]
		arr, ok := out[field].([]any)
		if !ok {
			continue
		}
		stripped := make([]any, len(arr))
		for i, x := range arr {
			stripped[i] = withoutNames(k, nl, x)
		}
		out[field] = stripped
	}
	return out
}

// applyRenames renames, in a copy of doc (kind k, bundle form), every
// element a rename names, unless the list already has an element with the
// new name. Renames apply in order, outer lists first.
func applyRenames(k *schema.Kind, doc any, renames []plans.Renamed) any {
	if len(renames) == 0 || doc == nil {
		return doc
	}
	doc = schema.DeepCopy(doc)
	for _, r := range renames {
		l := k.List(r.List)
		if l == nil {
			continue
		}
		same := func(a, b string) bool { return a == b || l.Fold && strings.EqualFold(a, b) }
		eachListIn(doc, strings.Split(r.List, "/"), r.Parent, func(arr []any) {
			var from map[string]any
			taken := false
			for _, el := range arr {
				n := writemerge.NameOf(el)
				if same(n, r.To) && !same(n, r.From) {
					taken = true
				}
				if from == nil && same(n, r.From) {
					from = asMap(el)
				}
			}
			if from != nil && !taken {
				from["Name"] = r.To
			}
		})
	}
	return doc
}

// eachListIn is eachList, restricted, when parent is set, to the arrays
// inside the element named parent (case-insensitively) of the enclosing
// list.
func eachListIn(node any, segs []string, parent string, fn func(arr []any)) {
	if parent == "" || len(segs) < 3 || segs[len(segs)-2] != "*" {
		eachList(node, segs, fn)
		return
	}
	eachList(node, segs[:len(segs)-2], func(outer []any) {
		for _, el := range outer {
			if strings.EqualFold(writemerge.NameOf(el), parent) {
				eachList(el, segs[len(segs)-1:], fn)
			}
		}
	})
}

// eachList calls fn with every array reached by the path segments segs
// ("*" steps into every array element).
func eachList(node any, segs []string, fn func(arr []any)) {
	if len(segs) == 0 {
		if arr, ok := node.([]any); ok {
			fn(arr)
		}
		return
	}
	if segs[0] == "*" {
		arr, _ := node.([]any)
		for _, el := range arr {
			eachList(el, segs[1:], fn)
		}
		return
	}
	if m := asMap(node); m != nil {
		eachList(m[segs[0]], segs[1:], fn)
	}
}

// providedRenames returns, for the renames of an entity of kind k named
// names, the renamed names it provides to a namespace (schema.Provide): an
// action renamed is an Action renamed within its project. The map is
// namespace → old name (folded) → new name.
func providedRenames(k *schema.Kind, names []string, renames []plans.Renamed) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, p := range k.Provides {
		if p.Path == "" || !strings.HasSuffix(p.Path, "/*") {
			continue
		}
		list := strings.TrimSuffix(p.Path, "/*")
		for _, r := range renames {
			if r.List != list {
				continue
			}
			from, to := r.From, r.To
			if p.Qualify && len(names) > 0 {
				q := names[len(names)-1] + "/"
				from, to = q+from, q+to
			}
			if out[p.Kind] == nil {
				out[p.Kind] = map[string]string{}
			}
			out[p.Kind][strings.ToLower(from)] = to
		}
	}
	return out
}

// renameRefs rewrites, in a copy of doc (kind k, bundle form), every
// reference to a renamed name: namespace → old name (folded) → new name.
func renameRefs(k *schema.Kind, doc any, renamed map[string]map[string]string) any {
	if len(renamed) == 0 || doc == nil {
		return doc
	}
	touches := false
	for _, r := range k.Refs {
		if renamed[r.To] != nil {
			touches = true
		}
	}
	if !touches {
		return doc
	}
	doc = schema.DeepCopy(doc)
	_ = k.Rewrite(doc, func(ref schema.Ref, _ []string, v any) (any, error) {
		s, ok := v.(string)
		if !ok {
			return v, nil
		}
		if to, hit := renamed[ref.To][strings.ToLower(s)]; hit {
			return to, nil
		}
		return v, nil
	})
	return doc
}

// renameable reports whether kind k has a list whose renames are told.
func renameable(k *schema.Kind) bool {
	for _, l := range k.Lists {
		if l.Renames {
			return true
		}
	}
	return false
}

// collectRenamed gathers the provided names the changes' renames rename,
// by owner: root kind and name (folded) → namespace → old name (folded) →
// new name.
func collectRenamed(changes []*change) map[string]map[string]map[string]string {
	out := map[string]map[string]map[string]string{}
	for _, ch := range changes {
		if len(ch.renames) == 0 {
			continue
		}
		k := schema.MustLookup(ch.Kind)
		owner := ownerKey(k, ch.Names)
		for ns, m := range providedRenames(k, ch.Names, ch.renames) {
			if out[owner] == nil {
				out[owner] = map[string]map[string]string{}
			}
			if out[owner][ns] == nil {
				out[owner][ns] = map[string]string{}
			}
			for from, to := range m {
				out[owner][ns][from] = to
			}
		}
	}
	return out
}

// ownerKey names the top-level entity an entity belongs to: its root
// kind and name, folded.
func ownerKey(k *schema.Kind, names []string) string {
	for k.Parent != "" {
		k = schema.MustLookup(k.Parent)
	}
	if len(names) == 0 {
		return k.Name
	}
	return k.Name + "\x00" + strings.ToLower(names[0])
}

// renamedFor returns the renamed provided names that references of the
// entity (k, names) may name: those of its owner.
func (pl *planner) renamedFor(k *schema.Kind, names []string) map[string]map[string]string {
	if len(pl.renamed) == 0 {
		return nil
	}
	return pl.renamed[ownerKey(k, names)]
}

// effectiveRenames are the renames that rename an element of dest.
func effectiveRenames(k *schema.Kind, dest any, renames []plans.Renamed) []plans.Renamed {
	var out []plans.Renamed
	cur := dest
	for _, r := range renames {
		next := applyRenames(k, cur, []plans.Renamed{r})
		if !bundles.Equal(next, cur) {
			out = append(out, r)
		}
		cur = next
	}
	return out
}

// unblocked drops the renames the destination cannot take: it has an
// element of the new name besides the old one (its own, or the source's
// new element already synced), and with them the renames nested in the
// element of that name. Such a rename is an element deleted and another
// changed, as without renames.
func unblocked(k *schema.Kind, dest any, renames []plans.Renamed) []plans.Renamed {
	var out []plans.Renamed
	blocked := map[string]bool{} // list path + new name, folded
	for _, r := range renames {
		if r.Parent != "" && blocked[strings.ToLower(parentList(r.List)+"\x00"+r.Parent)] {
			continue
		}
		l := k.List(r.List)
		taken := false
		eachListIn(dest, strings.Split(r.List, "/"), r.Parent, func(arr []any) {
			hasFrom, hasTo := false, false
			for _, el := range arr {
				n := writemerge.NameOf(el)
				hasFrom = hasFrom || n == r.From || l.Fold && strings.EqualFold(n, r.From)
				hasTo = hasTo || n == r.To || l.Fold && strings.EqualFold(n, r.To)
			}
			taken = taken || hasFrom && hasTo && !strings.EqualFold(r.From, r.To)
		})
		if taken {
			blocked[strings.ToLower(r.List+"\x00"+r.To)] = true
			continue
		}
		out = append(out, r)
	}
	return out
}

// parentList is the list holding the elements of a nested list
// ("Steps" for "Steps/*/Actions").
func parentList(list string) string {
	return strings.TrimSuffix(list[:max(strings.LastIndex(list, "/"), 0)], "/*")
}

// renameDiffs are the plan's field lines of renames.
func renameDiffs(renames []plans.Renamed) []bundles.FieldDiff {
	out := make([]bundles.FieldDiff, 0, len(renames))
	for _, r := range renames {
		out = append(out, bundles.FieldDiff{Path: "/" + strings.ReplaceAll(r.List, "*", "-"), Label: r.Label() + " (renamed)", Before: r.From, After: r.To})
	}
	return out
}

// speaksFor reports whether the bundle speaks for the entity of kind
// named name that a tenant's value or link holds data for: a whole-space
// bundle for every one, a partial one (export --project) only for the
// projects it selected and the entities it holds.
func (pl *planner) speaksFor(kind, name string) bool {
	if len(pl.b.Manifest.Projects) == 0 {
		return true
	}
	k := schema.Lookup(kind)
	if k == nil {
		return true
	}
	if k.Selectable() {
		for _, p := range pl.b.Manifest.Projects {
			if strings.EqualFold(p, name) {
				return true
			}
		}
		return false
	}
	return pl.b.Has(k, name)
}

// mergeEntity is the merge engine's one entry point for an entity of m's
// kind: the source's renames (from the base; see detectRenames) and the
// renamed names of other entities (refs) are applied to the base and the
// destination, then base, source and destination are merged. It returns
// the document the destination will hold; destView, the destination as it
// reads once other entities' renames are applied (no write of its own);
// and destMerge, destView with the entity's own renames, which the merge
// aligned with. The merger holds conflicts, drift, kept, deleted, changed,
// renames and problems.
func (m *merger) mergeEntity(base any, hasBase bool, src, dst any, renames []plans.Renamed, refs map[string]map[string]string) (desired, destView, destMerge any) {
	renames = unblocked(m.k, dst, renames)
	if hasBase {
		base = renameRefs(m.k, applyRenames(m.k, base, renames), refs)
	}
	destView = renameRefs(m.k, dst, refs)
	destMerge = applyRenames(m.k, destView, renames)
	desired = m.merge(base, hasBase, src, destMerge)
	m.renames = append(effectiveRenames(m.k, destView, renames), m.renames...)
	return desired, destView, destMerge
}

// baseUnchanged reports whether the base holds exactly the bundle's
// document at path p: nothing renamed or removed there, so neither needs
// decoding.
func (pl *planner) baseUnchanged(b *bundles.Bundle, p string) bool {
	doc, ok := b.Packed(p)
	return ok && pl.baseHolds(p, doc)
}
