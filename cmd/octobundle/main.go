// Command octobundle keeps Octopus Deploy instances in sync when they cannot
// talk to each other: it exports a space to a name-keyed, ID-free bundle,
// verifies, packs and unpacks bundles, and plans and applies them to a
// destination instance. Each command lives in its own file (cmd_*.go) and
// holds flags and exit codes only; the work is done by the packages export,
// bundles, syncrun (the sync sequence), apply and demo.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/urfave/cli/v2"
)

// version is set with -ldflags "-X main.version=…" (make build, make
// dist); otherwise the module version from the build info (go install
// …@v1.2.3), else the VCS revision the binary was built from, else "dev".
// Releases are built by make dist, which refuses to build without one.
var version = ""

func toolVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "dev-" + rev
}

// Exit codes shared by every command: the one table of docs/exit-codes.md.
// 0 success (or no changes), 2 changes present or partial failure (per
// command), 1 any error, usage errors included: a script that checks for
// 0/1/2 (plan --detailed-exitcode) never sees anything else.
const (
	exitOK      = 0
	exitFailed  = 1
	exitChanges = 2 // plan --detailed-exitcode, diff: changes present
	exitPartial = 2 // apply: partially failed
	exitUsage   = exitFailed
)

func main() {
	tuneGC()
	stopProfiles := startProfiles(os.Stderr)
	code := run(os.Args, os.Stdout, os.Stderr)
	stopProfiles()
	os.Exit(code)
}

// run executes the CLI and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first Ctrl-C or SIGTERM the command stops its requests and
	// writes what it finished; a second one ends the process at once.
	context.AfterFunc(ctx, stop)
	tally.reset()
	app := newApp(stdout, stderr)
	if isCompletion(args) {
		complete(app, args[1:len(args)-1], stdout)
		return exitOK
	}
	args = interspersed(app, args)
	err := app.RunContext(ctx, args)
	if name, ok := app.Metadata["notFound"].(string); ok && err == nil {
		err = unknownCommand(app, name) // octobundle help NAME
	}
	if err == nil {
		return exitOK
	}
	if ctx.Err() != nil {
		// Interrupted: one line, whatever the command (docs/exit-codes.md).
		fmt.Fprintln(stderr, "octobundle: "+tally.interrupted())
		return exitFailed
	}
	var ue *usageErr
	if errors.As(err, &ue) {
		// One line on stderr, with the way to the help: no help dump.
		fmt.Fprintf(stderr, "octobundle: %s (see '%s')\n", ue.msg, helpHint(app, args))
		return exitUsage
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := ec.Error(); msg != "" {
			fmt.Fprintln(stderr, "octobundle: "+msg)
		}
		return ec.ExitCode()
	}
	fmt.Fprintln(stderr, "octobundle: "+err.Error())
	return exitFailed
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:    "octobundle",
		Usage:   "sync Octopus Deploy instances that cannot see each other, through a reviewable bundle",
		Version: toolVersion(),
		Writer:  stdout, ErrWriter: stderr,
		Flags: globalFlags(),
		Before: func(c *cli.Context) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(c.String("log-level"))); err != nil {
				return usageError("--log-level: %v", err)
			}
			opts := &slog.HandlerOptions{Level: lvl}
			switch c.String("log-format") {
			case "text":
				slog.SetDefault(slog.New(slog.NewTextHandler(stderr, opts)))
			case "json":
				slog.SetDefault(slog.New(slog.NewJSONHandler(stderr, opts)))
			default:
				return usageError("--log-format must be text or json, not %q", c.String("log-format"))
			}
			if c.Int("concurrency") < 1 {
				return usageError("--concurrency must be at least 1")
			}
			return nil
		},
		Commands: []*cli.Command{
			demoCommand(),
			exportCommand(),
			transformCommand(),
			verifyCommand(),
			keygenCommand(),
			signCommand(),
			diffCommand(),
			inspectCommand(),
			packCommand(),
			unpackCommand(),
			planCommand(),
			applyCommand(),
			driftCommand(),
			releaseCommand(),
			completionCommand(),
			versionCommand(),
		},
		ExitErrHandler:       func(*cli.Context, error) {}, // run() prints and exits
		EnableBashCompletion: true,
	}
	setUsageErrors(app)
	guardConnections(app)
	return app
}

// usageErr is a command-line mistake: run prints it as one line with a
// pointer to the help, and exits 1 (exitUsage).
type usageErr struct{ msg string }

func (e *usageErr) Error() string { return e.msg }

// ExitCode makes a usageErr a cli.ExitCoder.
func (e *usageErr) ExitCode() int { return exitUsage }

// usageError reports a command-line mistake (exit 1, with a hint).
func usageError(format string, a ...any) error {
	return &usageErr{msg: fmt.Sprintf(format, a...)}
}

// logger returns the process logger, configured by --log-level.
func logger() *slog.Logger { return slog.Default() }
