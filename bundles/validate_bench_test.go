//go:build unix

package bundles_test

import (
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/schema"
)

// BenchmarkValidate validates every entity document of a bundle against its
// JSON Schema (schema.ValidateFile, what checkEntity does for a content it
// has not seen), the golden bundle and the generated instance of
// BenchmarkReadBundle, and reports the time and allocations per document
// (ns/doc, cpu-ns/doc: the CPU time of the process, B/doc, allocs/doc;
// the op is the whole bundle):
//
//	go test -run '^$' -bench Validate -benchmem ./bundles
//
// processCPU returns the CPU time (user and system) the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// validateDocs holds the documents BenchmarkValidate validates, by bundle.
var validateDocs = map[string][]bundles.Entry{}

func BenchmarkValidate(b *testing.B) {
	for _, c := range []struct {
		name string
		path func(b *testing.B) string
	}{
		{"golden", func(*testing.B) string { return filepath.Join("..", "testdata", "golden", "source") }},
		{"n500", func(b *testing.B) string { return filepath.Join(benchBundle(b), "bundle.tar.zst") }},
	} {
		b.Run(c.name, func(b *testing.B) {
			docs := validateDocs[c.name]
			if docs == nil {
				bun, err := bundles.Read(c.path(b), bundles.ReadOptions{})
				if err != nil {
					b.Fatal(err)
				}
				for _, e := range bun.Entries() {
					if e.Kind.Shape == schema.ShapeBinary {
						continue
					}
					// Compile every schema before timing.
					if err := schema.ValidateFile(e.Path, e.Doc); err != nil {
						b.Fatal(err)
					}
					docs = append(docs, e)
				}
				validateDocs[c.name] = docs // once per process (-count)
			}
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			cpu0 := processCPU(b)
			b.ResetTimer()
			for range b.N {
				for _, e := range docs {
					if err := schema.ValidateFile(e.Path, e.Doc); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			cpu := processCPU(b) - cpu0
			runtime.ReadMemStats(&after)
			n := float64(b.N) * float64(len(docs))
			b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/doc")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/doc")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/doc")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/doc")
			b.ReportMetric(float64(len(docs)), "docs")
		})
	}
}
