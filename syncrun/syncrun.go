// Package syncrun runs octobundle's sync sequence for one destination, the
// one way every caller syncs: open the destination's state, take its lock,
// read the merge base, check the bundle is not older than the last one
// applied, plan, apply, and record in the state what was written. The
// command line (plan, apply, drift), the fan-out to several destinations
// and the demo all go through it; apply is the engine it drives, state the
// folder it keeps.
//
// A Destination without a state (the demo's) skips the lock, the state's
// base, the freshness check and the record: the merge is two-way and
// nothing is kept between runs.
package syncrun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/octobundle/octobundle/apply"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/state"
	"github.com/octobundle/octobundle/policy"
)

// Read are the options of reading the destination, which every entry point
// does: Drift only reads.
type Read struct {
	// Concurrency bounds parallel requests and writes (apply's default
	// when 0).
	Concurrency int
	// Logger receives the narrative; nil discards it.
	Logger *slog.Logger
	// Progress, if set, is called as reading and writing advance.
	Progress func(done, total int)
}

// logger is r's logger, or one that discards.
func (r Read) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

// Merge are the options that decide what a plan does: plan's and apply's
// (and what a saved plan records of them).
type Merge struct {
	// IncludeTargets applies the deployment targets and workers the
	// bundle holds (--include-targets).
	IncludeTargets bool
	// AllowVersionSkew applies across more than one minor version of
	// Octopus (--allow-version-skew).
	AllowVersionSkew bool
	// Prune deletes what the source deleted since the last sync (--prune).
	Prune bool
	// RemoveDestinationOnly removes the destination's own content inside
	// what the bundle owns (--remove-destination-only).
	RemoveDestinationOnly bool
	// OnConflict decides every merge conflict (--on-conflict); empty: the
	// bundle's apply policy, then the registry's. Checked when the base is
	// read (an *OptionError).
	OnConflict policy.Winner
	// OnLostScope decides a value whose whole scope the plan removes
	// (--on-lost-scope); empty: a plan error. Checked with OnConflict.
	OnLostScope apply.LostScope
	// AllowRollback applies a bundle older than the last one the
	// destination received from the same source (--allow-rollback);
	// without it such a bundle is a *RollbackError.
	AllowRollback bool
	// BaseBundle, if set, is the merge base instead of the state's (--base),
	// named BaseName in the plan ("--base FILE"). What prune may delete
	// still comes from the state.
	BaseBundle *bundles.Bundle
	// BaseName says where BaseBundle comes from.
	BaseName string
}

// PlanOptions configure Plan and Prefetch.
type PlanOptions struct {
	Read
	Merge
	// Prefetched, if set, is the destination's read started ahead (see
	// Prefetch); it serves one plan. The sequence cancels it when it stops
	// before planning.
	Prefetched *apply.Prefetched
}

// ApplyOptions configure Apply.
type ApplyOptions struct {
	PlanOptions
	// AllowErrors applies what can be applied of a plan with errors
	// (--allow-errors); without it such a plan is refused before the first
	// write (apply.ErrPlanHasErrors).
	AllowErrors bool
	// Saved, if set, is the plan to execute exactly (apply --plan): it is
	// made again and refused if it differs. Nil: plan and execute on one
	// read of the destination.
	Saved *plans.Plan
	// ForceUnlock takes the state's lock even if another apply seems to
	// hold it (--force-unlock), when Apply takes it.
	ForceUnlock bool
	// Report, if set, is given the receipt as soon as the destination is
	// written, before the state's manifest records the apply; its error
	// ends Apply.
	Report func(*plans.Receipt) error
}

// engine is the apply options of o.
func (o PlanOptions) engine() apply.Options {
	return apply.Options{
		AllowVersionSkew:      o.AllowVersionSkew,
		IncludeTargets:        o.IncludeTargets,
		Prune:                 o.Prune,
		RemoveDestinationOnly: o.RemoveDestinationOnly,
		Policy:                policy.Flags{OnConflict: o.OnConflict},
		OnLostScope:           o.OnLostScope,
		Concurrency:           o.Concurrency,
		Logger:                o.Logger,
		Progress:              o.Progress,
		Prefetched:            o.Prefetched,
	}
}

// Destination is one destination of a sync: the client connected to it
// and its state (nil: none, as in the demo).
type Destination struct {
	// Client is connected to the destination's space.
	Client *octopus.Client
	// State is the destination's state folder; nil syncs without one.
	State *state.Store

	unlock func() error
}

// Open returns the destination cl with its state folder under root (the
// state directory, --state; "" is state.DefaultDir).
func Open(root string, cl *octopus.Client) (*Destination, error) {
	st, err := state.Open(root, state.Destination{Server: cl.Server(), InstallationID: cl.InstallationID, Space: cl.SpaceName})
	if err != nil {
		return nil, err
	}
	return &Destination{Client: cl, State: st}, nil
}

// Lock takes the destination's state lock, as an apply does before it
// reads the destination (force: even if another apply seems to hold it);
// taking over a stale lock is logged on log. Apply releases it.
func (d *Destination) Lock(force bool, log *slog.Logger) error {
	if d.State == nil || d.unlock != nil {
		return nil
	}
	unlock, stale, err := d.State.Lock(force)
	if err != nil {
		return err
	}
	if stale != nil && log != nil {
		log.Warn("took over a stale lock", "dir", d.State.Dir(), "pid", stale.PID, "host", stale.Host, "since", stale.Since)
	}
	d.unlock = unlock
	return nil
}

// Locked reports whether d holds its state's lock.
func (d *Destination) Locked() bool { return d.unlock != nil }

// Unlock releases the state's lock if d holds it; a failure is logged on
// log.
func (d *Destination) Unlock(log *slog.Logger) {
	if d.unlock == nil {
		return
	}
	err := d.unlock()
	d.unlock = nil
	if err != nil && log != nil {
		log.Warn("releasing the state lock", "error", err)
	}
}

// Prefetch starts reading the destination cl as a plan with o would, and
// returns at once; pass the result in PlanOptions.Prefetched. When
// applying, only after the lock: no other apply then writes between the
// read and the plan.
func Prefetch(ctx context.Context, cl *octopus.Client, o PlanOptions) *apply.Prefetched {
	return apply.Prefetch(ctx, cl, o.engine())
}

// Plan plans applying b to d, merged with the base (o.BaseBundle, else the
// state's), after refusing a bundle older than the last one applied.
func (d *Destination) Plan(ctx context.Context, b *bundles.Bundle, o PlanOptions) (*plans.Plan, error) {
	ao, err := d.prepare(b, o)
	if err != nil {
		return nil, err
	}
	return apply.MakePlan(ctx, d.Client, b, ao)
}

// prepare is what plan and apply do before planning: the options checked,
// the base read and the bundle's freshness checked. On an error it cancels
// o.Prefetched.
func (d *Destination) prepare(b *bundles.Bundle, o PlanOptions) (apply.Options, error) {
	ao := o.engine()
	err := checkOptions(o.Merge)
	if err == nil {
		ao.Base, err = d.base(o.Merge)
	}
	if err == nil {
		ao.Rollback, err = d.freshness(b, o)
	}
	if err != nil {
		o.Prefetched.Cancel()
		return ao, err
	}
	return ao, nil
}

// Apply applies b to d (executes o.Saved, when given) under the state's
// lock, taking it unless d holds it, and releases it. The base is read
// under the lock, and every entity written is recorded in the state;
// o.Report is given the receipt, then a failure to record is reported and
// the apply recorded in the state's manifest. Interrupted (ctx cancelled),
// it returns the receipt and the cause: what was written is recorded.
func (d *Destination) Apply(ctx context.Context, b *bundles.Bundle, o ApplyOptions) (*plans.Receipt, error) {
	log := o.logger()
	if err := d.Lock(o.ForceUnlock, log); err != nil {
		return nil, err
	}
	defer d.Unlock(log)
	if o.Saved == nil && o.Prefetched == nil && d.State != nil {
		// The destination is read while the base is; after the lock, so
		// no other apply writes to it between the read and the plan.
		o.Prefetched = Prefetch(ctx, d.Client, o.PlanOptions)
	}
	ao, err := d.prepare(b, o.PlanOptions)
	if err != nil {
		return nil, err
	}
	ao.AllowErrors = o.AllowErrors
	var rec0 *recorder
	if d.State != nil {
		rec0 = &recorder{st: d.State}
		ao.State = rec0
	}
	var rec *plans.Receipt
	if o.Saved != nil {
		// A saved plan: Execute re-reads the destination to refuse a stale one.
		rec, err = apply.Execute(ctx, d.Client, b, o.Saved, ao)
	} else {
		// Apply plans and executes on one read of the destination.
		_, rec, err = apply.Apply(ctx, d.Client, b, ao)
	}
	if err != nil {
		return nil, err
	}
	if o.Report != nil {
		if err := o.Report(rec); err != nil {
			return nil, err
		}
	}
	if rec0 != nil {
		if rec0.err != nil {
			return nil, fmt.Errorf("the destination was written, but recording it in the state %s failed: %w; the next apply merges those entities two-way", d.State.Dir(), rec0.err)
		}
		if err := d.State.Finish(state.AppliedBundle(b), time.Now()); err != nil {
			return nil, fmt.Errorf("recording the apply in the state: %w", err)
		}
	}
	if err := context.Cause(ctx); err != nil {
		// Interrupted: what was written is recorded; the caller says so.
		return rec, err
	}
	return rec, nil
}

// ErrNothingApplied is Drift's error for a destination whose state holds
// nothing: octobundle never applied to it (with this state directory).
var ErrNothingApplied = errors.New("the state holds nothing for this destination")

// Drift compares what octobundle last wrote to d (its state) with the
// destination as it is now.
func (d *Destination) Drift(ctx context.Context, o Read) (*plans.DriftReport, error) {
	if d.State == nil {
		return nil, ErrNothingApplied
	}
	written, err := d.State.Written()
	if err != nil {
		return nil, err
	}
	if written == nil {
		return nil, ErrNothingApplied
	}
	return apply.Drift(ctx, d.Client, written, apply.Options{Concurrency: o.Concurrency, Logger: o.Logger, Progress: o.Progress})
}

// OptionError is a Merge option with a value it cannot take.
type OptionError struct {
	// Flag is the option's command-line flag ("on-conflict").
	Flag string
	// Value is the value given.
	Value string
	// Want lists the values it takes ("drop or unscope").
	Want string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("--%s must be %s, not %q", e.Flag, e.Want, e.Value)
}

// checkOptions checks the merge options that come as words.
func checkOptions(m Merge) error {
	if _, ok := policy.ParseWinner(string(m.OnConflict)); !ok {
		return &OptionError{Flag: "on-conflict", Value: string(m.OnConflict), Want: "source, destination or fail"}
	}
	switch m.OnLostScope {
	case "", apply.LostScopeDrop, apply.LostScopeUnscope:
	default:
		return &OptionError{Flag: "on-lost-scope", Value: string(m.OnLostScope), Want: "drop or unscope"}
	}
	return nil
}

// base is the merge base: m.BaseBundle, else the state's; nil without
// either. What prune may delete is what octobundle recorded writing to
// this destination, whichever base the merge uses.
func (d *Destination) base(m Merge) (*apply.Base, error) {
	if d.State == nil {
		if m.BaseBundle == nil {
			return nil, nil
		}
		return &apply.Base{Bundle: m.BaseBundle, Digest: m.BaseBundle.Digest(), From: m.BaseName}, nil
	}
	ids, err := d.State.IDs()
	if err != nil {
		return nil, err
	}
	if m.BaseBundle != nil {
		return &apply.Base{Bundle: m.BaseBundle, Digest: m.BaseBundle.Digest(), From: m.BaseName, IDs: ids}, nil
	}
	b, digest, err := d.State.Base()
	if err != nil {
		return nil, err
	}
	return &apply.Base{Bundle: b, Digest: digest, From: "state " + d.State.Dir(), IDs: ids}, nil
}

// RollbackError refuses a bundle exported earlier than the last one the
// destination received from the same source, before anything is written.
type RollbackError struct {
	// Digest and Source are the refused bundle's.
	Digest string
	Source bundles.Source
	// Exported is when the refused bundle was exported, Had when the
	// destination's last one from that source was (RFC 3339, UTC).
	Exported, Had string
	// Last is the state's record of that last bundle.
	Last *state.SourceRecord
	// Manifest is the state's manifest file.
	Manifest string
}

func (e *RollbackError) Error() string {
	last := ""
	if e.Last != nil {
		last = e.Last.BundleDigest
	}
	return fmt.Sprintf("rollback refused: the bundle (%s) was exported %s from %s space %q, and the destination has a later one from the same source (%s, exported %s; %s); refused before anything is written: apply a bundle exported later, or --allow-rollback to go back",
		e.Digest, e.Exported, e.Source.Server, e.Source.Space, last, e.Had, e.Manifest)
}

// freshness refuses b when it is older than the last bundle the
// destination received from the same source (the state's record), unless
// o.AllowRollback, which makes the plan say so: the line returned, for
// apply.Options.Rollback.
func (d *Destination) freshness(b *bundles.Bundle, o PlanOptions) (string, error) {
	if d.State == nil {
		return "", nil
	}
	m, err := d.State.Manifest()
	if err != nil {
		return "", err
	}
	has, rollback := m.Rollback(b.Manifest.Source, b.Digest(), b.Manifest.ExportedAt)
	if !rollback {
		return "", nil
	}
	const layout = time.RFC3339
	exported, had := b.Manifest.ExportedAt.UTC().Format(layout), has.UTC().Format(layout)
	if o.AllowRollback {
		o.logger().Warn("applying an older bundle (--allow-rollback)", "exported", exported, "destination has", had, "state", d.State.Dir())
		return fmt.Sprintf("rollback: exported %s, the destination has %s", exported, had), nil
	}
	return "", &RollbackError{Digest: b.Digest(), Source: b.Manifest.Source, Exported: exported, Had: had,
		Last: m.Last(b.Manifest.Source), Manifest: filepath.Join(d.State.Dir(), state.ManifestFile)}
}

// recorder passes Execute's records to the state and remembers the first
// failure, so that Apply can say the state is incomplete.
type recorder struct {
	st  *state.Store
	mu  sync.Mutex
	err error
}

// Record passes the record of an entity to the state.
func (r *recorder) Record(path string, base, written any) error {
	return r.keep(r.st.Record(path, base, written))
}

// RecordID passes the entity's server ID to the state (see
// apply.StateRecorder).
func (r *recorder) RecordID(path, id string) error { return r.keep(r.st.RecordID(path, id)) }

// Forget passes the forgetting of an entity to the state.
func (r *recorder) Forget(path string) error { return r.keep(r.st.Forget(path)) }

// The recorder must offer what a replay's fast path looks for, or every
// replay converts every entity again.
var _ apply.WrittenChecker = (*recorder)(nil)

// HasWritten lets a replay skip converting unchanged entities again (see
// apply.WrittenChecker).
func (r *recorder) HasWritten(path string, sum []byte) bool { return r.st.HasWritten(path, sum) }

func (r *recorder) keep(err error) error {
	if err != nil {
		r.mu.Lock()
		if r.err == nil {
			r.err = err
		}
		r.mu.Unlock()
	}
	return err
}
