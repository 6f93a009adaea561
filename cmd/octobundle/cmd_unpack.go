package main

import (
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
			return bundles.Unpack(c.Args().Get(0), c.Args().Get(1))
		},
	}
}
