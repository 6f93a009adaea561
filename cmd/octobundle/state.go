package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/octobundle/octobundle/apply"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/state"
	"github.com/octobundle/octobundle/policy"
	"github.com/urfave/cli/v2"
)

// stateFlags are the flags of the commands that read the apply state.
func stateFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "state", Value: state.DefaultDir, EnvVars: []string{"OCTOBUNDLE_STATE"}, Usage: "the state directory `DIR`: per destination, what octobundle last applied there (the base of the three-way merge)"},
	}
}

// mergeFlags are plan's and apply's merge flags.
func mergeFlags() []cli.Flag {
	return append(stateFlags(),
		&cli.StringFlag{Name: "base", Usage: "merge against the bundle `BUNDLE` (e.g. the previous one, from git) instead of the state directory's base"},
		&cli.StringFlag{Name: "on-conflict", Usage: "decide every merge conflict: source, destination or fail (default: the bundle's apply policy, then the registry: variable values stay the destination's, other content takes the source's)"},
		&cli.BoolFlag{Name: "allow-rollback", Usage: "apply a bundle exported earlier than the last one this destination received from the same source (the state records it); without it such a bundle is refused before anything is written"},
		&cli.StringFlag{Name: "on-lost-scope", Usage: "decide a destination value whose whole scope (an action, channel or runbook) the plan removes: drop (remove the value) or unscope (keep it, applying more widely); default: a plan error naming each one"},
	)
}

// openState opens the destination's state folder.
func openState(c *cli.Context, cl *octopus.Client) (*state.Store, error) {
	return state.Open(c.String("state"), state.Destination{Server: cl.Server(), InstallationID: cl.InstallationID, Space: cl.SpaceName})
}

// mergeOptions fills the merge options of o: the base (--base, else the
// state's) and --on-conflict.
func mergeOptions(c *cli.Context, st *state.Store, o *apply.Options) error {
	w, ok := policy.ParseWinner(c.String("on-conflict"))
	if !ok {
		return usageError("--on-conflict must be source, destination or fail, not %q", c.String("on-conflict"))
	}
	o.Policy = policy.Flags{OnConflict: w}
	switch ls := apply.LostScope(c.String("on-lost-scope")); ls {
	case "", apply.LostScopeDrop, apply.LostScopeUnscope:
		o.OnLostScope = ls
	default:
		return usageError("--on-lost-scope must be drop or unscope, not %q", ls)
	}
	// What --prune may delete: what octobundle recorded writing to this
	// destination, whichever base the merge uses.
	ids, err := st.IDs()
	if err != nil {
		return err
	}
	if f := c.String("base"); f != "" {
		b, err := readBase(c, f)
		if err != nil {
			return err
		}
		o.Base = &apply.Base{Bundle: b, Digest: b.Digest(), From: "--base " + f, IDs: ids}
		return nil
	}
	b, digest, err := st.Base()
	if err != nil {
		return err
	}
	o.Base = &apply.Base{Bundle: b, Digest: digest, From: "state " + st.Dir(), IDs: ids}
	return nil
}

// freshness refuses bundle b when it is older than the last bundle the
// destination received from the same source (the state's record), unless
// --allow-rollback, which makes the plan say so (Options.Rollback). Before
// the destination is written.
func freshness(c *cli.Context, st *state.Store, b *bundles.Bundle, o *apply.Options) error {
	m, err := st.Manifest()
	if err != nil {
		return err
	}
	has, rollback := m.Rollback(b.Manifest.Source, b.Digest(), b.Manifest.ExportedAt)
	if !rollback {
		return nil
	}
	const layout = time.RFC3339
	exported, had := b.Manifest.ExportedAt.UTC().Format(layout), has.UTC().Format(layout)
	if c.Bool("allow-rollback") {
		o.Rollback = fmt.Sprintf("rollback: exported %s, the destination has %s", exported, had)
		o.Logger.Warn("applying an older bundle (--allow-rollback)", "exported", exported, "destination has", had, "state", st.Dir())
		return nil
	}
	last := m.Last(b.Manifest.Source)
	return cli.Exit(fmt.Sprintf("rollback refused: the bundle (%s) was exported %s from %s space %q, and the destination has a later one from the same source (%s, exported %s; %s); refused before anything is written: apply a bundle exported later, or --allow-rollback to go back",
		b.Digest(), exported, b.Manifest.Source.Server, b.Manifest.Source.Space, last.BundleDigest, had, filepath.Join(st.Dir(), state.ManifestFile)), exitFailed)
}

// lockState takes the destination's lock for an apply.
func lockState(c *cli.Context, st *state.Store, log *slog.Logger) (func() error, error) {
	unlock, stale, err := st.Lock(c.Bool("force-unlock"))
	if err != nil {
		return nil, cli.Exit(err.Error(), exitFailed)
	}
	if stale != nil {
		log.Warn("took over a stale lock", "dir", st.Dir(), "pid", stale.PID, "host", stale.Host, "since", stale.Since)
	}
	return unlock, nil
}

// lockedState opens the state of cl's destination and takes its lock, as
// an apply does before it reads the destination.
func lockedState(c *cli.Context, cl *octopus.Client, log *slog.Logger) (*state.Store, func() error, error) {
	st, err := openState(c, cl)
	if err != nil {
		return nil, nil, err
	}
	unlock, err := lockState(c, st, log)
	if err != nil {
		return nil, nil, err
	}
	return st, unlock, nil
}

// finishState records the apply in the state's manifest: the bundle, its
// source and export time, and the server IDs written.
func finishState(st *state.Store, b *bundles.Bundle) error {
	return st.Finish(state.AppliedBundle(b), time.Now())
}

// recorder passes Execute's records to the state and remembers the first
// failure, so that apply can say the state is incomplete.
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

// applyRecorded applies b to cl (executes saved, when given) under the
// state's lock: the base (--base, else the state's) is read under the
// lock, and every entity written is recorded in the state. It calls report
// with the receipt, then reports a failure to record and records the apply
// in the state's manifest. The one apply path of apply and of apply
// --destinations.
func applyRecorded(c *cli.Context, cl *octopus.Client, st *state.Store, b *bundles.Bundle, saved *apply.Plan, opts apply.Options, report func(*apply.Receipt) error) (*apply.Receipt, error) {
	unlock, err := lockState(c, st, opts.Logger)
	if err != nil {
		return nil, err
	}
	return applyLocked(c, cl, st, b, saved, opts, unlock, report)
}

// applyLocked is applyRecorded once the state's lock is taken; it releases
// the lock with unlock.
func applyLocked(c *cli.Context, cl *octopus.Client, st *state.Store, b *bundles.Bundle, saved *apply.Plan, opts apply.Options, unlock func() error, report func(*apply.Receipt) error) (*apply.Receipt, error) {
	defer func() {
		if err := unlock(); err != nil {
			opts.Logger.Warn("releasing the state lock", "error", err)
		}
	}()
	if saved == nil && opts.Prefetched == nil {
		// The destination is read while the base is; after the lock, so
		// no other apply writes to it between the read and the plan.
		opts.Prefetched = apply.Prefetch(c.Context, cl, opts)
	}
	if err := mergeOptions(c, st, &opts); err != nil {
		opts.Prefetched.Cancel()
		return nil, err
	}
	if err := freshness(c, st, b, &opts); err != nil {
		opts.Prefetched.Cancel()
		return nil, err
	}
	rec0 := &recorder{st: st}
	opts.State = rec0
	var (
		rec *apply.Receipt
		err error
	)
	if saved != nil {
		// A saved plan: Execute re-reads the destination to refuse a stale one.
		rec, err = apply.Execute(c.Context, cl, b, saved, opts)
	} else {
		// Apply plans and executes on one read of the destination.
		_, rec, err = apply.Apply(c.Context, cl, b, opts)
	}
	if err != nil {
		return nil, refused(err)
	}
	tally.add(rec)
	if err := report(rec); err != nil {
		return nil, err
	}
	if rec0.err != nil {
		return nil, fmt.Errorf("the destination was written, but recording it in the state %s failed: %w; the next apply merges those entities two-way", st.Dir(), rec0.err)
	}
	if err := finishState(st, b); err != nil {
		return nil, fmt.Errorf("recording the apply in the state: %w", err)
	}
	if err := context.Cause(c.Context); err != nil {
		// Interrupted: what was written is recorded; the caller says so in
		// one line (see run).
		return rec, err
	}
	return rec, nil
}
