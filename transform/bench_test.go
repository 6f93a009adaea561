package transform

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/octobundle/octobundle/export"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/tools/gen"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/tools/octosim/simtest"
)

// BenchmarkTransform fits the export of the 200-project generated instance
// (gen.Generate: four environments, every project scoped to all of
// them) to a Staging/Production destination with the sample rule file,
// and reports wall time, entities in and out, and the heap in use after
// the transform. Transform is pure and in memory, so this is CPU and
// allocation only. Run with `make bench`.
func BenchmarkTransform(b *testing.B) {
	srv, url := simtest.Start(b, octosim.Options{Seed: gen.Generate(gen.Options{})})
	c, err := octopus.Connect(context.Background(), octopus.Config{URL: url, APIKey: srv.APIKey()})
	if err != nil {
		b.Fatal(err)
	}
	res, err := export.Run(context.Background(), c, export.Options{ToolVersion: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("..", "testdata", "rules", "staging-production.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	rf, err := Parse("testdata/rules/staging-production.yaml", data)
	if err != nil {
		b.Fatal(err)
	}
	in := res.Bundle
	b.ResetTimer()
	start := time.Now()
	var outN int
	for i := 0; i < b.N; i++ {
		out, _, err := Transform(in, []*RuleFile{rf}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		outN = out.Len()
	}
	b.StopTimer()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "wall-s/op")
	b.ReportMetric(float64(in.Len()), "entities-in")
	b.ReportMetric(float64(outN), "entities-out")
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MB")
}
