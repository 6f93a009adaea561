package transform

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/schema"
)

// dim is one restriction dimension of a holder.
type dim struct {
	name          string // the target kind, or the group
	refs          []schema.Ref
	before, after int
	removed       []string
	cause         string
}

// holder is an element whose scope is restricted (or that a reference's
// OnDrop removes).
type holder struct {
	at          []string
	dims        map[string]*dim
	order       []string
	rewritten   bool
	removeCause string
	removeWhy   string
}

type result struct {
	doc        any
	dropEntity *fate
	cause      string
}

// rewriter rewrites one entity.
type rewriter struct {
	e       *engine
	x       *ent
	doc     any
	prefix  int
	holders map[string]*holder
	remove  map[string][]string // pointer → path of elements to remove
	cause   string
}

func segCount(p string) int {
	if p == "" {
		return 0
	}
	return strings.Count(p, "/") + 1
}

func dimName(r schema.Ref) string {
	if r.Group != "" {
		return r.Group
	}
	return r.To
}

func (w *rewriter) holderFor(r schema.Ref, at []string) *holder {
	n := w.prefix + segCount(r.Holder)
	if n > len(at) {
		n = len(at)
	}
	hat := append([]string(nil), at[:n]...)
	key := schema.Pointer(hat)
	h := w.holders[key]
	if h == nil {
		h = &holder{at: hat, dims: map[string]*dim{}}
		w.holders[key] = h
	}
	return h
}

func (h *holder) dim(r schema.Ref) *dim {
	n := dimName(r)
	d := h.dims[n]
	if d == nil {
		d = &dim{name: n}
		h.dims[n] = d
		h.order = append(h.order, n)
	}
	for _, have := range d.refs {
		if have.Path == r.Path {
			return d
		}
	}
	d.refs = append(d.refs, r)
	return d
}

func restricting(refs []schema.Ref) []schema.Ref {
	var out []schema.Ref
	for _, r := range refs {
		if r.Restricts {
			out = append(out, r)
		}
	}
	return out
}

// count records the number of entries of every restriction in doc.
func (w *rewriter) count(doc any, after bool) {
	k := w.x.kind
	for _, rk := range []*schema.Kind{
		{Name: k.Name, Shape: k.Shape, Refs: restricting(k.Refs)},
		{Name: k.Name, Shape: k.Shape, Refs: restricting(k.TagRefs)},
	} {
		_ = rk.Visit(doc, func(r schema.Ref, at []string, _ string) {
			d := w.holderFor(r, at).dim(r)
			if after {
				d.after++
			} else {
				d.before++
			}
		})
	}
}

// rewrite applies the fates known so far to x.
func (e *engine) rewrite(x *ent) result {
	w := &rewriter{e: e, x: x, doc: schema.DeepCopy(x.doc), holders: map[string]*holder{}, remove: map[string][]string{}}
	if x.kind.Shape == schema.ShapeItems {
		w.prefix = 1
	}
	w.count(x.doc, false)
	_ = x.kind.Rewrite(w.doc, w.refFunc(false))
	_ = x.kind.TagKind().Rewrite(w.doc, w.refFunc(true))
	w.distinct()
	w.count(w.doc, true)
	res := result{}
	if f := w.lostScope(); f != nil {
		res.dropEntity = f
		return res
	}
	w.dedupe()
	if f := w.removeHolders(); f != nil {
		res.dropEntity = f
		return res
	}
	if f := w.containers(); f != nil {
		res.dropEntity = f
		return res
	}
	_ = x.kind.SortSets(w.doc)
	dedupeSets(x.kind, w.doc)
	res.doc, res.cause = w.doc, w.cause
	return res
}

func (w *rewriter) refFunc(tags bool) schema.RefFunc {
	e, x := w.e, w.x
	return func(ref schema.Ref, at []string, v any) (any, error) {
		var to, name, rest string
		isRefValue := false
		switch t := v.(type) {
		case string:
			if ref.To == schema.AnyKind {
				return v, nil
			}
			to, name = ref.To, t
			if tags {
				set, tag, ok := strings.Cut(t, "/")
				if !ok {
					return v, nil
				}
				name, rest = set, "/"+tag
			}
		default:
			kind, n, ok := schema.ParseRefValue(v)
			if !ok {
				return v, nil
			}
			to, name, isRefValue = kind, n, true
		}
		scope := ""
		if !tags {
			scope = schema.RefScope(ref, x.names, at, x.doc)
		}
		f, kind := e.lookup(to, scope, name)
		if f == nil {
			return v, nil
		}
		if f.drop && f.provided {
			if f.renamed == "" {
				return v, nil
			}
			// Left to the destination under the name a rename gave it.
			f = &fate{to: f.renamed, rule: f.renameRule}
		}
		what := kind
		if what == "" {
			what = to
		}
		shown := strconv.Quote(name)
		if f.renamed != "" {
			shown += fmt.Sprintf(" (renamed to %q by %s)", f.renamed, f.renameRule)
		}
		if f.drop {
			w.cause = f.source()
			switch ref.OnDrop {
			case schema.OnDropHolder:
				h := w.holderFor(ref, at)
				if h.removeCause == "" {
					h.removeCause, h.removeWhy = f.source(), fmt.Sprintf("it refers to %s %s, which is dropped", what, shown)
				}
				return v, nil
			case schema.OnDropError:
				e.errorf(x, at, "refers to %s %s, which the rules drop (%s); merge it, leave it to the destination, or drop this too", what, shown, f.source())
				return v, nil
			}
			if ref.Restricts {
				d := w.holderFor(ref, at).dim(ref)
				d.removed = append(d.removed, name+rest)
				d.cause = f.source()
			} else {
				e.changes = append(e.changes, Change{Action: ActRemoved, Kind: x.kind.Name, Path: x.path,
					Element: bundles.LabelPath(x.doc, at), Detail: fmt.Sprintf("%s %s is dropped", what, shown), Rule: f.source()})
			}
			return schema.Drop, nil
		}
		target := f.to
		if f.merge {
			target = e.mergeTarget(f)
		}
		nn := target + rest
		w.cause = f.source()
		if strings.HasSuffix(ref.Path, "~") {
			if parent, ok := schema.At(w.doc, at[:len(at)-1]).(map[string]any); ok {
				if _, clash := parent[nn]; clash {
					e.changes = append(e.changes, Change{Action: ActMerged, Kind: x.kind.Name, Path: x.path,
						Element: bundles.LabelPath(x.doc, at), Detail: fmt.Sprintf("values for %q dropped: %q already has its own", name, target), Rule: f.source()})
					return schema.Drop, nil
				}
			}
		}
		if ref.Restricts {
			h := w.holderFor(ref, at)
			h.rewritten = true
			if f.merge {
				e.changes = append(e.changes, Change{Action: ActRescoped, Kind: x.kind.Name, Path: x.path,
					Element: bundles.LabelPath(x.doc, h.at), Detail: fmt.Sprintf("%s %q → %q", dimName(ref), name+rest, nn), Rule: f.source()})
			}
		}
		if isRefValue {
			return schema.RefValue(kind, nn), nil
		}
		return nn, nil
	}
}

// distinct keeps a value that may appear once across a sequence (an
// environment across a lifecycle's phases) where it was before a merge.
func (w *rewriter) distinct() {
	groups := map[string][]schema.Ref{}
	var order []string
	for _, r := range w.x.kind.Refs {
		if r.Distinct == "" {
			continue
		}
		if groups[r.Distinct] == nil {
			order = append(order, r.Distinct)
		}
		groups[r.Distinct] = append(groups[r.Distinct], r)
	}
	for _, seqPath := range order {
		seq, _ := schema.At(w.doc, strings.Split(seqPath, "/")).([]any)
		orig, _ := schema.At(w.x.doc, strings.Split(seqPath, "/")).([]any)
		type occ struct {
			el    map[string]any
			field string
			orig  bool
		}
		occs := map[string][]occ{}
		var values []string
		for i, el := range seq {
			m, _ := el.(map[string]any)
			var om map[string]any
			if i < len(orig) {
				om, _ = orig[i].(map[string]any)
			}
			for _, r := range groups[seqPath] {
				field := strings.TrimPrefix(r.Path, seqPath+"/*/")
				list, _ := m[field].([]any)
				olist, _ := om[field].([]any)
				for _, v := range list {
					s, _ := v.(string)
					if occs[s] == nil {
						values = append(values, s)
					}
					occs[s] = append(occs[s], occ{el: m, field: field, orig: containsAny(olist, s)})
				}
			}
		}
		for _, v := range values {
			o := occs[v]
			if len(o) < 2 {
				continue
			}
			keep := len(o) - 1
			for i := len(o) - 1; i >= 0; i-- {
				if o[i].orig {
					keep = i
					break
				}
			}
			for i, oc := range o {
				if i == keep {
					continue
				}
				same := oc.field == o[keep].field && sameMap(oc.el, o[keep].el)
				oc.el[oc.field] = without(oc.el[oc.field], v, same)
			}
		}
	}
}

// sameMap reports whether a and b are the same map.
func sameMap(a, b map[string]any) bool {
	if a == nil || b == nil {
		return false
	}
	const probe = "\x00octobundle-probe"
	a[probe] = true
	_, same := b[probe]
	delete(a, probe)
	return same
}

// without removes every v from list (keepOne keeps the first).
func without(list any, v string, keepOne bool) []any {
	arr, _ := list.([]any)
	out := make([]any, 0, len(arr))
	kept := false
	for _, x := range arr {
		if s, _ := x.(string); s == v {
			if keepOne && !kept {
				kept = true
				out = append(out, x)
			}
			continue
		}
		out = append(out, x)
	}
	return out
}

func containsAny(list []any, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// holderKeys returns the holders' keys in document order (array indices
// compared as numbers).
func (w *rewriter) holderKeys() []string {
	ats := make([][]string, 0, len(w.holders))
	for _, h := range w.holders {
		ats = append(ats, h.at)
	}
	sort.Slice(ats, func(i, j int) bool { return lessPath(ats[i], ats[j]) })
	keys := make([]string, len(ats))
	for i, at := range ats {
		keys[i] = schema.Pointer(at)
	}
	return keys
}

// lessPath orders paths segment by segment, numbers numerically.
func lessPath(a, b []string) bool {
	for k := 0; k < len(a) && k < len(b); k++ {
		if a[k] == b[k] {
			continue
		}
		ai, e1 := strconv.Atoi(a[k])
		bi, e2 := strconv.Atoi(b[k])
		if e1 == nil && e2 == nil {
			return ai < bi
		}
		return a[k] < b[k]
	}
	return len(a) < len(b)
}

// holderRefs returns the kind's restricting references (and tag
// references) whose holder is holderPath.
func (w *rewriter) holderRefs(holderPath string) []schema.Ref {
	var out []schema.Ref
	for _, r := range append(restricting(w.x.kind.Refs), restricting(w.x.kind.TagRefs)...) {
		if r.Holder == holderPath {
			out = append(out, r)
		}
	}
	return out
}

// holderName names a holder for reports and lost-scope selectors.
func (w *rewriter) holderName(h *holder) string {
	if len(h.at) == w.prefix && w.x.kind.Shape != schema.ShapeItems {
		return w.e.ownName(w.x)
	}
	m, _ := schema.At(w.doc, h.at).(map[string]any)
	if s, ok := m["Name"].(string); ok {
		return s
	}
	if f := w.x.kind.ItemName; f != "" {
		if s, ok := m[f].(string); ok {
			return s
		}
	}
	return h.at[len(h.at)-1]
}

func (w *rewriter) label(h *holder) string {
	if len(h.at) == 0 {
		return ""
	}
	return bundles.LabelPath(w.x.doc, h.at)
}

// lostScope applies the lost-scope policy to every holder whose
// restriction lost all its entries, and reports narrowed ones.
func (w *rewriter) lostScope() *fate {
	e, x := w.e, w.x
	for _, key := range w.holderKeys() {
		h := w.holders[key]
		if h.removeCause != "" {
			continue
		}
		var lost []*dim
		for _, n := range h.order {
			d := h.dims[n]
			if d.before > 0 && d.after == 0 {
				lost = append(lost, d)
			} else if len(d.removed) > 0 {
				e.changes = append(e.changes, Change{Action: ActRescoped, Kind: x.kind.Name, Path: x.path, Element: w.label(h),
					Detail: fmt.Sprintf("%s scope loses %s", d.name, quoteList(d.removed)), Rule: d.cause})
			}
		}
		if len(lost) == 0 {
			continue
		}
		var lostNames []string
		cause := ""
		for _, d := range lost {
			if len(d.removed) > 0 {
				lostNames = append(lostNames, fmt.Sprintf("%s (%s)", d.name, quoteList(d.removed)))
			} else {
				lostNames = append(lostNames, d.name+" (merged into another element)")
			}
			cause = d.cause
		}
		if cause == "" {
			cause = w.cause
		}
		why := "lost its whole " + strings.Join(lostNames, " and ") + " scope"
		name := w.holderName(h)
		r := e.lostScopeRule(x, name)
		do, pos := LostDrop, "default"
		if r != nil {
			do, pos = r.OnLostScope.Do, r.Pos
			e.used[r]++
		} else {
			why += "; dropped by default, started by " + cause
		}
		switch do {
		case LostError:
			e.errorf(x, h.at, "%s %s", name, why)
		case LostDrop:
			if len(h.at) == 0 {
				return &fate{drop: true, rule: pos, why: why, origin: cause}
			}
			h.removeCause, h.removeWhy = pos, why
		case LostUnscope, LostRescope:
			m, _ := schema.At(w.doc, h.at).(map[string]any)
			cleared := 0
			for _, d := range lost {
				for _, ref := range d.refs {
					if do == LostRescope && len(r.OnLostScope.To[ref.To]) > 0 {
						continue // set below
					}
					setList(m, strings.Split(ref.Path, "/")[segCount(ref.Holder):], nil, ref)
					cleared++
				}
			}
			var set []string
			if do == LostRescope {
				// The new scope, in every dimension the rule names (the
				// holder may not have been scoped in it before).
				placed := map[string]bool{}
				for _, ref := range w.holderRefs(lost[0].refs[0].Holder) {
					names := r.OnLostScope.To[ref.To]
					if len(names) == 0 || placed[dimName(ref)] {
						continue
					}
					placed[dimName(ref)] = true
					setList(m, strings.Split(ref.Path, "/")[segCount(ref.Holder):], names, ref)
					set = append(set, fmt.Sprintf("%s=%s", ref.To, strings.Join(names, ",")))
				}
				if len(set) == 0 {
					e.errorf(x, h.at, "%s %s, and the rescope rule %s names no dimension it has (%s)", name, why, pos, strings.Join(slices.Sorted(maps.Keys(r.OnLostScope.To)), ", "))
					continue
				}
			}
			act, detail := ActUnscoped, why+"; now applies everywhere in that dimension"
			if do == LostRescope {
				act, detail = ActRescoped, why+"; now "+strings.Join(set, " ")
				if cleared > 0 {
					detail += " (other lost dimensions cleared, as the rule says)"
				}
			}
			e.changes = append(e.changes, Change{Action: act, Kind: x.kind.Name, Path: x.path, Element: w.label(h), Detail: detail, Rule: pos})
		}
	}
	return nil
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

// setList sets the field rel below m to names (cleared when empty).
func setList(m map[string]any, rel []string, names []string, ref schema.Ref) {
	for len(rel) > 1 {
		next, _ := m[rel[0]].(map[string]any)
		if next == nil {
			next = map[string]any{}
			m[rel[0]] = next
		}
		m, rel = next, rel[1:]
	}
	if m == nil || len(rel) == 0 {
		return
	}
	switch {
	case ref.Split != "":
		m[rel[0]] = strings.Join(names, ref.Split)
	case len(names) == 0 && ref.OmitEmpty:
		delete(m, rel[0])
	default:
		arr := make([]any, len(names))
		for i, n := range names {
			arr[i] = n
		}
		m[rel[0]] = arr
	}
}

// dedupe removes values that became identical to another (same name and
// scope) through a merge or unscope, keeping the one that was not rewritten.
func (w *rewriter) dedupe() {
	for _, vs := range w.x.kind.Values {
		if vs.Items == "" {
			continue
		}
		items := strings.Split(vs.Items, "/")
		arr, _ := schema.At(w.doc, items).([]any)
		byID := map[string][]int{}
		var ids []string
		for i, el := range arr {
			at := append(append([]string(nil), items...), strconv.Itoa(i))
			if h := w.holders[schema.Pointer(at)]; h != nil && h.removeCause != "" {
				continue
			}
			id, ok := bundles.Identity(el)
			if !ok {
				continue
			}
			if byID[id] == nil {
				ids = append(ids, id)
			}
			byID[id] = append(byID[id], i)
		}
		for _, id := range ids {
			idx := byID[id]
			if len(idx) < 2 {
				continue
			}
			keep := idx[0]
			for _, i := range idx {
				at := append(append([]string(nil), items...), strconv.Itoa(i))
				if h := w.holders[schema.Pointer(at)]; h == nil || !h.rewritten {
					keep = i
					break
				}
			}
			for _, i := range idx {
				if i == keep {
					continue
				}
				at := append(append([]string(nil), items...), strconv.Itoa(i))
				h := w.holders[schema.Pointer(at)]
				if h == nil {
					h = &holder{at: at, dims: map[string]*dim{}}
					w.holders[schema.Pointer(at)] = h
				}
				h.removeCause, h.removeWhy = w.cause, "a value with the same name and scope remains"
				w.e.changes = append(w.e.changes, Change{Action: ActMerged, Kind: w.x.kind.Name, Path: w.x.path,
					Element: bundles.LabelPath(w.x.doc, at), Detail: "duplicate after the merge or unscope: " + h.removeWhy, Rule: w.cause})
				h.removeWhy = ""
			}
		}
	}
}

// removeHolders removes the holders marked for removal; an entity-level
// holder drops the entity.
func (w *rewriter) removeHolders() *fate {
	var ats [][]string
	for _, key := range w.holderKeys() {
		h := w.holders[key]
		if h.removeCause == "" {
			continue
		}
		if len(h.at) == 0 {
			return &fate{drop: true, rule: h.removeCause, why: h.removeWhy}
		}
		if h.removeWhy != "" {
			w.e.changes = append(w.e.changes, Change{Action: ActDropped, Kind: w.x.kind.Name, Path: w.x.path, Element: w.label(h), Detail: h.removeWhy, Rule: h.removeCause})
		}
		ats = append(ats, h.at)
	}
	sortRemovals(ats)
	for _, at := range ats {
		w.doc = removeAt(w.doc, at)
	}
	return nil
}

// sortRemovals orders paths deepest first, then by descending index, so
// removing one never shifts another.
func sortRemovals(ats [][]string) {
	sort.Slice(ats, func(i, j int) bool {
		a, b := ats[i], ats[j]
		if len(a) != len(b) {
			return len(a) > len(b)
		}
		for k := range a {
			if a[k] == b[k] {
				continue
			}
			ai, e1 := strconv.Atoi(a[k])
			bi, e2 := strconv.Atoi(b[k])
			if e1 == nil && e2 == nil {
				return ai > bi
			}
			return a[k] > b[k]
		}
		return false
	})
}

// containers removes container elements a cascade emptied and applies the
// empty-entity policy.
func (w *rewriter) containers() *fate {
	e, x := w.e, w.x
	for _, c := range x.kind.Containers {
		if c.Path == "" {
			m, _ := w.doc.(map[string]any)
			om, _ := x.doc.(map[string]any)
			now, _ := m[c.Items].([]any)
			was, _ := om[c.Items].([]any)
			if len(now) > 0 || len(was) == 0 {
				continue
			}
			r := e.onEmptyRule(x)
			why := fmt.Sprintf("no %s left (an empty list would widen it)", c.Items)
			if r == nil {
				e.errorf(x, []string{c.Items}, "%s; say what to do with an onEmpty rule (drop or error), or keep what it needs (started by %s)", why, w.cause)
				continue
			}
			e.used[r]++
			if r.OnEmpty.Do == LostError {
				e.errorf(x, []string{c.Items}, "%s (%s)", why, r.Pos)
				continue
			}
			return &fate{drop: true, rule: r.Pos, why: why}
		}
		segs := strings.Split(c.Path, "/")
		base := segs[:len(segs)-1]
		arr, _ := schema.At(w.doc, base).([]any)
		orig, _ := schema.At(x.doc, base).([]any)
		var ats [][]string
		for i, el := range arr {
			m, _ := el.(map[string]any)
			now, _ := m[c.Items].([]any)
			var was []any
			if i < len(orig) {
				om, _ := orig[i].(map[string]any)
				was, _ = om[c.Items].([]any)
			}
			if len(now) == 0 && len(was) > 0 {
				at := append(append([]string(nil), base...), strconv.Itoa(i))
				ats = append(ats, at)
				e.changes = append(e.changes, Change{Action: ActDropped, Kind: x.kind.Name, Path: x.path,
					Element: bundles.LabelPath(x.doc, at), Detail: fmt.Sprintf("no %s left", c.Items), Rule: w.cause})
			}
		}
		sortRemovals(ats)
		for _, at := range ats {
			w.doc = removeAt(w.doc, at)
		}
	}
	return nil
}

// dedupeSets removes repeated strings from the kind's string sets (a merge
// can make two entries equal). Sets are sorted, so repeats are adjacent.
func dedupeSets(k *schema.Kind, doc any) {
	for _, s := range k.Sets {
		if len(s.Key) > 0 || s.Path == "" {
			continue
		}
		segs := strings.Split(s.Path, "/")
		var items []any
		if k.Shape == schema.ShapeItems {
			items, _ = doc.([]any)
		} else {
			items = []any{doc}
		}
		for _, it := range items {
			eachField(it, segs, func(parent map[string]any, key string) {
				arr, ok := parent[key].([]any)
				if !ok {
					return
				}
				out := arr[:0]
				for i, v := range arr {
					if i > 0 && v == arr[i-1] {
						if _, isStr := v.(string); isStr {
							continue
						}
					}
					out = append(out, v)
				}
				parent[key] = out
			})
		}
	}
}

// eachField calls fn with the parent map and key of every field segs reaches.
func eachField(node any, segs []string, fn func(parent map[string]any, key string)) {
	if len(segs) == 0 {
		return
	}
	switch n := node.(type) {
	case map[string]any:
		if segs[0] == "*" {
			for _, k := range slices.Sorted(maps.Keys(n)) {
				if len(segs) == 1 {
					fn(n, k)
				} else {
					eachField(n[k], segs[1:], fn)
				}
			}
			return
		}
		if len(segs) == 1 {
			if _, ok := n[segs[0]]; ok {
				fn(n, segs[0])
			}
			return
		}
		eachField(n[segs[0]], segs[1:], fn)
	case []any:
		if segs[0] != "*" {
			return
		}
		for _, el := range n {
			eachField(el, segs[1:], fn)
		}
	}
}

// removeAt removes the array element or map key at path at and returns the
// (possibly new) root.
func removeAt(doc any, at []string) any {
	if len(at) == 0 {
		return doc
	}
	parentAt, last := at[:len(at)-1], at[len(at)-1]
	switch p := schema.At(doc, parentAt).(type) {
	case map[string]any:
		delete(p, last)
	case []any:
		i, err := strconv.Atoi(last)
		if err != nil || i < 0 || i >= len(p) {
			return doc
		}
		np := append(append([]any{}, p[:i]...), p[i+1:]...)
		if len(parentAt) == 0 {
			return np
		}
		if gp, ok := schema.At(doc, parentAt[:len(parentAt)-1]).(map[string]any); ok {
			gp[parentAt[len(parentAt)-1]] = np
		} else if ga, ok := schema.At(doc, parentAt[:len(parentAt)-1]).([]any); ok {
			j, _ := strconv.Atoi(parentAt[len(parentAt)-1])
			ga[j] = np
		}
	}
	return doc
}
