package main

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// interspersed moves a subcommand's flags that follow its positional
// arguments in front of them, so `octobundle plan BUNDLE --out plan.json`
// works as the usage line writes it (urfave/cli v2 stops reading
// flags at the first argument). Everything after "--" is left alone.
func interspersed(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	// Find the subcommand: the first argument that names one, after the
	// global flags.
	ci := -1
	var cmd *cli.Command
	for i := 1; i < len(args); i++ {
		if c := app.Command(args[i]); c != nil {
			ci, cmd = i, c
			break
		}
		if !strings.HasPrefix(args[i], "-") {
			return args
		}
		if !strings.Contains(args[i], "=") && takesValue(app.Flags, args[i]) {
			i++
		}
	}
	if cmd == nil {
		return args
	}
	// A command with subcommands (release): its subcommand takes the
	// flags; global flags go before the command.
	top := ci
	for ci+1 < len(args) && len(cmd.Subcommands) > 0 {
		sub := cmd.Command(args[ci+1])
		if sub == nil {
			break
		}
		ci, cmd = ci+1, sub
	}
	var globals, flags, positional []string
	rest := args[ci+1:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--":
			positional = append(positional, rest[i:]...)
			i = len(rest)
		case strings.HasPrefix(a, "-") && a != "-" && !isFlag(cmd.Flags, a) && isFlag(app.Flags, a):
			// A global flag after the command name.
			globals = append(globals, a)
			if !strings.Contains(a, "=") && takesValue(app.Flags, a) && i+1 < len(rest) {
				i++
				globals = append(globals, rest[i])
			}
		case strings.HasPrefix(a, "-") && a != "-":
			flags = append(flags, a)
			if !strings.Contains(a, "=") && takesValue(cmd.Flags, a) && i+1 < len(rest) {
				i++
				flags = append(flags, rest[i])
			}
		default:
			positional = append(positional, a)
		}
	}
	out := append([]string{}, args[:top]...)
	out = append(out, globals...)
	out = append(out, args[top:ci+1]...)
	out = append(out, flags...)
	return append(out, positional...)
}

// isFlag reports whether the flag token names one of flags.
func isFlag(flags []cli.Flag, token string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(token, "-"), "=")
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return true
		}
	}
	return false
}

// takesValue reports whether the flag token names a flag that takes a value
// (anything but a boolean flag). Unknown flags are treated as boolean; the
// parser reports them.
func takesValue(flags []cli.Flag, token string) bool {
	name := strings.TrimLeft(token, "-")
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			switch f.(type) {
			case *cli.BoolFlag:
				return false
			default:
				return true
			}
		}
	}
	return false
}
