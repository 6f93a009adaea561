package main

import (
	"fmt"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/sign"
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
			rep, err := bundles.Verify(c.Args().First())
			if err != nil {
				return err
			}
			var res sign.Result
			if keys := c.StringSlice("pubkey"); len(keys) > 0 || rep.Signed {
				// The signature is checked on the bundle as read.
				b, err := bundles.Read(c.Args().First(), bundles.ReadOptions{})
				if err != nil {
					return err
				}
				if b.Digest() != rep.Digest {
					return fmt.Errorf("%s changed while it was being verified", c.Args().First())
				}
				if res, err = checkSignature(c, b, len(keys) > 0); err != nil {
					return err
				}
			}
			fmt.Fprintf(c.App.Writer, "ok %s %s files=%d\n", rep.Digest, rep.Format, rep.Files)
			switch {
			case res.Verified:
				fmt.Fprintf(c.App.Writer, "signature ok: key %s (%s)\n", res.KeyID, res.By.File)
			case res.Signed && res.KeyID == "":
				fmt.Fprintf(c.App.Writer, "signed, but %s is not a minisign signature\n", bundles.SignatureFile)
			case res.Signed:
				fmt.Fprintf(c.App.Writer, "signed by key %s (not checked: give --pubkey FILE)\n", res.KeyID)
			default:
				fmt.Fprintln(c.App.Writer, "unsigned")
			}
			return nil
		},
	}
}
