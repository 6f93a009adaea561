package plans

import (
	"time"

	"github.com/octobundle/octobundle/internal/octopus"
)

// Outcome is what happened to one entity.
type Outcome string

// The outcomes of an entity.
const (
	// OutcomeCreated: the entity was created.
	OutcomeCreated Outcome = "created"
	// OutcomeUpdated: the entity was brought in line with the bundle.
	OutcomeUpdated Outcome = "updated"
	// OutcomeUnchanged: the destination already matched.
	OutcomeUnchanged Outcome = "unchanged"
	// OutcomeLeftAlone: the entity exists and the destination owns its details.
	OutcomeLeftAlone Outcome = "left-alone"
	// OutcomeFailed: the plan had an error for the entity, or a write failed.
	OutcomeFailed Outcome = "failed"
	// OutcomeSkipped: not attempted because an entity it depends on failed.
	OutcomeSkipped Outcome = "skipped"
	// OutcomeDeleted: a destination-only entity was deleted (apply.Options.Prune).
	OutcomeDeleted Outcome = "deleted"
)

// Status is the overall result of an apply.
type Status string

// The statuses of an apply (after Velero's restore phases).
const (
	// Succeeded: every entity is in place.
	Succeeded Status = "Succeeded"
	// PartiallyFailed: some entities failed or were skipped; run apply
	// again (after fixing the failures) to finish.
	PartiallyFailed Status = "PartiallyFailed"
	// Failed: nothing could be applied.
	Failed Status = "Failed"
)

// Result is the outcome of one entity.
type Result struct {
	// Kind and Names identify the entity.
	Kind  string   `json:"kind"`
	Names []string `json:"names"`
	// Outcome is what happened.
	Outcome Outcome `json:"outcome"`
	// Error is the server's error (or the plan's) for failed entities, the
	// reason for skipped ones.
	Error string `json:"error,omitempty"`
	// Note says what was written when the outcome alone does not tell: the
	// user roles a team was given (and, after a failure, those given before
	// it).
	Note string `json:"note,omitempty"`
	// Retry is set on a failed entity whose failure was transient (rate
	// limiting, a server error, a dropped connection, a conflict) and on a
	// skipped one whose blocker's was: running apply again can finish it.
	// A plan error or a refusal by the server (400) recurs.
	Retry bool `json:"retry,omitempty"`
}

// Receipt is the record of an apply.Execute.
type Receipt struct {
	// Results has one entry per plan change, in sync order.
	Results []Result `json:"results"`
	// Cleanup lists the placeholders written (for entities that were
	// created or updated).
	Cleanup []CleanupItem `json:"cleanup"`
	// Summary counts the results per outcome.
	Summary map[Outcome]int `json:"summary"`
	// Stats are the API requests the execution made.
	Stats octopus.Stats `json:"stats"`
	// Rollback is set when an older bundle was applied with
	// --allow-rollback (Plan.Rollback), so the receipt records it.
	Rollback string `json:"rollback,omitempty"`

	// Destination, BundleDigest and Finished head the clean-up report, so
	// that a report found later says where, what and when.
	Destination  Destination `json:"-"`
	BundleDigest string      `json:"-"`
	Finished     time.Time   `json:"-"`
}

// Status tells success, partial failure and failure apart.
func (r *Receipt) Status() Status {
	bad := r.Summary[OutcomeFailed] + r.Summary[OutcomeSkipped]
	switch {
	case bad == 0:
		return Succeeded
	case bad == len(r.Results):
		return Failed
	}
	return PartiallyFailed
}

// Resumable reports whether apply did not finish and running it again can
// finish the job as it is: every failed or skipped entity failed (or
// depends on one that failed) for a transient reason (see Result.Retry).
func (r *Receipt) Resumable() bool {
	bad := 0
	for _, res := range r.Results {
		if res.Outcome == OutcomeFailed || res.Outcome == OutcomeSkipped {
			if !res.Retry {
				return false
			}
			bad++
		}
	}
	return bad > 0
}
