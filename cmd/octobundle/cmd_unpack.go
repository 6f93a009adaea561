package main

import (
	"fmt"

	"github.com/octobundle/octobundle/bundles"
	"github.com/urfave/cli/v2"
)

func unpackCommand() *cli.Command {
	return &cli.Command{
		Name:      "unpack",
		Usage:     "unpack and verify a .tar.zst bundle into a directory",
		ArgsUsage: "IN.tar.zst DIR",
		Flags:     []cli.Flag{outputFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usageError("unpack takes IN.tar.zst and DIR")
			}
			if _, err := jsonOutput(c); err != nil {
				return err
			}
			if err := bundles.Unpack(c.Args().Get(0), c.Args().Get(1)); err != nil {
				return err
			}
			return printDigest(c, c.Args().Get(1))
		},
	}
}

// printDigest prints the digest of the bundle at path on stdout, as export
// and transform report theirs (with --output json: digestJSON).
func printDigest(c *cli.Context, path string) error {
	b, err := bundles.Read(path, bundles.ReadOptions{})
	if err != nil {
		return err
	}
	if c.String("output") == "json" {
		return writeJSON(c.App.Writer, digestJSON{Path: path, Digest: b.Digest(), Format: b.Manifest.Format})
	}
	_, err = fmt.Fprintln(c.App.Writer, b.Digest())
	return err
}

// digestJSON is pack and unpack --output json
// (docs/json-schemas/pack.schema.json, unpack.schema.json).
type digestJSON struct {
	// Path is the bundle written: the archive (pack) or the directory
	// (unpack).
	Path string `json:"path"`
	// Digest is its digest.
	Digest string `json:"digest"`
	// Format is its format version.
	Format string `json:"format"`
}
