package snapshot

import (
	"sync"
	"testing"
)

// TestRoots checks that Each hands every root added, before or while it
// runs, to exactly one worker, and returns only after Close; and that
// Snapshot waits for the first root, or the end of a read that had none.
func TestRoots(t *testing.T) {
	empty := NewRoots()
	empty.Close()
	if s := empty.Snapshot(); s != nil {
		t.Errorf("Snapshot of a read without roots = %v, want nil", s)
	}
	empty.Each(2, func(*Snapshot, *Entity) { t.Error("a root from an empty read") })

	r := NewRoots()
	s := &Snapshot{}
	roots := make([]*Entity, 100)
	for i := range roots {
		roots[i] = &Entity{}
	}
	r.Add(s, roots[0]) // before Each
	seen := map[*Entity]int{}
	var mu sync.Mutex
	each := make(chan struct{})
	go func() {
		defer close(each)
		r.Each(3, func(got *Snapshot, e *Entity) {
			if got != s {
				t.Error("the wrong snapshot")
			}
			mu.Lock()
			seen[e]++
			mu.Unlock()
		})
	}()
	if got := r.Snapshot(); got != s {
		t.Errorf("Snapshot = %p, want %p", got, s)
	}
	var wg sync.WaitGroup
	for _, e := range roots[1:] { // while Each runs, from several goroutines
		wg.Add(1)
		go func() { defer wg.Done(); r.Add(s, e) }()
	}
	wg.Wait()
	select {
	case <-each:
		t.Fatal("Each returned before Close")
	default:
	}
	r.Close()
	<-each
	for i, e := range roots {
		if seen[e] != 1 {
			t.Errorf("root %d handed out %d times", i, seen[e])
		}
	}
}
