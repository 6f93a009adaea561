package main

import (
	"fmt"

	"github.com/octobundle/octobundle/demo"
	"github.com/urfave/cli/v2"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run export → transform → verify → plan → apply → replay between two simulators (the octosim program; no Octopus server needed)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Value: "demo-out", Usage: "leave the bundle, plan and clean-up report in `DIR`"},
			&cli.StringFlag{Name: "source-seed", Value: "testdata/instances/source.json", Usage: "the source instance `FILE`"},
			&cli.StringFlag{Name: "destination-seed", Value: "testdata/instances/destination.json", Usage: "the destination instance `FILE`"},
			&cli.BoolFlag{Name: "serve", Usage: "only start the sample source and destination instances, and serve them until interrupted: their URLs and key files are written to DIR/env as export lines (DEV_URL, DEV_KEY, PROD_URL, PROD_KEY) and printed; docs/quickstart.md uses them"},
			&cli.StringFlag{Name: "dir", Value: "demo-servers", Usage: "with --serve: the folder `DIR` for the env file and the API key files (removed when it stops)"},
			&cli.StringFlag{Name: "octosim", Usage: "the simulator program `PATH` to run (default: $OCTOBUNDLE_OCTOSIM, else octosim next to octobundle, else built from the source tree the command runs in, else octosim on PATH)"},
			&cli.StringSliceFlag{Name: "rules", Value: cli.NewStringSlice("testdata/rules/staging-production.yaml"), Usage: "rule `FILE`s that fit the bundle to the destination, in order (repeatable)"},
		},
		Action: func(c *cli.Context) error {
			if c.Bool("serve") {
				logger().Info("serving the sample instances until interrupted (Ctrl-C)", "env", c.String("dir")+"/"+demo.EnvFile)
				return demo.Serve(c.Context, demo.ServeOptions{
					Dir:             c.String("dir"),
					SourceSeed:      c.String("source-seed"),
					DestinationSeed: c.String("destination-seed"),
					Stdout:          c.App.Writer,
					Octosim:         c.String("octosim"),
					Logger:          logger(),
				})
			}
			sum, err := demo.Run(c.Context, demo.Options{
				Out:             c.String("out"),
				SourceSeed:      c.String("source-seed"),
				DestinationSeed: c.String("destination-seed"),
				Rules:           c.StringSlice("rules"),
				ToolVersion:     toolVersion(),
				Stdout:          c.App.Writer,
				Logger:          logger(),
				Octosim:         c.String("octosim"),
			})
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			logger().Info("demo finished", "entities", sum.Entities, "writes", sum.FirstWrites,
				"replayWrites", sum.ReplayWrites, "cleanupItems", sum.Cleanup, "duration", sum.Duration.Round(1e6))
			return nil
		},
	}
}
