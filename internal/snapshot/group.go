package snapshot

import (
	"context"
	"sync"
	"sync/atomic"
)

// A read is one group of tasks, each making one request (or, for a parts
// document, one after another), that may add more tasks while they run: a
// collection's first page adds its other pages, a list request adds the
// per-owner reads of the owners its answer lacked. So requests of every
// stage overlap — the per-owner reads of kinds without a list form run
// beside the list requests of the others — instead of each stage waiting
// for the slowest request of the one before (octobench's timeline of an
// N = 2,000 export showed 1.3 to 3.5 of 8 requests in flight during the
// lists' first three seconds).
//
// A task holds a request slot (reader.sem) from its start until it calls
// answered, or until it returns: a task that has its answer decodes it
// without holding a slot, so the next request starts meanwhile. At most
// twice as many tasks as slots run at once, which bounds the answers held
// in memory.

// group runs tasks with a reader's bounded parallelism; tasks may add
// more with add and addFirst. The first error cancels the rest.
type group struct {
	r      *reader
	ctx    context.Context
	cancel context.CancelFunc
	busy   chan struct{} // bounds tasks running, answered or not

	mu      sync.Mutex
	urgent  []func(context.Context) error // run before queue, in order
	queue   []func(context.Context) error
	head    int // queue[:head] are taken
	running int
	err     error
	wake    chan struct{} // a task ended (capacity 1)
}

// group starts an empty group of r's tasks under ctx.
func (r *reader) group(ctx context.Context) *group {
	ctx, cancel := context.WithCancel(ctx)
	return &group{r: r, ctx: ctx, cancel: cancel, busy: make(chan struct{}, 2*cap(r.sem)), wake: make(chan struct{}, 1)}
}

// add queues tasks after those queued.
func (g *group) add(tasks ...func(context.Context) error) {
	g.r.count(len(tasks))
	g.mu.Lock()
	g.queue = append(g.queue, tasks...)
	g.mu.Unlock()
	g.poke()
}

// addFirst queues tasks before those queued with add (a list answer's
// follow-ups, which complete owners already partly read).
func (g *group) addFirst(tasks ...func(context.Context) error) {
	g.r.count(len(tasks))
	g.mu.Lock()
	g.urgent = append(g.urgent, tasks...)
	g.mu.Unlock()
	g.poke()
}

// poke wakes wait if it waits for a task to end.
func (g *group) poke() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// next takes the next task, nil when none is queued; g.mu is held.
func (g *group) next() func(context.Context) error {
	if len(g.urgent) > 0 {
		t := g.urgent[0]
		g.urgent[0] = nil
		g.urgent = g.urgent[1:]
		return t
	}
	if g.head < len(g.queue) {
		t := g.queue[g.head]
		g.queue[g.head] = nil
		g.head++
		return t
	}
	return nil
}

// wait runs the group's tasks, and those they add, until none is left or
// one fails, and returns the first error. The next task is chosen when a
// request slot is free, so a task added first meanwhile goes before the
// queue.
func (g *group) wait() error {
	defer g.cancel()
	for g.acquire() {
		g.mu.Lock()
		var t func(context.Context) error
		if g.err == nil && g.ctx.Err() == nil {
			t = g.next()
		}
		if t != nil {
			g.running++
		}
		running := g.running
		g.mu.Unlock()
		if t != nil {
			go g.do(t)
			continue
		}
		<-g.r.sem
		<-g.busy
		if running == 0 {
			break
		}
		<-g.wake
	}
	for {
		g.mu.Lock()
		running := g.running
		g.mu.Unlock()
		if running == 0 {
			break
		}
		<-g.wake
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return g.err
	}
	return g.ctx.Err()
}

// acquire takes a task place and a request slot; false when the group
// was cancelled first.
func (g *group) acquire() bool {
	select {
	case g.busy <- struct{}{}:
	case <-g.ctx.Done():
		return false
	}
	select {
	case g.r.sem <- struct{}{}:
		return true
	case <-g.ctx.Done():
		<-g.busy
		return false
	}
}

// do runs t, which holds a task place and a request slot.
func (g *group) do(t func(context.Context) error) {
	s := &slot{sem: g.r.sem}
	err := t(context.WithValue(g.ctx, slotKey{}, s))
	if err != nil {
		// Before the slot is free, so no task starts after the error.
		g.fail(err)
	}
	s.release()
	<-g.busy
	g.end(err)
}

// fail records err, unless an error came first, and cancels the group.
func (g *group) fail(err error) {
	g.mu.Lock()
	if g.err == nil {
		g.err = err
		g.cancel()
	}
	g.mu.Unlock()
}

// end records that a task ended (with err, already recorded by fail).
func (g *group) end(err error) {
	if err == nil {
		g.r.step()
	}
	g.mu.Lock()
	g.running--
	g.mu.Unlock()
	g.poke()
}

// slot is the request slot a running task holds until it is answered.
type slot struct {
	sem  chan struct{}
	done atomic.Bool
}

func (s *slot) release() {
	if s.done.CompareAndSwap(false, true) {
		<-s.sem
	}
}

type slotKey struct{}

// answered gives back the request slot of the task ctx belongs to: its
// last request is answered and what remains is decoding. It is a no-op
// outside a group's task and after the first call.
func answered(ctx context.Context) {
	if s, ok := ctx.Value(slotKey{}).(*slot); ok {
		s.release()
	}
}

// count adds n steps to the progress total.
func (r *reader) count(n int) {
	r.mu.Lock()
	r.total += n
	r.mu.Unlock()
}

// step records one step done and reports progress.
func (r *reader) step() {
	r.mu.Lock()
	r.done++
	d, n := r.done, r.total
	r.mu.Unlock()
	if r.progress != nil {
		r.progress(d, n)
	}
}
