package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/octobundle/octobundle/apply"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/apply/render"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/limits"
	"github.com/octobundle/octobundle/syncrun"
	"github.com/urfave/cli/v2"
)

func applyCommand() *cli.Command {
	return &cli.Command{
		Name:      "apply",
		Usage:     "apply a bundle to the destination (exit 0 succeeded, 2 partially failed, 1 failed or refused: a plan with errors is not applied unless --allow-errors)",
		ArgsUsage: "BUNDLE (optional with --plan: the plan names its bundle)",
		Flags: append(append(append(applyFlags(), mergeFlags()...), fanOutFlags()...),
			&cli.StringFlag{Name: "out", Usage: "with --destinations: write each destination's receipt and clean-up report into `DIR`/NAME/"},
			&cli.StringFlag{Name: "plan", Usage: "execute exactly the saved plan `FILE`: it is derived again from the bundle, the base and the destination, and refused, naming the difference, unless it is the same"},
			&cli.BoolFlag{Name: "force-unlock", Usage: "take the destination's state lock even if another apply seems to hold it"},
			&cli.StringFlag{Name: "cleanup-report", Usage: "also write the clean-up report (JSON) to `FILE`"},
			&cli.BoolFlag{Name: "allow-errors", Usage: "apply what can be applied when the plan has errors (the entities in error fail: exit 2); without it such a plan is refused before the first write"},
		),
		Action: func(c *cli.Context) error {
			if c.IsSet("destinations") {
				return fanOut(c, true)
			}
			if c.IsSet("out") {
				return usageError("--out is for --destinations (a directory of receipts); use --cleanup-report FILE, and stdout for the receipt")
			}
			var saved *plans.Plan
			if f := c.String("plan"); f != "" {
				p, err := readPlanFile(f)
				if err != nil {
					return err
				}
				if err := adoptPlanFlags(c, p, f); err != nil {
					return err
				}
				saved = p
			}
			opts := syncrun.ApplyOptions{PlanOptions: applyOptions(c, "applying"), AllowErrors: c.Bool("allow-errors"), Saved: saved}
			var (
				b   *bundles.Bundle
				a   ahead
				err error
			)
			switch {
			case saved != nil && c.NArg() == 0 && saved.Bundle != "":
				// The plan names its bundle; apply checks its digest.
				b, a.cl, err = bundleAndDestinationAt(c, saved.Bundle)
			case saved != nil:
				b, a.cl, err = bundleAndDestination(c)
			case c.NArg() != 1:
				err = usageError("%s takes one BUNDLE argument (a directory or .tar.zst)", c.Command.Name)
			default:
				// Without a saved plan the destination is read (under the
				// state's lock) while the bundle is.
				b, a, err = bundleAndPrefetch(c, c.Args().First(), opts.PlanOptions, true)
			}
			if err != nil {
				return err
			}
			if a.dest == nil {
				if a.dest, err = lockedState(c, a.cl, opts.Logger); err != nil {
					return err
				}
			}
			opts.Prefetched = a.pf
			opts.Report = func(rec *plans.Receipt) error {
				var err error
				switch {
				case c.Context.Err() != nil:
					// Interrupted: no receipt of entities that were
					// cancelled, only the one line (see run).
				case c.String("output") == "json":
					err = rec.WriteJSON(c.App.Writer)
				default:
					err = render.Receipt(c.App.Writer, rec)
				}
				if err != nil {
					return err
				}
				if f := c.String("cleanup-report"); f != "" {
					if err := writeFileAtomic(f, rec.WriteCleanupJSON); err != nil {
						return fmt.Errorf("writing the clean-up report: %w", err)
					}
				}
				return nil
			}
			rec, err := applyRecorded(c, a.dest, b, opts)
			if err != nil {
				return err
			}
			switch st := rec.Status(); {
			case st == plans.Succeeded:
				return nil
			case rec.Resumable():
				// Only transient failures (rate limiting, server errors,
				// dropped connections, conflicts): a re-run finishes.
				return cli.Exit(fmt.Sprintf("apply %s: the failures listed above were transient; run it again to finish", statusWord(st)), exitCode(st))
			default:
				return cli.Exit(fmt.Sprintf("apply %s: the failures listed above recur until they are fixed (in the bundle, its rules or the destination); running it again as it is will not finish", statusWord(st)), exitCode(st))
			}
		},
	}
}

// readPlanFile reads a saved plan (its size checked before it is read).
func readPlanFile(f string) (*plans.Plan, error) {
	data, err := limits.ReadFile(f, limits.PlanFileSize, "plan file size")
	if limits.Is(err) {
		return nil, fmt.Errorf("--plan: %w", err)
	} else if err != nil {
		return nil, usageError("--plan: %v", err)
	}
	p, err := plans.ReadPlan(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("--plan %s: %w", f, err)
	}
	return p, nil
}

// refused adds the way out to apply's refusal of a plan with errors.
func refused(err error) error {
	if errors.Is(err, apply.ErrPlanHasErrors) {
		return cli.Exit(err.Error()+"\nfix them (in the bundle, its rules or the destination), or apply everything else with --allow-errors", exitFailed)
	}
	if errors.Is(err, apply.ErrPlanMismatch) && strings.Contains(err.Error(), "different bundle") {
		return cli.Exit(err.Error()+"\n(a plan made with plan --rules is for the bundle those rules make: give apply the same --rules files)", exitFailed)
	}
	return err
}

func statusWord(s plans.Status) string {
	if s == plans.PartiallyFailed {
		return "partially failed"
	}
	return "failed"
}

func exitCode(s plans.Status) int {
	if s == plans.PartiallyFailed {
		return exitPartial
	}
	return exitFailed
}
