package apply

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/translate"
)

// Lost scope on the destination: a value the destination keeps (its own,
// or one the merge keeps) may be scoped to something the plan removes — an
// action of a step the source deleted, a channel or runbook the source
// deleted (with --prune). Such an entry is never sent as a dangling
// reference, a value is never silently widened and never silently deleted:
//
//   - an entry that names a removed element goes, and the value keeps its
//     other entries of that dimension (narrower, never wider), with a note;
//   - a value that would lose its whole dimension lost its scope, and
//     Options.OnLostScope decides (--on-lost-scope): drop removes the value
//     (a sensitive one with a clean-up item), unscope removes the dimension
//     (the value applies more widely: the user chose it); without a
//     decision the entity is a plan error that says how to decide.
//
// Renamed elements are not removed: their values follow the new name (see
// renames.go).

// LostScope is what apply does with a destination value whose whole scope
// dimension names elements the plan removes (Options.OnLostScope).
type LostScope string

// The lost-scope decisions.
const (
	// LostScopeDrop removes the value.
	LostScopeDrop LostScope = "drop"
	// LostScopeUnscope removes the scope dimension: the value applies more
	// widely.
	LostScopeUnscope LostScope = "unscope"
)

// removedName is a name the plan removes, in a namespace (kind or virtual
// namespace), within an owner ("" for space-wide), folded.
type removedName = nameKey

// removedNames lists the names ch's entity provides in base and no longer
// provides in the bundle (ch.provides) or under a new name (ch.renames):
// the actions of steps the source deleted.
func removedNames(ch *change, base any) []removedName {
	var out []removedName
	now := map[nameKey]bool{}
	for _, p := range ch.provides {
		now[foldKey(p)] = true
	}
	k := schema.MustLookup(ch.Kind)
	renamedFrom := map[string]bool{}
	for ns, m := range providedRenames(k, ch.Names, ch.renames) {
		for from := range m {
			renamedFrom[ns+"\x00"+from] = true
		}
	}
	for _, p := range providedNames(ch, base) {
		f := foldKey(p)
		if !now[f] && !renamedFrom[f.kind+"\x00"+f.name] {
			out = append(out, f)
		}
	}
	return out
}

// foldKey is a name key with its name folded (Octopus compares names
// case-insensitively).
func foldKey(k nameKey) nameKey {
	return nameKey{k.kind, strings.ToLower(k.scope), strings.ToLower(k.name)}
}

// deletedNames lists the names an entity the plan deletes had: itself
// (a channel), and the names it provided as a whole (a runbook as a
// process owner).
func deletedNames(k *schema.Kind, names []string) []removedName {
	if len(names) == 0 || k.IsSingleton() || k.Shape == schema.ShapeItems {
		return nil
	}
	scope := ""
	if k.Parent != "" {
		scope = names[0]
	}
	name := names[len(names)-1]
	out := []removedName{foldKey(nameKey{k.Name, scope, name})}
	for _, p := range k.Provides {
		if p.Path == "" {
			s := names[0]
			if p.Within == schema.ScopeSpace {
				s = ""
			}
			out = append(out, foldKey(nameKey{p.Kind, s, name}))
		}
	}
	return out
}

// lostScope applies the lost-scope rules to doc, the merged document of
// the entity (k, names): it removes the scope entries that name removed
// elements, and decides the values that lose a whole dimension by
// decision. It returns notes, the clean-up items of dropped sensitive
// values, and problems (values no decision covers).
func lostScope(k *schema.Kind, names []string, doc any, removed map[removedName]bool, decision LostScope, placeholderLabel func(v map[string]any) string) (notes []string, cleanup []plans.CleanupItem, problems []string) {
	m := asMap(doc)
	if m == nil || len(removed) == 0 || len(names) == 0 {
		return nil, nil, nil
	}
	gone := func(dim schema.ScopeDimension, entry string) bool {
		owner := ""
		if dim.Within == schema.ScopeOwner {
			owner = names[0]
		}
		return removed[foldKey(nameKey{dim.To, owner, entry})]
	}
	trimScopes(k, m, gone, func(t scopeTrim) trimAction {
		what := fmt.Sprintf("%s[%s]", t.items, placeholderLabel(t.value))
		goneList := quoteEntries(t.gone)
		switch {
		case len(t.left) > 0:
			notes = append(notes, fmt.Sprintf("%s: %s scope %s removed (the plan removes it); the value keeps %s", what, t.dim.Name, goneList, quoteEntries(t.left)))
			return trimNarrow
		case decision == LostScopeUnscope:
			notes = append(notes, fmt.Sprintf("%s: lost its whole %s scope (%s, which the plan removes); unscoped (--on-lost-scope unscope): it now applies more widely", what, t.dim.Name, goneList))
			return trimUnscope
		case decision == LostScopeDrop:
			notes = append(notes, fmt.Sprintf("%s: lost its whole %s scope (%s, which the plan removes); dropped (--on-lost-scope drop)", what, t.dim.Name, goneList))
			if sens, _ := schema.SensitiveFlag(t.value); sens {
				cleanup = append(cleanup, plans.CleanupItem{Kind: k.Name, Names: names, Field: what,
					Why: "destination sensitive variable dropped with its lost scope (--on-lost-scope drop): its secret is gone; if it is still needed, add it again and set its value"})
			}
			return trimDrop
		}
		problems = append(problems, fmt.Sprintf("%s would lose its whole %s scope (%s, which the plan removes): decide with --on-lost-scope drop (remove the value) or --on-lost-scope unscope (keep it, applying more widely), or re-scope it on the destination first", what, t.dim.Name, goneList))
		return trimLeave
	})
	return notes, cleanup, problems
}

// scopeTrim is one scope dimension of one value element with entries that
// name something gone: the entries gone and those left.
type scopeTrim struct {
	items      string         // the value list ("Variables")
	value      map[string]any // the value element
	dim        schema.ScopeDimension
	gone, left []any
}

// trimAction is what trimScopes does with a scopeTrim.
type trimAction int

const (
	// trimLeave leaves the value as it is.
	trimLeave trimAction = iota
	// trimNarrow removes the entries gone (left must not be empty).
	trimNarrow
	// trimUnscope removes the whole dimension.
	trimUnscope
	// trimDrop removes the value.
	trimDrop
	// trimStop leaves the value and ends the walk.
	trimStop
)

// trimScopes walks the scoped value elements of doc (a document of kind
// k), and for every scope dimension holding entries that gone reports,
// does what decide says. It changes doc in place (unless every answer is
// trimLeave or trimStop) and returns whether a walk was stopped.
func trimScopes(k *schema.Kind, doc map[string]any, gone func(dim schema.ScopeDimension, entry string) bool, decide func(t scopeTrim) trimAction) bool {
	for _, vs := range k.Values {
		if vs.Scope == "" {
			continue
		}
		arr, ok := doc[vs.Items].([]any)
		if !ok {
			continue
		}
		var out []any
		changed := false
		for i, el := range arr {
			v := asMap(el)
			sc := asMap(v[vs.Scope])
			keep := true
			for _, dim := range schema.ScopeDimensions {
				entries, ok := sc[dim.Name].([]any)
				if !ok || len(entries) == 0 {
					continue
				}
				t := scopeTrim{items: vs.Items, value: v, dim: dim}
				for _, e := range entries {
					if s, _ := e.(string); s != "" && gone(dim, s) {
						t.gone = append(t.gone, e)
					} else {
						t.left = append(t.left, e)
					}
				}
				if len(t.gone) == 0 {
					continue
				}
				switch decide(t) {
				case trimStop:
					return true
				case trimNarrow:
					sc[dim.Name] = t.left
				case trimUnscope:
					delete(sc, dim.Name)
				case trimDrop:
					keep = false
				}
				if !keep {
					break
				}
			}
			if !keep && !changed {
				out, changed = append([]any(nil), arr[:i]...), true
			}
			if keep && changed {
				out = append(out, el)
			}
		}
		if changed {
			doc[vs.Items] = out
		}
	}
	return false
}

// quoteEntries renders scope entries for messages: "A", "B".
func quoteEntries(vals []any) string {
	qs := make([]string, len(vals))
	for i, v := range vals {
		qs[i] = strconv.Quote(fmt.Sprint(v))
	}
	slices.Sort(qs)
	return strings.Join(qs, ", ")
}

// valueLabel names a variable value for lost-scope messages, as plans do.
func valueLabel(v map[string]any) string {
	if id, ok := bundles.Identify(v); ok {
		return id.Label
	}
	return strconv.Quote(fmt.Sprint(v["Name"]))
}

// collectRemoved gathers the names the plan removes: those processes no
// longer provide (steps deleted at the source), and, with Options.Prune,
// those of the entities the source deleted (channels, runbooks).
func (pl *planner) collectRemoved(b *bundles.Bundle) map[removedName]bool {
	out := map[removedName]bool{}
	for _, ch := range pl.changes {
		for _, n := range ch.removed {
			out[n] = true
		}
	}
	if pl.o.Prune && pl.o.Base != nil && pl.o.Base.Bundle != nil {
		for _, e := range pl.o.Base.Bundle.Catalog() {
			if !b.Has(e.Kind, e.Names...) && authoritative(b, e.Kind, e.Names) && deletable(e.Kind) {
				if dest := pl.snap.Find(e.Kind.Name, e.Names...); dest != nil && pl.notWritten(e.Kind, e.Path, dest) != "" {
					continue // kept: octobundle did not write it
				}
				for _, n := range deletedNames(e.Kind, e.Names) {
					out[n] = true
				}
			}
		}
	}
	// A name the bundle still provides (moved to another step, or a new
	// element of the old name) is not removed.
	if len(out) == 0 {
		return out
	}
	for _, ch := range pl.changes {
		for _, p := range ch.provides {
			delete(out, foldKey(p))
		}
	}
	return out
}

// A destination can already hold a value whose scope names something that
// no longer exists (a real server can: a step deleted behind it). Reading
// it leaves those entries out (export's dangling rules), so the write
// merge must too: entries that name nothing are removed from the live
// document before the planned one is laid over it, and a value whose
// whole dimension names nothing is decided as a lost scope — a plan error
// without a decision, dropped or unscoped with one.

// danglingValue is a destination value with a scope dimension that names
// nothing on the destination.
type danglingValue struct {
	label string // `Variables["X" …]`, as read (IDs)
	dim   string // the scope dimension
	ids   []any  // its entries, all dangling
}

// aliveFunc reports whether id names something of the namespace to within
// the scope ("" or the owner's root ID) on the destination.
type aliveFunc func(to, scope, id string) bool

// cleanDangling removes, from the value elements of live (a server
// document of kind k whose owner's root has ID root), the scope entries
// that name nothing, and decides the values left with an empty dimension
// by decision: drop removes them, unscope removes the dimension, "" leaves
// them as they are. It returns those values and the unscoped elements (to
// be kept by the write). It changes live in place.
func cleanDangling(k *schema.Kind, live map[string]any, root string, alive aliveFunc, decision LostScope) (lost []danglingValue, unscoped []any) {
	trimScopes(k, live, danglingIn(root, alive), func(t scopeTrim) trimAction {
		if len(t.left) > 0 {
			return trimNarrow
		}
		name, _ := t.value["Name"].(string)
		lost = append(lost, danglingValue{label: fmt.Sprintf("%s[%s]", t.items, strconv.Quote(name)), dim: t.dim.Name, ids: t.gone})
		switch decision {
		case LostScopeDrop:
			return trimDrop
		case LostScopeUnscope:
			unscoped = append(unscoped, t.value)
			return trimUnscope
		}
		return trimLeave
	})
	return lost, unscoped
}

// danglingIn is the gone test of cleanDangling: an entry of a checked
// dimension that names nothing on the destination.
func danglingIn(root string, alive aliveFunc) func(dim schema.ScopeDimension, entry string) bool {
	return func(dim schema.ScopeDimension, entry string) bool {
		if !checkedDimension(dim) {
			return false
		}
		scope := ""
		if dim.Within == schema.ScopeOwner {
			scope = root
		}
		return !alive(dim.To, scope, entry)
	}
}

// danglingProblem is the plan error of a destination value whose whole
// dimension names nothing, with no decision.
func (d danglingValue) problem() string {
	return fmt.Sprintf("the destination's %s is scoped only to %s %s, which no longer exists on the destination: decide with --on-lost-scope drop (remove the value) or --on-lost-scope unscope (keep it without that scope), or fix it on the destination first", d.label, d.dim, quoteEntries(d.ids))
}

// note is the plan note of a decided one.
func (d danglingValue) note(decision LostScope) string {
	return fmt.Sprintf("the destination's %s is scoped only to %s %s, which no longer exists there: %s (--on-lost-scope %s)", d.label, d.dim, quoteEntries(d.ids), map[LostScope]string{LostScopeDrop: "dropped", LostScopeUnscope: "unscoped: it now applies more widely"}[decision], decision)
}

// snapAlive is an aliveFunc over a destination snapshot's index.
func snapAlive(snap *snapshot.Snapshot) aliveFunc {
	return func(to, scope, id string) bool {
		for _, k := range translate.Aliases(to) {
			if _, ok := snap.Index.Name(k, scope, id); ok {
				return true
			}
		}
		return false
	}
}

// checkedDimension reports whether the entries of scope dimension dim are
// checked for dangling: those naming what every destination read indexes
// whole (a project's actions, channels and process owners, and kinds that
// are not optional: environments). Roles and tenant tags are free text;
// deployment targets (an optional kind) are read only when asked.
func checkedDimension(dim schema.ScopeDimension) bool {
	if dim.Within == schema.ScopeOwner {
		return true
	}
	k := schema.Lookup(dim.To)
	return k != nil && !k.Optional
}

// hasScopedValues reports whether kind k holds variable values with a
// scope map.
func hasScopedValues(k *schema.Kind) bool {
	for _, vs := range k.Values {
		if vs.Scope != "" {
			return true
		}
	}
	return false
}

// keepUnscoped adds to merged (the document to write) the destination
// values unscoped by the lost-scope decision that it lacks: the plan's
// document never had them (reading left them out).
func keepUnscoped(k *schema.Kind, merged map[string]any, unscoped []any) {
	if len(unscoped) == 0 {
		return
	}
	for _, vs := range k.Values {
		arr, ok := merged[vs.Items].([]any)
		if !ok || vs.Scope == "" {
			continue
		}
		ids := map[string]bool{}
		for _, el := range arr {
			if id, _ := asMap(el)["Id"].(string); id != "" {
				ids[id] = true
			}
		}
		for _, el := range unscoped {
			if id, _ := asMap(el)["Id"].(string); id != "" && !ids[id] {
				arr = append(arr, el)
				ids[id] = true
			}
		}
		merged[vs.Items] = arr
	}
}

// anyDangling reports whether a value element of live has a scope entry
// that names nothing (see cleanDangling), without changing live.
func anyDangling(k *schema.Kind, live map[string]any, root string, alive aliveFunc) bool {
	return trimScopes(k, live, danglingIn(root, alive), func(scopeTrim) trimAction { return trimStop })
}
