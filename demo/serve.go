package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// ServeOptions configure Serve.
type ServeOptions struct {
	// Dir is the folder the API keys and the environment file are written
	// to (created if missing).
	Dir string
	// SourceSeed and DestinationSeed are the sample instance files.
	SourceSeed, DestinationSeed string
	// Stdout receives the export lines of the environment file.
	Stdout io.Writer
	// Octosim is the octosim program to run; "" finds it (simproc.Find).
	Octosim string
	// Logger hears where octosim was found (nil: nothing).
	Logger *slog.Logger
}

// The files Serve writes in ServeOptions.Dir, and removes when it stops.
const (
	// EnvFile holds the export lines: DEV_URL, DEV_KEY, PROD_URL, PROD_KEY.
	EnvFile = "env"
	// SourceKeyFile and DestinationKeyFile hold the simulators' API keys.
	SourceKeyFile, DestinationKeyFile = "dev.key", "prod.key"
)

// Serve starts the sample source and destination instances as two
// simulators on loopback and serves them until ctx is done: the stand-ins
// for https://dev.example.com and https://prod.example.com that
// docs/quickstart.md uses. Once both listen it writes their API keys
// (dev.key, prod.key, readable only by the user) and then, by rename, the
// environment file env, whose lines
//
//	export DEV_URL=http://127.0.0.1:PORT
//	export DEV_KEY=DIR/dev.key
//	export PROD_URL=…
//	export PROD_KEY=DIR/prod.key
//
// a shell sources; the same lines go to Stdout. So a script can wait for
// env to exist. When ctx is done it removes the three files and stops.
// It refuses a Dir that holds other files, so it never overwrites or
// removes a file it did not write.
func Serve(ctx context.Context, o ServeOptions) error {
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	for _, f := range []string{o.SourceSeed, o.DestinationSeed} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("sample instance %s: %w (run it from the repository root, or pass --source-seed/--destination-seed)", f, err)
		}
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return err
	}
	ours := map[string]bool{EnvFile: true, EnvFile + ".tmp": true, SourceKeyFile: true, DestinationKeyFile: true}
	entries, err := os.ReadDir(o.Dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !ours[e.Name()] {
			return fmt.Errorf("%s holds %s: the demo servers write their keys into a folder of their own (choose another --dir)", o.Dir, e.Name())
		}
	}
	src, dst, stop, err := startSims(ctx, o.Octosim, o.SourceSeed, o.DestinationSeed, o.Logger)
	if err != nil {
		return err
	}
	defer stop()

	written := []string{}
	defer func() {
		for _, p := range written {
			os.Remove(p)
		}
	}()
	devKey, prodKey := filepath.Join(o.Dir, SourceKeyFile), filepath.Join(o.Dir, DestinationKeyFile)
	for _, k := range []struct{ path, key string }{{devKey, src.APIKey}, {prodKey, dst.APIKey}} {
		if err := os.WriteFile(k.path, []byte(k.key+"\n"), 0o600); err != nil {
			return err
		}
		written = append(written, k.path)
	}
	var env strings.Builder
	fmt.Fprintf(&env, "export DEV_URL=%s\nexport DEV_KEY=%s\nexport PROD_URL=%s\nexport PROD_KEY=%s\n", src.URL, devKey, dst.URL, prodKey)
	envPath := filepath.Join(o.Dir, EnvFile)
	tmp := envPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(env.String()), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, envPath); err != nil {
		os.Remove(tmp)
		return err
	}
	written = append(written, envPath)
	if _, err := io.WriteString(o.Stdout, env.String()); err != nil {
		return err
	}
	<-ctx.Done()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
