package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/octobundle/octobundle/export"
	"github.com/urfave/cli/v2"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "export a space to a bundle (a directory, or PATH.tar.zst)",
		ArgsUsage: " ",
		Flags: append(connectionFlags(),
			&cli.StringFlag{Name: "out", Usage: "write the bundle to `PATH` (ending in .tar.zst: an archive; otherwise a directory)", Required: true},
			&cli.StringSliceFlag{Name: "project", Usage: "export only project `NAME` and what it depends on (repeatable)"},
			&cli.BoolFlag{Name: "include-targets", Usage: "also export deployment targets and workers"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError("export takes no arguments (got %q); use --out PATH", c.Args().First())
			}
			cl, err := connect(c)
			if err != nil {
				return err
			}
			start := time.Now()
			out := c.String("out")
			res, err := export.Run(c.Context, cl, export.Options{
				Out:         out,
				Projects:    c.StringSlice("project"),
				Optional:    c.Bool("include-targets"),
				Concurrency: c.Int("concurrency"),
				ToolVersion: toolVersion(),
				Logger:      logger(),
				Progress:    progress(c, "reading"),
			})
			if err != nil {
				return fmt.Errorf("export failed, nothing written: %w", err)
			}
			defer res.Bundle.DiscardStage() // if Write fails before taking it
			for _, w := range res.Warnings {
				logger().Warn(w)
			}
			if err := res.Bundle.Write(out); err != nil {
				return fmt.Errorf("writing %s: %w", out, err)
			}
			m := res.Bundle.Manifest
			logger().Info("exported", "space", m.Source.Space, "to", out, "entities", summarize(m.Counts),
				"requests", res.Stats.Requests, "retries", res.Stats.Retries, "duration", time.Since(start).Round(time.Millisecond))
			fmt.Fprintln(c.App.Writer, res.Bundle.Digest())
			return nil
		},
	}
}

// summarize renders counts as "Environment=4 Project=3 …".
func summarize(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, counts[k])
	}
	return strings.Join(parts, " ")
}
