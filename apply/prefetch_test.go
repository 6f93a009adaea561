package apply

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/octobundle/octobundle/internal/state"
	"github.com/octobundle/octobundle/tools/gen"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/tools/octosim/simtest"
)

// TestPlanEarlySamePlan checks that a plan made on a prefetched read,
// deciding each project as soon as it is read (makePlanEarly), is the plan
// made after the whole read: against the sample destination (creates,
// updates, no-ops, left alone), against itself once applied (no-ops and a
// base), and for a generated instance of 10 projects (30 until issue 23:
// the generated case was 15 of make test's seconds; 10 projects are still
// decided while the 2 ms-latency read of the others goes on, which the
// test requires).
func TestPlanEarlySamePlan(t *testing.T) {
	src := startSim(t, "source.json", octosim.Options{})
	gsrc := &sim{}
	gsrc.srv, gsrc.url = simtest.Start(t, octosim.Options{Seed: gen.Generate(gen.Scale(10))})
	gsrc.c = connect(t, gsrc.srv, gsrc.url)
	for _, tc := range []struct {
		name  string
		src   *sim
		dest  string
		apply bool // apply first: plan against an up-to-date destination
	}{
		{"sample, fitted, against the sample destination", src, "destination.json", false},
		{"sample against an empty destination, then up to date", src, "", true},
		{"generated, up to date", gsrc, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := exportBundle(t, tc.src, false)
			if tc.dest != "" {
				b = fitBundle(t, b)
			}
			// Latency, so that the read lasts while projects are decided.
			dst := startSim(t, tc.dest, octosim.Options{IDOffset: 100000, Faults: octosim.Faults{Latency: 2 * time.Millisecond}})
			o := Options{Logger: testLogger()}
			if tc.apply {
				st, err := state.Open(t.TempDir(), state.Destination{Server: dst.c.Server(), InstallationID: dst.c.InstallationID, Space: dst.c.SpaceName})
				if err != nil {
					t.Fatal(err)
				}
				o.State = st
				if _, _, err := Apply(context.Background(), dst.c, b, o); err != nil {
					t.Fatal(err)
				}
				base, digest, err := st.Base()
				if err != nil {
					t.Fatal(err)
				}
				o.State, o.Base = nil, &Base{Bundle: base, Digest: digest, From: "state"}
			}
			plain, err := MakePlan(context.Background(), dst.c, b, o)
			if err != nil {
				t.Fatal(err)
			}
			eo := o
			eo.Prefetched = Prefetch(context.Background(), dst.c, o)
			early, err := makePlanned(context.Background(), dst.c, b, eo)
			if err != nil {
				t.Fatal(err)
			}
			var a, e strings.Builder
			if err := plain.WriteJSON(&a); err != nil {
				t.Fatal(err)
			}
			if err := early.WriteJSON(&e); err != nil {
				t.Fatal(err)
			}
			if a.String() != e.String() {
				t.Fatalf("the plan made while reading differs from the plan made after:\n%s\n---\n%s", a.String(), e.String())
			}
			if len(plain.Changes) == 0 {
				t.Fatal("an empty plan: the test compares nothing")
			}
			if tc.apply && early.early == 0 {
				t.Error("no change was decided while the destination was read: the test compared the plan after the read with itself")
			}
		})
	}
}
