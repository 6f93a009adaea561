package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/octobundle/octobundle/apply/internal/execute"
	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/apply/internal/secrets"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/policy"
)

// ErrStalePlan is returned by Execute when the plan was made for another
// bundle or against a destination that has changed since.
var ErrStalePlan = errors.New("the plan is stale")

// ErrPlanMismatch is returned by Execute when the plan was made for another
// bundle or another destination: not stale, just not this one's.
var ErrPlanMismatch = errors.New("the plan was made for a different bundle or destination")

// ErrPlanHasErrors is returned by Execute and Apply, before anything is
// written, for a plan with errors, unless Options.AllowErrors is set; the
// error lists every one, naming entity and field.
var ErrPlanHasErrors = errors.New("the plan has errors")

// planErrors returns ErrPlanHasErrors with every error of p, or nil.
func planErrors(p *plans.Plan) error {
	var lines []string
	for _, ch := range p.Changes {
		if ch.Action != plans.OpError {
			continue
		}
		msg := ch.Error
		if !strings.HasPrefix(msg, ch.Label()) {
			msg = ch.Label() + ": " + msg
		}
		lines = append(lines, msg)
	}
	if len(lines) == 0 {
		return nil
	}
	n := "1 error"
	if len(lines) > 1 {
		n = fmt.Sprintf("%d errors", len(lines))
	}
	return fmt.Errorf("%w, nothing was written (%s):\n  %s", ErrPlanHasErrors, n, strings.Join(lines, "\n  "))
}

// Apply makes a plan and executes it.
func Apply(ctx context.Context, c *octopus.Client, b *bundles.Bundle, o Options) (*plans.Plan, *plans.Receipt, error) {
	pd, err := makePlanned(ctx, c, b, o)
	if err != nil {
		return nil, nil, err
	}
	r, err := executePlan(ctx, c, b, pd.Plan, o, pd)
	return pd.Plan, r, err
}

// Execute performs exactly the plan p, which must have been made for b. It
// reads the destination again and refuses (ErrStalePlan) when b's digest or
// the destination's state differ from what p was made against. Failures of
// single entities are in the receipt, not the error.
func Execute(ctx context.Context, c *octopus.Client, b *bundles.Bundle, p *plans.Plan, o Options) (*plans.Receipt, error) {
	return executePlan(ctx, c, b, p, o, nil)
}

func executePlan(ctx context.Context, c *octopus.Client, b *bundles.Bundle, p *plans.Plan, o Options, fresh *madePlan) (*plans.Receipt, error) {
	o = o.withDefaults()
	log := o.Logger
	if p == nil || b == nil {
		return nil, errors.New("apply: Execute needs a plan and its bundle")
	}
	if p.Format != plans.PlanFormat {
		return nil, fmt.Errorf("apply: the plan's format is %q, not %q", p.Format, plans.PlanFormat)
	}
	if d := b.Digest(); d != p.BundleDigest {
		return nil, fmt.Errorf("apply: %w: it was made for a different bundle (%s), not %s", ErrPlanMismatch, p.BundleDigest, d)
	}
	if err := checkVersion(b.Manifest.Source.ServerVersion, c.ServerVersion, o.AllowVersionSkew); err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	if p.Destination.Server != c.Server() || p.Destination.Space != c.SpaceName {
		return nil, fmt.Errorf("apply: %w: it was made for space %q on %s, not %q on %s", ErrPlanMismatch,
			p.Destination.Space, p.Destination.Server, c.SpaceName, c.Server())
	}
	if !o.AllowErrors {
		if err := planErrors(p); err != nil {
			return nil, fmt.Errorf("apply: %w", err)
		}
	}
	pf, err := b.ApplyPolicy()
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	pol := policy.New(pf, o.Policy)
	placeholder := pol.Placeholder()
	before := c.Stats()
	var (
		snap *snapshot.Snapshot
		pd   *madePlan
	)
	if fresh != nil && fresh.snap != nil && fresh.client == c {
		snap, pd = fresh.snap, fresh // made just now by Apply
	} else {
		var err error
		ro := o
		ro.Progress = nil // the progress shown is the writes'
		snap, err = readDestination(ctx, c, ro)
		if err != nil {
			return nil, fmt.Errorf("apply: reading the destination space %q: %w", c.SpaceName, err)
		}
		// A saved plan is executed only if deriving it again from the
		// bundle, the base and the destination as they are now gives
		// exactly the same plan: a hand-edited plan, a changed bundle,
		// destination or state is refused, naming the difference.
		again := makePlan(snap, b, pol, o)
		again.Bundle = p.Bundle // where the bundle was read from: informational
		again.Flags = p.Flags   // what the command line made it with: the caller applies them
		if again.BaseDigest == p.BaseDigest && again.Mode == p.Mode {
			// The same base, named from another working directory.
			again.ModeReason = p.ModeReason
		}
		if err := comparePlans(p, again.Plan); err != nil {
			return nil, fmt.Errorf("apply: %w: %v; make a new plan", ErrStalePlan, err)
		}
		pd = again
	}
	p = pd.Plan

	results, stateErr := execute.Run(ctx, execute.Input{Plan: p, Changes: plannedOf(pd.changes), Client: c, Snap: snap, Bundle: b,
		Placeholder: placeholder, OnLostScope: o.OnLostScope, State: o.State, Concurrency: o.Concurrency, Logger: log, Progress: o.Progress})
	if stateErr != nil {
		log.Warn("recording the state failed", "error", stateErr)
	}

	r := &plans.Receipt{Summary: zeroSummary(plans.OutcomeCreated, plans.OutcomeUpdated, plans.OutcomeUnchanged, plans.OutcomeLeftAlone, plans.OutcomeFailed, plans.OutcomeSkipped, plans.OutcomeDeleted), Cleanup: []plans.CleanupItem{}, Rollback: p.Rollback}
	done := map[string]bool{}
	for i, ch := range p.Changes {
		res := results[i]
		r.Results = append(r.Results, res)
		r.Summary[res.Outcome]++
		if res.Outcome == plans.OutcomeCreated || res.Outcome == plans.OutcomeUpdated {
			done[planned.Key(ch.Kind, ch.Names)] = true
		}
	}
	for _, it := range p.Cleanup {
		if done[planned.Key(it.Kind, it.Names)] {
			it.Why = secrets.PastTense(it.Why)
			r.Cleanup = append(r.Cleanup, it)
		}
	}
	r.Destination = plans.Destination{Server: p.Destination.Server, Space: p.Destination.Space, ServerVersion: p.Destination.ServerVersion}
	r.BundleDigest, r.Finished = p.BundleDigest, time.Now().UTC().Truncate(time.Second)
	after := c.Stats()
	r.Stats = octopus.Stats{Requests: after.Requests - before.Requests, Retries: after.Retries - before.Retries, Writes: after.Writes - before.Writes}
	log.Info("apply finished", "status", r.Status(), "created", r.Summary[plans.OutcomeCreated], "updated", r.Summary[plans.OutcomeUpdated],
		"unchanged", r.Summary[plans.OutcomeUnchanged], "left-alone", r.Summary[plans.OutcomeLeftAlone], "failed", r.Summary[plans.OutcomeFailed],
		"skipped", r.Summary[plans.OutcomeSkipped], "writes", r.Stats.Writes, "requests", r.Stats.Requests)
	return r, nil
}

// comparePlans returns an error naming the differences between a saved
// plan and the plan derived again now (the bundle, the base, the
// destination, then entity by entity), or nil when they are the same.
func comparePlans(saved, now *plans.Plan) error {
	var parts []string
	if saved.BundleDigest != now.BundleDigest {
		parts = append(parts, fmt.Sprintf("it was made for bundle %s, not %s", saved.BundleDigest, now.BundleDigest))
	}
	if saved.BaseDigest != now.BaseDigest || saved.Mode != now.Mode {
		parts = append(parts, fmt.Sprintf("it was made against the base %s (%s), and the base now is %s (%s): the state changed since", orNone(saved.BaseDigest), saved.Mode, orNone(now.BaseDigest), now.Mode))
	}
	if saved.Destination != now.Destination {
		parts = append(parts, fmt.Sprintf("the destination changed since the plan was made (fingerprint %s now, %s in the plan)", now.Destination.Fingerprint, saved.Destination.Fingerprint))
	}
	byKey := map[string]*plans.Change{}
	for i := range now.Changes {
		byKey[planned.Key(now.Changes[i].Kind, now.Changes[i].Names)] = &now.Changes[i]
	}
	seen := map[string]bool{}
	var entity []string
	for i := range saved.Changes {
		sc := &saved.Changes[i]
		key := planned.Key(sc.Kind, sc.Names)
		seen[key] = true
		nc := byKey[key]
		if nc == nil {
			entity = append(entity, fmt.Sprintf("%s: in the saved plan (%s), not in the plan now", sc.Label(), sc.Action))
			continue
		}
		a, b := planValue(sc), planValue(nc)
		if bundles.Equal(a, b) {
			continue
		}
		ds := bundles.Diff(a, b)
		var fields []string
		for k, d := range ds {
			if k == 3 {
				fields = append(fields, fmt.Sprintf("… %d more", len(ds)-3))
				break
			}
			fields = append(fields, fmt.Sprintf("%s is %s in the saved plan, %s now", strings.TrimPrefix(d.Path, "/"), plans.Show(d.Before), plans.Show(d.After)))
		}
		entity = append(entity, sc.Label()+": "+strings.Join(fields, ", "))
	}
	for i := range now.Changes {
		if nc := &now.Changes[i]; !seen[planned.Key(nc.Kind, nc.Names)] {
			entity = append(entity, fmt.Sprintf("%s: in the plan now (%s), not in the saved plan", nc.Label(), nc.Action))
		}
	}
	if len(entity) > 5 {
		entity = append(entity[:5], fmt.Sprintf("… %d more entities", len(entity)-5))
	}
	parts = append(parts, entity...)
	if len(parts) == 0 && !bundles.Equal(planValue(saved), planValue(now)) {
		ds := bundles.Diff(planValue(saved), planValue(now))
		parts = append(parts, fmt.Sprintf("%s is %s in the saved plan, %s now", ds[0].Path, plans.Show(ds[0].Before), plans.Show(ds[0].After)))
	}
	if len(parts) == 0 {
		return nil
	}
	return fmt.Errorf("the saved plan is not the plan derived now from the bundle, the base and the destination: %s", strings.Join(parts, "; "))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// planValue is v as plain JSON values (as a plan file holds it).
func planValue(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	out, err := bundles.Decode(data)
	if err != nil {
		return err.Error()
	}
	return out
}
