package bundles

import "sort"

// Catalog returns every entity like Entries, without its document (Doc is
// nil): what a caller needs to visit a large bundle one entity at a time,
// reading each document with Entity when it gets to it, instead of holding
// every decoded document at once.
func (b *Bundle) Catalog() []Entry {
	b.mu.RLock()
	out := make([]Entry, 0, len(b.files))
	for p, f := range b.files {
		out = append(out, Entry{Kind: f.kind, Names: append([]string(nil), f.names...), Path: p})
	}
	b.mu.RUnlock()
	sortEntries(out)
	return out
}

// sortEntries orders entries by kind Order, then kind name, then path.
func sortEntries(out []Entry) {
	sort.Slice(out, func(i, j int) bool {
		a, c := out[i], out[j]
		if a.Kind.Order != c.Kind.Order {
			return a.Kind.Order < c.Kind.Order
		}
		if a.Kind.Name != c.Kind.Name {
			return a.Kind.Name < c.Kind.Name
		}
		return a.Path < c.Path
	})
}
