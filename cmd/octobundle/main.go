// Command octobundle keeps Octopus Deploy instances in sync when they cannot
// talk to each other: it exports a space to a name-keyed, ID-free bundle,
// verifies, packs and unpacks bundles, and plans and applies them to a
// destination instance. Each command lives in its own file (cmd_*.go) and
// holds flags and exit codes only; the work is done by the packages export,
// bundles, apply and internal/demo.
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

// version is set with -ldflags "-X main.version=…"; otherwise the module
// version from the build info is used.
var version = ""

func toolVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// Exit codes shared by the commands.
const (
	exitOK      = 0
	exitFailed  = 1
	exitChanges = 2 // plan --detailed-exitcode: changes present
	exitPartial = 2 // apply: partially failed
	exitUsage   = 64
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
	app := newApp(stdout, stderr)
	err := app.RunContext(ctx, interspersed(app, args))
	if err == nil {
		return exitOK
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
	return &cli.App{
		Name:    "octobundle",
		Usage:   "sync Octopus Deploy instances that cannot see each other, through a reviewable bundle",
		Version: toolVersion(),
		Writer:  stdout, ErrWriter: stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "stderr log level: debug, info, warn or error", EnvVars: []string{"OCTOBUNDLE_LOG_LEVEL"}},
		},
		Before: func(c *cli.Context) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(c.String("log-level"))); err != nil {
				return cli.Exit(fmt.Sprintf("--log-level: %v", err), exitUsage)
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})))
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
		},
		ExitErrHandler:  func(*cli.Context, error) {}, // run() prints and exits
		HideHelpCommand: true,
	}
}

// usageError reports a command-line mistake with exit code 64.
func usageError(format string, a ...any) error {
	return cli.Exit(fmt.Sprintf(format, a...), exitUsage)
}

// logger returns the process logger, configured by --log-level.
func logger() *slog.Logger { return slog.Default() }
