package main

import (
	"errors"
	"log/slog"

	"github.com/octobundle/octobundle/apply"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/state"
	"github.com/octobundle/octobundle/policy"
	"github.com/octobundle/octobundle/syncrun"
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

// openState opens the destination cl with its state folder (--state).
func openState(c *cli.Context, cl *octopus.Client) (*syncrun.Destination, error) {
	return syncrun.Open(c.String("state"), cl)
}

// mergeOptions fills the merge options of o from the flags: --base (read
// and checked with the bundle, see checkedBundle), --on-conflict,
// --on-lost-scope and --allow-rollback. The sync sequence checks the
// words when it reads the base (see optionError).
func mergeOptions(c *cli.Context, o *syncrun.PlanOptions) error {
	o.OnConflict = policy.Winner(c.String("on-conflict"))
	o.OnLostScope = apply.LostScope(c.String("on-lost-scope"))
	o.AllowRollback = c.Bool("allow-rollback")
	if f := c.String("base"); f != "" {
		b, err := readBase(c, f)
		if err != nil {
			return err
		}
		o.BaseBundle, o.BaseName = b, "--base "+f
	}
	return nil
}

// optionError is a wrong option word (syncrun.OptionError) as the command
// line says it: a usage error.
func optionError(err error) error {
	var oe *syncrun.OptionError
	if errors.As(err, &oe) {
		return usageError("%s", oe.Error())
	}
	return err
}

// lockState takes the destination's lock for an apply.
func lockState(c *cli.Context, d *syncrun.Destination, log *slog.Logger) error {
	if err := d.Lock(c.Bool("force-unlock"), log); err != nil {
		return cli.Exit(err.Error(), exitFailed)
	}
	return nil
}

// lockedState opens the state of cl's destination and takes its lock, as
// an apply does before it reads the destination.
func lockedState(c *cli.Context, cl *octopus.Client, log *slog.Logger) (*syncrun.Destination, error) {
	d, err := openState(c, cl)
	if err != nil {
		return nil, err
	}
	if err := lockState(c, d, log); err != nil {
		return nil, err
	}
	return d, nil
}

// applyRecorded applies b to d (executes o.Saved, when given) under the
// state's lock, taken unless d holds it (see syncrun.Destination.Apply),
// counting the receipt for the line an interrupted run ends with before
// o.Report is given it. The one apply path of apply and of apply
// --destinations.
func applyRecorded(c *cli.Context, d *syncrun.Destination, b *bundles.Bundle, o syncrun.ApplyOptions) (*plans.Receipt, error) {
	if err := lockState(c, d, o.Logger); err != nil {
		return nil, err
	}
	if err := mergeOptions(c, &o.PlanOptions); err != nil {
		o.Prefetched.Cancel()
		d.Unlock(o.Logger)
		return nil, err
	}
	report := o.Report
	o.Report = func(rec *plans.Receipt) error {
		tally.add(rec)
		if report == nil {
			return nil
		}
		return report(rec)
	}
	rec, err := d.Apply(c.Context, b, o)
	if err != nil && rec == nil {
		return nil, refused(optionError(err))
	}
	// Interrupted: what was written is recorded; the caller says so in
	// one line (see run).
	return rec, err
}

// planWithBase plans applying b (read from bundlePath, absolute; "" if
// unknown) to d, merged with the base (--base, else the state's); the plan
// names bundlePath, where apply --plan finds it. The one plan path of plan
// and of plan --destinations.
func planWithBase(c *cli.Context, d *syncrun.Destination, b *bundles.Bundle, bundlePath string, o syncrun.PlanOptions) (*plans.Plan, error) {
	if err := mergeOptions(c, &o); err != nil {
		o.Prefetched.Cancel()
		return nil, err
	}
	p, err := d.Plan(c.Context, b, o)
	if err != nil {
		return nil, optionError(err)
	}
	p.Bundle = bundlePath
	return p, nil
}
