package demo

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/octobundle/octobundle/tools/octosim"
)

// TestAPIKeyIsOctosims: the demo's simulators accept the key they did when
// the demo ran them in process (the secrets scripts look for it).
func TestAPIKeyIsOctosims(t *testing.T) {
	if APIKey != octosim.DefaultAPIKey {
		t.Errorf("APIKey %q, octosim.DefaultAPIKey %q", APIKey, octosim.DefaultAPIKey)
	}
}

// TestNoSimulatorLeftRunning: on every way out — success, a simulator
// that fails to start, a failing step, a cancelled context — the demo
// stops every simulator it started.
func TestNoSimulatorLeftRunning(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("lists child processes from /proc")
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	const src, dst = "../testdata/instances/source.json", "../testdata/instances/destination.json"
	for _, c := range []struct {
		name    string
		dst     string
		cancel  bool // cancel the run once both simulators run
		wantErr string
	}{
		{"success", dst, false, ""},
		{"the destination fails to start", bad, false, "starting the destination simulator"},
		{"cancelled mid-run", dst, true, "context canceled"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			log := slog.New(slog.DiscardHandler)
			if c.cancel {
				log = slog.New(onMessage{"started two Octopus simulators", cancel})
			}
			var out bytes.Buffer
			_, err := Run(ctx, Options{Out: t.TempDir(), SourceSeed: src, DestinationSeed: c.dst,
				Rules: []string{"../testdata/rules/staging-production.yaml"}, Stdout: &out, Logger: log})
			if (err == nil) != (c.wantErr == "") || err != nil && !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %v, want %q", err, c.wantErr)
			}
			if left := octosimChildren(t); len(left) > 0 {
				t.Errorf("simulators left running (err %v): %v", err, left)
			}
		})
	}

	t.Run("serve, until cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		dir := filepath.Join(t.TempDir(), "servers")
		done := make(chan error, 1)
		go func() { done <- Serve(ctx, ServeOptions{Dir: dir, SourceSeed: src, DestinationSeed: dst}) }()
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
			if _, err := os.Stat(filepath.Join(dir, EnvFile)); err == nil {
				break
			}
			if time.Now().After(deadline) {
				cancel()
				t.Fatal("no env file")
			}
		}
		if n := len(octosimChildren(t)); n != 2 {
			t.Errorf("%d simulators run, want 2", n)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if left := octosimChildren(t); len(left) > 0 {
			t.Errorf("simulators left running: %v", left)
		}
	})

	t.Run("no octosim", func(t *testing.T) {
		_, err := Run(context.Background(), Options{Out: t.TempDir(), SourceSeed: src, DestinationSeed: dst,
			Octosim: filepath.Join(t.TempDir(), "missing-octosim")})
		if err == nil || !strings.Contains(err.Error(), "missing-octosim") {
			t.Errorf("error %v, want one naming the missing program", err)
		}
	})
}

// onMessage is a slog handler that calls f when a record's message is msg.
type onMessage struct {
	msg string
	f   func()
}

func (h onMessage) Enabled(context.Context, slog.Level) bool { return true }
func (h onMessage) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.f()
	}
	return nil
}
func (h onMessage) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h onMessage) WithGroup(string) slog.Handler      { return h }

// octosimChildren lists this process's running children named octosim.
func octosimChildren(t *testing.T) []string {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(string(b[end+1:]))
		if string(b[open+1:end]) == "octosim" && len(f) > 1 && f[0] != "Z" && f[1] == strconv.Itoa(os.Getpid()) {
			left = append(left, p)
		}
	}
	return left
}
