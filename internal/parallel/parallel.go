// Package parallel runs work over an index range on every core (Each), or
// on a given number of goroutines for work that waits (EachN).
// (Network-bound work bounds its own concurrency; see internal/snapshot.)
package parallel

import (
	"runtime"
	"sync"
)

// Each calls fn(i) for every i in [0, n), on up to GOMAXPROCS goroutines,
// and returns when all calls have returned. fn must be safe to call
// concurrently for different i.
func Each(n int, fn func(i int)) {
	EachN(n, runtime.GOMAXPROCS(0), fn)
}

// EachN is Each on up to workers goroutines, for work that waits (on
// files, say) rather than computes.
func EachN(n, workers int, fn func(i int)) {
	workers = min(workers, n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
}
