package main

import (
	"errors"
	"fmt"

	"github.com/octobundle/octobundle/apply/render"
	"github.com/octobundle/octobundle/syncrun"
	"github.com/urfave/cli/v2"
)

func driftCommand() *cli.Command {
	return &cli.Command{
		Name:  "drift",
		Usage: "show what changed on the destination since octobundle last applied to it, entity and field by field, without a bundle (exit 0 no drift, 2 drift, 1 error)",
		Flags: append(append(connectionFlags(), stateFlags()...),
			&cli.StringFlag{Name: "output", Value: "text", Usage: "output format on stdout: text or json"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return usageError("drift takes no arguments")
			}
			switch c.String("output") {
			case "text", "json":
			default:
				return usageError("--output must be text or json, not %q", c.String("output"))
			}
			cl, err := connect(c)
			if err != nil {
				return err
			}
			dest, err := openState(c, cl)
			if err != nil {
				return err
			}
			r, err := dest.Drift(c.Context, readOptions(c, "reading destination"))
			if errors.Is(err, syncrun.ErrNothingApplied) {
				return cli.Exit(fmt.Sprintf("drift: the state %s holds nothing for this destination: apply to it first (or point --state at the state directory the pipeline uses)", dest.State.Dir()), exitFailed)
			}
			if err != nil {
				return err
			}
			if c.String("output") == "json" {
				err = r.WriteJSON(c.App.Writer)
			} else {
				err = render.Drift(c.App.Writer, r)
			}
			if err != nil {
				return err
			}
			if r.HasDrift() {
				return cli.Exit("", exitChanges)
			}
			return nil
		},
	}
}
