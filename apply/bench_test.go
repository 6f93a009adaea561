package apply

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/tools/gen"
	"github.com/octobundle/octobundle/tools/octosim"
)

// The benchmarks apply the 200-project generated instance
// (gen.Generate) into an empty simulator that answers every request
// after 20 ms, and report wall time per operation, requests/op, writes/op
// and peak-heap-MB (sampled while the operation runs). Run with
//
//	go test -run '^$' -bench . -benchtime 1x ./apply

const benchLatency = 20 * time.Millisecond

var benchBundle struct {
	once sync.Once
	b    *bundles.Bundle
}

// generatedBundle exports the generated instance once (without latency).
func generatedBundle(b *testing.B) *bundles.Bundle {
	benchBundle.once.Do(func() {
		src := startSim(b, "", octosim.Options{Seed: gen.Generate(gen.Options{})})
		benchBundle.b = exportBundle(b, src, false)
	})
	if benchBundle.b == nil {
		b.Fatal("no bundle")
	}
	return benchBundle.b
}

// heapPeak samples the live heap until stopped and returns the peak in MB.
func heapPeak() (stop func() float64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() float64 {
		close(done)
		wg.Wait()
		return float64(peak.Load()) / (1 << 20)
	}
}

// emptyDestination starts an empty simulator with latency.
func emptyDestination(b *testing.B) *sim {
	s := startSim(b, "", octosim.Options{IDOffset: 100000})
	s.srv.SetFaults(octosim.Faults{Latency: benchLatency})
	return s
}

func report(b *testing.B, s *sim, stopHeap func() float64, start time.Time) {
	b.ReportMetric(float64(s.srv.Requests())/float64(b.N), "requests/op")
	b.ReportMetric(float64(s.srv.Writes())/float64(b.N), "writes/op")
	b.ReportMetric(stopHeap(), "peak-heap-MB")
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "wall-s/op")
}

func BenchmarkPlan(b *testing.B) {
	bundle := generatedBundle(b)
	ctx := context.Background()
	o := Options{Concurrency: 16}
	s := emptyDestination(b)
	runtime.GC()
	s.srv.ResetCounters()
	stop := heapPeak()
	start := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := MakePlan(ctx, s.c, bundle, o)
		if err != nil || p.HasErrors() {
			b.Fatalf("plan: %v", err)
		}
	}
	b.StopTimer()
	report(b, s, stop, start)
}

func BenchmarkApply(b *testing.B) {
	bundle := generatedBundle(b)
	ctx := context.Background()
	o := Options{Concurrency: 16}
	var requests, writes int
	var peak float64
	start := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := emptyDestination(b)
		runtime.GC()
		s.srv.ResetCounters()
		stop := heapPeak()
		b.StartTimer()
		_, r, err := Apply(ctx, s.c, bundle, o)
		b.StopTimer()
		if err != nil || r.Status() != plans.Succeeded {
			b.Fatalf("apply: %v %v", err, r.Summary)
		}
		requests += s.srv.Requests()
		writes += s.srv.Writes()
		if p := stop(); p > peak {
			peak = p
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
	b.ReportMetric(float64(writes)/float64(b.N), "writes/op")
	b.ReportMetric(peak, "peak-heap-MB")
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "wall-s/op")
}

func BenchmarkReplay(b *testing.B) {
	bundle := generatedBundle(b)
	ctx := context.Background()
	o := Options{Concurrency: 16}
	s := emptyDestination(b)
	if _, r, err := Apply(ctx, s.c, bundle, o); err != nil || r.Status() != plans.Succeeded {
		b.Fatalf("first apply: %v", err)
	}
	runtime.GC()
	s.srv.ResetCounters()
	stop := heapPeak()
	start := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, r, err := Apply(ctx, s.c, bundle, o)
		if err != nil || r.Status() != plans.Succeeded || r.Stats.Writes != 0 {
			b.Fatalf("replay: %v, %v", err, r.Stats)
		}
	}
	b.StopTimer()
	if s.srv.Writes() != 0 {
		b.Fatalf("replay wrote %d times", s.srv.Writes())
	}
	report(b, s, stop, start)
}
