package bundles_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/export"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/tools/gen"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/tools/octosim/simtest"
)

// benchProjects is the size of the generated instance BenchmarkReadBundle
// reads (issue 11's N = 500).
const benchProjects = 500

// benchBundle exports a generated instance of benchProjects projects (from
// the simulator, without latency) as a directory and as an archive, and
// returns the folder holding both ("dir" and "bundle.tar.zst").
func benchBundle(b *testing.B) string {
	sim, url := simtest.Start(b, octosim.Options{Seed: gen.Generate(gen.Scale(benchProjects))})
	c, err := octopus.Connect(context.Background(), octopus.Config{
		URL: url, APIKey: sim.APIKey(), Tool: "octobundle/bench",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	res, err := export.Run(context.Background(), c, export.Options{
		Now: func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) },
	})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	for _, form := range []string{"dir", "bundle.tar.zst"} {
		if err := res.Bundle.Write(filepath.Join(dir, form)); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// BenchmarkReadBundle exports a generated instance of 500 projects once, then
// reads (and verifies) the bundle of a generated
// instance of 500 projects, as a directory and as an archive, and reports
// the time and allocations per read and the heap the read bundle retains
// (retained-MB: HeapAlloc after a GC with the bundle alive, less the heap
// before the read):
//
//	go test -run '^$' -bench ReadBundle -benchmem ./bundles
func BenchmarkReadBundle(b *testing.B) {
	dir := benchBundle(b)
	for _, form := range []string{"dir", "bundle.tar.zst"} {
		b.Run(form, func(b *testing.B) {
			path := filepath.Join(dir, form)
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ReportAllocs()
			b.ResetTimer()
			var bundle *bundles.Bundle
			for range b.N {
				bundle = nil
				var err error
				if bundle, err = bundles.Read(path, bundles.ReadOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "retained-MB")
			b.ReportMetric(float64(bundle.Len()), "files")
			runtime.KeepAlive(bundle)
		})
	}
}

// BenchmarkWriteBundle reads the bundle of BenchmarkReadBundle once, then
// seals and writes it (changed, so it is sealed again) as an archive and as
// a new directory, reporting time and allocations per write:
//
//	go test -run '^$' -bench WriteBundle -benchmem ./bundles
func BenchmarkWriteBundle(b *testing.B) {
	dir := benchBundle(b)
	src, err := bundles.Read(filepath.Join(dir, "bundle.tar.zst"), bundles.ReadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, form := range []string{"dir", "bundle.tar.zst"} {
		b.Run(form, func(b *testing.B) {
			out := b.TempDir()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c := src.Clone()
				c.Manifest.ToolVersion = fmt.Sprintf("bench-%d", i)
				if err := c.Write(filepath.Join(out, fmt.Sprintf("%d-%s", i, form))); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
