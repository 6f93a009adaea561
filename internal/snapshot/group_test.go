package snapshot

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGroup runs groups of tasks that add more while they run, and checks
// the order they start in, that every one runs once, that no more than
// the slots run requests at once, and that the first error stops the rest.
func TestGroup(t *testing.T) {
	tests := []struct {
		name  string
		slots int
		// tasks are named; a task adds the tasks in adds (first: before
		// those queued) and fails when fail names it.
		tasks  []string
		adds   map[string][]string
		first  map[string][]string
		fail   string
		early  bool     // tasks give back their slot before adding more
		want   []string // start order; nil: any order
		wantN  int      // tasks run
		wantOK bool
	}{
		{name: "queued in order", slots: 1, tasks: []string{"a", "b", "c"}, want: []string{"a", "b", "c"}, wantN: 3, wantOK: true},
		{name: "added after the queue", slots: 1, tasks: []string{"a", "b"}, adds: map[string][]string{"a": {"a1", "a2"}},
			want: []string{"a", "b", "a1", "a2"}, wantN: 4, wantOK: true},
		{name: "added first", slots: 1, tasks: []string{"a", "b", "c"}, first: map[string][]string{"a": {"a1", "a2"}, "a1": {"a11"}},
			want: []string{"a", "a1", "a2", "a11", "b", "c"}, wantN: 6, wantOK: true},
		{name: "answered early", slots: 1, tasks: []string{"a", "b", "c"}, first: map[string][]string{"a": {"a1"}}, early: true,
			want: []string{"a", "b", "a1", "c"}, wantN: 4, wantOK: true},
		{name: "many slots", slots: 4, tasks: []string{"a", "b", "c", "d", "e", "f"}, first: map[string][]string{"a": {"a1"}, "f": {"f1", "f2"}},
			wantN: 9, wantOK: true},
		{name: "an error stops the rest", slots: 1, tasks: []string{"a", "b", "c"}, fail: "b", want: []string{"a", "b"}, wantN: 2},
		{name: "an added task's error", slots: 2, tasks: []string{"a"}, first: map[string][]string{"a": {"x"}}, fail: "x", wantN: 2},
		{name: "none", slots: 3, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &reader{sem: make(chan struct{}, tt.slots)}
			var progress atomic.Int32
			r.progress = func(done, total int) { progress.Add(1) }
			g := r.group(context.Background())
			var mu sync.Mutex
			var started []string
			var inFlight, most atomic.Int32
			var task func(name string) func(context.Context) error
			task = func(name string) func(context.Context) error {
				return func(ctx context.Context) error {
					mu.Lock()
					started = append(started, name)
					mu.Unlock()
					n := inFlight.Add(1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					time.Sleep(time.Millisecond) // the request
					inFlight.Add(-1)
					if tt.early {
						answered(ctx)
						// Decoding: a's is short, so it ends, and adds a1
						// first, while b decodes.
						d := 40 * time.Millisecond
						if name == "a" {
							d = 5 * time.Millisecond
						}
						time.Sleep(d)
					}
					var more, front []func(context.Context) error
					for _, a := range tt.adds[name] {
						more = append(more, task(a))
					}
					for _, a := range tt.first[name] {
						front = append(front, task(a))
					}
					g.add(more...)
					g.addFirst(front...)
					if name == tt.fail {
						return errors.New("failed: " + name)
					}
					answered(ctx)
					answered(ctx) // a second call gives back nothing
					return nil
				}
			}
			for _, name := range tt.tasks {
				g.add(task(name))
			}
			err := g.wait()
			if (err == nil) != tt.wantOK {
				t.Fatalf("wait: %v", err)
			}
			if tt.want != nil && !slices.Equal(started, tt.want) {
				t.Errorf("started %v, want %v", started, tt.want)
			}
			if len(started) != tt.wantN {
				t.Errorf("%d tasks ran (%v), want %d", len(started), started, tt.wantN)
			}
			if got := int(most.Load()); got > tt.slots {
				t.Errorf("%d requests at once, slots %d", got, tt.slots)
			}
			if len(r.sem) != 0 || len(g.busy) != 0 {
				t.Errorf("slots held after wait: %d requests, %d tasks", len(r.sem), len(g.busy))
			}
			if tt.wantOK && int(progress.Load()) != tt.wantN {
				t.Errorf("progress reported %d times, want %d", progress.Load(), tt.wantN)
			}
		})
	}
}

// TestGroupCancelled stops dispatching when the caller's context ends and
// returns its error once the running tasks have ended.
func TestGroupCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &reader{sem: make(chan struct{}, 1)}
	g := r.group(ctx)
	ran := 0
	g.add(func(ctx context.Context) error { ran++; cancel(); return nil },
		func(ctx context.Context) error { ran++; return nil })
	if err := g.wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait: %v, want context.Canceled", err)
	}
	if ran != 1 {
		t.Errorf("%d tasks ran after the cancel, want 1", ran)
	}
}
