package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/translate"
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

// Drift compares written (what octobundle last wrote to the destination,
// from its state) with the destination as it is now.
func Drift(ctx context.Context, c *octopus.Client, written *bundles.Bundle, o Options) (*DriftReport, error) {
	o = o.withDefaults()
	if written == nil {
		return nil, errors.New("apply: drift: the state holds nothing for this destination (apply to it first)")
	}
	snap, err := snapshot.Read(ctx, c, snapshot.Options{Optional: true, Concurrency: o.Concurrency, Logger: o.Logger, Progress: o.Progress})
	if err != nil {
		return nil, fmt.Errorf("apply: drift: reading the destination space %q: %w", c.SpaceName, err)
	}
	r := &DriftReport{Format: DriftFormat, Destination: Destination{Server: snap.Server, Space: snap.SpaceName, ServerVersion: snap.ServerVersion}, Entities: []EntityDrift{}}
	for e := range written.All() {
		r.Checked++
		d := EntityDrift{Kind: e.Kind.Name, Names: e.Names, Path: e.Path}
		dest := snap.Find(e.Kind.Name, e.Names...)
		if dest == nil {
			d.Deleted = true
			r.Entities = append(r.Entities, d)
			continue
		}
		form, warnings, err := translate.ToBundleWarnings(snap, dest)
		if err != nil {
			return nil, fmt.Errorf("apply: drift: %s: reading the destination's copy: %w", label(e.Kind.Name, e.Names), err)
		}
		for _, w := range warnings {
			o.Logger.Warn("destination: "+w, "entity", label(e.Kind.Name, e.Names))
			r.Warnings = append(r.Warnings, "destination: "+w)
		}
		if bundles.Equal(e.Doc, form) {
			continue
		}
		d.Diff = bundles.DiffKind(e.Kind, e.Doc, form)
		r.Entities = append(r.Entities, d)
	}
	r.Destination.Fingerprint = fingerprint(snap, nil)
	o.Logger.Info("drift checked", "space", snap.SpaceName, "entities", r.Checked, "drifted", len(r.Entities))
	return r, nil
}

// WriteJSON writes the report as indented JSON.
func (r *DriftReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// WriteText writes the report for people.
func (r *DriftReport) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Drift of %s, space %q, since octobundle last wrote it\n\n", r.Destination.Server, r.Destination.Space)
	for _, e := range r.Entities {
		name := quoteNames(e.Names)
		if e.Deleted {
			fmt.Fprintf(&b, "- deleted  %s %s\n", e.Kind, name)
			continue
		}
		fmt.Fprintf(&b, "~ changed  %s %s\n", e.Kind, name)
		for _, d := range e.Diff {
			writeFieldDiff(&b, d)
		}
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	if !r.HasDrift() {
		fmt.Fprintf(&b, "No drift: the %d entities octobundle wrote are as it left them.\n", r.Checked)
	} else {
		fmt.Fprintf(&b, "\nDrift: %d of %d entities changed on the destination.\n", len(r.Entities), r.Checked)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
