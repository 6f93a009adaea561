package main

import (
	"fmt"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/review"
	"github.com/octobundle/octobundle/sign"
	"github.com/urfave/cli/v2"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check a bundle: format version, checksums, schemas, ID-freeness, and with --pubkey its signature",
		ArgsUsage: "PATH",
		Flags: []cli.Flag{pubkeyFlag(),
			&cli.BoolFlag{Name: "require-signature", Usage: "with --pubkey: also refuse a signature that does not cover manifest.json (an octobundle/v1 or v2 bundle), as plan and apply --require-signature do"},
			outputFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("verify takes one bundle PATH (a directory or .tar.zst)")
			}
			asJSON, err := jsonOutput(c)
			if err != nil {
				return err
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
			if asJSON {
				out := verifyJSON{Path: path, Digest: rep.Digest, Format: rep.Format, Files: rep.Files,
					Counts: review.CountsOf(rep.Counts), Signature: review.SignatureOf(res, nil)}
				if in := rep.Input; in != nil {
					out.Input = &review.InputInfo{Digest: in.Digest, Format: in.Format, KeyID: in.KeyID, Verified: in.Verified}
				}
				return writeJSON(c.App.Writer, out)
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

// verifyJSON is verify --output json (docs/json-schemas/verify.schema.json):
// printed only when the bundle verified (a failure prints nothing on
// stdout and exits 1).
type verifyJSON struct {
	// Path is the bundle as given.
	Path string `json:"path"`
	// Digest is the bundle digest.
	Digest string `json:"digest"`
	// Format is the bundle format version.
	Format string `json:"format"`
	// Files is the number of files checksums.txt covers.
	Files int `json:"files"`
	// Counts are the entity files per kind, in sync order.
	Counts []review.KindCount `json:"counts"`
	// Input is the bundle transform made this one from (nil: exported).
	Input *review.InputInfo `json:"input,omitempty"`
	// Signature is the signature's state: unsigned, not checked (no
	// --pubkey) or valid (checked against --pubkey; an invalid one fails
	// the command).
	Signature review.SignatureInfo `json:"signature"`
}
