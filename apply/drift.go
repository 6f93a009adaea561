package apply

import (
	"context"
	"errors"
	"fmt"

	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/translate"
)

// Drift compares written (what octobundle last wrote to the destination,
// from its state) with the destination as it is now.
func Drift(ctx context.Context, c *octopus.Client, written *bundles.Bundle, o Options) (*plans.DriftReport, error) {
	o = o.withDefaults()
	if written == nil {
		return nil, errors.New("apply: drift: the state holds nothing for this destination (apply to it first)")
	}
	snap, err := snapshot.Read(ctx, c, snapshot.Options{Optional: true, Concurrency: o.Concurrency, Logger: o.Logger, Progress: o.Progress})
	if err != nil {
		return nil, fmt.Errorf("apply: drift: reading the destination space %q: %w", c.SpaceName, err)
	}
	r := &plans.DriftReport{Format: plans.DriftFormat, Destination: plans.Destination{Server: snap.Server, Space: snap.SpaceName, ServerVersion: snap.ServerVersion}, Entities: []plans.EntityDrift{}}
	for e := range written.All() {
		r.Checked++
		d := plans.EntityDrift{Kind: e.Kind.Name, Names: e.Names, Path: e.Path}
		dest := snap.Find(e.Kind.Name, e.Names...)
		if dest == nil {
			d.Deleted = true
			r.Entities = append(r.Entities, d)
			continue
		}
		form, warnings, err := translate.ToBundleWarnings(snap, dest)
		if err != nil {
			return nil, fmt.Errorf("apply: drift: %s: reading the destination's copy: %w", planned.Label(e.Kind.Name, e.Names), err)
		}
		for _, w := range warnings {
			o.Logger.Warn("destination: "+w, "entity", planned.Label(e.Kind.Name, e.Names))
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
