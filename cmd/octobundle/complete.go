package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/octobundle/octobundle/schema"
	"github.com/urfave/cli/v2"
)

// completeFlag ends a command line that asks for completion candidates
// (urfave/cli's name for it, kept so that the protocol stays the same):
//
//	octobundle WORD... CURRENT --generate-bash-completion
//
// CURRENT is the word being typed ("" for a new one; the flag itself once
// more stands for "" in shells that drop empty arguments). The answer is
// one candidate a line, already filtered by CURRENT, or a single line
// naming what the shell itself should complete: completeFiles or
// completeDirs.
const completeFlag = "--generate-bash-completion"

// The answers that ask the shell to complete paths itself.
const (
	completeFiles = ":files"
	completeDirs  = ":dirs"
)

// flagValues are the fixed value sets of flags, by flag name, or by
// "COMMAND FLAG" where one command's set differs. TestFlagValuesMatchUsage
// checks every set against its flag's usage text.
var flagValues = map[string][]string{
	"log-level":     {"debug", "info", "warn", "error"},
	"log-format":    {"text", "json"},
	"output":        {"text", "json"},
	"diff output":   {"text", "json", "markdown"},
	"color":         {"auto", "always", "never"},
	"on-conflict":   {"source", "destination", "fail"},
	"on-lost-scope": {"drop", "unscope"},
	"kdf":           {"sensitive", "interactive"},
}

// filePlaceholders and dirPlaceholders are the placeholders of a flag's
// usage (`FILE`: --key FILE in the help) that name a path;
// kindPlaceholder names a kind of the registry.
var (
	filePlaceholders = []string{"FILE", "PATH", "BUNDLE"}
	dirPlaceholders  = []string{"DIR"}
)

const kindPlaceholder = "KIND"

// isCompletion reports whether args (os.Args style) ask for completion
// candidates rather than running a command.
func isCompletion(args []string) bool {
	return len(args) >= 2 && args[len(args)-1] == completeFlag
}

// complete writes the candidates for the last of words (the command line
// after the program name, without completeFlag) to w: commands, a
// command's flags, the fixed values of the flag before the word, kind
// names, or a request for paths.
func complete(app *cli.App, words []string, w io.Writer) {
	app.Setup() // adds help and the help and version flags
	cur := ""
	if n := len(words); n > 0 {
		cur, words = words[n-1], words[:n-1]
	}
	if cur == completeFlag {
		cur = ""
	}
	var (
		cmd      *cli.Command
		valueOf  cli.Flag // the flag cur is the value of
		dashDash bool
		used     = map[string]bool{}
	)
	for i := 0; i < len(words); i++ {
		a := words[i]
		switch {
		case dashDash:
		case a == "--":
			dashDash = true
		case strings.HasPrefix(a, "-") && a != "-":
			name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			f := findFlag(app, cmd, name)
			if f == nil {
				continue
			}
			for _, n := range f.Names() {
				used[n] = true
			}
			if !hasValue && flagTakesValue(f) {
				if i+1 < len(words) {
					i++
				} else {
					valueOf = f
				}
			}
		case cmd == nil && app.Command(a) != nil:
			cmd = app.Command(a)
		case cmd != nil && cmd.Command(a) != nil:
			cmd = cmd.Command(a) // a subcommand (release export)
		}
	}
	var out []string
	switch {
	case valueOf != nil:
		out = flagCandidates(cmd, valueOf, "", cur)
	case !dashDash && strings.HasPrefix(cur, "-"):
		if name, value, ok := strings.Cut(strings.TrimLeft(cur, "-"), "="); ok {
			if f := findFlag(app, cmd, name); f != nil {
				prefix := cur[:len(cur)-len(value)]
				out = flagCandidates(cmd, f, prefix, value)
			}
			break
		}
		out = flagNames(app, cmd, cur, used)
	case cmd == nil || cmd.Name == "help":
		for _, c := range app.VisibleCommands() {
			for _, n := range c.Names() {
				if len(n) > 1 && strings.HasPrefix(n, cur) { // not help's alias h
					out = append(out, n)
				}
			}
		}
	case len(cmd.Subcommands) > 0:
		for _, c := range cmd.VisibleCommands() {
			if strings.HasPrefix(c.Name, cur) && c.Name != "help" {
				out = append(out, c.Name)
			}
		}
	case cmd.Name == "completion":
		out = withPrefix(shells, cur)
	case strings.TrimSpace(cmd.ArgsUsage) != "":
		out = []string{completeFiles} // every argument is a path
	}
	for _, s := range out {
		fmt.Fprintln(w, s)
	}
}

// findFlag is the command's flag (or the global flag) called name.
func findFlag(app *cli.App, cmd *cli.Command, name string) cli.Flag {
	var flags []cli.Flag
	if cmd != nil {
		flags = append(flags, cmd.Flags...)
	}
	for _, f := range append(flags, app.Flags...) {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

// flagTakesValue reports whether f is followed by a value (every flag but
// a boolean one).
func flagTakesValue(f cli.Flag) bool {
	_, isBool := f.(*cli.BoolFlag)
	return !isBool
}

// flagNames are the flags of cmd (or the global ones without a command)
// starting with cur, as --name (or -n for a one-letter alias when cur
// does not start with "--"); flags already given are left out unless
// they repeat.
func flagNames(app *cli.App, cmd *cli.Command, cur string, used map[string]bool) []string {
	var flags []cli.Flag
	if cmd != nil {
		flags = append(flags, cmd.Flags...)
		if !slices.ContainsFunc(flags, func(f cli.Flag) bool { return slices.Contains(f.Names(), "help") }) {
			flags = append(flags, cli.HelpFlag)
		}
	}
	for _, f := range app.Flags {
		if cmd == nil || f != cli.VersionFlag { // --version: before a command only
			flags = append(flags, f)
		}
	}
	var out []string
	for _, f := range flags {
		if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
			continue
		}
		_, repeats := f.(*cli.StringSliceFlag)
		for _, n := range f.Names() {
			if used[n] && !repeats {
				break
			}
			name := "--" + n
			if len(n) == 1 {
				if strings.HasPrefix(cur, "--") {
					continue
				}
				name = "-" + n
			}
			if strings.HasPrefix(name, cur) && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out
}

// flagCandidates are the values of flag f of cmd starting with cur, each
// after prefix ("--output=" when the value is typed in the same word): its
// fixed set, kind names, or a request for paths.
func flagCandidates(cmd *cli.Command, f cli.Flag, prefix, cur string) []string {
	name := f.Names()[0]
	values, ok := []string(nil), false
	if cmd != nil && slices.Contains(cmd.Flags, f) {
		values, ok = flagValues[cmd.Name+" "+name]
	}
	if !ok {
		values, ok = flagValues[name]
	}
	if !ok {
		usage := ""
		if df, isDoc := f.(cli.DocGenerationFlag); isDoc {
			usage = df.GetUsage()
		}
		if ph := placeholder(usage); ph == kindPlaceholder {
			for _, k := range schema.Kinds() {
				values = append(values, k.Name)
			}
		} else {
			return pathCandidates(ph)
		}
	}
	out := withPrefix(values, cur)
	for i := range out {
		out[i] = prefix + out[i]
	}
	return out
}

// placeholder is the placeholder a usage text marks with backquotes
// (urfave/cli shows it in the help: --key FILE), or "".
func placeholder(usage string) string {
	_, rest, ok := strings.Cut(usage, "`")
	if !ok {
		return ""
	}
	name, _, ok := strings.Cut(rest, "`")
	if !ok {
		return ""
	}
	return name
}

// pathCandidates asks for files or directories when a flag's placeholder
// names a path, else nothing.
func pathCandidates(placeholder string) []string {
	switch {
	case slices.Contains(filePlaceholders, placeholder):
		return []string{completeFiles}
	case slices.Contains(dirPlaceholders, placeholder):
		return []string{completeDirs}
	}
	return nil
}

// withPrefix are the values starting with prefix.
func withPrefix(values []string, prefix string) []string {
	var out []string
	for _, v := range values {
		if strings.HasPrefix(v, prefix) {
			out = append(out, v)
		}
	}
	return out
}
