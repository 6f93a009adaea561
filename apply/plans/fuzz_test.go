package plans_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/apply/render"
)

// FuzzReadPlan checks the saved-plan reader never panics, that its errors
// say where they come from, and that any plan it accepts writes back (valid
// against the plan schema) and reads again to the same bytes. Seeded from
// testdata/plans; `make test` runs the seeds with every test and a short
// fuzz run. The large sample plan is left out of the seeds: at 130 KB each
// execution takes 20 ms, and the small one has every section.
func FuzzReadPlan(f *testing.F) {
	for _, p := range []string{filepath.Join("..", "..", "testdata", "plans", "small-plan.json")} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"format":"` + plans.PlanFormat + `"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := plans.ReadPlanMax(bytes.NewReader(data), 1<<20)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "apply: ") {
				t.Fatalf("error does not say it is the plan: %v", err)
			}
			return
		}
		var once bytes.Buffer
		if err := p.WriteJSON(&once); err != nil {
			t.Fatalf("an accepted plan does not write back: %v", err)
		}
		q, err := plans.ReadPlan(bytes.NewReader(once.Bytes()))
		if err != nil {
			t.Fatalf("a written plan does not read back: %v\n%s", err, once.Bytes())
		}
		var twice bytes.Buffer
		if err := q.WriteJSON(&twice); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once.Bytes(), twice.Bytes()) {
			t.Fatalf("write/read/write is not stable:\n%s\n%s", once.Bytes(), twice.Bytes())
		}
		if err := render.Plan(io.Discard, q); err != nil {
			t.Fatalf("render.Plan of an accepted plan: %v", err)
		}
	})
}
