package main

import (
	"errors"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/transform"
	"github.com/urfave/cli/v2"
)

func transformCommand() *cli.Command {
	return &cli.Command{
		Name:      "transform",
		Usage:     "make a bundle fit its destination with rule files (drop, rename, merge, rescope, values, apply policy)",
		ArgsUsage: "IN",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "rules", Usage: "apply rule file `FILE` (YAML or JSON; repeatable, applied in order)", Required: true},
			&cli.StringFlag{Name: "out", Usage: "write the new bundle to `PATH` (ending in .tar.zst: an archive; otherwise a directory)", Required: true},
			&cli.StringFlag{Name: "output", Value: "text", Usage: "report format: text or json"},
			&cli.BoolFlag{Name: "strict", Usage: "treat warnings (a rule that matches nothing) as errors"},
			pubkeyFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("transform takes one input bundle IN (a directory or .tar.zst)")
			}
			format := c.String("output")
			if format != "text" && format != "json" {
				return usageError("--output must be text or json, not %q", format)
			}
			in := c.Args().First()
			opts := transform.Options{Strict: c.Bool("strict"), Progress: progress(c, "transforming")}
			if len(c.StringSlice("pubkey")) > 0 {
				// The input's signature is checked, and the output's
				// manifest records that it was (Input.Verified).
				opts.CheckInput = func(b *bundles.Bundle) (bool, error) {
					res, err := checkSignature(c, b, in, false)
					return res.Verified, err
				}
			}
			rep, err := transform.Run(in, c.String("out"), c.StringSlice("rules"), opts)
			if rep != nil {
				if perr := printReport(c, rep, format); perr != nil {
					return perr
				}
			}
			if err != nil {
				if errors.Is(err, transform.ErrFailed) {
					return cli.Exit(err.Error()+"; nothing written", exitFailed)
				}
				return err
			}
			logger().Info("transformed", "out", c.String("out"), "digest", rep.Digest)
			return nil
		},
	}
}

func printReport(c *cli.Context, rep *transform.Report, format string) error {
	if format == "json" {
		// Lists are lists, never null: a script iterates them as they are.
		out := *rep
		out.Rules = nonNil(out.Rules)
		out.Changes = nonNil(out.Changes)
		out.Warnings = nonNil(out.Warnings)
		out.Errors = nonNil(out.Errors)
		if out.Counts == nil {
			out.Counts = map[string]int{}
		}
		return writeJSON(c.App.Writer, &out)
	}
	return rep.WriteText(c.App.Writer)
}
