package parallel

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestEach(t *testing.T) {
	for _, n := range []int{0, 1, 2, 7, 1000} {
		seen := make([]int32, n)
		var calls atomic.Int32
		Each(n, func(i int) {
			atomic.AddInt32(&seen[i], 1)
			calls.Add(1)
		})
		if int(calls.Load()) != n {
			t.Fatalf("n=%d: %d calls", n, calls.Load())
		}
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("n=%d: index %d called %d times", n, i, c)
			}
		}
	}
}

// TestEachN checks that EachN runs every index once on at most workers
// goroutines at a time, and more than GOMAXPROCS when asked (file writers
// wait rather than compute).
func TestEachN(t *testing.T) {
	for _, workers := range []int{1, 3, 16} {
		var now, most atomic.Int32
		seen := make([]int32, 64)
		EachN(len(seen), workers, func(i int) {
			n := now.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(2 * time.Millisecond)
			now.Add(-1)
			atomic.AddInt32(&seen[i], 1)
		})
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("workers=%d: index %d called %d times", workers, i, c)
			}
		}
		if m := int(most.Load()); m > workers || (workers > 1 && m < 2) {
			t.Errorf("workers=%d: %d ran at once", workers, m)
		}
	}
}
