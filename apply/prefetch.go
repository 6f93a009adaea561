package apply

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/parallel"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/policy"
	"github.com/octobundle/octobundle/schema"
)

// Prefetched is a read of the destination space started ahead of planning
// (see Prefetch). Reading the destination is bound by the server's
// latency, reading and checking the bundle and the state's base by the
// CPU: started first, the read overlaps them.
type Prefetched struct {
	client *octopus.Client
	done   chan struct{}
	cancel context.CancelFunc
	snap   *snapshot.Snapshot
	err    error
	// roots are the top-level entities as they are complete: a plan
	// decides a project's entities as soon as its documents are in.
	roots *snapshot.Roots
}

// Prefetch starts reading the destination space of c as MakePlan, Apply
// and Execute would (o's IncludeTargets, Concurrency, Logger and Progress), and
// returns at once. Pass the result in Options.Prefetched; it serves one
// plan. Cancel it when it will not be used.
//
// Only prefetch where reading early is as good as reading late: apply
// prefetches after taking the state's lock, so no other apply writes to
// the destination between the read and the plan.
func Prefetch(ctx context.Context, c *octopus.Client, o Options) *Prefetched {
	o = o.withDefaults()
	ctx, cancel := context.WithCancel(ctx)
	p := &Prefetched{client: c, done: make(chan struct{}), cancel: cancel, roots: snapshot.NewRoots()}
	go func() {
		defer close(p.done)
		ro := readOptions(o)
		ro.Ready = p.roots.Add
		p.snap, p.err = snapshot.Read(ctx, c, ro)
		p.roots.Close()
	}()
	return p
}

// makePlanEarly is makePlan on a prefetched read that decides each
// top-level entity and everything below it (a project, its processes,
// variables and the rest) as soon as they are read, while the rest of the
// destination is still read, and the rest once the read is done. An
// entity refers, within the destination, only to top-level entities
// (listed before any is complete) and to names its own project's
// documents provide (snapshot.Options.Ready).
func makePlanEarly(ctx context.Context, pf *Prefetched, b *bundles.Bundle, pol *policy.Decider, o Options) (*madePlan, error) {
	partial := pf.roots.Snapshot()
	if partial == nil { // an empty space, or the read failed
		snap, err := readDestination(ctx, pf.client, o)
		if err != nil {
			return nil, err
		}
		return makePlan(snap, b, pol, o), nil
	}
	p, pl := newPlan(partial, b, pol, o)
	// The changes of each top-level entity and everything below it.
	byRoot := map[string][]int{}
	for i, ch := range pl.changes {
		if len(ch.Names) > 0 {
			key := planned.RootKind(schema.MustLookup(ch.Kind)).Name + "\x00" + ch.Names[0]
			byRoot[key] = append(byRoot[key], i)
		}
	}
	decided := make([]bool, len(pl.changes))
	var (
		early   atomic.Int64
		claimMu sync.Mutex
		claimed = map[string]bool{}
		each    = make(chan struct{})
	)
	go func() {
		defer close(each)
		pf.roots.Each(runtime.GOMAXPROCS(0), func(_ *snapshot.Snapshot, e *snapshot.Entity) {
			key := e.Kind.Name + "\x00" + e.Name
			claimMu.Lock()
			first := !claimed[key]
			claimed[key] = true
			claimMu.Unlock()
			if !first {
				return // a second destination entity of that name: decided after the read
			}
			for _, i := range byRoot[key] {
				pl.decide(i)
				decided[i] = true
				early.Add(1)
			}
		})
	}()
	snap, err := readDestination(ctx, pf.client, o)
	<-each
	if err != nil {
		return nil, err
	}
	var rest []int
	for i, d := range decided {
		if !d {
			rest = append(rest, i)
		}
	}
	parallel.Each(len(rest), func(j int) { pl.decide(rest[j]) })
	pd := pl.finish(p, b)
	pd.snap, pd.early = snap, int(early.Load())
	return pd, nil
}

// Cancel stops the read and waits for it to end.
func (p *Prefetched) Cancel() {
	if p == nil {
		return
	}
	p.cancel()
	<-p.done
}

// readDestination returns the destination as read for o: the prefetched
// read when o has one for c (waiting for it), else a new read.
func readDestination(ctx context.Context, c *octopus.Client, o Options) (*snapshot.Snapshot, error) {
	if p := o.Prefetched; p != nil && p.client == c {
		select {
		case <-p.done:
		case <-ctx.Done():
			p.Cancel()
			return nil, ctx.Err()
		}
		if p.err != nil {
			return nil, p.err
		}
		return p.snap, nil
	}
	return snapshot.Read(ctx, c, readOptions(o))
}

// readOptions are the options the destination is read with for o.
func readOptions(o Options) snapshot.Options {
	return snapshot.Options{Optional: o.IncludeTargets, Concurrency: o.Concurrency, Logger: o.Logger, Progress: o.Progress}
}
