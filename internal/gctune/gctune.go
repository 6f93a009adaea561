// Package gctune keeps the Go runtime's soft memory limit (GOMEMLIMIT) in
// proportion to the live heap, so that a large instance gets room to grow
// while a small one keeps a small peak.
//
// A fixed limit is right for one size only. Below it, it caps the heap's
// bursts (with GOGC at 100 the heap may grow to twice what is live before
// a collection). Near or above it, the collector runs after every few
// megabytes allocated, each time marking the whole live heap, so CPU grows
// with the square of the instance: octobundle's fixed 320 MiB, right for
// 2,000 projects, made an export of 10,000 projects (about 650 MB live)
// cost 22 times the CPU of 2,000 projects for 5 times the work. Here the
// limit is Floor or Headroom times the live heap, whichever is larger,
// updated after every collection: a collection then comes after allocating
// at least half the live heap, so its cost stays proportional to the work.
// A ceiling, when set, bounds that: past it the limit is the ceiling, or
// MinHeadroom times the live heap when that is more, so memory stays under
// a budget at the price of more frequent collections near it.
package gctune

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// Headroom is the limit's multiple of the live heap: the heap may grow to
// one and a half times what the last collection found live.
const Headroom = 1.5

// liveMetric is the runtime's count of the heap bytes the last collection
// marked live.
const liveMetric = "/gc/heap/live:bytes"

// MinHeadroom is the limit's multiple of the live heap past the ceiling:
// the heap may still grow by a tenth of what is live.
const MinHeadroom = 1.1

// Limit returns the soft memory limit for a live heap of live bytes: floor
// or Headroom times live, whichever is larger; with a ceiling (> 0), a
// Headroom limit above it is the ceiling or MinHeadroom times live,
// whichever is larger.
func Limit(live, floor, ceiling int64) int64 {
	l := float64(live)
	h := l * Headroom
	if ceiling > 0 && h > float64(ceiling) {
		h = max(float64(ceiling), l*MinHeadroom)
	}
	if h >= math.MaxInt64 {
		return math.MaxInt64
	}
	return max(floor, int64(h))
}

var (
	mu      sync.Mutex
	floor   int64 // 0: not started
	ceiling int64
)

// Start sets the soft memory limit to floor bytes and, after every
// collection from now on, to Limit of the heap found live, floor and
// ceiling (0: none). Calling it again changes the floor and the ceiling.
func Start(f, c int64) {
	mu.Lock()
	started := floor != 0
	floor, ceiling = f, c
	mu.Unlock()
	retune()
	if !started {
		arm()
	}
}

// retune sets the limit from the live heap the last collection found.
func retune() {
	s := []metrics.Sample{{Name: liveMetric}}
	metrics.Read(s)
	var live int64
	if s[0].Value.Kind() == metrics.KindUint64 {
		live = int64(min(s[0].Value.Uint64(), math.MaxInt64))
	}
	mu.Lock()
	f, c := floor, ceiling
	mu.Unlock()
	debug.SetMemoryLimit(Limit(live, f, c))
}

// sentinel is an object that becomes garbage as soon as it is made: its
// finalizer runs once after the next collection. It has a pointer field
// (always nil: a cycle would never be finalized) so that the tiny
// allocator, whose objects may never be finalized, does not batch it.
type sentinel struct {
	_ *byte
	_ [24]byte
}

// arm makes a sentinel whose finalizer retunes the limit and arms the next
// one: a cycle of one finalizer per collection.
func arm() {
	s := &sentinel{}
	runtime.SetFinalizer(s, func(*sentinel) {
		retune()
		arm()
	})
}
