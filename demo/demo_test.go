package demo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
)

// TestRun runs the README's first command end to end and checks what it
// promises: a verified bundle left on disk, an apply that succeeds, a
// clean-up report, and a replay that makes no writes.
func TestRun(t *testing.T) {
	out := t.TempDir()
	var stdout bytes.Buffer
	sum, err := Run(context.Background(), Options{
		Out:             out,
		SourceSeed:      "../testdata/instances/source.json",
		DestinationSeed: "../testdata/instances/destination.json",
		Rules:           []string{"../testdata/rules/staging-production.yaml"},
		ToolVersion:     "test",
		Stdout:          &stdout,
	})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, stdout.String())
	}
	// The transform fitted the bundle to the Staging/Production
	// destination: nothing of Development, Test or QA reaches it.
	if sum.Transform == nil || sum.Transform.Counts["dropped"] == 0 || sum.Entities >= sum.Exported {
		t.Errorf("transform: %+v; %d entities exported, %d after", sum.Transform, sum.Exported, sum.Entities)
	}
	for _, f := range []string{"bundle/environments/Development.json", "bundle/environments/Test.json", "bundle/lifecycles/QA.json", "bundle/projects/OctoFX/channels/QA.json", "bundle/tenants/Development Team A/tenant.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err == nil {
			t.Errorf("the transformed bundle still has %s", f)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "exported/environments/Development.json")); err != nil {
		t.Errorf("the raw export lacks Development: %v", err)
	}
	plan := stdout.String()[strings.Index(stdout.String(), "=== plan"):]
	for _, word := range []string{`Environment "Development"`, `Lifecycle "QA"`, "QA Sign-off", "Development Team A", "Project deployer"} {
		if strings.Contains(plan, word) {
			t.Errorf("the plan mentions %s", word)
		}
	}
	if sum.Status != plans.Succeeded {
		t.Errorf("apply status %s", sum.Status)
	}
	if sum.FirstWrites == 0 || sum.ReplayWrites != 0 {
		t.Errorf("writes: first %d, replay %d; want some, then none", sum.FirstWrites, sum.ReplayWrites)
	}
	if sum.Cleanup == 0 {
		t.Error("no clean-up items, but the sample source has secrets the destination lacks")
	}
	for _, f := range []string{"bundle/manifest.json", "bundle.tar.zst", "plan.json", "cleanup-report.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("demo left no %s: %v", f, err)
		}
	}
	rep, err := bundles.Verify(filepath.Join(out, "bundle.tar.zst"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Digest != sum.Digest {
		t.Errorf("archive digest %s, bundle digest %s", rep.Digest, sum.Digest)
	}
	for _, want := range []string{"=== transform", " 0 error(s)", "=== plan", "+ create", "=== apply: receipt", "=== replay: Succeeded, 0 writes"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

func TestRunMissingSeed(t *testing.T) {
	_, err := Run(context.Background(), Options{Out: t.TempDir(), SourceSeed: "nope.json", DestinationSeed: "nope.json"})
	if err == nil || !strings.Contains(err.Error(), "nope.json") || !strings.Contains(err.Error(), "repository root") {
		t.Fatalf("want an error naming the missing file, got %v", err)
	}
}
