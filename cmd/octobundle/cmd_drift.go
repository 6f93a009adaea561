package main

import (
	"fmt"

	"github.com/octobundle/octobundle/apply"
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
			st, err := openState(c, cl)
			if err != nil {
				return err
			}
			written, err := st.Written()
			if err != nil {
				return err
			}
			if written == nil {
				return cli.Exit(fmt.Sprintf("drift: the state %s holds nothing for this destination: apply to it first (or point --state at the state directory the pipeline uses)", st.Dir()), exitFailed)
			}
			r, err := apply.Drift(c.Context, cl, written, apply.Options{Concurrency: c.Int("concurrency"), Logger: logger(), Progress: progress(c, "reading destination")})
			if err != nil {
				return err
			}
			if c.String("output") == "json" {
				err = r.WriteJSON(c.App.Writer)
			} else {
				err = r.WriteText(c.App.Writer)
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
