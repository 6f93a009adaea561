package main

import (
	"fmt"
	"os"

	"github.com/octobundle/octobundle/apply"
	"github.com/urfave/cli/v2"
)

func applyCommand() *cli.Command {
	return &cli.Command{
		Name:      "apply",
		Usage:     "apply a bundle to the destination (exit 0 succeeded, 2 partially failed, 1 failed)",
		ArgsUsage: "BUNDLE",
		Flags: append(applyFlags(),
			&cli.StringFlag{Name: "plan", Usage: "execute exactly the saved plan `FILE`; refuse if the bundle or the destination changed since"},
			&cli.StringFlag{Name: "cleanup-report", Usage: "also write the clean-up report (JSON) to `FILE`"},
		),
		Action: func(c *cli.Context) error {
			b, cl, err := bundleAndDestination(c)
			if err != nil {
				return err
			}
			opts := applyOptions(c, "applying")
			var rec *apply.Receipt
			if f := c.String("plan"); f != "" {
				fh, err := os.Open(f)
				if err != nil {
					return usageError("--plan: %v", err)
				}
				p, err := apply.ReadPlan(fh)
				fh.Close()
				if err != nil {
					return fmt.Errorf("--plan %s: %w", f, err)
				}
				// A saved plan: Execute re-reads the destination to refuse a stale one.
				if rec, err = apply.Execute(c.Context, cl, b, p, opts); err != nil {
					return err
				}
			} else if _, rec, err = apply.Apply(c.Context, cl, b, opts); err != nil {
				// Apply plans and executes on one read of the destination.
				return err
			}
			if c.String("output") == "json" {
				err = rec.WriteJSON(c.App.Writer)
			} else {
				err = rec.WriteText(c.App.Writer)
			}
			if err != nil {
				return err
			}
			if f := c.String("cleanup-report"); f != "" {
				if err := writeFileAtomic(f, rec.WriteCleanupJSON); err != nil {
					return fmt.Errorf("writing the clean-up report: %w", err)
				}
			}
			switch rec.Status() {
			case apply.Succeeded:
				return nil
			case apply.PartiallyFailed:
				return cli.Exit("apply partially failed: run it again to finish, after fixing the failures listed above", exitPartial)
			default:
				return cli.Exit("apply failed", exitFailed)
			}
		},
	}
}
