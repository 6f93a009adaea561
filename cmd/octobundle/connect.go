package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/octobundle/octobundle/internal/limits"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/urfave/cli/v2"
)

// connectionFlags are the flags every command that talks to Octopus takes,
// with the Octopus CLI's environment variables.
func connectionFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "server", Usage: "Octopus server URL", EnvVars: []string{"OCTOPUS_URL"}},
		&cli.StringFlag{Name: "api-key", Usage: "Octopus API key (prefer --api-key-file or OCTOPUS_API_KEY: arguments are visible to other users)", EnvVars: []string{"OCTOPUS_API_KEY"}},
		&cli.StringFlag{Name: "api-key-file", Usage: "read the API key from `FILE`"},
		&cli.StringFlag{Name: "space", Usage: "space name (default: the server's default space)", EnvVars: []string{"OCTOPUS_SPACE"}},
		&cli.StringFlag{Name: "ca-cert", Usage: "trust the CA certificate(s) in PEM `FILE` too (for a server whose certificate comes from a private CA)", EnvVars: []string{"OCTOBUNDLE_CA_CERT"}},
		&cli.BoolFlag{Name: "insecure-skip-tls-verify", Usage: "do not verify the server's TLS certificate (anyone on the network path can then receive the API key: for test servers only)"},
		&cli.DurationFlag{Name: "request-timeout", Value: octopus.DefaultRequestTimeout, Usage: "give up one request to Octopus after `DURATION`, retries and reading the whole answer included (0: no limit)", EnvVars: []string{"OCTOBUNDLE_REQUEST_TIMEOUT"}},
		&cli.DurationFlag{Name: "timeout", Usage: "give up the whole command after `DURATION` (default: no limit)", EnvVars: []string{"OCTOBUNDLE_TIMEOUT"}},
	}
}

// errCommandTimeout is the cause of a command's context ended by
// --timeout; commandTimeout wraps it with the duration.
var errCommandTimeout = errors.New("the command ran out of time")

// guardConnections wraps every command that takes --server (the
// connection flags): before the command logs, writes or sends anything,
// it refuses a server URL that carries a credential (never echoing it),
// checks --request-timeout and --timeout, warns that --api-key is visible
// to other users, and puts the command under --timeout.
func guardConnections(app *cli.App) {
	for _, cmd := range withSubcommands(app.Commands) {
		if !hasFlag(cmd, "server") {
			continue
		}
		before, action, after := cmd.Before, cmd.Action, cmd.After
		var cancel context.CancelFunc
		cmd.Before = func(c *cli.Context) error {
			if err := octopus.CheckServerURL(c.String("server")); err != nil {
				return usageError("--server: %v; give the server's address without it, and the API key with --api-key-file FILE or the OCTOPUS_API_KEY environment variable", err)
			}
			for _, name := range []string{"request-timeout", "timeout"} {
				if c.Duration(name) < 0 {
					return usageError("--%s must not be negative, not %s", name, c.Duration(name))
				}
			}
			if before != nil {
				if err := before(c); err != nil {
					return err
				}
			}
			if d := c.Duration("timeout"); d > 0 {
				c.Context, cancel = context.WithTimeoutCause(c.Context, d,
					fmt.Errorf("%w: --timeout %s reached", errCommandTimeout, d))
			}
			if keyFromFlag(c) {
				logger().Warn("the API key was given with --api-key: command-line arguments are visible to other users of this machine (ps, /proc) and kept in shell history; use --api-key-file FILE or the OCTOPUS_API_KEY environment variable")
			}
			return nil
		}
		if action != nil {
			cmd.Action = func(c *cli.Context) error {
				err := action(c)
				if err != nil && c.Context.Err() != nil {
					// Said once, first, whatever the error deep down
					// made of the ended context.
					cause := context.Cause(c.Context)
					var ec cli.ExitCoder
					switch {
					case !errors.Is(cause, errCommandTimeout) || errors.Is(err, errCommandTimeout):
					case errors.As(err, &ec):
						// Keep the code: an apply stopped part way is
						// partially failed (2).
						if ec.Error() != "" {
							err = cli.Exit(cause.Error()+": "+ec.Error(), ec.ExitCode())
						}
					default:
						err = fmt.Errorf("%w (%v)", cause, err)
					}
				}
				return err
			}
		}
		cmd.After = func(c *cli.Context) error {
			if cancel != nil {
				cancel()
			}
			if after != nil {
				return after(c)
			}
			return nil
		}
	}
}

// withSubcommands lists cmds and, after each, its subcommands (release
// export …), depth first.
func withSubcommands(cmds []*cli.Command) []*cli.Command {
	var out []*cli.Command
	for _, c := range cmds {
		out = append(out, c)
		out = append(out, withSubcommands(c.Subcommands)...)
	}
	return out
}

// hasFlag reports whether cmd takes the flag name.
func hasFlag(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// keyFromFlag reports whether the API key was given with the --api-key
// flag (rather than its environment variable, OCTOPUS_API_KEY).
func keyFromFlag(c *cli.Context) bool {
	// IsSet is true for the environment variable too; the flag was given
	// when its value is not the variable's.
	return c.IsSet("api-key") && c.String("api-key") != "" && os.Getenv("OCTOPUS_API_KEY") != c.String("api-key")
}

// requestTimeout is --request-timeout as octopus.Config.RequestTimeout
// takes it (0, no limit, is negative there).
func requestTimeout(c *cli.Context) time.Duration {
	if d := c.Duration("request-timeout"); d > 0 {
		return d
	}
	return -1
}

// connect builds an Octopus client from the connection flags.
func connect(c *cli.Context) (*octopus.Client, error) { return connectCtx(c.Context, c) }

// connectCtx is connect under ctx (a context that may end before the
// command's).
func connectCtx(ctx context.Context, c *cli.Context) (*octopus.Client, error) {
	key := c.String("api-key")
	keyFlag := keyFromFlag(c)
	source := "the OCTOPUS_API_KEY environment variable"
	if keyFlag {
		source = "the --api-key flag"
	}
	if f := c.String("api-key-file"); f != "" {
		source = "--api-key-file " + f
		if keyFlag {
			return nil, usageError("--api-key and --api-key-file are mutually exclusive")
		}
		data, err := limits.ReadFile(f, limits.SmallFileSize, "API key file size")
		if err != nil {
			return nil, usageError("--api-key-file: %v", err)
		}
		key = strings.TrimSpace(string(data))
	}
	if c.String("ca-cert") != "" && c.Bool("insecure-skip-tls-verify") {
		return nil, usageError("--ca-cert and --insecure-skip-tls-verify are mutually exclusive")
	}
	cl, err := octopus.Connect(ctx, octopus.Config{
		URL:       c.String("server"),
		APIKey:    key,
		Space:     c.String("space"),
		Logger:    logger(),
		Tool:      "octobundle/" + toolVersion(),
		KeySource: source,
		// --concurrency bounds the requests in flight, whatever runs them.
		MaxInFlight:    c.Int("concurrency"),
		RequestTimeout: requestTimeout(c),

		CACertFile:            c.String("ca-cert"),
		InsecureSkipTLSVerify: c.Bool("insecure-skip-tls-verify"),
	})
	if err != nil {
		return nil, fmt.Errorf("connecting to Octopus: %w", err)
	}
	return cl, nil
}

// progress returns a progress callback that draws a bar with counts, rate
// and time left on stderr when stderr is a terminal, and nil otherwise (a
// pipe or a log file gets nothing). The bar is schollz/progressbar: kept,
// small, no dependencies beyond x/term, and it draws one line that it
// clears when done, which suits one-bar-at-a-time commands (mpb is made for
// many concurrent bars, which none of the commands has).
func progress(c *cli.Context, what string) func(done, total int) {
	f, ok := c.App.ErrWriter.(*os.File)
	if !ok || !isTerminal(f) {
		return nil
	}
	var (
		mu  sync.Mutex // the callback may be called from worker goroutines
		bar *progressbar.ProgressBar
	)
	return func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		if bar == nil {
			bar = progressbar.NewOptions(total,
				progressbar.OptionSetWriter(f),
				progressbar.OptionSetDescription(what),
				progressbar.OptionShowCount(),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionClearOnFinish(),
				progressbar.OptionEnableColorCodes(false),
				progressbar.OptionSetWidth(30),
			)
		}
		if total != bar.GetMax() {
			bar.ChangeMax(total)
		}
		_ = bar.Set(done)
		if done >= total {
			_ = bar.Finish()
			bar = nil
		}
	}
}
