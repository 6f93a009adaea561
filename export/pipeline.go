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
	o   Options
	log *slog.Logger
	b   *bundles.Bundle

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*snapshot.Entity
	closed  bool
	s       *snapshot.Snapshot
	stamps  *stampValues
	results map[*snapshot.Entity]*converted

	wg sync.WaitGroup
}

// converted is the outcome of converting and putting one entity.
type converted struct {
	path              string
	scrubbed, lagging []string
	err, putErr       error
}

func newPipeline(o Options, log *slog.Logger, b *bundles.Bundle) *pipeline {
	p := &pipeline{o: o, log: log, b: b, results: map[*snapshot.Entity]*converted{}}
	p.cond = sync.NewCond(&p.mu)
	for range runtime.GOMAXPROCS(0) {
		p.wg.Add(1)
		go p.work()
	}
	return p
}

// ready is the snapshot's Ready hook: each top-level entity is queued,
// but for those candidates chooses one by one (teams and user roles),
// which wait for the end of the read.
func (p *pipeline) ready(s *snapshot.Snapshot, root *snapshot.Entity) {
	if chosenOneByOne(root.Kind.Name) {
		return
	}
	p.mu.Lock()
	if p.s == nil {
		p.s, p.stamps = s, &stampValues{s: s, values: map[stampField]stampValue{}}
	}
	p.queue = append(p.queue, root)
	p.mu.Unlock()
	p.cond.Signal()
}

// finish waits for every queued project to be converted.
func (p *pipeline) finish() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cond.Broadcast()
	p.wg.Wait()
}

func (p *pipeline) work() {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && !p.closed {
			p.cond.Wait()
		}
		if len(p.queue) == 0 {
			p.mu.Unlock()
			return
		}
		root := p.queue[0]
		p.queue = p.queue[1:]
		s, stamps := p.s, p.stamps
		p.mu.Unlock()
		for _, e := range subtree(s, root) {
			if !exported(e.Kind, p.o) {
				continue
			}
			r := &converted{}
			var doc any
			if doc, r.scrubbed, r.lagging, r.err = convertStamped(s, e, nil, stamps); r.err == nil {
				r.path, r.putErr = p.b.PutEntity(e.Kind, e.Names(), doc)
			}
			p.mu.Lock()
			p.results[e] = r
			p.mu.Unlock()
		}
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
