// Package plans holds the documents apply makes and reads: the plan (what
// apply will do to a destination, entity by entity), the receipt (what it
// did) and the drift report, with their file formats. It is the model
// shared by the planner (package apply), the executor
// (apply/internal/execute) and the human views
// of package apply/render; it decides nothing and talks to no server.
package plans

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/policy"
)

// PlanFormat is the format version of a plan document.
const PlanFormat = "octobundle-plan/v1"

// PlanSchema is the name of the embedded JSON Schema plans validate against
// (see schema.Validate).
const PlanSchema = "plan.schema.json"

// Op is the operation a plan makes on one entity (create, update, no-op,
// left-alone, error, delete, keep); Change.Action holds it and the plan
// document calls it "action". Not to be confused with schema.Action, a
// deployment step's action.
type Op string

// The plan operations.
const (
	// OpCreate creates an entity missing on the destination.
	OpCreate Op = "create"
	// OpUpdate brings an existing entity in line with the bundle.
	OpUpdate Op = "update"
	// OpNoOp: the destination already matches the bundle.
	OpNoOp Op = "no-op"
	// OpLeftAlone: the entity exists and the destination owns its details.
	OpLeftAlone Op = "left-alone"
	// OpError: the entity cannot be applied (see Change.Error).
	OpError Op = "error"
	// OpDelete deletes a destination-only channel or runbook of a
	// project the bundle holds, or an entity the source deleted
	// (apply.Options.Prune only).
	OpDelete Op = "delete"
	// OpKeep: the source deleted the entity (the base has it, the
	// bundle does not) and it stays on the destination, without
	// apply.Options.Prune. The destination differs from what the bundle asks.
	OpKeep Op = "keep"
)

// Change is the plan for one bundle entity.
type Change struct {
	// Kind is the registry kind name ("DeploymentProcess").
	Kind string `json:"kind"`
	// Names are the entity's names, owners first (["OctoFX"]).
	Names []string `json:"names"`
	// Path is the entity's file in the bundle.
	Path string `json:"path"`
	// Action is the operation apply makes on the entity.
	Action Op `json:"action"`
	// Diff lists the fields that change (updates), or that differ but are
	// left alone (left-alone). Values are in bundle form: names, never IDs,
	// never secrets.
	Diff []FieldDiff `json:"diff,omitempty"`
	// Reason explains the action (left alone, partial matches, kept
	// destination-only entries).
	Reason string `json:"reason,omitempty"`
	// Error says why the entity cannot be applied, naming the field.
	Error string `json:"error,omitempty"`
	// Notes are the decisions the bundle's apply policy and the registry's
	// scope-mismatch defaults made inside the entity, one per variable
	// value skipped, rescoped or left alone, each naming the rule.
	Notes []string `json:"notes,omitempty"`

	// Desired is what the destination entity will hold, in bundle form
	// (names, no secrets): the document apply.Execute resolves to the
	// destination's IDs and writes. Set for create and update.
	// It is held packed (see jsonv.Doc): a plan against an empty
	// destination holds the whole bundle here.
	Desired jsonv.Doc `json:"desired,omitzero"`
	// WriteMain is set when the entity's fields other than the deferred
	// ones are written (at the kind's Order).
	WriteMain bool `json:"writeMain,omitempty"`
	// WriteDeferred is set when the kind's deferred fields are written in
	// the second pass (at the kind's DeferredOrder).
	WriteDeferred bool `json:"writeDeferred,omitempty"`
	// Prune is set when the update removes entries the destination has
	// (deleted at the source, or destination-only with apply.Options.Prune): the
	// diff's removed elements go, and the pruned fields of Desired are
	// written as they are rather than merged over the destination's.
	Prune bool `json:"prune,omitempty"`
	// Renames are the elements renamed in place (a step renamed at the
	// source): apply.Execute matches each with the destination's element of the
	// old name, which keeps its ID.
	Renames []Renamed `json:"renames,omitempty"`
	// RemoveKeys are the JSON pointers (into Desired) of object keys the
	// destination has and Desired does not (a step property deleted at the
	// source): the write deletes them from the live document.
	RemoveKeys []string `json:"removeKeys,omitempty"`

	// Why says why the entity changes or not, one entry per reason (see
	// the Why… constants): created, source changed, source deleted,
	// destination drift kept, conflict, destination-only kept, deleted at
	// source (kept or deleted), no base.
	Why []string `json:"why,omitempty"`
	// Conflicts lists every place changed on both sides, with both sides
	// and the resolution.
	Conflicts []Conflict `json:"conflicts,omitempty"`
	// Drift lists the destination's own changes since the last apply that
	// the merge keeps (the source did not change those places).
	Drift []FieldDiff `json:"drift,omitempty"`
	// Kept lists the destination-only elements, keys and set entries kept.
	Kept []string `json:"kept,omitempty"`
}

// Why a change is planned (Change.Why).
const (
	// WhyCreated: the destination does not have the entity.
	WhyCreated = "created"
	// WhyRecreated: the destination deleted an entity octobundle applied;
	// the bundle still has it.
	WhyRecreated = "deleted on the destination since the last apply: created again"
	// WhySourceChanged: the source changed places the destination did not.
	WhySourceChanged = "source changed"
	// WhySourceDeleted: the source deleted elements or keys the destination
	// still had as applied.
	WhySourceDeleted = "source deleted"
	// WhyDrift: the destination changed places the source did not; kept.
	WhyDrift = "destination drift kept"
	// WhyConflict: both changed the same place (see Change.Conflicts).
	WhyConflict = "conflict"
	// WhyDestOnly: the destination has elements of its own; kept.
	WhyDestOnly = "destination-only kept"
	// WhyPruned: destination-only elements removed
	// (--remove-destination-only).
	WhyPruned = "destination-only removed (--remove-destination-only)"
	// WhyDeletedKept: the source deleted the entity; kept without --prune.
	WhyDeletedKept = "deleted at source, kept"
	// WhyNotWritten: the source deleted the entity and --prune would
	// delete it, but the state has no record that octobundle wrote the
	// destination's entity (no server ID recorded, or another one): kept.
	WhyNotWritten = "not written by octobundle, kept"
	// WhyDeletedPruned: the source deleted the entity; deleted (--prune).
	WhyDeletedPruned = "deleted at source, deleted (--prune)"
	// WhyStamp: a step based on a step template takes the destination
	// template's current version (the template changed, or the step lags).
	WhyStamp = "step template version"
	// WhyRenamed: elements renamed at the source are renamed on the
	// destination in place (see Change.Renames).
	WhyRenamed = "renamed"
	// WhyNoBase: no base for the entity: merged two-way.
	WhyNoBase = "no base: two-way"
)

// Label names the change for messages: "DeploymentProcess OctoFX".
func (c *Change) Label() string { return Label(c.Kind, c.Names) }

// Label names an entity for messages: "DeploymentProcess OctoFX".
func Label(kind string, names []string) string {
	if len(names) == 0 {
		return kind
	}
	return kind + " " + strings.Join(names, "/")
}

// FieldDiff is one field-level difference (see bundles.FieldDiff).
type FieldDiff = bundles.FieldDiff

// CleanupItem is one value apply could not copy and replaced by a
// placeholder, for an administrator to fix after the run: what, where and
// why — never a value.
type CleanupItem struct {
	// Kind and Names identify the entity.
	Kind  string   `json:"kind"`
	Names []string `json:"names"`
	// Field locates the value inside the entity, with identities for array
	// elements (`Variables["OctoFX.Pricing.ApiKey" Environment=Production]/Value`).
	Field string `json:"field"`
	// Why says what was written and what to do.
	Why string `json:"why"`
}

// Destination identifies the space a plan was made against.
type Destination struct {
	// Server is the server URL, without credentials.
	Server string `json:"server"`
	// Space is the space name.
	Space string `json:"space"`
	// ServerVersion is the destination's Octopus version.
	ServerVersion string `json:"serverVersion"`
	// Fingerprint is "sha256:" plus a digest of the destination state the
	// plan was made against: the canonical bundle form of every destination
	// entity the bundle touches, and the names of every entity.
	Fingerprint string `json:"fingerprint"`
}

// Plan is what apply will do to a destination for one bundle.
type Plan struct {
	// Format is PlanFormat.
	Format string `json:"format"`
	// BundleDigest is the digest of the bundle the plan is for.
	BundleDigest string `json:"bundleDigest"`
	// Bundle is the path of the bundle the plan was made from, as the
	// command line gave it (made absolute), so that apply --plan finds it
	// without repeating it; empty when unknown. Informational: apply checks
	// BundleDigest, never trusts the path.
	Bundle string `json:"bundle,omitempty"`
	// Mode is "three-way" (against a base) or "two-way" (none).
	Mode string `json:"mode,omitempty"`
	// ModeReason says where the base came from, or why there is none.
	ModeReason string `json:"modeReason,omitempty"`
	// BaseDigest is the digest of the base the plan was made against
	// (empty without one).
	BaseDigest string `json:"baseDigest,omitempty"`
	// Rollback is set when the bundle is older than the last one the
	// destination received from the same source (apply.Options.Rollback).
	Rollback string `json:"rollback,omitempty"`
	// Flags are the command-line flags the plan was made with that decide
	// what it holds, by name without dashes ("prune": ["true"], "rules":
	// absolute paths, "rules-sha256": their digests in order); apply --plan
	// takes them from the plan. Set by the command line, not by MakePlan.
	Flags map[string][]string `json:"flags,omitempty"`
	// Destination is where the plan applies.
	Destination Destination `json:"destination"`
	// Changes has one entry per bundle entity, in sync order.
	Changes []Change `json:"changes"`
	// Cleanup lists the placeholders apply will write.
	Cleanup []CleanupItem `json:"cleanup"`
	// Leftover lists placeholders earlier applies wrote that are still on
	// the destination where the API shows them (see apply's leftoverPlaceholders).
	Leftover []CleanupItem `json:"leftoverPlaceholders,omitempty"`
	// Notes are things the administrator should know that concern no single
	// entity (bundle content not applied without apply.Options.IncludeTargets).
	Notes []string `json:"notes,omitempty"`
	// Warnings are problems of the destination as read that did not stop
	// the plan: references to things that no longer exist (a variable
	// scoped to a deleted step), each naming the entity and the field and
	// saying what the comparison made of it (see translate.ToBundleWarnings).
	Warnings []string `json:"warnings,omitempty"`
	// Summary counts the changes per action.
	Summary map[Op]int `json:"summary"`
}

// HasChanges reports whether the plan creates, updates or deletes anything.
func (p *Plan) HasChanges() bool {
	return p.Summary[OpCreate]+p.Summary[OpUpdate]+p.Summary[OpDelete] > 0
}

// Differs reports whether the destination differs from what the bundle
// and the policies ask: the plan changes something, or keeps an entity the
// source deleted (plan --detailed-exitcode exits 2).
func (p *Plan) Differs() bool { return p.HasChanges() || p.Summary[OpKeep] > 0 }

// NoChanges reports whether the plan neither changes, keeps, fails nor
// writes a placeholder anywhere: the destination is as the bundle asks.
func (p *Plan) NoChanges() bool { return !p.Differs() && !p.HasErrors() && len(p.Cleanup) == 0 }

// HasErrors reports whether some entity cannot be applied.
func (p *Plan) HasErrors() bool { return p.Summary[OpError] > 0 }

// Conflict is one place changed on both sides since the last apply (or,
// without a base, differing where the registry lists conflicts), with both
// sides and the resolution. Values are in bundle form: names, never IDs or
// secrets.
type Conflict struct {
	// Field names the place for people
	// (`Variables["Smtp.Host" Environment=Production].Value`).
	Field string `json:"field"`
	// Base is the value last applied (absent without a base, or when the
	// place did not exist then).
	Base any `json:"base,omitempty"`
	// Source is the bundle's value (absent: deleted at the source).
	Source any `json:"source,omitempty"`
	// Destination is the destination's value (absent: deleted there).
	Destination any `json:"destination,omitempty"`
	// Resolution is the side that wins: source, destination or fail.
	Resolution policy.Winner `json:"resolution"`
	// Rule says what decided it (the registry default, a policy rule,
	// --on-conflict).
	Rule string `json:"rule"`
}

// Renamed is one element renamed: in the list List (a registry list path,
// "Steps/*/Actions"), the element named From is now named To.
type Renamed struct {
	// List is the registry path of the list ("Steps", "Steps/*/Actions").
	List string `json:"list"`
	// Parent is the name of the element holding the list, for a nested
	// list (the step of a renamed action); empty for a top-level list.
	Parent string `json:"parent,omitempty"`
	// From is the old name (the base's, or the destination's).
	From string `json:"from"`
	// To is the new name (the source's).
	To string `json:"to"`
}

// Label is `Steps["Smoke Tests"] → "Smoke Test Suite"`.
func (r Renamed) Label() string {
	return strings.ReplaceAll(r.List, "/*/", "[…].") + "[" + strconv.Quote(r.From) + "] → " + strconv.Quote(r.To)
}

// Show is a value as plans and their messages show it (a conflict
// side, a field before or after): canonical JSON on one line, shortened;
// "absent" for nil.
func Show(v any) string {
	if v == nil {
		return "absent"
	}
	data, err := bundles.Canonical(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	out := strings.Join(strings.Fields(string(data)), " ")
	if len(out) > 120 {
		out = out[:117] + "..."
	}
	return out
}
