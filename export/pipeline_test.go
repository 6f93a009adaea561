package export

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/tools/gen"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/tools/octosim/simtest"
)

// TestPipelineSameBundle checks that converting projects while the space
// is read (Run, whole-space) makes exactly the bundle converting after the
// read makes (build), for the sample instance and a generated one, and
// that the pipeline did convert every project's entities.
func TestPipelineSameBundle(t *testing.T) {
	for _, tc := range []struct {
		name string
		seed *octosim.Instance
	}{
		{"sample source", loadSeed(t, "source.json")},
		// 16 projects, twice the concurrency below (40 until issue 23:
		// 11 of make test's CPU-seconds).
		{"generated, 16 projects", gen.Generate(gen.Scale(16))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, url := simtest.Start(t, octosim.Options{Seed: tc.seed})
			c := connect(t, url, sim.APIKey(), nil)
			o := Options{Now: fixedNow, Concurrency: 8}
			res, err := Run(context.Background(), c, o)
			if err != nil {
				t.Fatal(err)
			}
			s, err := snapshot.Read(context.Background(), c, snapshot.Options{})
			if err != nil {
				t.Fatal(err)
			}
			b, _, err := build(s, o, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			b.Manifest.ExportedAt = fixedNow()
			if err := b.Seal(); err != nil {
				t.Fatal(err)
			}
			got, want := files(t, res.Bundle), files(t, b)
			if len(got) != len(want) {
				t.Fatalf("pipelined export has %d files, the one built after the read %d", len(got), len(want))
			}
			for p, data := range want {
				if !bytes.Equal(got[p], data) {
					t.Errorf("%s differs between the pipelined export and the one built after the read", p)
				}
			}

			// The pipeline's share: every top-level entity and everything
			// below it, but for teams and user roles.
			pipe := newPipeline(o, slog.New(slog.DiscardHandler), newBundle(s.Server, s.ServerVersion, s.SpaceName, o))
			ro := snapshot.Options{Ready: pipe.ready}
			if _, err := snapshot.Read(context.Background(), c, ro); err != nil {
				t.Fatal(err)
			}
			pipe.finish()
			want2 := 0
			for _, k := range schema.Kinds() {
				if k.Parent != "" || chosenOneByOne(k.Name) {
					continue
				}
				for _, root := range s.Entities(k.Name) {
					for _, e := range subtree(s, root) {
						if exported(e.Kind, o) {
							want2++
						}
					}
				}
			}
			if want2 == 0 || len(pipe.results) != want2 {
				t.Errorf("the pipeline converted %d entities, want %d", len(pipe.results), want2)
			}
		})
	}
}
