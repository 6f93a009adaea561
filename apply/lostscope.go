package apply

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/apply/internal/scopes"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/schema"
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
type LostScope = scopes.LostScope

// The lost-scope decisions.
const (
	// LostScopeDrop removes the value.
	LostScopeDrop = scopes.Drop
	// LostScopeUnscope removes the scope dimension: the value applies more
	// widely.
	LostScopeUnscope = scopes.Unscope
)

// removedName is a name the plan removes, in a namespace (kind or virtual
// namespace), within an owner ("" for space-wide), folded.
type removedName = planned.NameKey

// removedNames lists the names ch's entity provides in base and no longer
// provides in the bundle (ch.provides) or under a new name (ch.renames):
// the actions of steps the source deleted.
func removedNames(ch *change, base any) []removedName {
	var out []removedName
	now := map[planned.NameKey]bool{}
	for _, p := range ch.Provides {
		now[foldKey(p)] = true
	}
	k := schema.MustLookup(ch.Kind)
	renamedFrom := map[string]bool{}
	for ns, m := range providedRenames(k, ch.Names, ch.renames) {
		for from := range m {
			renamedFrom[ns+"\x00"+from] = true
		}
	}
	for _, p := range planned.ProvidedNames(ch.Change, base) {
		f := foldKey(p)
		if !now[f] && !renamedFrom[f.Kind+"\x00"+f.Name] {
			out = append(out, f)
		}
	}
	return out
}

// foldKey is a name key with its name folded (Octopus compares names
// case-insensitively).
func foldKey(k planned.NameKey) planned.NameKey {
	return planned.NameKey{Kind: k.Kind, Scope: strings.ToLower(k.Scope), Name: strings.ToLower(k.Name)}
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
	out := []removedName{foldKey(planned.NameKey{Kind: k.Name, Scope: scope, Name: name})}
	for _, p := range k.Provides {
		if p.Path == "" {
			s := names[0]
			if p.Within == schema.ScopeSpace {
				s = ""
			}
			out = append(out, foldKey(planned.NameKey{Kind: p.Kind, Scope: s, Name: name}))
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
		return removed[foldKey(planned.NameKey{Kind: dim.To, Scope: owner, Name: entry})]
	}
	scopes.Walk(k, m, gone, func(t scopes.Trim) scopes.TrimAction {
		what := fmt.Sprintf("%s[%s]", t.Items, placeholderLabel(t.Value))
		goneList := scopes.QuoteEntries(t.Gone)
		switch {
		case len(t.Left) > 0:
			notes = append(notes, fmt.Sprintf("%s: %s scope %s removed (the plan removes it); the value keeps %s", what, t.Dim.Name, goneList, scopes.QuoteEntries(t.Left)))
			return scopes.TrimNarrow
		case decision == LostScopeUnscope:
			notes = append(notes, fmt.Sprintf("%s: lost its whole %s scope (%s, which the plan removes); unscoped (--on-lost-scope unscope): it now applies more widely", what, t.Dim.Name, goneList))
			return scopes.TrimUnscope
		case decision == LostScopeDrop:
			notes = append(notes, fmt.Sprintf("%s: lost its whole %s scope (%s, which the plan removes); dropped (--on-lost-scope drop)", what, t.Dim.Name, goneList))
			if sens, _ := schema.SensitiveFlag(t.Value); sens {
				cleanup = append(cleanup, plans.CleanupItem{Kind: k.Name, Names: names, Field: what,
					Why: "destination sensitive variable dropped with its lost scope (--on-lost-scope drop): its secret is gone; if it is still needed, add it again and set its value"})
			}
			return scopes.TrimDrop
		}
		problems = append(problems, fmt.Sprintf("%s would lose its whole %s scope (%s, which the plan removes): decide with --on-lost-scope drop (remove the value) or --on-lost-scope unscope (keep it, applying more widely), or re-scope it on the destination first", what, t.Dim.Name, goneList))
		return scopes.TrimLeave
	})
	return notes, cleanup, problems
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
			if !b.Has(e.Kind, e.Names...) && authoritative(b, e.Kind, e.Names) && planned.Deletable(e.Kind) {
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
		for _, p := range ch.Provides {
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
