package main

import (
	"fmt"

	"github.com/octobundle/octobundle/bundles"
	"github.com/urfave/cli/v2"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check a bundle: format version, checksums, schemas, ID-freeness",
		ArgsUsage: "PATH",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("verify takes one bundle PATH (a directory or .tar.zst)")
			}
			rep, err := bundles.Verify(c.Args().First())
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "ok %s %s files=%d\n", rep.Digest, rep.Format, rep.Files)
			return nil
		},
	}
}
