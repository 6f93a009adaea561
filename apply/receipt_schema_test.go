package apply

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/tools/octosim"
)

// Receipts of real runs against the simulator, written by WriteJSON and
// WriteCleanupJSON, validate against their embedded schemas.
func TestReceiptSchema(t *testing.T) {
	ctx := context.Background()
	src := startSim(t, "source.json", octosim.Options{})
	b := exportBundle(t, src, false)
	o := Options{Logger: testLogger()}

	for _, tc := range []struct {
		name string
		// run performs the apply whose receipt is checked.
		run         func(t *testing.T) *plans.Receipt
		status      plans.Status
		cleanup     bool // the receipt lists clean-up items
		failedOrSkp bool // the receipt has failed and skipped entities
	}{
		{
			name: "first run with clean-up items", status: plans.Succeeded, cleanup: true,
			run: func(t *testing.T) *plans.Receipt {
				dst := startSim(t, "destination.json", octosim.Options{})
				_, r, err := Apply(ctx, dst.c, b, o)
				if err != nil {
					t.Fatal(err)
				}
				return r
			},
		},
		{
			name: "successful replay", status: plans.Succeeded,
			run: func(t *testing.T) *plans.Receipt {
				dst := startSim(t, "destination.json", octosim.Options{})
				if _, _, err := Apply(ctx, dst.c, b, o); err != nil {
					t.Fatal(err)
				}
				_, r, err := Apply(ctx, dst.c, b, o)
				if err != nil {
					t.Fatal(err)
				}
				return r
			},
		},
		{
			name: "partial failure with errors and skipped entities", status: plans.PartiallyFailed, cleanup: true, failedOrSkp: true,
			run: func(t *testing.T) *plans.Receipt {
				dst := startSim(t, "destination.json", octosim.Options{})
				dst.srv.AddFaultRule(octosim.FaultRule{
					Method: "PUT", PathPrefix: "/api/Spaces-1/deploymentprocesses/deploymentprocess-Projects-201", Times: -1,
					Status: 400, Message: "There was a problem with your request.", Errors: []string{"a feed is not available"},
				})
				_, r, err := Apply(ctx, dst.c, b, o)
				if err != nil {
					t.Fatal(err)
				}
				return r
			},
		},
		{
			name: "empty receipt", status: plans.Succeeded,
			run: func(*testing.T) *plans.Receipt { return &plans.Receipt{} },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.run(t)
			if r.Status() != tc.status {
				t.Fatalf("status %s, want %s", r.Status(), tc.status)
			}
			if got := len(r.Cleanup) > 0; got != tc.cleanup {
				t.Errorf("clean-up items: %d, want some: %v", len(r.Cleanup), tc.cleanup)
			}
			if got := r.Summary[plans.OutcomeFailed] > 0 && r.Summary[plans.OutcomeSkipped] > 0; got != tc.failedOrSkp {
				t.Errorf("failed %d, skipped %d", r.Summary[plans.OutcomeFailed], r.Summary[plans.OutcomeSkipped])
			}

			var buf bytes.Buffer
			if err := r.WriteJSON(&buf); err != nil {
				t.Fatalf("WriteJSON: %v", err)
			}
			doc := decodeValid(t, plans.ReceiptSchema, buf.Bytes())
			m := doc.(map[string]any)
			if m["status"] != string(tc.status) {
				t.Errorf("status field %v, want %s", m["status"], tc.status)
			}
			if n := len(m["results"].([]any)); n != len(r.Results) {
				t.Errorf("%d results written, receipt has %d", n, len(r.Results))
			}

			buf.Reset()
			if err := r.WriteCleanupJSON(&buf); err != nil {
				t.Fatalf("WriteCleanupJSON: %v", err)
			}
			report := decodeValid(t, plans.CleanupReportSchema, buf.Bytes()).(map[string]any)
			if n := len(report["cleanup"].([]any)); n != len(r.Cleanup) {
				t.Errorf("%d clean-up items written, receipt has %d", n, len(r.Cleanup))
			}
		})
	}
}

// decodeValid decodes data and validates it against the embedded schema
// name.
func decodeValid(t *testing.T, name string, data []byte) any {
	t.Helper()
	doc, err := bundles.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(name, doc); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, data)
	}
	return doc
}

// A receipt that does not match its schema is refused and nothing is
// written: the schemas are checked, not decorative.
func TestReceiptSchemaRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(w *bytes.Buffer) error
		want  string
	}{
		{"a failed entity without its error", func(w *bytes.Buffer) error {
			r := &plans.Receipt{Results: []plans.Result{{Kind: schema.Project, Names: []string{"OctoFX"}, Outcome: plans.OutcomeFailed}},
				Summary: map[plans.Outcome]int{plans.OutcomeFailed: 1}}
			return r.WriteJSON(w)
		}, plans.ReceiptSchema},
		{"an unknown outcome", func(w *bytes.Buffer) error {
			r := &plans.Receipt{Results: []plans.Result{{Kind: schema.Project, Names: []string{"OctoFX"}, Outcome: "exploded"}},
				Summary: map[plans.Outcome]int{"exploded": 1}}
			return r.WriteJSON(w)
		}, plans.ReceiptSchema},
		{"a clean-up item without its reason", func(w *bytes.Buffer) error {
			r := &plans.Receipt{Cleanup: []plans.CleanupItem{{Kind: schema.Project, Names: nil, Field: "Templates"}}}
			return r.WriteCleanupJSON(w)
		}, plans.CleanupReportSchema},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := tc.write(&buf)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %s", err, tc.want)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %q despite the error", buf.String())
			}
		})
	}
}
