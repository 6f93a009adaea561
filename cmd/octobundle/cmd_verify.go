package main

import (
	"fmt"

	"github.com/octobundle/octobundle/bundles"
	"github.com/urfave/cli/v2"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check a bundle: format version, checksums, schemas, ID-freeness, and with --pubkey its signature",
		ArgsUsage: "PATH",
		Flags:     []cli.Flag{pubkeyFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("verify takes one bundle PATH (a directory or .tar.zst)")
			}
			b, err := bundles.Read(c.Args().First(), bundles.ReadOptions{})
			if err != nil {
				return err
			}
			keys := c.StringSlice("pubkey")
			res, err := checkSignature(c, b, len(keys) > 0)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "ok %s %s files=%d\n", b.Digest(), b.Manifest.Format, b.Len())
			switch {
			case res.Verified:
				fmt.Fprintf(c.App.Writer, "signature ok: key %s (%s)\n", res.KeyID, res.By.File)
			case res.Signed:
				fmt.Fprintf(c.App.Writer, "signed by key %s (not checked: give --pubkey FILE)\n", res.KeyID)
			default:
				fmt.Fprintln(c.App.Writer, "unsigned")
			}
			return nil
		},
	}
}
