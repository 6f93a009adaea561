package bundles

// Catalog returns every entity like Entries, without its document (Doc is
// nil): what a caller needs to visit a large bundle one entity at a time,
// reading each document with Entity when it gets to it, instead of holding
// every decoded document at once.
func (b *Bundle) Catalog() []Entry {
	list := b.sorted()
	out := make([]Entry, len(list))
	for i, s := range list {
		out[i] = Entry{Kind: s.f.kind, Names: append([]string(nil), s.f.names...), Path: s.path}
	}
	return out
}
