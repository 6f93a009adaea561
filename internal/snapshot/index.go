package snapshot

import (
	"sort"
	"sync"
)

// Index maps server IDs to names and names to server IDs, per kind and per
// scope. The scope is "" for space-wide names and the server ID of the
// project (or tenant, or library variable set) that a scoped name is unique
// in. It is safe for concurrent use.
type Index struct {
	mu    sync.RWMutex
	names map[key]string
	ids   map[key]string
	dups  map[key][]string
}

type key struct{ kind, scope, value string }

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{names: map[key]string{}, ids: map[key]string{}, dups: map[key][]string{}}
}

// Add records that id is named name within scope. A second, different ID
// with the same name marks the name ambiguous (see Ambiguous).
func (x *Index) Add(kind, scope, id, name string) {
	if id == "" || name == "" {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.names[key{kind, scope, id}] = name
	nk := key{kind, scope, name}
	if prev, ok := x.ids[nk]; ok && prev != id {
		if len(x.dups[nk]) == 0 {
			x.dups[nk] = []string{prev}
		}
		x.dups[nk] = append(x.dups[nk], id)
		return
	}
	x.ids[nk] = id
}

// Name returns the name of id.
func (x *Index) Name(kind, scope, id string) (string, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n, ok := x.names[key{kind, scope, id}]
	return n, ok
}

// ID returns the ID named name.
func (x *Index) ID(kind, scope, name string) (string, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	id, ok := x.ids[key{kind, scope, name}]
	return id, ok
}

// Ambiguous returns the IDs sharing name in scope when there is more than one.
func (x *Index) Ambiguous(kind, scope, name string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	d := x.dups[key{kind, scope, name}]
	out := append([]string(nil), d...)
	sort.Strings(out)
	return out
}

// Names returns every name of kind within scope, sorted.
func (x *Index) Names(kind, scope string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []string
	for k := range x.ids {
		if k.kind == kind && k.scope == scope {
			out = append(out, k.value)
		}
	}
	sort.Strings(out)
	return out
}
