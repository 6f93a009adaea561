package plans

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/internal/limits"
)

// samplePlan is a saved plan of the sample sync (testdata/instances,
// transformed with testdata/rules/staging-production.yaml).
var samplePlan = filepath.Join("..", "..", "testdata", "plans", "sample-plan.json")

// TestPlanLimits checks a saved plan larger than the plan-file limit, or
// nested deeper than the JSON depth limit, fails with a *limits.Error
// naming the limit, and that the sample plan is read within them.
func TestPlanLimits(t *testing.T) {
	sample, err := os.ReadFile(samplePlan)
	if err != nil {
		t.Fatal(err)
	}
	deep := `{"format":"` + PlanFormat + `","x":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`
	tests := []struct {
		name      string
		data      []byte
		max       int64
		wantLimit string
		wantMsg   string
	}{
		{name: "the sample plan, default limit", data: sample, max: limits.PlanFileSize},
		{name: "the sample plan, limit = its size", data: sample, max: int64(len(sample))},
		{name: "one byte over", data: sample, max: int64(len(sample)) - 1, wantLimit: "plan file size",
			wantMsg: "apply: reading the plan: exceeds the plan file size limit of"},
		{name: "an endless stream", data: nil, max: 1 << 20, wantLimit: "plan file size",
			wantMsg: "apply: reading the plan: exceeds the plan file size limit of 1 MiB (1048576 bytes)"},
		{name: "nested too deeply", data: []byte(deep), max: limits.PlanFileSize, wantLimit: "JSON nesting depth",
			wantMsg: "apply: reading the plan: exceeds the JSON nesting depth limit of 512 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r = bytes.NewReader(tt.data)
			var p *Plan
			var err error
			if tt.data == nil {
				p, err = readPlan(endless{}, tt.max)
			} else {
				p, err = readPlan(r, tt.max)
			}
			if tt.wantLimit == "" {
				if err != nil || len(p.Changes) == 0 {
					t.Fatalf("readPlan: %v", err)
				}
				return
			}
			var le *limits.Error
			if !errors.As(err, &le) || le.Limit != tt.wantLimit {
				t.Fatalf("want a %q limit error, got %v", tt.wantLimit, err)
			}
			if !strings.HasPrefix(err.Error(), tt.wantMsg) {
				t.Fatalf("error %q, want it to start %q", err, tt.wantMsg)
			}
		})
	}
}

// endless is a reader that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}
