package gctune

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestLimit(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name                 string
		live, floor, ceiling int64
		want                 int64
	}{
		{"nothing live yet", 0, 320 * mib, 896 * mib, 320 * mib},
		{"small instance: the floor caps bursts", 100 * mib, 320 * mib, 896 * mib, 320 * mib},
		{"where the floor stops binding", 320 * mib * 2 / 3, 320 * mib, 896 * mib, 320 * mib},
		{"live heap above the floor", 400 * mib, 320 * mib, 896 * mib, 600 * mib},
		{"just under the ceiling", 590 * mib, 320 * mib, 896 * mib, 885 * mib},
		{"10,000 projects: the ceiling", 650 * mib, 320 * mib, 896 * mib, 896 * mib},
		{"past the ceiling: a tenth more than live", 1000 * mib, 320 * mib, 896 * mib, 1100 * mib},
		{"no ceiling", 650 * mib, 320 * mib, 0, 975 * mib},
		{"no floor", 10 * mib, 0, 0, 15 * mib},
		{"overflow", math.MaxInt64, 320 * mib, 896 * mib, math.MaxInt64},
	}
	for _, tt := range tests {
		if got := Limit(tt.live, tt.floor, tt.ceiling); got != tt.want {
			t.Errorf("%s: Limit(%d, %d, %d) = %d, want %d", tt.name, tt.live, tt.floor, tt.ceiling, got, tt.want)
		}
	}
}

// TestStartFollowsLiveHeap: after Start, the limit follows the live heap
// up and back down to the floor, collection after collection.
func TestStartFollowsLiveHeap(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	const floor = 8 << 20
	const size = 64 << 20
	Start(floor, 0)
	if got := debug.SetMemoryLimit(-1); got < floor {
		t.Fatalf("limit %d after Start, want at least the floor %d", got, floor)
	}
	// waitFor collects until the limit satisfies ok (the finalizer that
	// retunes it runs after a collection, on its own goroutine).
	waitFor := func(what string, ok func(int64) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
			got := debug.SetMemoryLimit(-1)
			if ok(got) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("limit %d: want %s", got, what)
			}
		}
	}
	live := make([]byte, size)
	waitFor("at least 1.5 times 64 MiB", func(l int64) bool { return l >= size*3/2 })
	runtime.KeepAlive(live)
	live = nil
	waitFor("back under 64 MiB", func(l int64) bool { return l < size })
}
