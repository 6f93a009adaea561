package main

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// globalFlags work before or after the command name (interspersed moves
// them in front of it).
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "log-level", Value: "info", Usage: "stderr log level: debug, info, warn or error", EnvVars: []string{"OCTOBUNDLE_LOG_LEVEL"}},
		&cli.StringFlag{Name: "log-format", Value: "text", Usage: "stderr log format: text or json", EnvVars: []string{"OCTOBUNDLE_LOG_FORMAT"}},
		&cli.BoolFlag{Name: "no-color", Usage: "no colour on the terminal (as NO_COLOR set to anything does)"},
		&cli.IntFlag{Name: "concurrency", Value: 8, Usage: "parallel requests to Octopus", EnvVars: []string{"OCTOBUNDLE_CONCURRENCY"}},
	}
}

// examples are shown under every command's --help; TestEveryCommandHasAnExample
// fails when a command lacks one. Each line is a real invocation.
var examples = map[string][]string{
	"demo": {
		"octobundle demo",
		"octobundle demo --out /tmp/demo --rules testdata/rules/staging-production.yaml",
	},
	"release": {
		"octobundle release export --project OctoFX --version 1.4.2 --with-packages --out release-1.4.2.tar.zst",
		"octobundle release apply --rules rules.yaml --require-signature --pubkey ops.pub --deploy-to Staging --wait release-1.4.2.tar.zst",
		"octobundle release report --server https://prod.example.com --api-key-file prod.key --project OctoFX --out results.tar.zst",
		"octobundle release record --pubkey ops.pub --require-signature results.tar.zst",
	},
	"release export": {
		"octobundle release export --project OctoFX --version 1.4.2 --out release-1.4.2.tar.zst",
		"octobundle release export --project OctoFX --version 1.4.2 --channel Default --with-packages --out release-1.4.2.tar.zst",
	},
	"release plan": {
		"octobundle release plan --rules rules.yaml release-1.4.2.tar.zst",
	},
	"release apply": {
		"octobundle release apply --rules rules.yaml release-1.4.2.tar.zst",
		"octobundle release apply --rules rules.yaml --require-signature --pubkey ops.pub --deploy-to Staging --wait release-1.4.2.tar.zst",
	},
	"export": {
		"OCTOPUS_URL=https://dev.example.com OCTOPUS_API_KEY=API-… octobundle export --space Default --out bundle.tar.zst",
		"octobundle export --server https://dev.example.com --api-key-file key.txt --project OctoFX --out octofx/",
	},
	"transform": {
		"octobundle transform --rules staging-production.yaml --out fitted.tar.zst bundle.tar.zst",
	},
	"verify": {
		"octobundle verify bundle.tar.zst",
		"octobundle verify --pubkey release.pub --require-signature bundle.tar.zst",
	},
	"keygen": {
		"octobundle keygen --out release",
	},
	"sign": {
		"octobundle sign --key release.key bundle.tar.zst",
	},
	"diff": {
		"octobundle diff last-week.tar.zst bundle.tar.zst",
		"octobundle diff --output markdown old/ new/ > comment.md",
	},
	"inspect": {
		"octobundle inspect --output json bundle.tar.zst",
	},
	"pack": {
		"octobundle pack bundle/ bundle.tar.zst",
	},
	"unpack": {
		"octobundle unpack bundle.tar.zst bundle/",
	},
	"plan": {
		"octobundle plan --server https://prod.example.com --api-key-file key.txt bundle.tar.zst",
		"octobundle plan --out plan.json --detailed-exitcode bundle.tar.zst",
	},
	"apply": {
		"octobundle apply --server https://prod.example.com --api-key-file key.txt --cleanup-report cleanup.json bundle.tar.zst",
		"octobundle apply --plan plan.json bundle.tar.zst",
	},
	"drift": {
		"octobundle drift --server https://prod.example.com --api-key-file prod.key",
		"octobundle drift --state ops-bundles/.octobundle --output json",
	},
	"release report": {
		"octobundle release report --server https://prod.example.com --api-key-file prod.key --project OctoFX --with-logs --out results.tar.zst",
	},
	"release record": {
		"octobundle release record --server https://dev.example.com --api-key-file dev.key --pubkey ops.pub --require-signature results.tar.zst",
	},
	"release status": {
		"octobundle release status --server https://dev.example.com --api-key-file dev.key --project OctoFX --results results.tar.zst --output html > octofx.html",
	},
	"completion": {
		"source <(octobundle completion bash)",
		"octobundle completion zsh > \"${fpath[1]}/_octobundle\"",
		"octobundle completion fish > ~/.config/fish/completions/octobundle.fish",
		"octobundle completion powershell | Out-String | Invoke-Expression",
	},
	"version": {
		"octobundle version",
		"octobundle --version",
	},
	"help": {
		"octobundle help plan",
	},
}

// setUsageErrors gives every command the same behaviour on mistakes: flag
// errors and missing required flags are one-line usage errors (exit 1, no
// help dump), an unknown command suggests the closest one, and every
// command's help ends with its examples.
func setUsageErrors(app *cli.App) {
	onUsage := func(c *cli.Context, err error, _ bool) error {
		msg := err.Error()
		if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
			flags := app.Flags
			if c.Command != nil && c.Command.Name != "" {
				flags = append(append([]cli.Flag{}, c.Command.Flags...), app.Flags...)
			}
			if s := closestFlag(flags, strings.TrimLeft(name, "-")); s != "" {
				msg += fmt.Sprintf("; did you mean --%s?", s)
			}
		}
		return usageError("%s", msg)
	}
	app.OnUsageError = onUsage
	app.Suggest = true
	app.Action = func(c *cli.Context) error {
		if c.NArg() == 0 {
			return cli.ShowAppHelp(c)
		}
		return unknownCommand(app, c.Args().First())
	}
	app.CommandNotFound = func(c *cli.Context, name string) {
		// Only reached through "help NAME"; run() reports it.
		c.App.Metadata = map[string]any{"notFound": name}
	}
	type named struct {
		key string // the examples' key: "export", "release export"
		cmd *cli.Command
	}
	var all []named
	for _, cmd := range app.Commands {
		all = append(all, named{cmd.Name, cmd})
		for _, sub := range cmd.Subcommands {
			all = append(all, named{cmd.Name + " " + sub.Name, sub})
		}
	}
	for _, n := range all {
		cmd := n.cmd
		cmd.OnUsageError = onUsage
		if ex := examples[n.key]; len(ex) > 0 {
			cmd.Description = strings.TrimSpace(cmd.Description + "\n\nExamples:\n   " + strings.Join(ex, "\n   "))
		}
		required := requiredFlags(cmd)
		if len(required) == 0 {
			continue
		}
		before := cmd.Before
		cmd.Before = func(c *cli.Context) error {
			for _, name := range required {
				if !c.IsSet(name) {
					return usageError("%s needs --%s", c.Command.FullName(), name)
				}
			}
			if before != nil {
				return before(c)
			}
			return nil
		}
	}
}

// unknownCommand is the usage error for a mistyped command, with the
// closest command as a suggestion.
func unknownCommand(app *cli.App, name string) error {
	msg := fmt.Sprintf("unknown command %q", name)
	if s := closestCommand(app, name); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return usageError("%s", msg)
}

// closestCommand is the command name nearest to name by edit distance, if
// it is near enough to be what was meant.
func closestCommand(app *cli.App, name string) string {
	best, bestD := "", 1<<30
	for _, c := range app.Commands {
		for _, n := range c.Names() {
			if d := editDistance(strings.ToLower(name), n); d < bestD {
				best, bestD = n, d
			}
		}
	}
	if bestD <= max(2, len(name)/3) {
		return best
	}
	return ""
}

// closestFlag is the flag name nearest to name, if near enough.
func closestFlag(flags []cli.Flag, name string) string {
	best, bestD := "", 1<<30
	for _, f := range flags {
		for _, n := range f.Names() {
			if d := editDistance(name, n); d < bestD {
				best, bestD = n, d
			}
		}
	}
	limit := max(2, len(name)/4)
	if len(name) <= 3 {
		limit = 1
	}
	if bestD <= limit {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// requiredFlags turns the command's Required flags into a check in Before,
// so that a missing one is a one-line usage error rather than urfave/cli's
// help dump.
func requiredFlags(cmd *cli.Command) []string {
	var names []string
	for _, f := range cmd.Flags {
		switch f := f.(type) {
		case *cli.StringFlag:
			if f.Required {
				f.Required = false
				names = append(names, f.Name)
			}
		case *cli.StringSliceFlag:
			if f.Required {
				f.Required = false
				names = append(names, f.Name)
			}
		}
	}
	return names
}

// helpHint is where a usage error points: the command's help, or the list
// of commands.
func helpHint(app *cli.App, args []string) string {
	for _, a := range args[1:] {
		if c := app.Command(a); c != nil && c.Name != "help" {
			return "octobundle " + c.Name + " --help"
		}
	}
	return "octobundle help"
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version of octobundle (as recorded in the manifests of the bundles it writes)",
		Flags: []cli.Flag{outputFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError("version takes no arguments")
			}
			asJSON, err := jsonOutput(c)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.App.Writer, versionJSON{Version: toolVersion(), Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH})
			}
			_, err = fmt.Fprintf(c.App.Writer, "octobundle %s (%s, %s/%s)\n", toolVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}

// versionJSON is version --output json
// (docs/json-schemas/version.schema.json).
type versionJSON struct {
	// Version is octobundle's version, as bundle manifests record it.
	Version string `json:"version"`
	// Go is the Go release the binary was built with.
	Go string `json:"go"`
	// OS and Arch are the platform the binary was built for.
	OS   string `json:"os"`
	Arch string `json:"arch"`
}

// shells are the shells completion writes a script for.
var shells = []string{"bash", "zsh", "fish", "powershell"}

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh, fish or powershell",
		ArgsUsage: "SHELL",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 || !slices.Contains(shells, c.Args().First()) {
				return usageError("completion takes one SHELL: %s", strings.Join(shells, ", "))
			}
			var script string
			switch c.Args().First() {
			case "bash":
				script = bashCompletion
			case "zsh":
				script = zshCompletion
			case "fish":
				script = fishCompletion
			case "powershell":
				script = powershellCompletion
			}
			_, err := fmt.Fprint(c.App.Writer, script)
			return err
		},
	}
}

// The scripts ask octobundle itself for the candidates (complete.go):
// commands, a command's flags, the values of a flag with a fixed set,
// kind names, or paths (the answer :files or :dirs: the shell completes
// them). They pass every word up to the cursor, the one being typed
// included, then --generate-bash-completion.
const bashCompletion = `# octobundle completion for bash: source <(octobundle completion bash)
_octobundle_complete() {
  local cur="${COMP_WORDS[COMP_CWORD]}" n=$COMP_CWORD words IFS=$'\n'
  # bash splits --flag=value at "=": complete it as --flag value.
  if [[ "$cur" == "=" ]]; then
    cur=""
  elif (( n > 1 )) && [[ "${COMP_WORDS[n-1]}" == "=" ]]; then
    n=$((n-1))
  fi
  words=$("${COMP_WORDS[@]:0:n}" "$cur" --generate-bash-completion 2>/dev/null)
  case "$words" in
    :files) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")) ;;
    :dirs) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")) ;;
    *) COMPREPLY=($(compgen -W "$words" -- "$cur")) ;;
  esac
}
complete -o bashdefault -o default -F _octobundle_complete octobundle
`

const zshCompletion = `#compdef octobundle
# octobundle completion for zsh: octobundle completion zsh > "${fpath[1]}/_octobundle"
_octobundle() {
  local -a candidates
  candidates=("${(@f)$(${words[1,CURRENT-1]} "${words[CURRENT]}" --generate-bash-completion 2>/dev/null)}")
  case "${candidates[1]}" in
    :files|'') compset -P '*='; _files ;;
    :dirs) compset -P '*='; _files -/ ;;
    *) compadd -- "${candidates[@]}" ;;
  esac
}
compdef _octobundle octobundle
`

const fishCompletion = `# octobundle completion for fish: octobundle completion fish > ~/.config/fish/completions/octobundle.fish
function __octobundle_complete
    set -l cur (commandline -ct)
    set -l words (commandline -opc)
    set -l out ($words "$cur" --generate-bash-completion 2>/dev/null)
    set -l flag (string match -r -- '^-[^=]*=' "$cur")
    set -l path (string replace -r -- '^-[^=]*=' '' "$cur")
    switch "$out[1]"
        case :files
            __fish_complete_path "$path" | string replace -r -- '^' "$flag"
        case :dirs
            __fish_complete_directories "$path" | string replace -r -- '^' "$flag"
        case '*'
            printf '%s\n' $out
    end
end
complete -c octobundle -f -a '(__octobundle_complete)'
`

// PowerShell 5.1 drops empty arguments: a new word is passed as
// --generate-bash-completion once more.
const powershellCompletion = `# octobundle completion for PowerShell: octobundle completion powershell | Out-String | Invoke-Expression
Register-ArgumentCompleter -Native -CommandName octobundle -ScriptBlock {
  param($wordToComplete, $commandAst, $cursorPosition)
  $words = @($commandAst.CommandElements | Where-Object { $_.Extent.EndOffset -le $cursorPosition } | ForEach-Object { $_.ToString() })
  if ($wordToComplete -ne '' -and $words.Count -gt 1) { $words = $words[0..($words.Count - 2)] }
  $rest = @()
  if ($words.Count -gt 1) { $rest = $words[1..($words.Count - 1)] }
  if ($wordToComplete -eq '') { $rest += '--generate-bash-completion' } else { $rest += $wordToComplete }
  $out = @(& $words[0] @rest --generate-bash-completion 2>$null)
  if ($out.Count -eq 1 -and ($out[0] -eq ':files' -or $out[0] -eq ':dirs')) { return } # PowerShell completes paths
  $out | ForEach-Object { [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_) }
}
`
