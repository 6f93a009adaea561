package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/octobundle/octobundle/apply"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/apply/render"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/syncrun"
	"github.com/urfave/cli/v2"
)

// applyFlags are shared by plan and apply.
func applyFlags() []cli.Flag {
	return append(connectionFlags(),
		&cli.StringFlag{Name: "output", Value: "text", Usage: "output format on stdout: text or json"},
		&cli.BoolFlag{Name: "allow-version-skew", Usage: "apply even if the destination's Octopus major.minor is more than one minor version from the bundle's source"},
		&cli.BoolFlag{Name: "include-targets", Usage: "apply deployment targets and workers the bundle holds"},
		&cli.BoolFlag{Name: "prune", Usage: "delete the entities the source deleted since the last sync (in the base, gone from the bundle, unchanged on the destination; changed there is a conflict). Never the destination's own: see --remove-destination-only"},
		&cli.BoolFlag{Name: "remove-destination-only", Usage: "remove what the destination has and the base never had, inside what the bundle owns: destination-only steps, variables (sensitive ones too), tenant project links and values of the synced entities the bundle holds, channels and runbooks of its projects. Not implied by --prune"},
		&cli.BoolFlag{Name: "require-signature", Usage: "refuse, before reading the destination, anything that decides a write and is not signed by one of the --pubkey keys: the bundle (in the current format, its signature covering manifest.json), every --rules file (fan-out's rules: too) and the --base bundle"},
		pubkeyFlag(),
		rulesFlag(),
	)
}

// applyOptions are plan's and apply's options from the flags, but for
// the merge's (see mergeOptions); what names the progress bar.
func applyOptions(c *cli.Context, what string) syncrun.PlanOptions {
	return syncrun.PlanOptions{
		Read: readOptions(c, what),
		Merge: syncrun.Merge{
			AllowVersionSkew:      c.Bool("allow-version-skew"),
			IncludeTargets:        c.Bool("include-targets"),
			Prune:                 c.Bool("prune"),
			RemoveDestinationOnly: c.Bool("remove-destination-only"),
		},
	}
}

// readOptions are the options of reading the destination from the flags;
// what names the progress bar.
func readOptions(c *cli.Context, what string) syncrun.Read {
	return syncrun.Read{Concurrency: c.Int("concurrency"), Logger: logger(), Progress: progress(c, what)}
}

// bundleAndDestination reads the single BUNDLE argument (verifying it and,
// with --require-signature or --pubkey, its signature) and only then
// connects to the destination; shared by plan and apply.
func bundleAndDestination(c *cli.Context) (*bundles.Bundle, *octopus.Client, error) {
	if c.NArg() != 1 {
		return nil, nil, usageError("%s takes one BUNDLE argument (a directory or .tar.zst)", c.Command.Name)
	}
	return bundleAndDestinationAt(c, c.Args().First())
}

// bundleAndDestinationAt is bundleAndDestination for the bundle at path.
func bundleAndDestinationAt(c *cli.Context, path string) (*bundles.Bundle, *octopus.Client, error) {
	b, err := checkedBundle(c, path)
	if err != nil {
		return nil, nil, err
	}
	cl, err := connect(c)
	return b, cl, err
}

// ahead is the destination side of a command that reads the destination
// while it reads the bundle (see bundleAndPrefetch).
type ahead struct {
	cl *octopus.Client
	// dest is the destination with its state, its lock taken (apply
	// only).
	dest *syncrun.Destination
	// pf is the destination's read started ahead (nil when none), for
	// PlanOptions.Prefetched.
	pf *apply.Prefetched
}

// bundleAndPrefetch is bundleAndDestinationAt that reads the destination
// while it reads the bundle: reading the destination waits on the server,
// reading and checking the bundle on the CPU. With lock (apply) it opens
// the state and takes its lock before it reads, so no other apply writes
// between the read and the plan. It reads ahead only when no signature
// check is asked for (--pubkey, --require-signature): a bundle those
// refuse is refused before the destination is read; then it connects
// (and locks) after reading the bundle, as before. Errors come as they
// would one after the other: the bundle's first.
func bundleAndPrefetch(c *cli.Context, path string, opts syncrun.PlanOptions, lock bool) (*bundles.Bundle, ahead, error) {
	destination := func(ctx context.Context, prefetch bool) (a ahead, err error) {
		if a.cl, err = connectCtx(ctx, c); err != nil {
			return a, err
		}
		if lock {
			if a.dest, err = lockedState(c, a.cl, opts.Logger); err != nil {
				return a, err
			}
		}
		if prefetch {
			a.pf = syncrun.Prefetch(ctx, a.cl, opts)
		}
		return a, nil
	}
	if c.IsSet("pubkey") || c.Bool("require-signature") {
		b, err := checkedBundle(c, path)
		if err != nil {
			return nil, ahead{}, err
		}
		a, err := destination(c.Context, false)
		return b, a, err
	}
	type result struct {
		a   ahead
		err error
	}
	ctx, cancel := context.WithCancel(c.Context)
	done := make(chan result, 1)
	go func() {
		a, err := destination(ctx, true)
		done <- result{a, err}
	}()
	b, err := checkedBundle(c, path)
	if err != nil {
		cancel()
		if r := <-done; r.a.dest != nil {
			r.a.pf.Cancel()
			r.a.dest.Unlock(opts.Logger)
		}
		return nil, ahead{}, err
	}
	r := <-done
	if r.err != nil {
		cancel()
		return nil, ahead{}, r.err
	}
	context.AfterFunc(c.Context, cancel) // the read lives as long as the command
	return b, r.a, nil
}

// checkedBundle reads the bundle at path and checks its signature (with
// --require-signature or --pubkey), after checking --output; with --rules
// it returns the bundle transformed in memory by the (checked) rule files.
func checkedBundle(c *cli.Context, path string) (*bundles.Bundle, error) {
	switch c.String("output") {
	case "text", "json":
	default:
		return nil, usageError("--output must be text or json, not %q", c.String("output"))
	}
	b, err := bundles.Read(path, bundles.ReadOptions{})
	if err != nil {
		return nil, err
	}
	if b.Manifest.Kind != bundles.KindConfiguration {
		return nil, usageError("%s is a %s bundle: use octobundle release %s", path, b.Manifest.Kind, c.Command.Name)
	}
	res, err := checkSignature(c, b, path, c.Bool("require-signature"))
	if err != nil {
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			return nil, err
		}
		return nil, cli.Exit(err.Error()+"\nrefused before reading the destination", exitFailed)
	}
	if res.Verified {
		logger().Info("signature ok", "key", res.KeyID, "pubkey", res.By.File)
	}
	if f := c.String("base"); f != "" {
		if _, err := readBase(c, f); err != nil {
			return nil, err
		}
	}
	return withRules(c, b, res.Verified)
}

func planCommand() *cli.Command {
	return &cli.Command{
		Name:      "plan",
		Usage:     "show what apply would do to the destination",
		ArgsUsage: "BUNDLE",
		Flags: append(append(append(applyFlags(), mergeFlags()...), fanOutFlags()...),
			&cli.StringFlag{Name: "out", Usage: "save the plan as JSON to `FILE` for apply --plan (with --destinations: a directory, one folder per destination)"},
			&cli.BoolFlag{Name: "allow-errors", Usage: "the plan is meant for apply --allow-errors: a plan with errors exits as one without (0, or 2 with --detailed-exitcode), and a saved plan (--out) records the flag"},
			&cli.BoolFlag{Name: "verbose", Usage: "list every entity left alone or unchanged with a note even when nothing changes (a plan that changes nothing otherwise says \"No changes.\" and counts them)"},
			&cli.BoolFlag{Name: "detailed-exitcode", Usage: "exit 0 when the destination already is what the bundle and the policies ask, 2 when it differs (changes, or entities deleted at the source and kept), 1 when the plan has errors (apply refuses it) or on failure"},
		),
		Action: func(c *cli.Context) error {
			if c.IsSet("destinations") {
				return fanOut(c, false)
			}
			if c.NArg() != 1 {
				return usageError("%s takes one BUNDLE argument (a directory or .tar.zst)", c.Command.Name)
			}
			opts := applyOptions(c, "reading destination")
			b, a, err := bundleAndPrefetch(c, c.Args().First(), opts, false)
			if err != nil {
				return err
			}
			cl, pf := a.cl, a.pf
			opts.Prefetched = pf
			dest, err := openState(c, cl)
			if err != nil {
				pf.Cancel()
				return err
			}
			abs, _ := filepath.Abs(c.Args().First())
			p, err := planWithBase(c, dest, b, abs, opts)
			if err != nil {
				return err
			}
			if err := recordPlanFlags(c, p); err != nil {
				return err
			}
			if out := c.String("out"); out != "" {
				if err := writeFileAtomic(out, p.WriteJSON); err != nil {
					return fmt.Errorf("saving the plan: %w", err)
				}
			}
			if c.String("output") == "json" {
				err = p.WriteJSON(c.App.Writer)
			} else {
				err = render.PlanVerbose(c.App.Writer, p, c.Bool("verbose"))
			}
			if err != nil {
				return err
			}
			switch {
			case p.HasErrors() && c.Bool("allow-errors"):
				logger().Warn("the plan has errors; apply --allow-errors applies everything else, and the entities in error fail", "errors", p.Summary[plans.OpError])
				if c.Bool("detailed-exitcode") {
					return cli.Exit("", exitChanges)
				}
			case p.HasErrors():
				return cli.Exit(fmt.Sprintf("the plan has %d errors (see above): apply refuses it unless --allow-errors", p.Summary[plans.OpError]), exitFailed)
			case c.Bool("detailed-exitcode") && p.Differs():
				return cli.Exit("", exitChanges)
			}
			return nil
		},
	}
}

// writeFileAtomic writes a file through a temporary sibling and a rename, so
// a crash never leaves half a file.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(dirOf(path), ".octobundle-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if os.IsPathSeparator(path[i]) {
			return path[:i+1]
		}
	}
	return "."
}
