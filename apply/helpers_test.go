package apply

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/export"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/tools/octosim/simtest"
	"github.com/octobundle/octobundle/transform"
)

// repoRoot returns the repository root (for testdata).
func repoRoot(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// sim is a running simulator and a client connected to it.
type sim struct {
	srv *octosim.Server
	url string
	c   *octopus.Client
}

func testLogger() *slog.Logger {
	if os.Getenv("APPLY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startSim starts a simulator seeded with the sample instance name ("" for
// an empty instance) and connects a client with fast retries.
func startSim(t testing.TB, seed string, opts octosim.Options) *sim {
	t.Helper()
	if seed != "" {
		inst, err := octosim.LoadSeed(filepath.Join(repoRoot(t), "testdata", "instances", seed))
		if err != nil {
			t.Fatal(err)
		}
		opts.Seed = inst
	}
	srv, url := simtest.Start(t, opts)
	return &sim{srv: srv, url: url, c: connect(t, srv, url)}
}

func connect(t testing.TB, srv *octosim.Server, url string) *octopus.Client {
	t.Helper()
	c, err := octopus.Connect(context.Background(), octopus.Config{
		URL: url, APIKey: srv.APIKey(),
		Retry:  octopus.Retry{Attempts: 10, Base: 5 * time.Millisecond, Max: 50 * time.Millisecond},
		Logger: testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// exportBundle exports the simulator's default space.
func exportBundle(t testing.TB, s *sim, optional bool) *bundles.Bundle {
	t.Helper()
	res, err := export.Run(context.Background(), s.c, export.Options{Optional: optional, ToolVersion: "test",
		Now: func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return res.Bundle
}

// fitBundle transforms an export of the sample source with the sample rule
// file testdata/rules/staging-production.yaml, as a user syncing the
// Dev/Test/Staging/Production source into the Staging/Production
// destination does: Development, Test, the QA lifecycle and channel and the
// sandbox tenant stay behind.
func fitBundle(t testing.TB, b *bundles.Bundle) *bundles.Bundle {
	t.Helper()
	rf, err := transform.ReadRuleFile(filepath.Join(repoRoot(t), "testdata", "rules", "staging-production.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := transform.Transform(b, []*transform.RuleFile{rf}, transform.Options{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// e2eVersions are the Octopus versions the end-to-end tests run against:
// one before scoped tenant variables (the legacy document) and a current
// one (the common and project variables resources).
var e2eVersions = octosim.ConformanceVersions

// diffLabel is how the text plan names a field diff's place (see
// render.Plan): its label, else its path.
func diffLabel(d plans.FieldDiff) string {
	if d.Label != "" {
		return d.Label
	}
	if d.Path == "" || d.Path == "/" {
		return "(the whole document)"
	}
	return d.Path
}
