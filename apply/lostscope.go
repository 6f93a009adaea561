package apply

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

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
func removedNames(ch *Change, base any) []removedName {
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
	if len(names) == 0 || k.IsSingleton() || k.Many {
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
func lostScope(k *schema.Kind, names []string, doc any, removed map[removedName]bool, decision LostScope, placeholderLabel func(v map[string]any) string) (notes []string, cleanup []CleanupItem, problems []string) {
	m := asMap(doc)
	if m == nil || len(removed) == 0 || len(names) == 0 {
		return nil, nil, nil
	}
	for _, vs := range k.Values {
		if vs.Scope == "" {
			continue
		}
		arr, ok := m[vs.Items].([]any)
		if !ok {
			continue
		}
		out := arr[:0:0]
		for _, el := range arr {
			v := asMap(el)
			sc := asMap(v[vs.Scope])
			keep := true
			for _, dim := range schema.ScopeDimensions {
				entries, ok := sc[dim.Name].([]any)
				if !ok || len(entries) == 0 {
					continue
				}
				owner := ""
				if dim.Within == schema.ScopeOwner {
					owner = names[0]
				}
				var left, gone []any
				for _, e := range entries {
					s, _ := e.(string)
					if removed[foldKey(nameKey{dim.To, owner, s})] {
						gone = append(gone, e)
					} else {
						left = append(left, e)
					}
				}
				if len(gone) == 0 {
					continue
				}
				what := fmt.Sprintf("%s[%s]", vs.Items, placeholderLabel(v))
				goneList := quoteEntries(gone)
				switch {
				case len(left) > 0:
					sc[dim.Name] = left
					notes = append(notes, fmt.Sprintf("%s: %s scope %s removed (the plan removes it); the value keeps %s", what, dim.Name, goneList, quoteEntries(left)))
				case decision == LostScopeUnscope:
					delete(sc, dim.Name)
					notes = append(notes, fmt.Sprintf("%s: lost its whole %s scope (%s, which the plan removes); unscoped (--on-lost-scope unscope): it now applies more widely", what, dim.Name, goneList))
				case decision == LostScopeDrop:
					keep = false
					notes = append(notes, fmt.Sprintf("%s: lost its whole %s scope (%s, which the plan removes); dropped (--on-lost-scope drop)", what, dim.Name, goneList))
					if sens, _ := v["IsSensitive"].(bool); sens {
						cleanup = append(cleanup, CleanupItem{Kind: k.Name, Names: names, Field: what,
							Why: "destination sensitive variable dropped with its lost scope (--on-lost-scope drop): its secret is gone; if it is still needed, add it again and set its value"})
					}
				default:
					problems = append(problems, fmt.Sprintf("%s would lose its whole %s scope (%s, which the plan removes): decide with --on-lost-scope drop (remove the value) or --on-lost-scope unscope (keep it, applying more widely), or re-scope it on the destination first", what, dim.Name, goneList))
				}
				if !keep {
					break
				}
			}
			if keep {
				out = append(out, el)
			}
		}
		m[vs.Items] = out
	}
	return notes, cleanup, problems
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
