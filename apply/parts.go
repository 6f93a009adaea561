package apply

import (
	"context"
	"fmt"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
)

// Kinds with parts (schema.Parts: tenant variables) are written through
// their parts where the destination serves them (2025.2+: the common and
// project variables resources, each PUT whole), and otherwise as the legacy
// document, converted from the parts' shape. A value the legacy document
// cannot hold (a common value scoped to environments) is an error at plan
// time, by name.

// legacyProblem returns why doc (bundle form) cannot be written to a
// destination that has only the legacy document of k, or "".
func (pl *planner) legacyProblem(k *schema.Kind, doc any) string {
	if k.Parts == nil || k.Parts.ToLegacy == nil || pl.snap.Parts[k.Name] {
		return ""
	}
	m, _ := doc.(map[string]any)
	if m == nil {
		return ""
	}
	if _, err := k.Parts.ToLegacy(m); err != nil {
		return fmt.Sprintf("the destination (Octopus %s) stores %s only in the legacy document, which cannot hold: %v",
			pl.snap.ServerVersion, k.Title, err)
	}
	return ""
}

// putParts writes a Parts kind's change: each part that changed, or the
// legacy document.
func (x *executor) putParts(ctx context.Context, k *schema.Kind, ch *Change, body any) error {
	owner, err := x.owner(k, ch)
	if err != nil {
		return err
	}
	useParts := x.snap.Parts[k.Name]
	dest := x.snap.Find(k.Name, ch.Names...)
	var live map[string]any
	switch {
	case dest != nil:
		live = dest.Object()
	case useParts:
		if live, err = snapshot.ReadParts(ctx, x.c, k, owner.Object()); err != nil {
			return fmt.Errorf("%s: reading the destination's copy: %w", ch.Label(), err)
		}
	default:
		rel, err := snapshot.Expand(k.Read, owner.Object())
		if err != nil {
			return fmt.Errorf("%s: %w", ch.Label(), err)
		}
		got, err := x.c.Get(ctx, x.c.SpacePath(rel, false))
		if err != nil {
			return fmt.Errorf("%s: reading the destination's copy: %w", ch.Label(), err)
		}
		live = snapshot.FromLegacy(k, got)
	}
	merged, err := x.mergeForWrite(k, ch, body, live)
	if err != nil {
		return err
	}
	doc := map[string]any{}
	if k.ParentField != "" {
		doc[k.ParentField] = owner.ID
	}
	if useParts {
		for _, p := range k.Parts.Parts {
			items, _ := merged[p.Field].([]any)
			if items == nil {
				items = []any{}
			}
			if bundles.Equal(items, live[p.Field]) {
				doc[p.Field] = live[p.Field]
				continue
			}
			rel, err := snapshot.Expand(p.Path, owner.Object())
			if err != nil {
				return fmt.Errorf("%s: %w", ch.Label(), err)
			}
			got, err := x.c.Put(ctx, x.c.SpacePath(rel, false), map[string]any{p.Items: items})
			if err != nil {
				return fmt.Errorf("%s: updating %s: %w", ch.Label(), p.Field, err)
			}
			list, _ := got[p.Items].([]any)
			if list == nil {
				list = []any{}
			}
			doc[p.Field] = list
		}
	} else {
		legacy, err := k.Parts.ToLegacy(merged)
		if err != nil {
			return fmt.Errorf("%s: the destination has only the legacy document: %w", ch.Label(), err)
		}
		rel, err := snapshot.Expand(k.Read, owner.Object())
		if err != nil {
			return fmt.Errorf("%s: %w", ch.Label(), err)
		}
		if k.ParentField != "" {
			legacy[k.ParentField] = owner.ID
		}
		got, err := x.c.Put(ctx, x.c.SpacePath(rel, false), legacy)
		if err != nil {
			return fmt.Errorf("%s: updating: %w", ch.Label(), err)
		}
		doc = snapshot.FromLegacy(k, got)
	}
	if dest != nil {
		x.snap.Replace(dest, doc)
	} else {
		x.snap.Add(&snapshot.Entity{Kind: k, Name: owner.Name, Owner: owner, Doc: doc})
	}
	return nil
}
