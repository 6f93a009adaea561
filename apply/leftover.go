package apply

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/octobundle/octobundle/apply/internal/secrets"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
)

// PlaceholderPrefix starts every placeholder secret apply writes, so an
// administrator (or a script) can find the values to replace.
const PlaceholderPrefix = secrets.PlaceholderPrefix

// leftoverPlaceholders finds the placeholders earlier applies wrote that
// are still on the destination, so that a lost clean-up report can be
// rebuilt from a plan: every string field of every destination document
// that contains PlaceholderPrefix (a placeholder certificate's subject,
// a placeholder in a field the server returns). Sensitive values are never
// returned by Octopus, so a placeholder in one cannot be seen: only the
// clean-up report lists those. The items name kind, entity and field,
// never a value.
func leftoverPlaceholders(snap *snapshot.Snapshot) []plans.CleanupItem {
	var out []plans.CleanupItem
	var w prefixWalk
	for _, k := range schema.Kinds() {
		for _, e := range snap.Entities(k.Name) {
			if !e.MayContain(PlaceholderPrefix) {
				continue // decoded only when it may hold one
			}
			for _, f := range w.find(e.Doc()) {
				out = append(out, plans.CleanupItem{Kind: k.Name, Names: e.Names(), Field: f,
					Why: "still holds the placeholder an earlier apply wrote (" + PlaceholderPrefix + "): set the real value"})
			}
		}
	}
	return out
}

// seg is one step of a path: an object key, or an array index (key "").
type seg struct {
	key string
	idx int
}

// prefixWalk finds the strings of a document that contain
// PlaceholderPrefix. It runs over every destination document on every
// plan, and nearly none holds a placeholder: it allocates only for a hit,
// walking objects in map order and sorting the hits afterwards rather than
// sorting every object's keys.
type prefixWalk struct {
	at   []seg
	hits [][]seg
}

// find returns the paths ("/Variables[1]/Value") of the strings under v
// that contain PlaceholderPrefix, in document order (object keys sorted).
func (w *prefixWalk) find(v any) []string {
	w.at, w.hits = w.at[:0], w.hits[:0]
	w.walk(v)
	if len(w.hits) == 0 {
		return nil
	}
	slices.SortFunc(w.hits, func(a, b []seg) int {
		for i := range min(len(a), len(b)) {
			if c := cmp.Compare(a[i].key, b[i].key); c != 0 {
				return c
			}
			if c := cmp.Compare(a[i].idx, b[i].idx); c != 0 {
				return c
			}
		}
		return cmp.Compare(len(a), len(b))
	})
	out := make([]string, len(w.hits))
	for i, h := range w.hits {
		var b strings.Builder
		for _, s := range h {
			if s.key != "" || s.idx < 0 {
				b.WriteString("/" + s.key)
			} else {
				fmt.Fprintf(&b, "[%d]", s.idx)
			}
		}
		out[i] = b.String()
	}
	return out
}

func (w *prefixWalk) walk(v any) {
	switch v := v.(type) {
	case string:
		if strings.Contains(v, PlaceholderPrefix) {
			w.hits = append(w.hits, slices.Clone(w.at))
		}
	case map[string]any:
		for k, x := range v {
			w.at = append(w.at, seg{key: k, idx: -1})
			w.walk(x)
			w.at = w.at[:len(w.at)-1]
		}
	case []any:
		for i, x := range v {
			w.at = append(w.at, seg{idx: i})
			w.walk(x)
			w.at = w.at[:len(w.at)-1]
		}
	}
}
