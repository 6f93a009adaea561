package octosim_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/tools/gen"
	"github.com/octobundle/octobundle/tools/octosim"
)

// BenchmarkSeedLoad loads generated instances of 500 and 2,000 projects
// (as the benchmark of issue 11 does, gen.Scale) into a new simulator:
// the CPU time per project (cpu-µs/project: the process's user and
// system time, less noisy than the wall time on a shared machine) should
// not grow with N.
//
//	go test ./tools/octosim -run '^$' -bench BenchmarkSeedLoad -benchtime 1x
//	OCTOSIM_SEED_N=10000 go test ./tools/octosim -run '^$' -bench BenchmarkSeedLoad -benchtime 1x
func BenchmarkSeedLoad(b *testing.B) {
	for _, n := range seedSizes() {
		inst := gen.Generate(gen.Scale(n))
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			cpu0 := octosim.ProcessCPU()
			for b.Loop() {
				if _, err := octosim.New(octosim.Options{Seed: inst}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((octosim.ProcessCPU()-cpu0).Microseconds())/float64(b.N)/float64(n), "cpu-µs/project")
		})
	}
}

// seedSizes are BenchmarkSeedLoad's sizes: 500 and 2,000, or those of
// OCTOSIM_SEED_N (comma-separated).
func seedSizes() []int {
	v := os.Getenv("OCTOSIM_SEED_N")
	if v == "" {
		return []int{500, 2000}
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}
