package apply

import (
	"context"

	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/snapshot"
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
}

// Prefetch starts reading the destination space of c as MakePlan, Apply
// and Execute would (o's Optional, Concurrency, Logger and Progress), and
// returns at once. Pass the result in Options.Prefetched; it serves one
// plan. Cancel it when it will not be used.
//
// Only prefetch where reading early is as good as reading late: apply
// prefetches after taking the state's lock, so no other apply writes to
// the destination between the read and the plan.
func Prefetch(ctx context.Context, c *octopus.Client, o Options) *Prefetched {
	o = o.withDefaults()
	ctx, cancel := context.WithCancel(ctx)
	p := &Prefetched{client: c, done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(p.done)
		p.snap, p.err = snapshot.Read(ctx, c, snapshot.Options{
			Optional: o.Optional, Concurrency: o.Concurrency, Logger: o.Logger, Progress: o.Progress,
		})
	}()
	return p
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
	return snapshot.Read(ctx, c, snapshot.Options{
		Optional: o.Optional, Concurrency: o.Concurrency, Logger: o.Logger, Progress: o.Progress,
	})
}
