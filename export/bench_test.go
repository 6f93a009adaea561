package export

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/octobundle/octobundle/tools/gen"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/tools/octosim/simtest"
)

// BenchmarkExport exports a generated instance of 200 projects served with
// 20 ms of latency per request, and reports the wall time per export
// (ns/op), the API requests one export makes (requests/op) and the peak
// in-use heap while it runs (peak-heap-MB; the simulator shares the process,
// and base-heap-MB is what the heap held before the export started):
//
//	go test -run '^$' -bench Export -benchtime 1x ./export
func BenchmarkExport(b *testing.B) {
	seed := gen.Generate(gen.Options{Projects: 200})
	sim, url := simtest.Start(b, octosim.Options{Seed: seed})
	c := connect(b, url, sim.APIKey(), nil)
	sim.SetFaults(octosim.Faults{Latency: 20 * time.Millisecond})

	// The simulator runs in this process: record the heap it holds before
	// the export, so the export's own share can be told apart.
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak {
				peak = ms.HeapInuse
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	sim.ResetCounters()
	files := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Run(context.Background(), c, Options{Now: fixedNow})
		if err != nil {
			b.Fatal(err)
		}
		files = res.Bundle.Len()
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	if files < 200*4 {
		b.Fatalf("the bundle has %d files; a 200-project export should have at least %d", files, 200*4)
	}
	b.ReportMetric(float64(sim.Requests())/float64(b.N), "requests/op")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(base.HeapInuse)/(1<<20), "base-heap-MB")
	b.ReportMetric(float64(files), "files")
}
