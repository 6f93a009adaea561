package snapshot

import "sync"

// Roots hands the top-level entities a read reports complete
// (Options.Ready) to workers as they come, while the rest of the space is
// read: export converts, and plan decides, each one then. Use Add as
// Options.Ready, Close once Read has returned, and Each once.
type Roots struct {
	mu     sync.Mutex
	cond   *sync.Cond
	snap   *Snapshot
	list   []*Entity
	closed bool
}

// NewRoots returns an empty Roots.
func NewRoots() *Roots {
	r := &Roots{}
	r.cond = sync.NewCond(&r.mu)
	return r
}

// Add records that root and everything below it are read in s; it is an
// Options.Ready.
func (r *Roots) Add(s *Snapshot, root *Entity) {
	r.mu.Lock()
	r.snap = s
	r.list = append(r.list, root)
	r.mu.Unlock()
	r.cond.Broadcast()
}

// Close says the read is over: no root comes after.
func (r *Roots) Close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cond.Broadcast()
}

// Snapshot returns the snapshot being read once its first root is
// complete (every collection is listed by then), or nil if the read ended
// first (an empty space, or a failed read).
func (r *Roots) Snapshot() *Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.snap == nil && !r.closed {
		r.cond.Wait()
	}
	return r.snap
}

// Each calls fn with each root, in the order they were complete, on
// workers goroutines, as they come; it returns once Close was called and
// every root was handed out and done.
func (r *Roots) Each(workers int, fn func(s *Snapshot, root *Entity)) {
	next := 0
	take := func() (*Snapshot, *Entity, bool) {
		r.mu.Lock()
		defer r.mu.Unlock()
		for next >= len(r.list) && !r.closed {
			r.cond.Wait()
		}
		if next >= len(r.list) {
			return nil, nil, false
		}
		next++
		return r.snap, r.list[next-1], true
	}
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				s, e, ok := take()
				if !ok {
					return
				}
				fn(s, e)
			}
		}()
	}
	wg.Wait()
}
