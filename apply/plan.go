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
//
// The documents apply makes — the plan, the receipt, the drift report —
// and their file formats are package apply/plans; their text views are
// package apply/render. This package decides: plan.go and the files it
// names make a plan; execute.go checks a saved plan against the plan
// derived again and hands it to the executor, apply/internal/execute,
// which writes (the planner never calls it). What planning learnt of each
// change beyond the document reaches the executor as planned.Change
// (apply/internal/planned); the helpers both use are apply/internal/scopes
// (lost and dangling scopes), apply/internal/secrets (placeholders) and
// apply/internal/writemerge (the write merge).
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

	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/apply/internal/scopes"
	"github.com/octobundle/octobundle/apply/internal/secrets"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/parallel"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/policy"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/translate"
)

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

// zeroSummary is a summary with a zero count for each key: JSON summaries
// keep zero counts, so a script reads summary.error as 0, not as missing.
func zeroSummary[K comparable](keys ...K) map[K]int {
	m := make(map[K]int, len(keys))
	for _, k := range keys {
		m[k] = 0
	}
	return m
}

// MakePlan reads the destination and computes the plan for applying b to
// it. It never writes. It fails (without a plan) when the destination's
// Octopus version is too far from the bundle's source, or when the
// destination cannot be read; problems with single entities are plan
// entries with action error.
func MakePlan(ctx context.Context, c *octopus.Client, b *bundles.Bundle, o Options) (*plans.Plan, error) {
	pd, err := makePlanned(ctx, c, b, o)
	if err != nil {
		return nil, err
	}
	return pd.Plan, nil
}

// makePlanned is MakePlan keeping what Apply executes the plan with.
func makePlanned(ctx context.Context, c *octopus.Client, b *bundles.Bundle, o Options) (*madePlan, error) {
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
	var pd *madePlan
	if pf := o.Prefetched; pf != nil && pf.client == c {
		pd, err = makePlanEarly(ctx, pf, b, pol, o)
	} else {
		var snap *snapshot.Snapshot
		if snap, err = readDestination(ctx, c, o); err == nil {
			pd = makePlan(snap, b, pol, o)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("apply: reading the destination space %q: %w", c.SpaceName, err)
	}
	pd.client = c
	p := pd.Plan
	o.Logger.Info("plan made", "server", p.Destination.Server, "space", p.Destination.Space,
		"create", p.Summary[plans.OpCreate], "update", p.Summary[plans.OpUpdate], "no-op", p.Summary[plans.OpNoOp],
		"left-alone", p.Summary[plans.OpLeftAlone], "delete", p.Summary[plans.OpDelete], "error", p.Summary[plans.OpError], "cleanup", len(p.Cleanup))
	return pd, nil
}

// planner holds what computing one plan needs.
type planner struct {
	snap    *snapshot.Snapshot
	b       *bundles.Bundle
	o       Options
	ids     translate.IDs
	changes []*change
	bn      planned.Names
	cleanup [][]plans.CleanupItem
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
func makePlan(snap *snapshot.Snapshot, b *bundles.Bundle, pol *policy.Decider, o Options) *madePlan {
	p, pl := newPlan(snap, b, pol, o)
	// Decide every entity; reading the destination's bundle forms is the
	// costly part, so entities are decided in parallel.
	parallel.Each(len(pl.changes), pl.decide)
	return pl.finish(p, b)
}

// newPlan sets up the plan of b against snap: its changes, one per
// bundle entity, not decided yet.
func newPlan(snap *snapshot.Snapshot, b *bundles.Bundle, pol *policy.Decider, o Options) (*plans.Plan, *planner) {
	p := &plans.Plan{
		Format:       plans.PlanFormat,
		BundleDigest: b.Digest(),
		Destination:  plans.Destination{Server: snap.Server, Space: snap.SpaceName, ServerVersion: snap.ServerVersion},
		Summary:      zeroSummary(plans.OpCreate, plans.OpUpdate, plans.OpNoOp, plans.OpLeftAlone, plans.OpError, plans.OpDelete),
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
		pl.changes = append(pl.changes, newChange(plans.Change{Kind: e.Kind.Name, Names: e.Names, Path: e.Path}))
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
		// Only a kind that provides names, or whose renames may need
		// detecting, needs its document here (variables, the largest
		// documents, are neither): the others provide none.
		if len(k.Provides) == 0 && (!renameable(k) || pl.baseUnchanged(b, ch.Path)) {
			ch.ProvidesKnown = true
			return
		}
		if doc, ok := b.Entity(k, ch.Names...); ok {
			ch.Provides = planned.ProvidedNames(ch.Change, doc)
			if renameable(k) && !pl.baseUnchanged(b, ch.Path) {
				if base, ok := pl.baseDoc(k, ch.Names); ok {
					ch.renames = detectRenames(k, base, doc)
					ch.removed = removedNames(ch, base)
				}
			}
		}
		ch.ProvidesKnown = true
	})
	pl.bn = planned.IndexBundle(plannedOf(pl.changes))
	pl.renamed = collectRenamed(pl.changes)
	pl.removed = pl.collectRemoved(b)
	pl.cleanup = make([][]plans.CleanupItem, len(pl.changes))
	return p, pl
}

// finish completes a plan once every change is decided: step-template
// stamps, deletions, the summary and the fingerprint.
func (pl *planner) finish(p *plans.Plan, b *bundles.Bundle) *madePlan {
	snap, o := pl.snap, pl.o
	p.Leftover = leftoverPlaceholders(snap)
	pl.refreshStamps()

	deletes := pl.planSourceDeletes(b)
	if o.RemoveDestinationOnly {
		seen := map[string]bool{}
		for _, d := range deletes {
			seen[planned.Key(d.Kind, d.Names)] = true
		}
		for _, d := range pl.planDeletes(b, p) {
			if !seen[planned.Key(d.Kind, d.Names)] {
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
	pl.cleanup = append(pl.cleanup, make([][]plans.CleanupItem, len(deletes))...)
	all := append(pl.changes, deletes...)
	// The plan holds every change and clean-up item for the whole apply:
	// sized once, not grown by doubling; the per-change items are
	// dropped once copied.
	p.Changes = make([]plans.Change, 0, len(all))
	ncleanup := 0
	for _, c := range pl.cleanup {
		ncleanup += len(c)
	}
	if ncleanup > 0 {
		p.Cleanup = make([]plans.CleanupItem, 0, ncleanup)
	}
	for i, ch := range all {
		p.Changes = append(p.Changes, *ch.Change.Change)
		p.Summary[ch.Action]++
		p.Cleanup = append(p.Cleanup, pl.cleanup[i]...)
		o.Logger.Debug("planned", "entity", ch.Label(), "action", ch.Action, "fields", len(ch.Diff), "reason", ch.Reason, "error", ch.Error)
	}
	pl.cleanup = nil
	if p.Cleanup == nil {
		p.Cleanup = []plans.CleanupItem{}
	}
	for i, ch := range all {
		ch.Change.Change = &p.Changes[i] // one document: the plan's
	}
	p.Destination.Fingerprint = fingerprint(snap, all)
	return &madePlan{Plan: p, changes: all, snap: snap}
}

// decide fills in the action of change i.
func (pl *planner) decide(i int) {
	ch := pl.changes[i]
	k := schema.MustLookup(ch.Kind)
	if k.Policy == schema.PolicyNever {
		ch.Action, ch.Error = plans.OpError, fmt.Sprintf("%s: %s are never applied", ch.Label(), k.Title)
		return
	}
	var destForm any
	dest := pl.snap.Find(k.Name, ch.Names...)
	if dest != nil {
		f, warnings, err := translate.ToBundleWarnings(pl.snap, dest)
		ch.warnings = warnings
		if err != nil {
			ch.Action, ch.Error = plans.OpError, fmt.Sprintf("%s: reading the destination's copy: %v", ch.Label(), err)
			return
		}
		destForm = f
		ch.DestSum = formSum(f)
		if hasStamps(k) {
			ch.stamps = pl.stampUses(k, dest)
		}
	}

	pol, fromBundle := pl.kindPolicy(k)
	if pol == schema.PolicySkip {
		ch.Action = plans.OpLeftAlone
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
			ch.Action, ch.Error = plans.OpError, fmt.Sprintf("%s: its %s %q is not on the destination and the bundle's apply policy skips %s", ch.Label(), planned.Title(ok.Name), strings.Join(ownerNames, "/"), ok.Title)
			return
		}
	}

	bundleDoc, ok := pl.b.Entity(k, ch.Names...) // the planner's own copy
	if !ok {
		ch.Action, ch.Error = plans.OpError, fmt.Sprintf("%s: not in the bundle", ch.Label())
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
			ch.Action, ch.Error = plans.OpError, ch.Label()+": "+strings.Join(problems, "; ")
			return
		}
		ch.Action, ch.Desired = plans.OpCreate, jsonv.MustPack(bundleDoc)
		ch.Applied = ch.Desired
		ch.Why = []string{plans.WhyCreated}
		if pl.inBase(k, ch.Names) {
			ch.Why = []string{plans.WhyRecreated}
		}
		ch.WriteMain = true
		ch.WriteDeferred = hasDeferred(k, bundleDoc)
		ch.Reason = strings.Join(reasons, "; ")
		pl.cleanup[i] = secrets.Predict(k, ch.Names, bundleDoc, nil, pl.pol.Placeholder())
		return
	}

	if pol == schema.PolicyExist {
		// The server never returns write-only fields (a certificate's
		// Password and CertificateData, the registry's Kind.Sensitive):
		// what the destination holds there cannot be seen, so it is not
		// compared (a placeholder octobundle created would otherwise
		// differ on every plan, forever).
		if bundles.Equal(bundleDoc, destForm) || bundles.Equal(k.WithoutSecrets(bundleDoc), k.WithoutSecrets(destForm)) {
			ch.Action = plans.OpNoOp
			// Recorded only when octobundle created it (the base has it):
			// --prune never deletes what it did not create or manage.
			if pl.inBase(k, ch.Names) {
				ch.Applied = jsonv.MustPack(bundleDoc)
				ch.BaseCurrent = pl.baseHolds(ch.Path, ch.Applied)
			}
			return
		}
		ch.Action = plans.OpLeftAlone
		ch.Diff = bundles.DiffKind(k, k.WithoutSecrets(destForm), k.WithoutSecrets(bundleDoc))
		ch.Reason = "destination owns its details"
		if fromBundle {
			ch.Reason += " (" + policyNote(pol) + ")"
		}
		return
	}

	var lost []scopes.Dangling
	if scopes.HasScopedValues(k) && len(ch.warnings) > 0 {
		// The destination's own dangling scopes (see apply/internal/scopes), which
		// reading it warned about.
		lost, _ = scopes.CleanDangling(k, dest.Object(), dest.Root().ID, scopes.SnapAlive(pl.snap), pl.o.OnLostScope)
		for _, d := range lost {
			if pl.o.OnLostScope == "" {
				problems = append(problems, d.Problem())
			} else {
				ch.Notes = append(ch.Notes, d.Note(pl.o.OnLostScope))
			}
		}
		if len(problems) > 0 {
			ch.Action, ch.Error = plans.OpError, ch.Label()+": "+strings.Join(problems, "; ")
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
		ch.Action, ch.Error = plans.OpError, ch.Label()+": "+strings.Join(m.problems, "; ")
		return
	}
	lostNotes, lostCleanup, lostProblems := lostScope(k, ch.Names, desired, pl.removed, pl.o.OnLostScope, valueLabel)
	if len(lostProblems) > 0 {
		ch.Action, ch.Error = plans.OpError, ch.Label()+": "+strings.Join(lostProblems, "; ")
		return
	}
	ch.Notes = append(ch.Notes, lostNotes...)
	if len(lostNotes) > 0 {
		// Values narrowed, unscoped or dropped: the write removes the old
		// ones (see prunedVariables).
		ch.Prune = true
	}
	ch.Applied = jsonv.MustPack(bundleDoc)
	ch.BaseCurrent = pl.baseHolds(ch.Path, ch.Applied)
	ch.Conflicts, ch.Drift, ch.Kept = m.conflicts, m.drift, m.kept
	why, whyText := whyOf(m, hasBase)
	ch.Why = why
	reasons = append(reasons, whyText...)
	if len(ch.Renames) > 0 {
		var ls []string
		for _, r := range ch.Renames {
			ls = append(ls, r.Label())
		}
		ch.Why = append(ch.Why, plans.WhyRenamed)
		reasons = append(reasons, plans.WhyRenamed+" in place (the destination's element keeps its ID): "+strings.Join(ls, ", "))
	}
	for _, c := range m.conflicts {
		if c.Resolution == policy.WinnerFail {
			ch.Action = plans.OpError
			ch.Error = fmt.Sprintf("%s: %d merge conflicts and --on-conflict fail: %s", ch.Label(), len(m.conflicts), conflictList(m.conflicts))
			ch.Reason = strings.Join(reasons, "; ")
			return
		}
	}
	ch.Prune = ch.Prune || len(m.deleted) > 0
	if pl.o.RemoveDestinationOnly && pol == schema.PolicySync && pl.prune(k, bundleDoc, desired) {
		ch.Prune = true
		ch.Why = append(ch.Why, plans.WhyPruned)
		reasons = append(reasons, "destination-only entries removed (--remove-destination-only)")
	}
	if err := k.SortSets(desired); err != nil {
		ch.Action, ch.Error = plans.OpError, fmt.Sprintf("%s: %v", ch.Label(), err)
		return
	}
	if bundles.Equal(desired, destView) && len(lost) == 0 {
		ch.Action = plans.OpNoOp
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
		ch.Action, ch.Error = plans.OpError, ch.Label()+": "+strings.Join(problems, "; ")
		return
	}
	ch.Action, ch.Desired = plans.OpUpdate, jsonv.MustPack(desired)
	ch.Diff = append(renameDiffs(ch.Renames), bundles.DiffKind(k, destMerge, desired)...)
	for _, d := range lost {
		ch.Diff = append(ch.Diff, plans.FieldDiff{Path: "/" + strings.SplitN(d.Label, "[", 2)[0], Label: d.Label + "." + d.Dim + " (names nothing on the destination)", Before: d.IDs})
	}
	removedKeys(desired, destMerge, nil, &ch.RemoveKeys)
	ch.WriteMain = !bundles.Equal(planned.WithoutDeferred(k, desired), planned.WithoutDeferred(k, destView))
	ch.WriteDeferred = !bundles.Equal(planned.OnlyDeferred(k, desired), planned.OnlyDeferred(k, destView))
	if len(lost) > 0 {
		ch.WriteMain = true // the decided values go or lose a scope
	}
	ch.Reason = strings.Join(reasons, "; ")
	pl.cleanup[i] = append(append(secrets.Predict(k, ch.Names, desired, destForm, pl.pol.Placeholder()), prunedSecrets(k, ch.Names, ch.Diff)...), lostCleanup...)
}

// conflictList renders conflicts for an error message.
func conflictList(cs []plans.Conflict) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s (base %s, source %s, destination %s)", c.Field, plans.Show(c.Base), plans.Show(c.Source), plans.Show(c.Destination)))
	}
	return strings.Join(parts, "; ")
}

// refreshStamps makes every existing entity whose stamps (a step's
// "Octopus.Action.Template.Version") lag behind what they record — the
// destination template's current version, or the template this plan
// creates or updates — an update: the write stamps the template's version
// as it is after the template is synced (see fillStamps in apply/internal/execute).
func (pl *planner) refreshStamps() {
	changed := map[string]bool{}
	for _, ch := range pl.changes {
		if ch.Action == plans.OpCreate || ch.Action == plans.OpUpdate {
			changed[planned.Key(ch.Kind, ch.Names)] = true
		}
	}
	type stampKey struct {
		e     *snapshot.Entity
		field string
	}
	stampNow := map[stampKey]string{}
	for _, ch := range pl.changes {
		if ch.Action != plans.OpNoOp && ch.Action != plans.OpUpdate {
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
			if changed[planned.Key(u.to, []string{u.name})] {
				lag = append(lag, fmt.Sprintf("%s %q is updated by this plan", planned.Title(u.to), u.name))
			} else if u.got != now {
				lag = append(lag, fmt.Sprintf("%s %q is at version %s, the step references %s", planned.Title(u.to), u.name, now, u.got))
			}
		}
		if len(lag) == 0 {
			continue
		}
		slices.Sort(lag)
		lag = slices.Compact(lag)
		if ch.Action == plans.OpNoOp {
			ch.Action, ch.Desired, ch.merged = plans.OpUpdate, ch.merged, jsonv.Doc{}
			ch.WriteMain = true
		}
		ch.Why = append(ch.Why, plans.WhyStamp)
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
		return r.Value, fmt.Sprintf("%s: %s %q exists neither in the bundle nor on the destination", schema.Pointer(r.At), planned.Title(r.To), r.Name)
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

// fingerprint digests the destination state a plan depends on: the
// canonical bundle form of the destination entity of every change, and the
// names of every destination entity (so an entity created or removed since
// the plan changes it too).
// formSum is the fingerprint of one destination entity's bundle form: the
// sha256 of its canonical JSON.
func formSum(form any) []byte {
	sum, err := bundles.CanonicalSum(form)
	if err != nil { // never for decoded JSON; keep the fingerprint total
		sum = sha256.Sum256([]byte("!" + err.Error()))
	}
	return sum[:]
}

func fingerprint(snap *snapshot.Snapshot, changes []*change) string {
	h := sha256.New()
	keys := make([]string, 0, len(changes))
	byKey := map[string]*change{}
	for _, ch := range changes {
		k := planned.Key(ch.Kind, ch.Names)
		keys = append(keys, k)
		byKey[k] = ch
	}
	sort.Strings(keys)
	for _, key := range keys {
		ch := byKey[key]
		fmt.Fprintf(h, "entity %q\n", key)
		if ch.DestSum != nil {
			h.Write(ch.DestSum)
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
