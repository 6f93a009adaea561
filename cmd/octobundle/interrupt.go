package main

import (
	"fmt"
	"sync"

	"github.com/octobundle/octobundle/apply/plans"
)

// writeTally counts, over one run of the CLI, the entities apply wrote and
// meant to write (every destination of a fan-out), for the one line an
// interrupted run prints.
type writeTally struct {
	mu             sync.Mutex
	written, total int
}

// tally is the run's count (reset by run).
var tally writeTally

func (t *writeTally) reset() {
	t.mu.Lock()
	t.written, t.total = 0, 0
	t.mu.Unlock()
}

// add counts a receipt: the entities created, updated or deleted, of
// those plus the ones that failed or were skipped.
func (t *writeTally) add(r *plans.Receipt) {
	done := r.Summary[plans.OutcomeCreated] + r.Summary[plans.OutcomeUpdated] + r.Summary[plans.OutcomeDeleted]
	t.mu.Lock()
	t.written += done
	t.total += done + r.Summary[plans.OutcomeFailed] + r.Summary[plans.OutcomeSkipped]
	t.mu.Unlock()
}

// interrupted is the line an interrupted command ends with.
func (t *writeTally) interrupted() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.total == 0 {
		return "interrupted: nothing written; run it again to finish"
	}
	return fmt.Sprintf("interrupted: %d of %d written; run it again to finish", t.written, t.total)
}
