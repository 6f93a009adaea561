package apply

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/octosim"
)

// bundleDiffs lists the entity-level and field-level differences between two
// bundles: "+ path" (only in b), "- path" (only in a), "~ path pointer".
func bundleDiffs(a, b *bundles.Bundle) []string {
	am := map[string]any{}
	for _, e := range a.Entries() {
		am[e.Path] = e.Doc
	}
	bm := map[string]any{}
	for _, e := range b.Entries() {
		bm[e.Path] = e.Doc
	}
	var out []string
	for p, ad := range am {
		bd, ok := bm[p]
		if !ok {
			out = append(out, "- "+p)
			continue
		}
		for _, d := range diff(ad, bd) {
			out = append(out, fmt.Sprintf("~ %s %s", p, d.Path))
		}
	}
	for p := range bm {
		if _, ok := am[p]; !ok {
			out = append(out, "+ "+p)
		}
	}
	sort.Strings(out)
	return out
}

func TestApplyToEmptyDestination(t *testing.T) {
	ctx := context.Background()
	src := startSim(t, "source.json", octosim.Options{})
	b := exportBundle(t, src, true)
	dst := startSim(t, "", octosim.Options{IDOffset: 5000})
	o := Options{Optional: true, Logger: testLogger()}
	_, r, err := Apply(ctx, dst.c, b, o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status() != Succeeded {
		t.Fatalf("status %s: %+v", r.Status(), r.Summary)
	}
	again := exportBundle(t, dst, true)
	for _, d := range bundleDiffs(b, again) {
		t.Log(d)
	}
}
