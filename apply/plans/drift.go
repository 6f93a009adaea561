package plans

import (
	"encoding/json"
	"io"
)

// DriftFormat is the format version of a drift report.
const DriftFormat = "octobundle-drift/v1"

// DriftReport is what changed on a destination since octobundle last
// wrote it, entity by entity and field by field, without a bundle: the
// answer to "who changed production outside the pipeline?".
type DriftReport struct {
	// Format is DriftFormat.
	Format string `json:"format"`
	// Destination is the space compared.
	Destination Destination `json:"destination"`
	// Entities lists every entity that drifted, in sync order.
	Entities []EntityDrift `json:"entities"`
	// Checked is the number of entities compared.
	Checked int `json:"checked"`
	// Warnings are problems of the destination as read that did not stop
	// the comparison: references to things that no longer exist, each
	// naming the entity and the field (see translate.ToBundleWarnings).
	Warnings []string `json:"warnings,omitempty"`
}

// EntityDrift is one entity's drift.
type EntityDrift struct {
	// Kind and Names identify the entity; Path is its bundle path.
	Kind  string   `json:"kind"`
	Names []string `json:"names"`
	Path  string   `json:"path"`
	// Deleted is set when the destination no longer has the entity.
	Deleted bool `json:"deleted,omitempty"`
	// Diff lists the fields that changed: before is what octobundle
	// wrote, after what the destination holds now (bundle form: names,
	// never IDs or secrets).
	Diff []FieldDiff `json:"diff,omitempty"`
}

// HasDrift reports whether anything drifted.
func (r *DriftReport) HasDrift() bool { return len(r.Entities) > 0 }

// WriteJSON writes the report as indented JSON.
func (r *DriftReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
