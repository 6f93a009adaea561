package apply

import (
	"context"
	"os"
	"testing"

	"github.com/octobundle/octobundle/internal/octosim"
)

func TestSmoke(t *testing.T) {
	src := startSim(t, "source.json", octosim.Options{})
	b := exportBundle(t, src, false)
	dst := startSim(t, "destination.json", octosim.Options{})
	ctx := context.Background()
	p, err := MakePlan(ctx, dst.c, b, Options{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	p.WriteText(os.Stdout)
	r, err := Execute(ctx, dst.c, b, p, Options{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	r.WriteText(os.Stdout)
	dst.srv.ResetCounters()
	p2, r2, err := Apply(ctx, dst.c, b, Options{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	p2.WriteText(os.Stdout)
	r2.WriteText(os.Stdout)
	t.Logf("replay writes: %d", dst.srv.Writes())
}
