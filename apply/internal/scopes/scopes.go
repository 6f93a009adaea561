// Package scopes finds and trims the scope entries of variable values that
// name something gone: what the plan removes (lost scope, decided by
// LostScope) and what no longer exists on the destination (dangling). The
// planner and the executor both trim with it.
package scopes

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/translate"
)

// asMap is v as an object, or nil.
func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// LostScope is what apply does with a destination value whose whole scope
// dimension names elements the plan removes (Options.OnLostScope).
type LostScope string

// The lost-scope decisions.
const (
	// Drop removes the value.
	Drop LostScope = "drop"
	// Unscope removes the scope dimension: the value applies more
	// widely.
	Unscope LostScope = "unscope"
)

// Trim is one scope dimension of one value element with entries that
// name something Gone: the entries gone and those left.
type Trim struct {
	Items      string         // the value list ("Variables")
	Value      map[string]any // the value element
	Dim        schema.ScopeDimension
	Gone, Left []any
}

// TrimAction is what Walk does with a Trim.
type TrimAction int

const (
	// TrimLeave leaves the value as it is.
	TrimLeave TrimAction = iota
	// TrimNarrow removes the entries gone (left must not be empty).
	TrimNarrow
	// TrimUnscope removes the whole dimension.
	TrimUnscope
	// TrimDrop removes the value.
	TrimDrop
	// TrimStop leaves the value and ends the walk.
	TrimStop
)

// Walk walks the scoped value elements of doc (a document of kind
// k), and for every scope dimension holding entries that gone reports,
// does what decide says. It changes doc in place (unless every answer is
// TrimLeave or TrimStop) and returns whether a walk was stopped.
func Walk(k *schema.Kind, doc map[string]any, gone func(dim schema.ScopeDimension, entry string) bool, decide func(t Trim) TrimAction) bool {
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
				t := Trim{Items: vs.Items, Value: v, Dim: dim}
				for _, e := range entries {
					if s, _ := e.(string); s != "" && gone(dim, s) {
						t.Gone = append(t.Gone, e)
					} else {
						t.Left = append(t.Left, e)
					}
				}
				if len(t.Gone) == 0 {
					continue
				}
				switch decide(t) {
				case TrimStop:
					return true
				case TrimNarrow:
					sc[dim.Name] = t.Left
				case TrimUnscope:
					delete(sc, dim.Name)
				case TrimDrop:
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

// QuoteEntries renders scope entries for messages: "A", "B".
func QuoteEntries(vals []any) string {
	qs := make([]string, len(vals))
	for i, v := range vals {
		qs[i] = strconv.Quote(fmt.Sprint(v))
	}
	slices.Sort(qs)
	return strings.Join(qs, ", ")
}

// Dangling is a destination value with a scope dimension that names
// nothing on the destination.
type Dangling struct {
	Label string // `Variables["X" …]`, as read (IDs)
	Dim   string // the scope dimension
	IDs   []any  // its entries, all dangling
}

// AliveFunc reports whether id names something of the namespace to within
// the scope ("" or the owner's root ID) on the destination.
type AliveFunc func(to, scope, id string) bool

// CleanDangling removes, from the value elements of live (a server
// document of kind k whose owner's root has ID root), the scope entries
// that name nothing, and decides the values left with an empty dimension
// by decision: drop removes them, unscope removes the dimension, "" leaves
// them as they are. It returns those values and the unscoped elements (to
// be kept by the write). It changes live in place.
func CleanDangling(k *schema.Kind, live map[string]any, root string, alive AliveFunc, decision LostScope) (lost []Dangling, unscoped []any) {
	Walk(k, live, danglingIn(root, alive), func(t Trim) TrimAction {
		if len(t.Left) > 0 {
			return TrimNarrow
		}
		name, _ := t.Value["Name"].(string)
		lost = append(lost, Dangling{Label: fmt.Sprintf("%s[%s]", t.Items, strconv.Quote(name)), Dim: t.Dim.Name, IDs: t.Gone})
		switch decision {
		case Drop:
			return TrimDrop
		case Unscope:
			unscoped = append(unscoped, t.Value)
			return TrimUnscope
		}
		return TrimLeave
	})
	return lost, unscoped
}

// danglingIn is the gone test of CleanDangling: an entry of a checked
// dimension that names nothing on the destination.
func danglingIn(root string, alive AliveFunc) func(dim schema.ScopeDimension, entry string) bool {
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

// Problem is the plan error of a destination value whose whole
// dimension names nothing, with no decision.
func (d Dangling) Problem() string {
	return fmt.Sprintf("the destination's %s is scoped only to %s %s, which no longer exists on the destination: decide with --on-lost-scope drop (remove the value) or --on-lost-scope unscope (keep it without that scope), or fix it on the destination first", d.Label, d.Dim, QuoteEntries(d.IDs))
}

// Note is the plan note of a decided one.
func (d Dangling) Note(decision LostScope) string {
	return fmt.Sprintf("the destination's %s is scoped only to %s %s, which no longer exists there: %s (--on-lost-scope %s)", d.Label, d.Dim, QuoteEntries(d.IDs), map[LostScope]string{Drop: "dropped", Unscope: "unscoped: it now applies more widely"}[decision], decision)
}

// SnapAlive is an AliveFunc over a destination snapshot's index.
func SnapAlive(snap *snapshot.Snapshot) AliveFunc {
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

// HasScopedValues reports whether kind k holds variable values with a
// scope map.
func HasScopedValues(k *schema.Kind) bool {
	for _, vs := range k.Values {
		if vs.Scope != "" {
			return true
		}
	}
	return false
}

// KeepUnscoped adds to merged (the document to write) the destination
// values unscoped by the lost-scope decision that it lacks: the plan's
// document never had them (reading left them out).
func KeepUnscoped(k *schema.Kind, merged map[string]any, unscoped []any) {
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

// AnyDangling reports whether a value element of live has a scope entry
// that names nothing (see CleanDangling), without changing live.
func AnyDangling(k *schema.Kind, live map[string]any, root string, alive AliveFunc) bool {
	return Walk(k, live, danglingIn(root, alive), func(Trim) TrimAction { return TrimStop })
}
