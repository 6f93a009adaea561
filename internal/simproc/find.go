package simproc

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// EnvVar names the octosim program to run when no path is given
// explicitly; it is tried before every other place.
const EnvVar = "OCTOBUNDLE_OCTOSIM"

// modulePath is the module whose source tree holds ./cmd/octosim.
const modulePath = "github.com/octobundle/octobundle"

// exeName is the program's file name on this system.
var exeName = "octosim" + map[bool]string{true: ".exe"}[runtime.GOOS == "windows"]

// Find returns the path of the octosim program (cmd/octosim), looking in
// this order:
//
//  1. explicit, when it is not empty (a --octosim flag);
//  2. the environment variable OCTOBUNDLE_OCTOSIM;
//  3. octosim next to the running executable (make build's bin/, a
//     go install's GOBIN), or, beside a release binary
//     octobundle-VERSION-OS-ARCH, the release's octosim-VERSION-OS-ARCH;
//  4. when the working directory lies in this module's source tree and go
//     is on PATH: ./cmd/octosim of that tree, built into the user's cache
//     folder (octobundle/octosim-HASH/) — so `go run ./cmd/octobundle
//     demo` works in a fresh clone; go rebuilds it only when the source
//     changed;
//  5. octosim on PATH.
//
// The source tree comes before PATH so that an older octosim installed on
// PATH never serves a checkout that has moved on. An explicit path or
// OCTOBUNDLE_OCTOSIM that names no file is an error, not a reason to look
// further. When nothing is found the error names every place tried. log
// (nil: none) hears which one was taken, and that a build starts.
func Find(ctx context.Context, explicit string, log *slog.Logger) (string, error) {
	exe, _ := os.Executable()
	wd, _ := os.Getwd()
	return finder{
		Explicit:   explicit,
		Env:        os.Getenv(EnvVar),
		Executable: exe,
		Dir:        wd,
		LookPath:   exec.LookPath,
		Log:        log,
	}.find(ctx)
}

// finder is Find with its inputs spelled out, for tests.
type finder struct {
	Explicit, Env string
	// Executable is the running program; Dir the working directory.
	Executable, Dir string
	// LookPath searches PATH (exec.LookPath).
	LookPath func(string) (string, error)
	Log      *slog.Logger
}

func (f finder) find(ctx context.Context) (string, error) {
	log := f.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, given := range []struct{ path, what string }{{f.Explicit, "--octosim"}, {f.Env, EnvVar}} {
		if given.path == "" {
			continue
		}
		if err := isProgram(given.path); err != nil {
			return "", fmt.Errorf("the octosim program (%s): %w", given.what, err)
		}
		log.Debug("octosim", "path", given.path, "from", given.what)
		return given.path, nil
	}
	var tried []string
	if f.Executable != "" {
		dir, base := filepath.Split(f.Executable)
		names := []string{exeName}
		if rest, ok := strings.CutPrefix(base, "octobundle-"); ok {
			names = append(names, "octosim-"+rest) // a release's names
		}
		for _, n := range names {
			p := filepath.Join(dir, n)
			if isProgram(p) == nil {
				log.Debug("octosim", "path", p, "from", "next to "+f.Executable)
				return p, nil
			}
			tried = append(tried, p+" (next to this program)")
		}
	}
	if root := moduleRoot(f.Dir); root == "" {
		tried = append(tried, "building ./cmd/octosim (the working directory is not in octobundle's source tree)")
	} else if goBin, err := f.LookPath("go"); err != nil {
		tried = append(tried, "building "+filepath.Join(root, "cmd", "octosim")+" (no go command on PATH)")
	} else {
		p, err := build(ctx, goBin, root, log)
		if err != nil {
			return "", err
		}
		log.Debug("octosim", "path", p, "from", "built from "+root)
		return p, nil
	}
	if p, err := f.LookPath("octosim"); err == nil {
		log.Debug("octosim", "path", p, "from", "PATH")
		return p, nil
	}
	tried = append(tried, "octosim on PATH")
	return "", fmt.Errorf("no octosim program (the simulator the demo runs) found; tried: %s. Build it (go build -o DIR ./cmd/octosim, or make build) and pass --octosim PATH or set %s",
		strings.Join(tried, "; "), EnvVar)
}

// isProgram reports why path is not a file that could be run.
func isProgram(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a folder", path)
	}
	return nil
}

// moduleRoot returns the folder at or above dir whose go.mod declares this
// module and that holds cmd/octosim, or "".
func moduleRoot(dir string) string {
	if dir == "" {
		return ""
	}
	for d := filepath.Clean(dir); ; {
		if f, err := os.Open(filepath.Join(d, "go.mod")); err == nil {
			mod := ""
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if m, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
					mod = strings.Trim(strings.TrimSpace(m), `"`)
					break
				}
			}
			f.Close()
			if mod != modulePath {
				return "" // another module: its tree does not hold ours
			}
			if st, err := os.Stat(filepath.Join(d, "cmd", "octosim", "main.go")); err != nil || st.IsDir() {
				return ""
			}
			return d
		}
		up := filepath.Dir(d)
		if up == d {
			return ""
		}
		d = up
	}
}

// build builds root's ./cmd/octosim into the user's cache folder, one
// folder per source tree, and returns the program's path. go skips the
// link when the program there is up to date. A lock folder serializes
// builds into the same place (concurrent demos and test packages).
func build(ctx context.Context, goBin, root string, log *slog.Logger) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("building octosim: no cache folder: %w (pass --octosim PATH or set %s)", err, EnvVar)
	}
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(cache, "octobundle", "octosim-"+hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("building octosim: %w", err)
	}
	unlock, err := lock(ctx, filepath.Join(dir, "lock"))
	if err != nil {
		return "", fmt.Errorf("building octosim: %w", err)
	}
	defer unlock()
	bin := filepath.Join(dir, exeName)
	if isProgram(bin) != nil {
		log.Info("building the simulator from this source tree (once: later runs reuse it)", "source", filepath.Join(root, "cmd", "octosim"), "program", bin)
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "./cmd/octosim")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building octosim (go build -o %s ./cmd/octosim in %s): %w\n%s", bin, root, err, out)
	}
	return bin, nil
}

// staleLock is how old a lock folder must be to be taken as left behind
// by a build that died.
const staleLock = 10 * time.Minute

// lock takes the lock folder path (os.Mkdir is atomic), waiting while
// another process holds it, and returns its release.
func lock(ctx context.Context, path string) (func(), error) {
	for {
		err := os.Mkdir(path, 0o755)
		if err == nil {
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		if st, serr := os.Stat(path); serr == nil && time.Since(st.ModTime()) > staleLock {
			os.Remove(path)
			continue
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %s: %w", path, context.Cause(ctx))
		case <-time.After(100 * time.Millisecond):
		}
	}
}
