package planned

import (
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/internal/jsonv"
)

// Change is one entity's plan as the planner hands it to the executor: the
// plan document's Change and what planning learnt of it beyond the
// document that the writes and the state need, which a plan read from a
// file does not have (Execute derives the plan again, so it always has
// them).
type Change struct {
	*plans.Change

	Provides      []NameKey // the bundle names the entity's document provides (see IndexBundle)
	ProvidesKnown bool      // Provides was collected
	DestSum       []byte    // fingerprint of the destination's form, once the planner read it
	Applied       jsonv.Doc // what the state records as this entity's base once applied
	BaseCurrent   bool      // the state's base already holds Applied
	Forget        []string  // state paths to forget once the change succeeded
}
