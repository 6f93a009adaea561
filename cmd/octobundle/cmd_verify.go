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
		Flags: []cli.Flag{pubkeyFlag(),
			&cli.BoolFlag{Name: "require-signature", Usage: "with --pubkey: also refuse a signature that does not cover manifest.json (an octobundle/v1 or v2 bundle), as plan and apply --require-signature do"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("verify takes one bundle PATH (a directory or .tar.zst)")
			}
			path := c.Args().First()
			b, err := bundles.Read(path, bundles.ReadOptions{})
			if err != nil {
				return err
			}
			// The signature first: a bundle changed after signing is
			// that, whatever else is wrong with it.
			res, err := checkSignature(c, b, path, c.Bool("require-signature"))
			if err != nil {
				return err
			}
			rep, err := bundles.VerifyRead(path, b)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "ok %s %s files=%d\n", rep.Digest, rep.Format, rep.Files)
			if in := rep.Input; in != nil {
				signed := "unsigned"
				if in.KeyID != "" {
					signed = "signed by key " + in.KeyID
				}
				fmt.Fprintf(c.App.Writer, "input %s %s %s\n", in.Digest, in.Format, signed)
			}
			switch {
			case res.Verified:
				fmt.Fprintf(c.App.Writer, "signature ok: key %s (%s)\n", res.KeyID, res.By.File)
				if !res.CoversManifest {
					fmt.Fprintf(c.App.Writer, "signature covers checksums.txt only, not manifest.json (%s): sign it again with: %s\n", rep.Format, sign.ResignCommand(c.Args().First()))
				}
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
