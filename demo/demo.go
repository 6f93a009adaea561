// Package demo runs octobundle's whole round trip with no Octopus server: it
// starts two simulators (the octosim program, as child processes; see
// simproc.Find for where it is found) seeded with the sample source
// (Development/Test/Staging/Production) and destination (Staging/Production)
// instances, exports the source, transforms the bundle with the sample rule
// file so that it fits the destination (Development, Test, the QA lifecycle
// and channel and the sandbox tenant stay behind), verifies and packs it,
// shows the plan, applies it, prints the clean-up report, and replays the
// bundle to show that a second apply makes no writes. It is what
// `octobundle demo` (the README's first command) runs.
package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/apply/render"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/export"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/syncrun"
	"github.com/octobundle/octobundle/transform"
)

// Options configure a demo run.
type Options struct {
	// Out is the directory the bundle, plan and reports are left in.
	Out string
	// SourceSeed and DestinationSeed are the sample instance files.
	SourceSeed, DestinationSeed string
	// Rules are the rule files that fit the exported bundle to the
	// destination, applied in order.
	Rules []string
	// ToolVersion is recorded in the bundle's manifest.
	ToolVersion string
	// Stdout receives the plan, the receipts and the clean-up report.
	Stdout io.Writer
	// Logger receives the narrative.
	Logger *slog.Logger
	// Octosim is the octosim program to run; "" finds it (simproc.Find).
	Octosim string
}

// Summary is what a demo run measured.
type Summary struct {
	// Digest is the bundle digest.
	Digest string
	// Exported is the number of entity files the export wrote.
	Exported int
	// Entities is the number of entity files in the transformed bundle.
	Entities int
	// Transform is the transform's report.
	Transform *transform.Report
	// FirstWrites and ReplayWrites count POST/PUT/DELETE requests the
	// destination saw during the apply and during the replay.
	FirstWrites, ReplayWrites int64
	// Status is the first apply's status.
	Status plans.Status
	// Cleanup is the number of clean-up items.
	Cleanup int
	// Duration is the wall time of the whole run.
	Duration time.Duration
}

// Run executes the round trip.
func Run(ctx context.Context, o Options) (*Summary, error) {
	start := time.Now()
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	for _, f := range []string{o.SourceSeed, o.DestinationSeed} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("sample instance %s: %w (run the demo from the repository root, or pass --source-seed/--destination-seed)", f, err)
		}
	}
	rules := make([]*transform.RuleFile, 0, len(o.Rules))
	for _, f := range o.Rules {
		rf, err := transform.ReadRuleFile(f)
		if err != nil {
			return nil, fmt.Errorf("rule file: %w (run the demo from the repository root, or pass --rules)", err)
		}
		rules = append(rules, rf)
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}

	src, dst, stop, err := startSims(ctx, o.Octosim, o.SourceSeed, o.DestinationSeed, log)
	if err != nil {
		return nil, err
	}
	defer stop()
	log.Info("started two Octopus simulators", "source", src.URL, "destination", dst.URL)

	// 1. Export the source.
	sc, err := octopus.Connect(ctx, octopus.Config{URL: src.URL, APIKey: src.APIKey, Logger: log, Tool: "octobundle-demo"})
	if err != nil {
		return nil, err
	}
	res, err := export.Run(ctx, sc, export.Options{ToolVersion: o.ToolVersion, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	exported := filepath.Join(o.Out, "exported")
	if err := os.RemoveAll(exported); err != nil {
		return nil, err
	}
	if err := res.Bundle.Write(exported); err != nil {
		return nil, fmt.Errorf("writing the bundle: %w", err)
	}
	sum := &Summary{Exported: res.Bundle.Len()}
	log.Info("exported the source space", "bundle", exported, "entities", sum.Exported, "requests", res.Stats.Requests, "digest", res.Bundle.Digest())

	// 2. Transform: fit the bundle to the destination with the rule files.
	fitted, rep, err := transform.Transform(res.Bundle, rules, transform.Options{})
	sum.Transform = rep
	if rep != nil {
		fmt.Fprintf(o.Stdout, "=== transform: what the rules %v changed ===\n", o.Rules)
		if werr := rep.WriteText(o.Stdout); werr != nil {
			return nil, werr
		}
	}
	if err != nil {
		return sum, fmt.Errorf("transform: %w", err)
	}
	dir := filepath.Join(o.Out, "bundle")
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := fitted.Write(dir); err != nil {
		return nil, fmt.Errorf("writing the transformed bundle: %w", err)
	}
	sum.Digest, sum.Entities = fitted.Digest(), fitted.Len()
	log.Info("transformed the bundle for the destination", "bundle", dir, "entities", sum.Entities, "digest", sum.Digest)

	// 3. Verify and pack; the archive is what would cross the air gap.
	archive := filepath.Join(o.Out, "bundle.tar.zst")
	_ = os.Remove(archive)
	if err := bundles.Pack(dir, archive); err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	for _, p := range []string{dir, archive} {
		rep, err := bundles.Verify(p)
		if err != nil {
			return nil, fmt.Errorf("verify %s: %w", p, err)
		}
		log.Info("verified", "bundle", p, "files", rep.Files, "digest", rep.Digest)
	}

	// 4. Plan against the destination, from the archive.
	b, err := bundles.Read(archive, bundles.ReadOptions{})
	if err != nil {
		return nil, err
	}
	dc, err := octopus.Connect(ctx, octopus.Config{URL: dst.URL, APIKey: dst.APIKey, Logger: log, Tool: "octobundle-demo"})
	if err != nil {
		return nil, err
	}
	dest := &syncrun.Destination{Client: dc} // no state: each run starts afresh
	opts := syncrun.PlanOptions{Read: syncrun.Read{Logger: log}}
	plan, err := dest.Plan(ctx, b, opts)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	fmt.Fprintln(o.Stdout, "\n=== plan: what apply will do to the destination ===")
	if err := render.Plan(o.Stdout, plan); err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(o.Out, "plan.json"), plan.WriteJSON); err != nil {
		return nil, err
	}

	// 5. Apply exactly that plan.
	if err := dst.ResetCounters(ctx); err != nil {
		return nil, err
	}
	rec, err := dest.Apply(ctx, b, syncrun.ApplyOptions{PlanOptions: opts, Saved: plan})
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	counts, err := dst.Counters(ctx)
	if err != nil {
		return nil, err
	}
	sum.FirstWrites = int64(counts.Writes)
	sum.Status = rec.Status()
	sum.Cleanup = len(rec.Cleanup)
	fmt.Fprintln(o.Stdout, "\n=== apply: receipt ===")
	if err := render.Receipt(o.Stdout, rec); err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(o.Out, "cleanup-report.json"), rec.WriteCleanupJSON); err != nil {
		return nil, err
	}
	if rec.Status() != plans.Succeeded {
		return sum, fmt.Errorf("apply %s", rec.Status())
	}

	// 6. Replay: the same bundle again must not write anything.
	if err := dst.ResetCounters(ctx); err != nil {
		return nil, err
	}
	rec2, err := dest.Apply(ctx, b, syncrun.ApplyOptions{PlanOptions: opts})
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if counts, err = dst.Counters(ctx); err != nil {
		return nil, err
	}
	sum.ReplayWrites = int64(counts.Writes)
	fmt.Fprintf(o.Stdout, "\n=== replay: %s, %d writes ===\n", rec2.Status(), sum.ReplayWrites)
	if sum.ReplayWrites != 0 {
		return sum, fmt.Errorf("replay made %d writes; it must make none", sum.ReplayWrites)
	}
	sum.Duration = time.Since(start)
	fmt.Fprintf(o.Stdout, "\nexported: %s, transformed bundle: %s (archive %s), plan: %s, clean-up report: %s\n",
		exported, dir, archive, filepath.Join(o.Out, "plan.json"), filepath.Join(o.Out, "cleanup-report.json"))
	return sum, nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
