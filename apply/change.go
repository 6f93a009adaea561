package apply

import (
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/snapshot"
)

// change is one entity's plan while apply makes and executes it: the plan
// document's Change and what planning learnt of it beyond the document,
// which a plan read from a file does not have (Execute derives the plan
// again, so it always has them).
type change struct {
	*plans.Change

	provides      []nameKey  // the bundle names the entity's document provides (see indexBundle)
	providesKnown bool       // provides was collected
	destSum       []byte     // fingerprint of the destination's form, once decide read it
	merged        jsonv.Doc  // the merge result of a no-op (plan time only)
	applied       jsonv.Doc  // what the state records as this entity's base once applied
	baseCurrent   bool       // the state's base already holds applied
	stamps        []stampUse // the destination's step-template stamps (see refreshStamps)
	renames       []plans.Renamed
	removed       []nameKey // names the entity provided in the base and no longer does (see lostscope.go)
	warnings      []string  // reading the destination's form (Plan.Warnings)
	forget        []string  // state paths to forget once the change succeeded
}

// newChange is a change for the entity kind/names at path, not decided yet.
func newChange(c plans.Change) *change { return &change{Change: &c} }

// planned is a plan made in this process, with what executing it needs
// beyond the plan document.
type planned struct {
	*plans.Plan
	// changes are the plan's changes, changes[i].Change being
	// &Plan.Changes[i].
	changes []*change
	snap    *snapshot.Snapshot // the destination as read, for Apply
	client  *octopus.Client
	early   int // changes decided while the destination was still read
}
