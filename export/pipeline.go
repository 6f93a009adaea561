package export

import (
	"log/slog"
	"runtime"
	"sync"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
)

// pipeline converts each top-level entity and everything below it (a
// project and its processes, variables and the rest) as soon as the
// snapshot has read them (snapshot.Options.Ready), while the rest of the
// space is still being read: converting and checking every entity after
// the last read was most of what an export added to its reads. Only for a
// whole-space export: a project selection is known only once every
// dependency is read. Teams and user roles, and anything the pipeline did
// not convert, are converted after the read, as before.
type pipeline struct {
	o     Options
	log   *slog.Logger
	b     *bundles.Bundle
	roots *snapshot.Roots
	done  chan struct{} // closed when every root is converted

	stampsOnce sync.Once
	stamps     *stampValues

	mu      sync.Mutex
	results map[*snapshot.Entity]*converted
}

// converted is the outcome of converting and putting one entity.
type converted struct {
	path              string
	scrubbed, lagging []string
	err, putErr       error
}

func newPipeline(o Options, log *slog.Logger, b *bundles.Bundle) *pipeline {
	p := &pipeline{o: o, log: log, b: b, roots: snapshot.NewRoots(), done: make(chan struct{}), results: map[*snapshot.Entity]*converted{}}
	go func() {
		defer close(p.done)
		p.roots.Each(runtime.GOMAXPROCS(0), p.convert)
	}()
	return p
}

// ready is the snapshot's Ready hook: each top-level entity is queued,
// but for those candidates chooses one by one (teams and user roles),
// which wait for the end of the read.
func (p *pipeline) ready(s *snapshot.Snapshot, root *snapshot.Entity) {
	if !chosenOneByOne(root.Kind.Name) {
		p.roots.Add(s, root)
	}
}

// finish waits for every queued entity to be converted; the read is over.
func (p *pipeline) finish() {
	p.roots.Close()
	<-p.done
}

// convert converts and puts root and every entity below it.
func (p *pipeline) convert(s *snapshot.Snapshot, root *snapshot.Entity) {
	p.stampsOnce.Do(func() { p.stamps = &stampValues{s: s, values: map[stampField]stampValue{}} })
	for _, e := range subtree(s, root) {
		if !exported(e.Kind, p.o) {
			continue
		}
		r := &converted{}
		res, err := convert(s, e, nil, p.stamps)
		if r.scrubbed, r.lagging, r.err = res.Scrubbed, res.Warnings, err; err == nil {
			r.path, r.putErr = p.b.PutEntity(e.Kind, e.Names(), res.Doc)
		}
		p.mu.Lock()
		p.results[e] = r
		p.mu.Unlock()
	}
}

// result returns what the pipeline made of e, if it converted it.
func (p *pipeline) result(e *snapshot.Entity) (*converted, bool) {
	if p == nil {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.results[e]
	return r, ok
}

// subtree returns e and every entity below it.
func subtree(s *snapshot.Snapshot, e *snapshot.Entity) []*snapshot.Entity {
	out := []*snapshot.Entity{e}
	for _, k := range schema.Kinds() {
		if k.Parent != e.Kind.Name {
			continue
		}
		for _, c := range s.Children(e, k.Name) {
			out = append(out, subtree(s, c)...)
		}
	}
	return out
}

// exported reports whether an export writes entities of kind k at all
// (candidates); a whole-space export writes every one of them but teams,
// their scoped user roles and user roles, which candidates chooses one by
// one (chosenOneByOne) and ready leaves to after the read.
func exported(k *schema.Kind, o Options) bool {
	return k.Policy != schema.PolicyNever && !k.IsVirtual() && k.File != "" && (!k.Optional || o.Optional)
}
