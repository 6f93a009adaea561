package main

import (
	"github.com/octobundle/octobundle/bundles"
	"github.com/urfave/cli/v2"
)

func packCommand() *cli.Command {
	return &cli.Command{
		Name:      "pack",
		Usage:     "pack a bundle directory into a reproducible .tar.zst archive",
		ArgsUsage: "DIR OUT.tar.zst",
		Flags:     []cli.Flag{outputFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usageError("pack takes DIR and OUT.tar.zst")
			}
			if _, err := jsonOutput(c); err != nil {
				return err
			}
			if err := bundles.Pack(c.Args().Get(0), c.Args().Get(1)); err != nil {
				return err
			}
			return printDigest(c, c.Args().Get(1))
		},
	}
}
