package apply

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/octobundle/octobundle/apply/internal/secrets"
	"github.com/octobundle/octobundle/apply/internal/writemerge"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/policy"
	"github.com/octobundle/octobundle/schema"
)

// The three-way merge: how an entity that exists on the destination is
// brought in line with the bundle, given what octobundle last applied there
// (the base, from the state directory or --base). It is the one merge of
// plan and apply; the write path only lays the planned document over the
// live one to keep the destination's IDs and secrets (see writemerge.Doc).
//
// With base B, bundle S and destination D, per entity and recursively per
// map key and per identified array element (bundles.Identity: steps and
// actions by name, variables by name and scope, tenant values by owner,
// template and scope — case-insensitively, as Octopus compares names), and
// per entry of the registry's set-like string arrays (schema.Kind.Sets):
//
//   - S = B: the source did not change it → D is kept (a destination change
//     is drift, listed);
//   - S ≠ B, D = B: the source changed it → S (added, updated or deleted);
//   - S = D: already there → nothing;
//   - otherwise a conflict, listed with both sides and decided by the
//     policy (policy.Decider.Decide): --on-conflict, else the bundle's
//     policy file (Conflicts rules; Owned values already took the
//     destination's copy, see values.go), else the registry
//     (schema.Kind.KeepDestination: variable values stay the
//     destination's; everything else, process and step content, takes
//     the source's);
//   - an element or key only D has is the destination's own: kept and
//     listed (--prune removes destination-only steps, variables and links,
//     see prune.go);
//   - without a base (first sync, lost state) the merge is two-way: the
//     source wins for source-owned fields, differing variable values are
//     conflicts under the same policy, destination-only elements and set
//     entries are kept.
//
// Exact-policy kinds (step templates, script modules, tag sets) take the
// source's side of every conflict, overwrite what only the destination
// changed (S = B, D ≠ B: no drift is kept), and drop destination-only
// named elements, set entries and map keys below the top level (a
// top-level field the source does not know is a newer server's, and
// stays): they must match. Sensitive values are never part of a bundle, a base or a
// comparison: a variable sensitive on the destination is kept as it is; one
// made sensitive at the source replaces the destination's plain one (apply
// writes a placeholder and lists a clean-up item).

// merger carries one entity's three-way merge and what it found.
type merger struct {
	k     *schema.Kind
	names []string
	hasB  bool // a base exists for the entity
	exact bool // the kind's kind policy is exact
	// pol decides conflicts: --on-conflict, the bundle's policy file, the
	// registry.
	pol *policy.Decider

	// owners, if set, reports whether the bundle speaks for the entity
	// of kind named name that an element or map key holds data for (a
	// tenant's values and link for project "OctoFX"): false for a project
	// a partial bundle does not hold.
	owners func(kind, name string) bool

	conflicts []plans.Conflict
	renames   []plans.Renamed   // elements told renamed (destination-only ↔ source-only)
	problems  []string          // what the server would refuse (two elements with one key)
	drift     []plans.FieldDiff // destination changes kept (S = B, D ≠ B)
	kept      []string          // destination-only elements, keys and entries kept
	deleted   []string          // removed because the source deleted them
	changed   []string          // places the source changed and the merge applies
}

// merge3 merges the entity of kind k: base (nil, hasBase false: two-way),
// bundle document src and destination document dst (both bundle form, dst
// non-nil). It returns the document the destination will hold.
func (m *merger) merge(base any, hasBase bool, src, dst any) any {
	m.hasB = hasBase
	r, _ := m.value(place{}, base, hasBase, src, true, dst, true)
	return r
}

// value merges one place; at is its path (map keys, array indices of the
// destination's document for labels). It returns the result and whether
// the place exists in it.
func (m *merger) value(p place, b any, hasB bool, s any, hasS bool, d any, hasD bool) (any, bool) {
	switch {
	case !hasS && !hasD:
		return nil, false
	case hasS && !hasD:
		if !hasB {
			m.changed = append(m.changed, p.label()+" added")
			return schema.DeepCopy(s), true
		}
		if bundles.Equal(s, b) {
			if m.exact {
				// Removed on the destination only: an exact kind must match.
				m.changed = append(m.changed, p.label()+" added")
				return schema.DeepCopy(s), true
			}
			m.drift = append(m.drift, plans.FieldDiff{Path: schema.Pointer(p.at), Label: p.label(), Before: b})
			return nil, false
		}
		if m.decide(p, b, hasB, s, hasS, d, hasD) == policy.WinnerSource {
			// Deleted on the destination, changed at the source: the
			// source's value comes back, a change like any other.
			m.changed = append(m.changed, p.label())
			return schema.DeepCopy(s), true
		}
		return nil, false
	case !hasS && hasD:
		if !hasB {
			m.kept = append(m.kept, p.label())
			return schema.DeepCopy(d), true
		}
		if bundles.Equal(d, b) {
			m.deleted = append(m.deleted, p.label())
			return nil, false
		}
		if m.decide(p, b, hasB, s, hasS, d, hasD) == policy.WinnerSource {
			m.deleted = append(m.deleted, p.label())
			return nil, false
		}
		return schema.DeepCopy(d), true
	}
	// Both sides have it.
	if bundles.Equal(s, d) {
		return schema.DeepCopy(s), true
	}
	if secrets.SensitiveEither(s, d) && (asMap(s) != nil && asMap(d) != nil) {
		// Sensitive on the destination: kept exactly; made sensitive at the
		// source: the source's (a placeholder is written, see secrets.Fill).
		if secrets.Sensitive(d) || !secrets.Sensitive(s) {
			return schema.DeepCopy(d), true
		}
		m.changed = append(m.changed, p.label()+" made sensitive")
		return schema.DeepCopy(s), true
	}
	if schema.IsSensitiveValue(d) && secrets.HasSecret(d) {
		return schema.DeepCopy(d), true
	}
	bm, sm, dm := asMap(b), asMap(s), asMap(d)
	if sm != nil && dm != nil && !schema.IsSensitiveValue(sm) {
		return m.mapValue(p, bm, hasB && bm != nil, sm, dm), true
	}
	sa, sok := s.([]any)
	da, dok := d.([]any)
	if sok && dok {
		ba, _ := b.([]any)
		hb := hasB
		if _, isArr := b.([]any); !isArr {
			hb = false
		}
		l := m.k.ListAt(p.at)
		switch {
		case l != nil && l.Strategy == schema.StrategyMerge && identified(l, sa) && identified(l, da) && (len(sa) > 0 || len(da) > 0):
			return m.named(p, l, ba, hb, sa, da), true
		case m.isSet(p.at) && scalars(sa) && scalars(da) && scalars(ba):
			return m.set(p, ba, hb, sa, da), true
		}
	}
	// An atomic value (scalar, or a list without identities).
	switch {
	case hasB && bundles.Equal(s, b) && m.exact:
		// Changed on the destination only: an exact kind must match.
		m.changed = append(m.changed, p.label())
		return schema.DeepCopy(s), true
	case hasB && bundles.Equal(s, b):
		m.drift = append(m.drift, plans.FieldDiff{Path: schema.Pointer(p.at), Label: p.label(), Before: b, After: d})
		return schema.DeepCopy(d), true
	case hasB && bundles.Equal(d, b):
		m.changed = append(m.changed, p.label())
		return schema.DeepCopy(s), true
	case !hasB && !p.added && !m.pol.Contested(m.at(p)):
		// Two-way: the source owns the field. (A key both sides added
		// to an object the base has is a conflict, decided below; what
		// lies below an element or object the base lacks altogether is
		// two-way.)
		m.changed = append(m.changed, p.label())
		return schema.DeepCopy(s), true
	}
	if m.decide(p, b, hasB, s, true, d, true) == policy.WinnerSource {
		m.changed = append(m.changed, p.label())
		return schema.DeepCopy(s), true
	}
	return schema.DeepCopy(d), true
}

// mapValue merges two objects key by key.
func (m *merger) mapValue(p place, b map[string]any, hasB bool, s, d map[string]any) map[string]any {
	keys := map[string]bool{}
	for k := range s {
		keys[k] = true
	}
	for k := range d {
		keys[k] = true
	}
	if hasB {
		for k := range b {
			keys[k] = true
		}
	}
	out := make(map[string]any, len(keys))
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		bv, inB := b[k]
		sv, inS := s[k]
		dv, inD := d[k]
		if !hasB {
			inB = false
		}
		if m.foreignKey(p, k) {
			// A partial bundle says nothing about this owner's entry.
			if inD {
				out[k] = schema.DeepCopy(dv)
			}
			continue
		}
		if !inS && inD && !inB {
			// A field the source does not know (a newer destination
			// server's, or the destination's own map key): kept, and listed
			// when it is a map key of the entity's data rather than a
			// field of the server's shape. An exact kind's own map keys
			// go: it must match.
			if len(p.at) > 0 && m.exact {
				m.deleted = append(m.deleted, p.key(k).label())
				continue
			}
			if len(p.at) > 0 {
				m.kept = append(m.kept, p.key(k).label())
			}
			out[k] = schema.DeepCopy(dv)
			continue
		}
		pk := p.key(k)
		pk.added = hasB && !inB && inS && inD
		if r, ok := m.value(pk, bv, inB, sv, inS, dv, inD); ok {
			out[k] = r
		}
	}
	return out
}

// named merges the arrays of list l by element key (l.Key): the result
// holds the bundle's surviving elements in the bundle's order, each
// destination-only element kept after the element it followed on the
// destination. Two bundle elements with one key are a problem (never one
// silently dropped); a destination-only and a source-only element that
// are one element renamed (see renames.go) merge as one.
func (m *merger) named(p place, l *schema.List, b []any, hasB bool, s, d []any) []any {
	index := func(arr []any, side string) (map[string]int, []string) {
		pos := map[string]int{}
		var order []string
		for i, el := range arr {
			id, _ := l.Identify(el)
			if j, dup := pos[id.Key]; dup {
				if side == "source" {
					other, _ := l.Identify(arr[j])
					server := m.uniqueMessage(l, arr[i])
					if other.Exact != id.Exact {
						m.problems = append(m.problems, fmt.Sprintf("%s%s: %s and %s differ only in case, and the server compares %s names case-insensitively: rename one at the source", server, p.label(), other.Label, id.Label, p.lastField()))
					} else {
						m.problems = append(m.problems, fmt.Sprintf("%s%s: %s appears twice in the bundle", server, p.label(), id.Label))
					}
				}
				continue
			}
			pos[id.Key] = i
			order = append(order, id.Key)
		}
		return pos, order
	}
	bPos, _ := index(b, "base")
	sPos, sOrder := index(s, "source")
	dPos, dOrder := index(d, "destination")
	if !hasB {
		bPos = map[string]int{}
	}

	// A destination-only and a source-only element, neither in the base,
	// that share a key in the list's SameIf list (a step whose action kept
	// its name) are one element renamed: the server would refuse the two
	// side by side. The destination's takes the source's key. Content
	// alone is no evidence here: the destination's own step may look like
	// the source's new one.
	alias := map[string]string{} // source key → destination key
	if l.Renames {
		var sOnly []string
		for _, id := range sOrder {
			_, inD := dPos[id]
			_, inB := bPos[id]
			if !inD && !inB {
				sOnly = append(sOnly, id)
			}
		}
		taken := map[string]bool{}
		for _, did := range dOrder {
			_, inS := sPos[did]
			_, inB := bPos[did]
			if inS || inB {
				continue
			}
			for _, sid := range sOnly {
				if alias[sid] != "" || taken[did] {
					continue
				}
				if shareSameIf(m.k, l, s[sPos[sid]], d[dPos[did]]) {
					alias[sid], taken[did] = did, true
					m.renames = append(m.renames, plans.Renamed{List: l.Path, Parent: p.parentName(), From: writemerge.NameOf(d[dPos[did]]), To: writemerge.NameOf(s[sPos[sid]])})
					m.changed = append(m.changed, p.elem(dPos[did], d[dPos[did]]).label()+" renamed to "+strconv.Quote(writemerge.NameOf(s[sPos[sid]])))
				}
			}
		}
	}
	dKey := func(sid string) (int, bool) {
		if a := alias[sid]; a != "" {
			return dPos[a], true
		}
		i, ok := dPos[sid]
		return i, ok
	}
	aliased := map[string]bool{}
	for _, a := range alias {
		aliased[a] = true
	}

	result := map[string]any{}
	resultKey := map[string]string{} // destination key → result key, for ordering
	for _, id := range sOrder {
		si := sPos[id]
		di, inD := dKey(id)
		bi, inB := bPos[id]
		var bv, dv any
		if inB {
			bv = b[bi]
		}
		where := p.elem(si, s[si])
		if inD {
			dv = d[di]
			where = p.elem(di, dv)
			dk, _ := l.Identify(dv)
			resultKey[dk.Key] = id
		}
		if r, ok := m.value(where, bv, inB, s[si], true, dv, inD); ok {
			result[id] = r
		}
	}
	var destOnly []string
	for _, id := range dOrder {
		if _, inS := sPos[id]; inS || aliased[id] {
			continue
		}
		bi, inB := bPos[id]
		var bv any
		if inB {
			bv = b[bi]
		}
		el := d[dPos[id]]
		if m.foreign(l, el) {
			// Held for a project or library variable set the partial
			// bundle does not speak for: left exactly as it is, whatever
			// the base says.
			result[id] = schema.DeepCopy(el)
			destOnly = append(destOnly, id)
			continue
		}
		if !inB && (m.exact || supersededIn(l, el, s)) {
			// An exact kind's list is the source's; a tenant value the
			// bundle re-scoped is replaced.
			m.deleted = append(m.deleted, p.elem(dPos[id], el).label())
			continue
		}
		if r, ok := m.value(p.elem(dPos[id], el), bv, inB, nil, false, el, true); ok {
			result[id] = r
			destOnly = append(destOnly, id)
		}
	}
	if hasB && !m.exact {
		if out, ok := m.destinationOrder(p, bPos, sOrder, dOrder, resultKey, result); ok {
			return out
		}
	}
	// Order: the bundle's elements, each destination-only one after the
	// element it followed on the destination.
	after := map[string][]string{} // anchor id ("" = front) → destination-only ids
	isDestOnly := map[string]bool{}
	for _, id := range destOnly {
		isDestOnly[id] = true
	}
	anchor := ""
	for _, id := range dOrder {
		if isDestOnly[id] {
			after[anchor] = append(after[anchor], id)
			continue
		}
		rk := id
		if k, ok := resultKey[id]; ok {
			rk = k
		}
		if _, ok := result[rk]; ok {
			anchor = rk
		}
	}
	out := make([]any, 0, len(result))
	for _, id := range after[""] {
		out = append(out, result[id])
	}
	placed := map[string]bool{}
	for _, id := range sOrder {
		r, ok := result[id]
		if !ok {
			continue
		}
		out = append(out, r)
		placed[id] = true
		for _, o := range after[id] {
			out = append(out, result[o])
		}
	}
	// Destination-only elements anchored on an element the merge removed.
	for _, anchorID := range dOrder {
		ids, ok := after[anchorID]
		if !ok || placed[anchorID] {
			continue
		}
		for _, o := range ids {
			out = append(out, result[o])
		}
	}
	return out
}

// destinationOrder returns the merged elements (result, by result key)
// in the destination's order when only the destination reordered the
// elements it shares with the source (S = B for their order, D ≠ B): the
// destination's own order is kept, as any drift is, and listed. An
// element the source added goes after the element it follows at the
// source. ok is false when the source reordered, or the destination did
// not: the source's order stands.
func (m *merger) destinationOrder(p place, bPos map[string]int, sOrder, dOrder []string, resultKey map[string]string, result map[string]any) (out []any, ok bool) {
	shared := func(k string) bool {
		_, inB := bPos[k]
		_, kept := result[k]
		return inB && kept
	}
	rkey := func(id string) string {
		if k, ok := resultKey[id]; ok {
			return k
		}
		return id
	}
	// Most lists: the destination holds the shared elements in the
	// source's order. Told without allocating.
	for i, j := 0, 0; ; i, j = i+1, j+1 {
		for i < len(sOrder) && !shared(sOrder[i]) {
			i++
		}
		for j < len(dOrder) && !shared(rkey(dOrder[j])) {
			j++
		}
		if i == len(sOrder) || j == len(dOrder) {
			if i == len(sOrder) && j == len(dOrder) {
				return nil, false
			}
			break
		}
		if sOrder[i] != rkey(dOrder[j]) {
			break
		}
	}
	// The destination's elements by result key, in its order; the shared
	// ones in the source's, the destination's and the base's order.
	dKeys := make([]string, len(dOrder))
	inD := make(map[string]bool, len(dOrder))
	for i, id := range dOrder {
		dKeys[i] = rkey(id)
		inD[dKeys[i]] = true
	}
	src := slices.DeleteFunc(slices.Clone(sOrder), func(k string) bool { return !shared(k) })
	dst := slices.DeleteFunc(slices.Clone(dKeys), func(k string) bool { return !shared(k) })
	base := slices.Clone(src)
	slices.SortStableFunc(base, func(a, b string) int { return bPos[a] - bPos[b] })
	if !slices.Equal(src, base) || slices.Equal(dst, base) || len(dst) != len(src) {
		return nil, false
	}
	// The destination's order, each element the source added (in neither
	// the base nor the destination) after its predecessor at the source.
	placed := map[string]bool{}
	following := map[string][]string{} // result key ("" = front) → source-added keys
	prev := ""
	for _, id := range sOrder {
		if _, kept := result[id]; !kept {
			continue
		}
		if _, inB := bPos[id]; !inB && !inD[id] {
			following[prev] = append(following[prev], id)
		}
		prev = id
	}
	add := func(k string) {
		if placed[k] {
			return
		}
		placed[k] = true
		out = append(out, result[k])
		for _, f := range following[k] {
			placed[f] = true
			out = append(out, result[f])
		}
	}
	for _, f := range following[""] {
		placed[f] = true
		out = append(out, result[f])
	}
	for _, k := range dKeys {
		if _, kept := result[k]; kept {
			add(k)
		}
	}
	// Whatever is left (a source-added element after one the merge
	// removed), in the source's order.
	for _, id := range sOrder {
		if _, kept := result[id]; kept && !placed[id] {
			add(id)
		}
	}
	m.drift = append(m.drift, plans.FieldDiff{Path: schema.Pointer(p.at), Label: p.label(), Before: base, After: dst})
	return out, true
}

// foreign reports whether el, an element of list l, holds data for an
// owner (a project, a library variable set) the bundle does not speak for:
// a partial bundle's tenant values of other projects.
func (m *merger) foreign(l *schema.List, el any) bool {
	if l.Owner == "" || m.owners == nil {
		return false
	}
	o, _ := asMap(el)[l.Owner].(string)
	if o == "" {
		return false
	}
	for _, r := range m.k.Refs {
		if r.Soft && r.Path == l.Path+"/*/"+l.Owner {
			return !m.owners(r.To, o)
		}
	}
	return false
}

// foreignKey reports whether map key key at p names an owner (a soft
// reference held as a map key: a tenant's link to a project) the bundle
// does not speak for.
func (m *merger) foreignKey(p place, key string) bool {
	if m.owners == nil {
		return false
	}
	for _, r := range m.k.Refs {
		if !r.Soft || !strings.HasSuffix(r.Path, "/~") {
			continue
		}
		if schema.PathMatches(strings.TrimSuffix(r.Path, "/~"), p.at) {
			return !m.owners(r.To, key)
		}
	}
	return false
}

// uniqueMessage is the server's refusal of a second element el in list l
// whose names the registry says must be unique (schema.Kind.Unique), with
// a space after it, or "".
func (m *merger) uniqueMessage(l *schema.List, el any) string {
	for _, u := range m.k.Unique {
		if u.Path == l.Path+"/*" {
			return fmt.Sprintf("%s names must be unique: '%s' is used more than once. ", u.Noun, asMap(el)[u.Field])
		}
	}
	return ""
}

// identified reports whether every element of arr has a key in list l.
func identified(l *schema.List, arr []any) bool {
	for _, el := range arr {
		if _, ok := l.Identify(el); !ok {
			return false
		}
	}
	return true
}

// supersededIn reports whether a destination-only element of list l is
// replaced by one of the bundle's elements (see schema.List.Supersedes).
func supersededIn(l *schema.List, d any, b []any) bool {
	for _, el := range b {
		if l.Supersedes(el, d) {
			return true
		}
	}
	return false
}

// set merges set-like arrays of strings entry by entry.
func (m *merger) set(p place, b []any, hasB bool, s, d []any) []any {
	has := func(arr []any, v any) bool {
		for _, x := range arr {
			if strings.EqualFold(fmt.Sprint(x), fmt.Sprint(v)) {
				return true
			}
		}
		return false
	}
	var out []any
	for _, v := range s {
		switch {
		case has(d, v):
			out = append(out, v)
		case hasB && has(b, v) && !m.exact:
			m.drift = append(m.drift, plans.FieldDiff{Path: schema.Pointer(p.at), Label: p.label() + " " + strconv.Quote(fmt.Sprint(v)), Before: v})
		default:
			m.changed = append(m.changed, p.label()+" +"+strconv.Quote(fmt.Sprint(v)))
			out = append(out, v)
		}
	}
	for _, v := range d {
		if has(s, v) {
			continue
		}
		if hasB && has(b, v) || m.exact {
			// Deleted at the source, or an exact kind's own entry.
			m.deleted = append(m.deleted, p.label()+" "+strconv.Quote(fmt.Sprint(v)))
			continue
		}
		m.kept = append(m.kept, p.label()+" "+strconv.Quote(fmt.Sprint(v)))
		out = append(out, v)
	}
	if out == nil {
		out = []any{}
	}
	return out
}

// decide resolves a conflict and records it.
func (m *merger) decide(p place, b any, hasB bool, s any, hasS bool, d any, hasD bool) policy.Winner {
	c := plans.Conflict{Field: p.label()}
	if hasB {
		c.Base = schema.DeepCopy(b)
	}
	if hasS {
		c.Source = schema.DeepCopy(s)
	}
	if hasD {
		c.Destination = schema.DeepCopy(d)
	}
	dec := m.pol.Decide(m.at(p))
	c.Resolution, c.Rule = dec.Winner, dec.Rule
	m.conflicts = append(m.conflicts, c)
	return c.Resolution
}

// at is the place p of m's entity, as the policy sees it.
func (m *merger) at(p place) policy.Place {
	return policy.Place{Kind: m.k, Names: m.names, At: p.at, Elements: p.el}
}

// isSet reports whether the array at at is one of the kind's set-like
// string arrays.
func (m *merger) isSet(at []string) bool {
	for _, sp := range m.k.Sets {
		if len(sp.Key) == 0 && pathMatches(sp.Path, at) {
			return true
		}
	}
	return false
}

// place is where the merge is inside the entity: the path (map keys and
// array indices, for JSON pointers and registry paths), its label for
// people, and the Name of the array element at each index segment (for
// policy rules that name elements).
type place struct {
	at  []string
	lbl string
	el  []string
	// added: a key of an object the base has, which the base lacks and
	// both sides added (differing values are a conflict, not two-way).
	added bool
}

// key is the place of map key k below p.
func (p place) key(k string) place {
	return place{at: append(slices.Clone(p.at), k), lbl: bundles.KeyLabel(p.lbl, k), el: append(slices.Clone(p.el), "")}
}

// elem is the place of array element i (v) below p, labelled by its
// identity.
func (p place) elem(i int, v any) place {
	lbl := p.lbl + "[" + strconv.Itoa(i) + "]"
	if id, ok := bundles.Identify(v); ok {
		lbl = p.lbl + "[" + id.Label + "]"
	}
	name, _ := asMap(v)["Name"].(string)
	return place{at: append(slices.Clone(p.at), strconv.Itoa(i)), lbl: lbl, el: append(slices.Clone(p.el), name)}
}

// parentName is the name of the array element enclosing the place's
// list (the step of an action list), or "".
func (p place) parentName() string {
	for i := len(p.el) - 1; i >= 0; i-- {
		if p.el[i] != "" {
			return p.el[i]
		}
	}
	return ""
}

// lastField is the last map key of the place ("Variables", "Steps").
func (p place) lastField() string {
	for i := len(p.at) - 1; i >= 0; i-- {
		if _, err := strconv.Atoi(p.at[i]); err != nil {
			return p.at[i]
		}
	}
	return "element"
}

// label names the place for people.
func (p place) label() string {
	if len(p.at) == 0 {
		return "the entity"
	}
	return p.lbl
}

// pathMatches reports whether the registry path pattern (slash-separated,
// "*" for any one segment) matches at.
func pathMatches(pattern string, at []string) bool {
	segs := strings.Split(pattern, "/")
	if len(segs) != len(at) {
		return false
	}
	for i, s := range segs {
		if s != "*" && s != at[i] {
			return false
		}
	}
	return true
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func scalars(arr []any) bool {
	for _, v := range arr {
		switch v.(type) {
		case map[string]any, []any:
			return false
		}
	}
	return true
}

// removedKeys lists the paths (map keys and array indices of desired) of
// the object keys dest has and desired does not, in elements both have:
// the write merge lays desired over the live document key by key, so these
// must be deleted from it explicitly (a step property removed at the
// source).
func removedKeys(desired, dest any, at []string, out *[]string) {
	switch dv := desired.(type) {
	case map[string]any:
		gm, ok := dest.(map[string]any)
		if !ok {
			return
		}
		for _, k := range slices.Sorted(maps.Keys(gm)) {
			v, has := dv[k]
			if !has {
				*out = append(*out, schema.Pointer(append(slices.Clone(at), k)))
				continue
			}
			removedKeys(v, gm[k], append(slices.Clone(at), k), out)
		}
	case []any:
		ga, ok := dest.([]any)
		if !ok {
			return
		}
		pairs, _ := bundles.MatchElements(dv, ga)
		for i, j := range pairs {
			removedKeys(dv[i], ga[j], append(slices.Clone(at), strconv.Itoa(i)), out)
		}
	}
}
