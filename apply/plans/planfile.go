package plans

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/limits"
	"github.com/octobundle/octobundle/schema"
)

// WriteJSON writes the plan as JSON (PlanFormat), valid against the
// embedded plan.schema.json; ReadPlan reads it back for apply.Execute.
func (p *Plan) WriteJSON(w io.Writer) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	doc, err := bundles.Decode(data)
	if err != nil {
		return err
	}
	if err := schema.Validate(PlanSchema, doc); err != nil {
		return fmt.Errorf("apply: the plan does not match its schema: %w", err)
	}
	out, err := bundles.Canonical(doc)
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}

// ReadPlan reads a plan written by WriteJSON, validating it against the
// plan schema. A plan larger than limits.PlanFileSize, or nested deeper than
// limits.JSONDepth, is refused with a *limits.Error.
func ReadPlan(r io.Reader) (*Plan, error) { return readPlan(r, limits.PlanFileSize) }

// readPlan is ReadPlan with the size limit max.
func readPlan(r io.Reader, max int64) (*Plan, error) {
	data, err := limits.ReadAll(r, max, "apply: reading the plan", "plan file size")
	if err != nil {
		return nil, err
	}
	doc, err := bundles.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("apply: reading the plan: %w", err)
	}
	if m, ok := doc.(map[string]any); ok && m["format"] != PlanFormat {
		return nil, fmt.Errorf("apply: not a plan of format %s (format %v)", PlanFormat, m["format"])
	}
	if err := schema.Validate(PlanSchema, doc); err != nil {
		return nil, fmt.Errorf("apply: reading the plan: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("apply: reading the plan: %w", err)
	}
	for i := range p.Changes {
		if schema.Lookup(p.Changes[i].Kind) == nil {
			return nil, fmt.Errorf("apply: the plan names an unknown kind %q", p.Changes[i].Kind)
		}
	}
	if p.Summary == nil {
		p.Summary = map[Op]int{}
	}
	return &p, nil
}

// receiptJSON is the JSON form of a receipt, with its status.
type receiptJSON struct {
	Status Status `json:"status"`
	*Receipt
}

// ReceiptSchema is the name of the embedded JSON Schema receipts written by
// Receipt.WriteJSON validate against (see schema.Validate).
const ReceiptSchema = "receipt.schema.json"

// CleanupReportSchema is the name of the embedded JSON Schema clean-up
// reports written by Receipt.WriteCleanupJSON validate against.
const CleanupReportSchema = "cleanup-report.schema.json"

// WriteJSON writes the receipt as JSON, with its status, valid against the
// embedded receipt.schema.json (checked before anything is written).
func (r *Receipt) WriteJSON(w io.Writer) error {
	out := *r
	if out.Results == nil {
		out.Results = []Result{}
	}
	if out.Cleanup == nil {
		out.Cleanup = []CleanupItem{}
	}
	if out.Summary == nil {
		out.Summary = map[Outcome]int{}
	}
	return writeValidated(w, ReceiptSchema, receiptJSON{Status: r.Status(), Receipt: &out})
}

// WriteCleanupJSON writes the clean-up report alone as JSON: what, where and
// why of every placeholder written — never a value —, valid against the
// embedded cleanup-report.schema.json (checked before anything is written).
func (r *Receipt) WriteCleanupJSON(w io.Writer) error {
	// A copy, never nil: an empty report is "cleanup": [], not null.
	sorted := append(make([]CleanupItem, 0, len(r.Cleanup)), r.Cleanup...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if x, y := strings.Join(a.Names, "/"), strings.Join(b.Names, "/"); x != y {
			return x < y
		}
		return a.Field < b.Field
	})
	doc := map[string]any{"cleanup": sorted}
	if r.BundleDigest != "" {
		doc["destination"] = map[string]string{"server": r.Destination.Server, "space": r.Destination.Space}
		doc["bundleDigest"] = r.BundleDigest
		doc["finished"] = r.Finished.Format(time.RFC3339)
	}
	return writeValidated(w, CleanupReportSchema, doc)
}

// writeValidated writes v as indented JSON once it validates against the
// embedded schema named name; an invalid document is an error and nothing is
// written.
func writeValidated(w io.Writer, name string, v any) error {
	var buf bytes.Buffer
	if err := writeIndented(&buf, v); err != nil {
		return err
	}
	doc, err := bundles.Decode(buf.Bytes())
	if err != nil {
		return err
	}
	if err := schema.Validate(name, doc); err != nil {
		return fmt.Errorf("apply: the output does not match %s: %w", name, err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

func writeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
