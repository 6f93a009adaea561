package main

import (
	"fmt"
	"time"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/release/results"
	"github.com/urfave/cli/v2"
)

// releaseResultCommands are the results-back half of `octobundle release`:
// report (destination), record (source) and status (both).
func releaseResultCommands() []*cli.Command {
	return []*cli.Command{releaseReportCommand(), releaseRecordCommand(), releaseStatusCommand()}
}

// requireSignatureFlag is --require-signature of the commands that read
// a results bundle, as plan's and apply's.
func requireSignatureFlag() cli.Flag {
	return &cli.BoolFlag{Name: "require-signature", Usage: "with --pubkey: also refuse a signature that does not cover manifest.json (an octobundle/v1 or v2 bundle)"}
}

func releaseReportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "on the destination: write a results bundle of the deployments of the promoted releases of a project",
		ArgsUsage: " ",
		Flags: append(connectionFlags(),
			&cli.StringFlag{Name: "project", Usage: "the project `NAME`", Required: true},
			&cli.StringFlag{Name: "version", Usage: "only the release `VERSION` (its version here)"},
			&cli.StringFlag{Name: "since", Usage: "only deployments created at or after `TIME` (RFC 3339, or a date YYYY-MM-DD in UTC)"},
			&cli.BoolFlag{Name: "with-logs", Usage: "carry each deployment's task log, as the server gives it (secrets masked by the server)"},
			&cli.StringFlag{Name: "instance", Usage: "name this instance `NAME` in the results and the source's notes (default: its URL)"},
			&cli.StringFlag{Name: "out", Usage: "write the results bundle to `PATH` (ending in .tar.zst: an archive; otherwise a directory)", Required: true},
			outputFlag(),
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError("release report takes no arguments (got %q); use --out PATH", c.Args().First())
			}
			asJSON, err := jsonOutput(c)
			if err != nil {
				return err
			}
			var since time.Time
			if s := c.String("since"); s != "" {
				if since, err = time.Parse(time.RFC3339, s); err != nil {
					if since, err = time.Parse(time.DateOnly, s); err != nil {
						return usageError("--since must be a time (2006-01-02T15:04:05Z) or a date (2006-01-02), not %q", s)
					}
				}
			}
			cl, err := connect(c)
			if err != nil {
				return err
			}
			rels, err := results.Read(c.Context, cl, results.ReadOptions{Project: c.String("project"), Version: c.String("version"),
				Since: since, Promoted: true, WithLogs: c.Bool("with-logs"), Instance: c.String("instance")})
			if err != nil {
				return err
			}
			if len(rels) == 0 {
				return fmt.Errorf("the project %s has no promoted release on %s (release apply writes \"promoted from …\" into the notes of the releases it creates)", c.String("project"), cl.Server())
			}
			b, err := results.Bundle(bundles.Source{Server: cl.Server(), ServerVersion: cl.ServerVersion, Space: cl.SpaceName}, toolVersion(), rels)
			if err != nil {
				return err
			}
			out := c.String("out")
			if err := b.Write(out); err != nil {
				return fmt.Errorf("writing %s: %w", out, err)
			}
			rep := reportJSON{Path: out, Digest: b.Digest(), Releases: []reportRelease{}}
			for _, r := range rels {
				rr := reportRelease{Project: r.Project, Version: r.Name, SourceVersion: r.SourceVersion(), Instance: r.Instance, States: map[string]int{}}
				for _, d := range r.Deployments {
					rr.Deployments++
					rr.States[d.State]++
				}
				rep.Releases = append(rep.Releases, rr)
				logger().Info("reported", "project", r.Project, "release", r.Name, "deployments", rr.Deployments)
			}
			if asJSON {
				return writeJSON(c.App.Writer, rep)
			}
			fmt.Fprintln(c.App.Writer, b.Digest())
			return nil
		},
	}
}

// reportJSON is release report --output json
// (docs/json-schemas/release-report.schema.json).
type reportJSON struct {
	// Path is where the results bundle was written.
	Path string `json:"path"`
	// Digest is the results bundle's digest.
	Digest string `json:"digest"`
	// Releases are the promoted releases reported.
	Releases []reportRelease `json:"releases"`
}

// reportRelease is one release of reportJSON.
type reportRelease struct {
	// Project is the project's name.
	Project string `json:"project"`
	// Version is the release's version on this instance.
	Version string `json:"version"`
	// SourceVersion is its version on the source.
	SourceVersion string `json:"sourceVersion"`
	// Instance names this instance in the results.
	Instance string `json:"instance"`
	// Deployments counts its deployments.
	Deployments int `json:"deployments"`
	// States counts its deployments by state.
	States map[string]int `json:"states"`
}

// readResults reads, checks the signature of (--pubkey,
// --require-signature) and verifies the results bundle at path.
func readResults(c *cli.Context, path string) (*bundles.Bundle, []results.Release, error) {
	b, err := bundles.Read(path, bundles.ReadOptions{})
	if err != nil {
		return nil, nil, err
	}
	if _, err := checkSignature(c, b, path, c.Bool("require-signature")); err != nil {
		return nil, nil, err
	}
	if _, err := bundles.VerifyRead(path, b); err != nil {
		return nil, nil, err
	}
	rels, err := results.FromBundle(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, rels, nil
}

func releaseRecordCommand() *cli.Command {
	return &cli.Command{
		Name:      "record",
		Usage:     "on the source: write the deployments of a results bundle into the notes of the source's releases (section \"Deployments on <destination>\")",
		ArgsUsage: "RESULTS",
		Flags: append(connectionFlags(),
			pubkeyFlag(), requireSignatureFlag(),
			&cli.StringFlag{Name: "project", Usage: "the source's project `NAME`, when it differs from the destination's"},
			outputFlag(),
		),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("release record takes one results bundle RESULTS (a directory or .tar.zst)")
			}
			asJSON, err := jsonOutput(c)
			if err != nil {
				return err
			}
			path := c.Args().First()
			b, rels, err := readResults(c, path)
			if err != nil {
				return err
			}
			cl, err := connect(c)
			if err != nil {
				return err
			}
			recs, err := results.Record(c.Context, cl, rels, c.String("project"))
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.App.Writer, recordJSON{Path: path, Digest: b.Digest(), Releases: nonNil(recs)})
			}
			for _, r := range recs {
				what := "recorded"
				if !r.Changed {
					what = "unchanged"
				}
				fmt.Fprintf(c.App.Writer, "%s %s %s: %d deployment(s) on %s\n", what, r.Project, r.Version, r.Deployments, r.Instance)
			}
			return nil
		},
	}
}

// recordJSON is release record --output json
// (docs/json-schemas/release-record.schema.json).
type recordJSON struct {
	// Path is the results bundle as given.
	Path string `json:"path"`
	// Digest is its digest.
	Digest string `json:"digest"`
	// Releases are the source releases whose notes were considered.
	Releases []results.Recorded `json:"releases"`
}

func releaseStatusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show a project's releases across the source (read from --server) and the destinations (read from --results)",
		ArgsUsage: " ",
		Flags: append(connectionFlags(),
			&cli.StringFlag{Name: "project", Usage: "the project `NAME` (on the source)", Required: true},
			&cli.StringSliceFlag{Name: "results", Usage: "a results bundle `FILE` of a destination (repeatable)"},
			&cli.StringFlag{Name: "instance", Usage: "name the source `NAME` (default: its URL)"},
			pubkeyFlag(), requireSignatureFlag(),
			&cli.StringFlag{Name: "output", Aliases: []string{"format"}, Value: "text", Usage: "output format on stdout: text, markdown, json or html (one self-contained page; see docs/json-output.md); --format is the same flag"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError("release status takes no arguments (got %q); give results bundles with --results FILE", c.Args().First())
			}
			format := c.String("output")
			switch format {
			case "text", "markdown", "json", "html":
			default:
				return usageError("--output must be text, markdown, json or html, not %q", format)
			}
			var dests []results.Instance
			for _, path := range c.StringSlice("results") {
				_, rels, err := readResults(c, path)
				if err != nil {
					return err
				}
				for _, r := range rels {
					i := len(dests)
					for j, d := range dests {
						if d.Name == r.Instance {
							i = j
						}
					}
					if i == len(dests) {
						dests = append(dests, results.Instance{Name: r.Instance, Role: "destination"})
					}
					dests[i].Releases = append(dests[i].Releases, r)
				}
			}
			cl, err := connect(c)
			if err != nil {
				return err
			}
			src, err := results.Read(c.Context, cl, results.ReadOptions{Project: c.String("project"), Instance: c.String("instance")})
			if err != nil {
				return err
			}
			name := c.String("instance")
			if name == "" {
				name = cl.Server()
			}
			g := results.BuildGrid(c.String("project"), append([]results.Instance{{Name: name, Role: "source", Releases: src}}, dests...))
			switch format {
			case "json":
				return writeJSON(c.App.Writer, g)
			case "markdown":
				return g.WriteMarkdown(c.App.Writer)
			case "html":
				return g.WriteHTML(c.App.Writer)
			}
			return g.WriteText(c.App.Writer)
		},
	}
}
