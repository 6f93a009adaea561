package apply

import (
	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/snapshot"
)

// change is one entity's plan while apply makes it: what the executor
// gets of it (planned.Change: the plan document's Change and what the
// writes and the state need beyond it) and what only planning uses.
type change struct {
	*planned.Change

	merged   jsonv.Doc  // the merge result of a no-op (plan time only)
	stamps   []stampUse // the destination's step-template stamps (see refreshStamps)
	renames  []plans.Renamed
	removed  []planned.NameKey // names the entity provided in the base and no longer does (see lostscope.go)
	warnings []string          // reading the destination's form (Plan.Warnings)
}

// newChange is a change for the entity kind/names at path, not decided yet.
func newChange(c plans.Change) *change {
	return &change{Change: &planned.Change{Change: &c}}
}

// madePlan is a plan made in this process, with what executing it needs
// beyond the plan document.
type madePlan struct {
	*plans.Plan
	// changes are the plan's changes, changes[i].Change being
	// &Plan.Changes[i].
	changes []*change
	snap    *snapshot.Snapshot // the destination as read, for Apply
	client  *octopus.Client
	early   int // changes decided while the destination was still read
}

// plannedOf returns what the executor gets of each of changes.
func plannedOf(changes []*change) []*planned.Change {
	out := make([]*planned.Change, len(changes))
	for i, ch := range changes {
		out[i] = ch.Change
	}
	return out
}
