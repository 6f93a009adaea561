package main

import (
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/review"
	"github.com/octobundle/octobundle/sign"
	"github.com/urfave/cli/v2"
)

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "describe a bundle: source, space, export time, rules, digest, signature, counts per kind and per project; for a release bundle, the release",
		ArgsUsage: "BUNDLE",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Value: "text", Usage: "text or json"},
			pubkeyFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("inspect takes one BUNDLE (a directory or .tar.zst)")
			}
			out := c.String("output")
			if out != "text" && out != "json" {
				return usageError("--output must be text or json, not %q", out)
			}
			keys, err := sign.LoadPublicKeys(c.StringSlice("pubkey"))
			if err != nil {
				return usageError("--pubkey: %v", err)
			}
			b, err := bundles.Read(c.Args().First(), bundles.ReadOptions{})
			if err != nil {
				return err
			}
			info := review.Inspect(c.Args().First(), b, keys)
			if out == "json" {
				return info.WriteJSON(c.App.Writer)
			}
			return info.WriteText(c.App.Writer)
		},
	}
}
