package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/octobundle/octobundle/export"
	"github.com/octobundle/octobundle/review"
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
			outputFlag(),
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError("export takes no arguments (got %q); use --out PATH", c.Args().First())
			}
			asJSON, err := jsonOutput(c)
			if err != nil {
				return err
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
			if asJSON {
				return writeJSON(c.App.Writer, exportJSON{
					Path: out, Digest: res.Bundle.Digest(), Format: m.Format, Source: review.SourceOf(m.Source),
					ExportedAt: m.ExportedAt, Selection: m.Projects, Counts: review.CountsOf(m.Counts), Warnings: nonNil(res.Warnings),
				})
			}
			fmt.Fprintln(c.App.Writer, res.Bundle.Digest())
			return nil
		},
	}
}

// exportJSON is export --output json (docs/json-schemas/export.schema.json).
type exportJSON struct {
	// Path is where the bundle was written (--out).
	Path string `json:"path"`
	// Digest is the bundle digest, as the text output prints it.
	Digest string `json:"digest"`
	// Format is the bundle format version.
	Format string `json:"format"`
	// Source is the instance and space exported.
	Source review.SourceInfo `json:"source"`
	// ExportedAt is the export time, as the manifest records it.
	ExportedAt time.Time `json:"exportedAt"`
	// Selection lists the projects of a partial export (--project).
	Selection []string `json:"selection,omitempty"`
	// Counts are the entity files per kind, in sync order.
	Counts []review.KindCount `json:"counts"`
	// Warnings are the export's warnings (also logged).
	Warnings []string `json:"warnings"`
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
