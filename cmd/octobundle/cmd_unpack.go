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
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usageError("unpack takes IN.tar.zst and DIR")
			}
			if err := bundles.Unpack(c.Args().Get(0), c.Args().Get(1)); err != nil {
				return err
			}
			return printDigest(c, c.Args().Get(1))
		},
	}
}

// printDigest prints the digest of the bundle at path on stdout, as export
// and transform report theirs.
func printDigest(c *cli.Context, path string) error {
	b, err := bundles.Read(path, bundles.ReadOptions{})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(c.App.Writer, b.Digest())
	return err
}
