package main

import (
	"bytes"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/schema"
	"github.com/urfave/cli/v2"
)

// TestComplete asks the completion entry point (run with a command line
// ending in --generate-bash-completion, as the shell scripts call it) for
// the candidates of partial command lines.
func TestComplete(t *testing.T) {
	for _, tt := range []struct {
		line string // the words after "octobundle"; the last is being typed
		want []string
	}{
		// Commands and flags, as before.
		{"", []string{"demo", "export", "transform", "verify", "keygen", "sign", "diff", "inspect", "pack", "unpack", "plan", "apply", "drift", "release", "completion", "version", "help"}},
		{"ex", []string{"export"}},
		{"release ", []string{"export", "plan", "apply", "report", "record", "status"}},
		{"release apply --wa", []string{"--wait"}},
		{"release apply --output ", []string{"text", "json"}},
		{"release apply ", []string{completeFiles}},
		{"plan --ou", []string{"--output", "--out"}},
		{"plan bundle.tar.zst --ou", []string{"--output", "--out"}}, // flags after the bundle too
		{"plan --output text --ou", []string{"--out"}},              // given once
		{"plan --rules a.yaml --ru", []string{"--rules"}},           // repeatable
		{"--log", []string{"--log-level", "--log-format"}},
		{"help pl", []string{"plan"}},
		// Fixed value sets: --output per command.
		{"plan --output ", []string{"text", "json"}},
		{"plan --output j", []string{"json"}},
		{"diff --output ", []string{"text", "json", "markdown"}},
		{"diff --format m", []string{"markdown"}}, // the old name
		{"drift --output ", []string{"text", "json"}},
		{"inspect --output ", []string{"text", "json"}},
		{"transform --output ", []string{"text", "json"}},
		{"plan --output=", []string{"--output=text", "--output=json"}}, // one word (zsh, fish, PowerShell)
		{"diff --output=ma", []string{"--output=markdown"}},
		{"plan --on-conflict ", []string{"source", "destination", "fail"}},
		{"apply --on-conflict d", []string{"destination"}},
		{"apply --on-lost-scope ", []string{"drop", "unscope"}},
		{"--log-level ", []string{"debug", "info", "warn", "error"}},
		{"plan --log-level w", []string{"warn"}}, // a global flag after the command
		{"--log-format ", []string{"text", "json"}},
		{"drift --log-format=j", []string{"--log-format=json"}},
		{"diff --color ", []string{"auto", "always", "never"}},
		{"keygen --kdf ", []string{"sensitive", "interactive"}},
		{"completion ", []string{"bash", "zsh", "fish", "powershell"}},
		// A new word passed as the flag itself (PowerShell 5.1 drops "").
		{"plan --output --generate-bash-completion", []string{"text", "json"}},
		// Paths: the shell completes them.
		{"verify --pubkey ", []string{completeFiles}},
		{"sign --key k", []string{completeFiles}},
		{"plan --rules ", []string{completeFiles}},
		{"apply --plan ", []string{completeFiles}},
		{"plan --api-key-file ", []string{completeFiles}},
		{"export --out ", []string{completeFiles}}, // PATH: an archive or a folder
		{"apply --out ", []string{completeDirs}},
		{"drift --state ", []string{completeDirs}},
		{"plan ", []string{completeFiles}},
		{"verify b", []string{completeFiles}},
		{"plan -- --ou", []string{completeFiles}}, // after "--" only arguments
		// Free text and commands without arguments: nothing.
		{"plan --server ", nil},
		{"export --project ", nil},
		{"version ", nil},
	} {
		var out, errb bytes.Buffer
		args := append([]string{"octobundle"}, strings.Split(tt.line, " ")...)
		if tt.line == "" {
			args = []string{"octobundle"}
		}
		if code := run(append(args, completeFlag), &out, &errb); code != 0 {
			t.Errorf("%q: exit %d: %s", tt.line, code, errb.String())
			continue
		}
		got := strings.Fields(out.String())
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q: got %q, want %q", tt.line, got, tt.want)
		}
	}
}

// TestCompleteKinds: a flag whose placeholder is KIND offers the kind
// names of the registry.
func TestCompleteKinds(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	app.Commands = append(app.Commands, &cli.Command{Name: "probe", Flags: []cli.Flag{
		&cli.StringSliceFlag{Name: "kind", Usage: "only entities of `KIND`"},
	}})
	var out bytes.Buffer
	complete(app, []string{"probe", "--kind", "Env"}, &out)
	if got := strings.Fields(out.String()); !slices.Equal(got, []string{"Environment"}) {
		t.Errorf("--kind Env: got %q, want [Environment]", got)
	}
	out.Reset()
	complete(app, []string{"probe", "--kind", ""}, &out)
	if got, want := len(strings.Fields(out.String())), len(schema.Kinds()); got != want {
		t.Errorf("--kind: %d candidates, want the registry's %d kinds", got, want)
	}
}

// TestFlagValuesMatchUsage: every fixed value set names a flag that
// exists, each value is in the flag's usage text, and an --output flag
// offers every format its usage names.
func TestFlagValuesMatchUsage(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	seen := map[string]bool{}
	word := regexp.MustCompile(`[a-z]+`)
	check := func(cmd *cli.Command, f cli.Flag) {
		name := f.Names()[0]
		key := name
		if cmd != nil {
			if _, ok := flagValues[cmd.Name+" "+name]; ok {
				key = cmd.Name + " " + name
			}
		}
		values, ok := flagValues[key]
		if !ok {
			return
		}
		seen[key] = true
		usage := f.(cli.DocGenerationFlag).GetUsage()
		words := word.FindAllString(usage, -1)
		where := "--" + name
		if cmd != nil {
			where = cmd.Name + " " + where
		}
		for _, v := range values {
			if !slices.Contains(words, v) {
				t.Errorf("%s: completion offers %q, its usage (%q) does not name it", where, v, usage)
			}
		}
		if name == "output" {
			for _, format := range []string{"text", "json", "markdown", "yaml", "html"} {
				if slices.Contains(words, format) && !slices.Contains(values, format) {
					t.Errorf("%s: its usage names %q, completion does not offer it", where, format)
				}
			}
		}
	}
	for _, f := range app.Flags {
		check(nil, f)
	}
	for _, c := range app.Commands {
		for _, f := range c.Flags {
			check(c, f)
		}
	}
	for key := range flagValues {
		if !seen[key] {
			t.Errorf("flagValues[%q]: no such flag", key)
		}
	}
}
