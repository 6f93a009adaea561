// Package apply plans and executes the application of a bundle to a
// destination Octopus space that cannot see the source.
//
// MakePlan reads the destination once (every collection in parallel, see
// internal/snapshot), matches every bundle entity to the destination by name
// and decides, per entity, what apply will do:
//
//   - create: the entity does not exist on the destination;
//   - update: it exists and differs from what the bundle says it must be
//     (with a field-level diff whose places name array elements by the
//     identity merge matches them by — `Variables["OctoFX.Port"
//     Environment=Production].Value`, `Steps["Deploy Web"]` — and, in the
//     JSON plan, also as JSON pointers);
//   - no-op: it exists and already matches (the comparison is exact: the
//     canonical bundle form of the destination entity, as export would write
//     it, against the three-way merge of the bundle's document, the base
//     and it);
//   - left-alone: it exists, differs, and the destination owns its details
//     (accounts, worker pools, machine policies, certificates, feeds,
//     lifecycles, teams, project groups, environments, user roles);
//   - error: a reference names something that exists neither in the bundle
//     nor on the destination, the destination entity cannot be read, or the
//     server would refuse the write (servercheck.go: the checks the server
//     makes that depend only on the document and the space, made over the
//     planned document with the server's message);
//   - keep: the source deleted it (the base has it, the bundle does not)
//     and it stays, without Options.Prune;
//   - delete (Options.Prune only): an entity the source deleted, or a
//     destination-only channel or runbook of a project the bundle holds.
//
// Policies come from the kind registry (schema.Kind.Policy). Exact-match
// kinds (script modules, step templates, tag sets) are created or updated to
// match. Synced kinds (project settings, channels, deployment processes,
// runbooks and their processes, project and library variables, tenants,
// their project links and variables) are merged three-way (see merge3.go)
// against the base (Options.Base: what octobundle last applied to this
// destination, from the state directory or --base): what the source changed
// is applied, including deletions of steps, actions, variables, property
// keys and set entries; what the destination changed and the source did not
// is kept (drift); a place changed on both sides is a conflict, listed with
// both sides and decided by --on-conflict, the bundle's apply policy or the
// registry (variable values: the destination keeps; other content: the
// source wins); destination-only elements are kept. Without a base the
// merge is two-way and the plan says so (Plan.Mode). Every change says why
// (Change.Why). An entity the base has and the bundle does not was deleted
// at the source: a keep (Plan.Differs) or, with Options.Prune, a delete. With
// Options.Prune the destination-only steps and actions,
// variables (sensitive ones too, each with a clean-up item saying its
// secret is gone) and links to bundle projects of the synced entities the
// bundle holds are removed, so are the destination-only tenant variable
// values of the tenants it holds under the projects and library variable
// sets the bundle has values for (sensitive ones with a clean-up item too;
// values for any other project stay), and the destination-only channels
// and runbooks of the projects it holds are deleted — never a project's
// default channel or the one its release creation strategy uses. A
// destination-only top-level entity is never deleted, since a bundle may be
// a partial export (see prune.go). A team's scoped user
// roles are decided per user role (see items.go): a bundle item whose user
// role the destination team does not have yet is created, one whose role
// the team has is left alone (the destination owns the scoping of roles it
// has), and the environments, projects, project groups and tenants of a
// new item that exist neither in the bundle nor on the destination are
// dropped from its scope with a note — an item left with an empty list
// (which would mean "all") is skipped. Releases,
// deployments, runbook runs and snapshots, users and server settings are
// never touched; deployment targets and workers only when the bundle holds
// them and Options.IncludeTargets is set.
//
// Every variable value (project, library and tenant variables) is checked
// per scope dimension against what the destination will have: an entry
// that exists neither in the bundle nor on the destination is dealt with by
// the bundle's apply policy or, without a matching rule, the registry's
// default (schema.ScopeDimensions): a value scoped to deployment targets
// keeps the targets that exist and is skipped when none does (the guide's
// "partial match" for targets, which are never synced by default), and so
// for environments, channels, steps and process owners; tenant tags must
// match exactly; roles are kept. The bundle's policy file can also
// override a kind's kind policy, mark values as owned by the destination
// and set the placeholder text (see values.go and package policy). Each
// decision is a line in the change's Notes. A plan with errors is refused
// by Execute and Apply before the first write unless Options.AllowErrors.
//
// Secrets cannot be read from any Octopus API, so a bundle never has them.
// A new sensitive variable, account or feed secret, sensitive step property,
// tenant sensitive value or certificate gets a clearly marked placeholder (a
// generated self-signed certificate for certificates) and a CleanupItem in
// the plan and the receipt. An existing secret is never overwritten or
// wiped: existing sensitive variables are always written back with their Id
// and existing SensitiveValue fields as {"HasValue": true, "NewValue": null};
// before every variable-set write apply checks that no destination
// sensitive variable is missing from the body.
//
// Execute performs exactly a plan (a saved one only if deriving it again
// gives the same plan), in the registry's sync order
// (schema.Kind.Order; deferred fields such as channel version rules, tenant
// project links and the project's release versioning strategy in a second
// pass at DeferredOrder), independent entities of one order in parallel. It
// refuses a plan made for another bundle, or against a destination that
// changed since (the plan's fingerprint). One entity's failure does not stop
// unrelated ones; entities that depend on a failed one are skipped. The
// Receipt lists every entity's outcome and tells success, partial failure and
// failure apart; running apply again after a partial failure finishes the
// job, and applying the same bundle twice makes no write the second time.
package apply

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/octobundle/octobundle/internal/parallel"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/policy"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/translate"
)

// PlanFormat is the format version of a plan document.
const PlanFormat = "octobundle-plan/v1"

// PlanSchema is the name of the embedded JSON Schema plans validate against
// (see schema.Validate).
const PlanSchema = "plan.schema.json"

// Options configure MakePlan, Execute and Apply.
type Options struct {
	// AllowVersionSkew applies even when the destination's Octopus
	// major.minor differs from the bundle's source by more than one minor
	// version (or the major differs).
	AllowVersionSkew bool
	// IncludeTargets applies the deployment targets and workers the bundle
	// holds (--include-targets); without it they are left out with a note.
	IncludeTargets bool
	// AllowErrors executes a plan that has errors: what can be applied is,
	// the entities in error fail (PartiallyFailed). Without it Execute and
	// Apply refuse such a plan before the first write (ErrPlanHasErrors).
	AllowErrors bool
	// Prune deletes the entities the source deleted since the last sync:
	// in the base, gone from the bundle, unchanged on the destination since
	// (changed there: a conflict, kept unless Policy.OnConflict is source). What
	// the source deleted inside a synced entity goes by the three-way
	// merge, with or without Prune. It never removes the destination's own
	// elements or entities: that is RemoveDestinationOnly.
	Prune bool
	// RemoveDestinationOnly removes what the destination has and the base
	// never had, inside what the bundle owns: destination-only steps,
	// variables (sensitive ones too, each with a clean-up item), tenant
	// project links and tenant variable values of synced entities the
	// bundle holds, and destination-only channels and runbooks of projects
	// it holds (see prune.go). Never implied by Prune; never top-level
	// entities; never what a partial bundle does not speak for.
	RemoveDestinationOnly bool
	// OnLostScope decides a destination value whose whole scope dimension
	// names elements the plan removes (see lostscope.go): drop or unscope;
	// empty makes it a plan error.
	OnLostScope LostScope
	// Base is what octobundle last applied to the destination (its state
	// directory, or a bundle given with --base): the merge is three-way
	// against it. Nil means no base: the merge is two-way (see merge3.go).
	Base *Base
	// Rollback, if set, says the bundle is older than the last one the
	// destination received from the same source and applying it anyway
	// was asked for (--allow-rollback): "rollback: exported <time>, the
	// destination has <time>"; the plan shows it.
	Rollback string
	// Policy are the command line's policy overrides: Policy.OnConflict
	// (--on-conflict), if set, decides every merge conflict (source,
	// destination, or fail: the entity is a plan error), over the
	// bundle's policy file and the registry's defaults.
	Policy policy.Flags
	// State, if set, records per entity what Execute applied, after each
	// entity's writes succeed, and forgets what it deletes.
	State StateRecorder
	// Concurrency bounds parallel requests and parallel writes (default 8).
	Concurrency int
	// Logger receives a line per decision and per write; nil discards.
	Logger *slog.Logger
	// Progress, if set, is called as reading and writing advance.
	Progress func(done, total int)
	// Prefetched, if set, is the destination's read started ahead (see
	// Prefetch): MakePlan, Apply and Execute wait for it instead of
	// reading the destination again. It serves one plan.
	Prefetched *Prefetched
}

func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

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
	// (Options.Prune only).
	OpDelete Op = "delete"
	// OpKeep: the source deleted the entity (the base has it, the
	// bundle does not) and it stays on the destination, without
	// Options.Prune. The destination differs from what the bundle asks.
	OpKeep Op = "keep"
)

// zeroSummary is a summary with a zero count for each key: JSON summaries
// keep zero counts, so a script reads summary.error as 0, not as missing.
func zeroSummary[K comparable](keys ...K) map[K]int {
	m := make(map[K]int, len(keys))
	for _, k := range keys {
		m[k] = 0
	}
	return m
}

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
	// (names, no secrets): the document Execute resolves to the
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
	// (deleted at the source, or destination-only with Options.Prune): the
	// diff's removed elements go, and the pruned fields of Desired are
	// written as they are rather than merged over the destination's.
	Prune bool `json:"prune,omitempty"`
	// Renames are the elements renamed in place (a step renamed at the
	// source): Execute matches each with the destination's element of the
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

	provides      []nameKey  // the bundle names the entity's document provides (see indexBundle)
	providesKnown bool       // provides was collected (a plan made in this process)
	destSum       []byte     // fingerprint of the destination's form, once decide read it
	merged        jsonv.Doc  // the merge result of a no-op (plan time only)
	applied       jsonv.Doc  // what the state records as this entity's base once applied
	baseCurrent   bool       // the state's base already holds applied
	stamps        []stampUse // the destination's step-template stamps (see refreshStamps)
	renames       []Renamed  // renames from the base to the bundle (see renames.go)
	removed       []nameKey  // names the entity provided in the base and no longer does (see lostscope.go)
	warnings      []string   // reading the destination's form (Plan.Warnings)
	forget        []string   // state paths to forget once the change succeeded
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
func (c *Change) Label() string { return label(c.Kind, c.Names) }

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
	// destination received from the same source (Options.Rollback).
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
	// the destination where the API shows them (see leftoverPlaceholders).
	Leftover []CleanupItem `json:"leftoverPlaceholders,omitempty"`
	// Notes are things the administrator should know that concern no single
	// entity (bundle content not applied without Options.IncludeTargets).
	Notes []string `json:"notes,omitempty"`
	// Warnings are problems of the destination as read that did not stop
	// the plan: references to things that no longer exist (a variable
	// scoped to a deleted step), each naming the entity and the field and
	// saying what the comparison made of it (see translate.ToBundleWarnings).
	Warnings []string `json:"warnings,omitempty"`
	// Summary counts the changes per action.
	Summary map[Op]int `json:"summary"`

	snap   *snapshot.Snapshot // the destination as read, for Apply
	client *octopus.Client
	early  int // changes decided while the destination was still read
}

// HasChanges reports whether the plan creates, updates or deletes anything.
func (p *Plan) HasChanges() bool {
	return p.Summary[OpCreate]+p.Summary[OpUpdate]+p.Summary[OpDelete] > 0
}

// Differs reports whether the destination differs from what the bundle
// and the policies ask: the plan changes something, or keeps an entity the
// source deleted (plan --detailed-exitcode exits 2).
func (p *Plan) Differs() bool { return p.HasChanges() || p.Summary[OpKeep] > 0 }

// HasErrors reports whether some entity cannot be applied.
func (p *Plan) HasErrors() bool { return p.Summary[OpError] > 0 }

// MakePlan reads the destination and computes the plan for applying b to
// it. It never writes. It fails (without a plan) when the destination's
// Octopus version is too far from the bundle's source, or when the
// destination cannot be read; problems with single entities are plan
// entries with action error.
func MakePlan(ctx context.Context, c *octopus.Client, b *bundles.Bundle, o Options) (*Plan, error) {
	o = o.withDefaults()
	if b == nil {
		return nil, errors.New("apply: no bundle")
	}
	if err := checkVersion(b.Manifest.Source.ServerVersion, c.ServerVersion, o.AllowVersionSkew); err != nil {
		o.Prefetched.Cancel()
		return nil, fmt.Errorf("apply: %w", err)
	}
	pf, err := b.ApplyPolicy()
	if err != nil {
		o.Prefetched.Cancel()
		return nil, fmt.Errorf("apply: %w", err)
	}
	pol := policy.New(pf, o.Policy)
	var (
		p    *Plan
		snap *snapshot.Snapshot
	)
	if pf := o.Prefetched; pf != nil && pf.client == c {
		p, snap, err = makePlanEarly(ctx, pf, b, pol, o)
	} else {
		if snap, err = readDestination(ctx, c, o); err == nil {
			p = makePlan(snap, b, pol, o)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("apply: reading the destination space %q: %w", c.SpaceName, err)
	}
	p.snap, p.client = snap, c
	o.Logger.Info("plan made", "server", p.Destination.Server, "space", p.Destination.Space,
		"create", p.Summary[OpCreate], "update", p.Summary[OpUpdate], "no-op", p.Summary[OpNoOp],
		"left-alone", p.Summary[OpLeftAlone], "delete", p.Summary[OpDelete], "error", p.Summary[OpError], "cleanup", len(p.Cleanup))
	return p, nil
}

// planner holds what computing one plan needs.
type planner struct {
	snap    *snapshot.Snapshot
	b       *bundles.Bundle
	o       Options
	ids     translate.IDs
	changes []*Change
	bn      bundleNames
	cleanup [][]CleanupItem
	// pol is the effective policy: the registry's defaults, the bundle's
	// policy file and the flags.
	pol *policy.Decider
	// renamed are the names renamed at the source that entities provide,
	// by owner (see collectRenamed).
	renamed map[string]map[string]map[string]string
	// removed are the names the plan removes (see lostscope.go).
	removed map[removedName]bool
}

// makePlan computes the plan of b against the destination snapshot snap,
// under the effective policy pol.
func makePlan(snap *snapshot.Snapshot, b *bundles.Bundle, pol *policy.Decider, o Options) *Plan {
	p, pl := newPlan(snap, b, pol, o)
	// Decide every entity; reading the destination's bundle forms is the
	// costly part, so entities are decided in parallel.
	parallel.Each(len(pl.changes), pl.decide)
	return pl.finish(p, b)
}

// newPlan sets up the plan of b against snap: its changes, one per
// bundle entity, not decided yet.
func newPlan(snap *snapshot.Snapshot, b *bundles.Bundle, pol *policy.Decider, o Options) (*Plan, *planner) {
	p := &Plan{
		Format:       PlanFormat,
		BundleDigest: b.Digest(),
		Destination:  Destination{Server: snap.Server, Space: snap.SpaceName, ServerVersion: snap.ServerVersion},
		Summary:      zeroSummary(OpCreate, OpUpdate, OpNoOp, OpLeftAlone, OpError, OpDelete),
		Rollback:     o.Rollback,
	}
	pl := &planner{snap: snap, o: o, ids: translate.IDs{Snap: snap}, pol: pol}
	if o.Base != nil && o.Base.Bundle != nil {
		p.Mode, p.ModeReason, p.BaseDigest = "three-way", "base: "+o.Base.From, o.Base.Digest
	} else {
		p.Mode, p.ModeReason = "two-way", "no base (first sync to this destination, or its state is lost): the source wins for source-owned fields, differing variable values are conflicts, destination-only elements are kept"
		if o.Base != nil && o.Base.From != "" {
			p.ModeReason = "no base in " + o.Base.From + " (first sync to this destination, or its state is lost): the source wins for source-owned fields, differing variable values are conflicts, destination-only elements are kept"
		}
	}
	skipped := map[string]int{}
	for _, e := range b.Catalog() {
		if e.Kind.Optional && !o.IncludeTargets {
			skipped[e.Kind.Title]++
			continue
		}
		pl.changes = append(pl.changes, &Change{Kind: e.Kind.Name, Names: e.Names, Path: e.Path})
	}
	pl.b = b
	for _, t := range slices.Sorted(maps.Keys(skipped)) {
		p.Notes = append(p.Notes, fmt.Sprintf("%d %s in the bundle not applied (deployment targets and workers are applied only when asked: --include-targets)", skipped[t], t))
	}
	// The names the bundle's documents provide (actions, templates), from
	// one pass over the documents; decide reads each document again, so no
	// decoded document outlives its entity's decision.
	parallel.Each(len(pl.changes), func(i int) {
		ch := pl.changes[i]
		k := schema.MustLookup(ch.Kind)
		if doc, ok := b.Entity(k, ch.Names...); ok {
			ch.provides = providedNames(ch, doc)
			if renameable(k) && !pl.baseUnchanged(b, ch.Path) {
				if base, ok := pl.baseDoc(k, ch.Names); ok {
					ch.renames = detectRenames(k, base, doc)
					ch.removed = removedNames(ch, base)
				}
			}
		}
		ch.providesKnown = true
	})
	pl.bn = indexBundle(pl.changes)
	pl.renamed = collectRenamed(pl.changes)
	pl.removed = pl.collectRemoved(b)
	pl.cleanup = make([][]CleanupItem, len(pl.changes))
	return p, pl
}

// finish completes a plan once every change is decided: step-template
// stamps, deletions, the summary and the fingerprint.
func (pl *planner) finish(p *Plan, b *bundles.Bundle) *Plan {
	snap, o := pl.snap, pl.o
	p.Leftover = leftoverPlaceholders(snap)
	pl.refreshStamps()

	deletes := pl.planSourceDeletes(b)
	if o.RemoveDestinationOnly {
		seen := map[string]bool{}
		for _, d := range deletes {
			seen[changeKey(d.Kind, d.Names)] = true
		}
		for _, d := range pl.planDeletes(b, p) {
			if !seen[changeKey(d.Kind, d.Names)] {
				deletes = append(deletes, d)
			}
		}
	}
	for _, ch := range pl.changes {
		for _, w := range ch.warnings {
			o.Logger.Warn("destination: "+w, "entity", ch.Label())
			p.Warnings = append(p.Warnings, "destination: "+w)
		}
	}
	sort.Strings(p.Warnings)
	p.Warnings = slices.Compact(p.Warnings)
	pl.serverChecks(deletes) // what the server would refuse (servercheck.go)
	pl.cleanup = append(pl.cleanup, make([][]CleanupItem, len(deletes))...)
	for i, ch := range append(pl.changes, deletes...) {
		p.Changes = append(p.Changes, *ch)
		p.Summary[ch.Action]++
		p.Cleanup = append(p.Cleanup, pl.cleanup[i]...)
		o.Logger.Debug("planned", "entity", ch.Label(), "action", ch.Action, "fields", len(ch.Diff), "reason", ch.Reason, "error", ch.Error)
	}
	if p.Cleanup == nil {
		p.Cleanup = []CleanupItem{}
	}
	p.Destination.Fingerprint = fingerprint(snap, p.Changes)
	return p
}

// decide fills in the action of change i.
func (pl *planner) decide(i int) {
	ch := pl.changes[i]
	k := schema.MustLookup(ch.Kind)
	if k.Policy == schema.PolicyNever {
		ch.Action, ch.Error = OpError, fmt.Sprintf("%s: %s are never applied", ch.Label(), k.Title)
		return
	}
	var destForm any
	dest := pl.snap.Find(k.Name, ch.Names...)
	if dest != nil {
		f, warnings, err := translate.ToBundleWarnings(pl.snap, dest)
		ch.warnings = warnings
		if err != nil {
			ch.Action, ch.Error = OpError, fmt.Sprintf("%s: reading the destination's copy: %v", ch.Label(), err)
			return
		}
		destForm = f
		ch.destSum = formSum(f)
		if hasStamps(k) {
			ch.stamps = pl.stampUses(k, dest)
		}
	}

	pol, fromBundle := pl.kindPolicy(k)
	if pol == schema.PolicySkip {
		ch.Action = OpLeftAlone
		if dest == nil {
			ch.Reason = fmt.Sprintf("not created: %s (never created or updated; references to it must resolve on the destination)", policyNote(pol))
		} else {
			ch.Reason = fmt.Sprintf("not updated: %s", policyNote(pol))
		}
		return
	}
	if dest == nil && k.Parent != "" {
		// The owner must exist on the destination or be created from the
		// bundle: not so when the policy skips its kind.
		ok := schema.MustLookup(k.Parent)
		ownerNames := ch.Names
		if !k.IsSingleton() && k.Shape != schema.ShapeItems {
			ownerNames = ch.Names[:len(ch.Names)-1]
		}
		if op, opFromBundle := pl.kindPolicy(ok); op == schema.PolicySkip && opFromBundle && pl.snap.Find(ok.Name, ownerNames...) == nil {
			ch.Action, ch.Error = OpError, fmt.Sprintf("%s: its %s %q is not on the destination and the bundle's apply policy skips %s", ch.Label(), title(ok.Name), strings.Join(ownerNames, "/"), ok.Title)
			return
		}
	}

	bundleDoc, ok := pl.b.Entity(k, ch.Names...) // the planner's own copy
	if !ok {
		ch.Action, ch.Error = OpError, fmt.Sprintf("%s: not in the bundle", ch.Label())
		return
	}
	if k.Shape == schema.ShapeBinary {
		pl.decideBinary(ch, bundleDoc, destForm, dest != nil)
		return
	}
	if k.Shape == schema.ShapeItems {
		pl.decideItems(i, k, bundleDoc, destForm)
		return
	}
	bundleDoc, ch.Notes = pl.decideValues(k, ch.Names, bundleDoc, destForm)
	bundleDoc, notes, problems := pl.checkRefs(k, ch.Names, bundleDoc)
	var reasons []string
	if fromBundle {
		reasons = append(reasons, policyNote(pol))
	}
	reasons = append(reasons, notes...)

	if p := pl.legacyProblem(k, bundleDoc); p != "" && dest == nil {
		problems = append(problems, p)
	}
	if dest == nil {
		if len(problems) > 0 {
			ch.Action, ch.Error = OpError, ch.Label()+": "+strings.Join(problems, "; ")
			return
		}
		ch.Action, ch.Desired = OpCreate, jsonv.MustPack(bundleDoc)
		ch.applied = ch.Desired
		ch.Why = []string{WhyCreated}
		if pl.inBase(k, ch.Names) {
			ch.Why = []string{WhyRecreated}
		}
		ch.WriteMain = true
		ch.WriteDeferred = hasDeferred(k, bundleDoc)
		ch.Reason = strings.Join(reasons, "; ")
		pl.cleanup[i] = predictCleanup(k, ch.Names, bundleDoc, nil, pl.pol.Placeholder())
		return
	}

	if pol == schema.PolicyExist {
		// The server never returns write-only fields (a certificate's
		// Password and CertificateData, the registry's Kind.Sensitive):
		// what the destination holds there cannot be seen, so it is not
		// compared (a placeholder octobundle created would otherwise
		// differ on every plan, forever).
		if bundles.Equal(bundleDoc, destForm) || bundles.Equal(k.WithoutSecrets(bundleDoc), k.WithoutSecrets(destForm)) {
			ch.Action = OpNoOp
			// Recorded only when octobundle created it (the base has it):
			// --prune never deletes what it did not create or manage.
			if pl.inBase(k, ch.Names) {
				ch.applied = jsonv.MustPack(bundleDoc)
				ch.baseCurrent = pl.baseHolds(ch.Path, ch.applied)
			}
			return
		}
		ch.Action = OpLeftAlone
		ch.Diff = bundles.DiffKind(k, k.WithoutSecrets(destForm), k.WithoutSecrets(bundleDoc))
		ch.Reason = "destination owns its details"
		if fromBundle {
			ch.Reason += " (" + policyNote(pol) + ")"
		}
		return
	}

	var lost []danglingValue
	if hasScopedValues(k) && len(ch.warnings) > 0 {
		// The destination's own dangling scopes (see lostscope.go), which
		// reading it warned about.
		lost, _ = cleanDangling(k, dest.Object(), dest.Root().ID, snapAlive(pl.snap), pl.o.OnLostScope)
		for _, d := range lost {
			if pl.o.OnLostScope == "" {
				problems = append(problems, d.problem())
			} else {
				ch.Notes = append(ch.Notes, d.note(pl.o.OnLostScope))
			}
		}
		if len(problems) > 0 {
			ch.Action, ch.Error = OpError, ch.Label()+": "+strings.Join(problems, "; ")
			return
		}
		if len(lost) > 0 {
			ch.Prune = true
		}
	}
	baseDoc, hasBase := pl.baseDoc(k, ch.Names)
	// Renames at the source (see renames.go): the base and the
	// destination's documents take the new names before the merge, so the
	// renamed elements align; destView is the destination as it will read
	// once other entities' renames are applied (a variable scoped to a
	// renamed action), which needs no write of its own.
	m := &merger{k: k, names: ch.Names, exact: pol == schema.PolicyExact, pol: pl.pol, owners: pl.speaksFor}
	desired, destView, destMerge := m.mergeEntity(baseDoc, hasBase, bundleDoc, destForm, ch.renames, pl.renamedFor(k, ch.Names))
	ch.Renames = m.renames
	if len(m.problems) > 0 {
		ch.Action, ch.Error = OpError, ch.Label()+": "+strings.Join(m.problems, "; ")
		return
	}
	lostNotes, lostCleanup, lostProblems := lostScope(k, ch.Names, desired, pl.removed, pl.o.OnLostScope, valueLabel)
	if len(lostProblems) > 0 {
		ch.Action, ch.Error = OpError, ch.Label()+": "+strings.Join(lostProblems, "; ")
		return
	}
	ch.Notes = append(ch.Notes, lostNotes...)
	if len(lostNotes) > 0 {
		// Values narrowed, unscoped or dropped: the write removes the old
		// ones (see prunedVariables).
		ch.Prune = true
	}
	ch.applied = jsonv.MustPack(bundleDoc)
	ch.baseCurrent = pl.baseHolds(ch.Path, ch.applied)
	ch.Conflicts, ch.Drift, ch.Kept = m.conflicts, m.drift, m.kept
	why, whyText := whyOf(m, hasBase)
	ch.Why = why
	reasons = append(reasons, whyText...)
	if len(ch.Renames) > 0 {
		var ls []string
		for _, r := range ch.Renames {
			ls = append(ls, r.label())
		}
		ch.Why = append(ch.Why, WhyRenamed)
		reasons = append(reasons, WhyRenamed+" in place (the destination's element keeps its ID): "+strings.Join(ls, ", "))
	}
	for _, c := range m.conflicts {
		if c.Resolution == policy.WinnerFail {
			ch.Action = OpError
			ch.Error = fmt.Sprintf("%s: %d merge conflicts and --on-conflict fail: %s", ch.Label(), len(m.conflicts), conflictList(m.conflicts))
			ch.Reason = strings.Join(reasons, "; ")
			return
		}
	}
	ch.Prune = ch.Prune || len(m.deleted) > 0
	if pl.o.RemoveDestinationOnly && pol == schema.PolicySync && pl.prune(k, bundleDoc, desired) {
		ch.Prune = true
		ch.Why = append(ch.Why, WhyPruned)
		reasons = append(reasons, "destination-only entries removed (--remove-destination-only)")
	}
	if err := k.SortSets(desired); err != nil {
		ch.Action, ch.Error = OpError, fmt.Sprintf("%s: %v", ch.Label(), err)
		return
	}
	if bundles.Equal(desired, destView) && len(lost) == 0 {
		ch.Action = OpNoOp
		if hasStamps(k) { // refreshStamps may make it an update
			ch.merged = jsonv.MustPack(desired)
		}
		ch.Reason = strings.Join(reasons, "; ")
		return
	}
	if p := pl.legacyProblem(k, desired); p != "" {
		problems = append(problems, p)
	}
	if len(problems) > 0 {
		ch.Action, ch.Error = OpError, ch.Label()+": "+strings.Join(problems, "; ")
		return
	}
	ch.Action, ch.Desired = OpUpdate, jsonv.MustPack(desired)
	ch.Diff = append(renameDiffs(ch.Renames), bundles.DiffKind(k, destMerge, desired)...)
	for _, d := range lost {
		ch.Diff = append(ch.Diff, FieldDiff{Path: "/" + strings.SplitN(d.label, "[", 2)[0], Label: d.label + "." + d.dim + " (names nothing on the destination)", Before: d.ids})
	}
	removedKeys(desired, destMerge, nil, &ch.RemoveKeys)
	ch.WriteMain = !bundles.Equal(withoutDeferred(k, desired), withoutDeferred(k, destView))
	ch.WriteDeferred = !bundles.Equal(onlyDeferred(k, desired), onlyDeferred(k, destView))
	if len(lost) > 0 {
		ch.WriteMain = true // the decided values go or lose a scope
	}
	ch.Reason = strings.Join(reasons, "; ")
	pl.cleanup[i] = append(append(predictCleanup(k, ch.Names, desired, destForm, pl.pol.Placeholder()), prunedSecrets(k, ch.Names, ch.Diff)...), lostCleanup...)
}

// conflictList renders conflicts for an error message.
func conflictList(cs []Conflict) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s (base %s, source %s, destination %s)", c.Field, show(c.Base), show(c.Source), show(c.Destination)))
	}
	return strings.Join(parts, "; ")
}

// show renders a conflict side compactly.
func show(v any) string {
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

// refreshStamps makes every existing entity whose stamps (a step's
// "Octopus.Action.Template.Version") lag behind what they record — the
// destination template's current version, or the template this plan
// creates or updates — an update: the write stamps the template's version
// as it is after the template is synced (see executor.fillStamps).
func (pl *planner) refreshStamps() {
	changed := map[string]bool{}
	for _, ch := range pl.changes {
		if ch.Action == OpCreate || ch.Action == OpUpdate {
			changed[changeKey(ch.Kind, ch.Names)] = true
		}
	}
	type stampKey struct {
		e     *snapshot.Entity
		field string
	}
	stampNow := map[stampKey]string{}
	for _, ch := range pl.changes {
		if ch.Action != OpNoOp && ch.Action != OpUpdate {
			continue
		}
		// The stamps decide read from the destination's document, in
		// parallel; nothing is decoded here but each template, once.
		var lag []string
		for _, u := range ch.stamps {
			t := pl.snap.Find(u.to, u.name)
			if t == nil {
				continue
			}
			sk := stampKey{t, u.from}
			now, seen := stampNow[sk]
			if !seen {
				now = fmt.Sprint(t.Object()[u.from])
				stampNow[sk] = now
			}
			if changed[changeKey(u.to, []string{u.name})] {
				lag = append(lag, fmt.Sprintf("%s %q is updated by this plan", title(u.to), u.name))
			} else if u.got != now {
				lag = append(lag, fmt.Sprintf("%s %q is at version %s, the step references %s", title(u.to), u.name, now, u.got))
			}
		}
		if len(lag) == 0 {
			continue
		}
		slices.Sort(lag)
		lag = slices.Compact(lag)
		if ch.Action == OpNoOp {
			ch.Action, ch.Desired, ch.merged = OpUpdate, ch.merged, jsonv.Doc{}
			ch.WriteMain = true
		}
		ch.Why = append(ch.Why, WhyStamp)
		note := "step template version refreshed: " + strings.Join(lag, "; ")
		if ch.Reason != "" {
			ch.Reason += "; "
		}
		ch.Reason += note
	}
}

// checkRefs checks every reference of doc (bundle form, modified in place):
// each name must exist in the bundle or on the destination. A name in a
// narrowing list (see narrowing) that neither has is dropped from the list:
// a partial match keeps the element for the names that exist; an element
// none of whose names exist is skipped, since an empty list would mean
// "all". It returns doc (a new array when an item of a ShapeItems file was
// skipped), notes on what was dropped and the problems.
func (pl *planner) checkRefs(k *schema.Kind, names []string, doc any) (out any, notes, problems []string) {
	type drop struct {
		container []string // path of the array element holding the reference
		leaf      []string // path of the reference list
	}
	var drops []drop
	droppedNames := map[string][]string{}
	problems, err := translate.EachName(k, names, doc, func(r translate.NameRef) (any, string) {
		if bs, err := r.Scope(); err == nil && pl.inBundle(r.To, bs, r.Name) {
			return r.Value, ""
		}
		if _, err := pl.ids.ID(r); err == nil {
			return r.Value, ""
		}
		if container, leaf, ok := narrowing(k, r.Ref, r.To, r.At); ok {
			d := drop{container: container, leaf: leaf}
			drops = append(drops, d)
			ck := schema.Pointer(d.container)
			droppedNames[ck] = append(droppedNames[ck], r.Name)
			return schema.Drop, ""
		}
		return r.Value, fmt.Sprintf("%s: %s %q exists neither in the bundle nor on the destination", schema.Pointer(r.At), title(r.To), r.Name)
	})
	if err != nil {
		return doc, nil, []string{err.Error()}
	}
	// Remove the elements none of whose targets exist, last first so that
	// indices stay valid.
	seen := map[string]bool{}
	var empty [][]string
	for _, d := range drops {
		ck := schema.Pointer(d.container)
		if seen[ck] {
			continue
		}
		seen[ck] = true
		what := bundles.LabelPath(doc, d.container)
		if arr, _ := getPath(doc, d.leaf).([]any); len(arr) == 0 {
			empty = append(empty, d.container)
			notes = append(notes, fmt.Sprintf("%s skipped: none of its %s (%s) exist on the destination", what, strings.Join(d.leaf[len(d.container):], "/"), strings.Join(droppedNames[ck], ", ")))
		} else {
			notes = append(notes, fmt.Sprintf("%s: partial match, %s not on the destination dropped from its %s", what, strings.Join(droppedNames[ck], ", "), strings.Join(d.leaf[len(d.container):], "/")))
		}
	}
	sort.SliceStable(empty, func(i, j int) bool { return lastIndex(empty[i]) > lastIndex(empty[j]) })
	for _, c := range empty {
		doc = removeAt(doc, c)
	}
	return doc, notes, problems
}

// narrowing reports whether a reference (to the kind to, at path at) lies in
// a list that narrows what its element applies to, and so may lose names the
// destination lacks rather than fail: the deployment targets (or workers) of
// a variable's scope, which belong to the destination (the guide's "partial
// match"), and the environments, projects, project groups and tenants of a
// team's scoped user role (the guide: "exclude any Tenants not found on the
// destination instance from the team user role scope"; team permissions
// differ per instance). It returns the paths of the element and of the list.
func narrowing(k *schema.Kind, ref schema.Ref, to string, at []string) (container, leaf []string, ok bool) {
	if k.Shape == schema.ShapeItems {
		// An item's list reference is at [item, field, index]; its single
		// references (a scoped user role's UserRoleId) cannot be dropped.
		if len(at) == 3 {
			return at[:1], at[:2], true
		}
		return nil, nil, false
	}
	if tk := schema.Lookup(to); tk != nil && tk.Optional {
		segs := strings.Split(ref.Path, "/")
		if star := indexOf(segs, "*"); star >= 0 && star+1 < len(at) && len(segs) <= len(at) {
			return at[:star+1], at[:len(segs)], true
		}
	}
	return nil, nil, false
}

func indexOf(segs []string, s string) int {
	for i, x := range segs {
		if x == s {
			return i
		}
	}
	return -1
}

func lastIndex(at []string) int {
	var n int
	fmt.Sscan(at[len(at)-1], &n)
	return n
}

// getPath returns the value at path at of doc, or nil.
func getPath(doc any, at []string) any { return schema.At(doc, at) }

// removeAt removes the array element at path at and returns doc (a new
// array when doc itself is the array).
func removeAt(doc any, at []string) any {
	if len(at) == 0 {
		return doc
	}
	arr, ok := getPath(doc, at[:len(at)-1]).([]any)
	if !ok {
		return doc
	}
	i := lastIndex(at)
	if i < 0 || i >= len(arr) {
		return doc
	}
	arr = append(arr[:i:i], arr[i+1:]...)
	if len(at) == 1 {
		return arr
	}
	grand := getPath(doc, at[:len(at)-2])
	if m, ok := grand.(map[string]any); ok {
		m[at[len(at)-2]] = arr
	} else if a, ok := grand.([]any); ok {
		a[lastIndex(at[:len(at)-1])] = arr
	}
	return doc
}

// hasDeferred reports whether a new entity's document has non-empty
// deferred fields to write in the second pass.
func hasDeferred(k *schema.Kind, doc any) bool {
	m, ok := doc.(map[string]any)
	if !ok {
		return false
	}
	for _, f := range k.Deferred {
		switch v := m[f].(type) {
		case nil:
		case map[string]any:
			if len(v) > 0 {
				return true
			}
		case []any:
			if len(v) > 0 {
				return true
			}
		default:
			return true
		}
	}
	return false
}

// withoutDeferred returns doc without the kind's deferred fields.
func withoutDeferred(k *schema.Kind, doc any) any {
	m, ok := doc.(map[string]any)
	if !ok || len(k.Deferred) == 0 {
		return doc
	}
	out := make(map[string]any, len(m))
	for f, v := range m {
		out[f] = v
	}
	for _, f := range k.Deferred {
		delete(out, f)
	}
	return out
}

// onlyDeferred returns the kind's deferred fields of doc.
func onlyDeferred(k *schema.Kind, doc any) any {
	m, ok := doc.(map[string]any)
	out := map[string]any{}
	if !ok {
		return out
	}
	for _, f := range k.Deferred {
		if v, ok := m[f]; ok {
			out[f] = v
		}
	}
	return out
}

// fingerprint digests the destination state a plan depends on: the
// canonical bundle form of the destination entity of every change, and the
// names of every destination entity (so an entity created or removed since
// the plan changes it too).
// formSum is the fingerprint of one destination entity's bundle form: the
// sha256 of its canonical JSON.
func formSum(form any) []byte {
	data, err := bundles.Canonical(form)
	if err != nil { // never for decoded JSON; keep the fingerprint total
		data = []byte("!" + err.Error())
	}
	sum := sha256.Sum256(data)
	return sum[:]
}

func fingerprint(snap *snapshot.Snapshot, changes []Change) string {
	h := sha256.New()
	keys := make([]string, 0, len(changes))
	byKey := map[string]Change{}
	for _, ch := range changes {
		k := changeKey(ch.Kind, ch.Names)
		keys = append(keys, k)
		byKey[k] = ch
	}
	sort.Strings(keys)
	for _, key := range keys {
		ch := byKey[key]
		fmt.Fprintf(h, "entity %q\n", key)
		if ch.destSum != nil {
			h.Write(ch.destSum)
			continue
		}
		if e := snap.Find(ch.Kind, ch.Names...); e != nil {
			form, err := translate.ToBundle(snap, e)
			if err != nil {
				fmt.Fprintf(h, "error %q\n", err.Error())
				continue
			}
			h.Write(formSum(form))
		}
	}
	for _, k := range schema.Kinds() {
		if k.Policy == schema.PolicyNever {
			continue
		}
		var names []string
		for _, e := range snap.Entities(k.Name) {
			names = append(names, strings.Join(e.Names(), "\x00"))
		}
		sort.Strings(names)
		fmt.Fprintf(h, "names %s %q\n", k.Name, names)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// stampUse is one step-template stamp of a destination document: the
// template (kind and name), the template field the stamp copies, and the
// value the step holds.
type stampUse struct{ to, name, from, got string }

// stampUses lists the stamps of dest, an entity of kind k, that name a
// template the destination has.
func (pl *planner) stampUses(k *schema.Kind, dest *snapshot.Entity) []stampUse {
	var out []stampUse
	_ = k.Stamp(dest.Object(), func(ref schema.Ref, holder map[string]any, id string) {
		if name, ok := pl.snap.Index.Name(ref.To, "", id); ok {
			out = append(out, stampUse{to: ref.To, name: name, from: ref.Stamp.From, got: fmt.Sprint(holder[ref.Stamp.Field])})
		}
	})
	return out
}

// hasStamps reports whether k declares references with a stamp
// (schema.Stamp).
func hasStamps(k *schema.Kind) bool {
	for _, r := range k.Refs {
		if r.Stamp != nil {
			return true
		}
	}
	return false
}
