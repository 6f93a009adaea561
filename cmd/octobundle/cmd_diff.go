package main

import (
	"os"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/review"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

func diffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "compare two bundles (directories or archives) by entity and field (exit 0 equal, 2 different, 1 error)",
		ArgsUsage: "OLD NEW",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"format"}, Value: "text", Usage: "output format: text, markdown (a pull-request comment) or json (--format is the old name)"},
			&cli.StringFlag{Name: "color", Value: "auto", Usage: "colour the text format: auto (on a terminal, unless NO_COLOR is set), always or never"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usageError("diff takes two bundles: OLD NEW (directories or .tar.zst)")
			}
			format, mode := c.String("output"), c.String("color")
			switch format {
			case "text", "markdown", "json":
			default:
				return usageError("--output must be text, markdown or json, not %q", format)
			}
			switch mode {
			case "auto", "always", "never":
			default:
				return usageError("--color must be auto, always or never, not %q", mode)
			}
			oldPath, newPath := c.Args().Get(0), c.Args().Get(1)
			a, err := bundles.Read(oldPath, bundles.ReadOptions{})
			if err != nil {
				return err
			}
			b, err := bundles.Read(newPath, bundles.ReadOptions{})
			if err != nil {
				return err
			}
			r := review.Compare(oldPath, a, newPath, b)
			switch format {
			case "json":
				err = r.WriteJSON(c.App.Writer)
			case "markdown":
				err = r.WriteMarkdown(c.App.Writer)
			default:
				noColor := os.Getenv("NO_COLOR")
				if c.Bool("no-color") {
					noColor = "1"
				}
				err = r.WriteText(c.App.Writer, useColor(mode, isTerminal(c.App.Writer), noColor))
			}
			if err != nil {
				return err
			}
			if !r.Equal {
				return cli.Exit("", exitChanges)
			}
			return nil
		},
	}
}

// useColor decides whether text output is coloured: always or never as
// asked; in auto mode on a terminal unless NO_COLOR is set to anything
// non-empty (https://no-color.org).
func useColor(mode string, tty bool, noColor string) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	return tty && noColor == ""
}

// isTerminal reports whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
