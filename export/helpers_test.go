package export

import (
	"context"
	"github.com/octobundle/octobundle/internal/snapshot"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/tools/octosim/simtest"
)

// fixedNow is the export time of every test export, so bundles compare equal.
func fixedNow() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }

// loadSeed reads a sample instance from testdata/instances.
func loadSeed(t testing.TB, name string) *octosim.Instance {
	t.Helper()
	seed, err := octosim.LoadSeed(filepath.Join("..", "testdata", "instances", name))
	if err != nil {
		t.Fatal(err)
	}
	return seed
}

// connect returns a client of the simulator at url with fast retries.
func connect(t testing.TB, url, apiKey string, log *slog.Logger) *octopus.Client {
	t.Helper()
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c, err := octopus.Connect(context.Background(), octopus.Config{
		URL: url, APIKey: apiKey,
		Retry:  octopus.Retry{Attempts: 12, Base: 5 * time.Millisecond, Max: 2 * time.Second},
		Logger: log, Tool: "octobundle/test",
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// connectAs returns a client that reaches the simulator at simURL under the
// name serverURL (a fixed host, so manifests do not record a random port).
func connectAs(t testing.TB, serverURL, simURL, apiKey string) *octopus.Client {
	t.Helper()
	addr := strings.TrimPrefix(simURL, "http://")
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
	}}
	t.Cleanup(hc.CloseIdleConnections)
	c, err := octopus.Connect(context.Background(), octopus.Config{URL: serverURL, APIKey: apiKey, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// exportSim starts a simulator seeded with seed, exports it with o (Now
// fixed unless set) and returns the result and the simulator.
func exportSim(t testing.TB, seed *octosim.Instance, o Options) (*Result, *octosim.Server) {
	t.Helper()
	sim, url := simtest.Start(t, octosim.Options{Seed: seed})
	if o.Now == nil {
		o.Now = fixedNow
	}
	res, err := Run(context.Background(), connect(t, url, sim.APIKey(), o.Logger), o)
	if err != nil {
		t.Fatal(err)
	}
	return res, sim
}

// files returns every file of a bundle written in directory form, by
// slash-separated path.
func files(t testing.TB, b *bundles.Bundle) map[string][]byte {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bundle")
	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	return readDir(t, dir)
}

func readDir(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = data
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checksums parses checksums.txt into path → sum.
func checksums(t testing.TB, b *bundles.Bundle) map[string]string {
	t.Helper()
	raw := files(t, b)[bundles.ChecksumsFile]
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		sum, path, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("bad checksums line %q", line)
		}
		out[path] = sum
	}
	return out
}

// build converts the entities of a snapshot that o selects into an unsealed
// bundle (its manifest's export time is not set): Run without the network
// and without the pipeline, every entity converted after the read.
func build(s *snapshot.Snapshot, o Options, log *slog.Logger) (*bundles.Bundle, []string, error) {
	b := newBundle(s.Server, s.ServerVersion, s.SpaceName, o)
	warnings, err := fill(b, s, o, log, nil)
	if err != nil {
		return nil, nil, err
	}
	return b, warnings, nil
}
