package main

import "github.com/urfave/cli/v2"

// releaseCommand is `octobundle release`: promoting releases across the
// air gap and bringing their deployment results back (see
// docs/release-promotion.md).
func releaseCommand() *cli.Command {
	return &cli.Command{
		Name:        "release",
		Usage:       "promote releases to another instance and bring the deployment results back",
		Subcommands: releaseResultCommands(),
	}
}
