package execute

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
)

// putParts writes a Parts kind's change: each part that changed, or the
// legacy document.
func (x *executor) putParts(ctx context.Context, k *schema.Kind, ch *planned.Change, body any) error {
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
		x.snap.Add(snapshot.NewEntity(k, "", owner.Name, owner, doc))
	}
	return nil
}

// putBinary uploads a change's file from the bundle.
func (x *executor) putBinary(ctx context.Context, k *schema.Kind, ch *planned.Change) error {
	owner, err := x.owner(k, ch)
	if err != nil {
		return err
	}
	doc, ok := x.b.Entity(k, ch.Names...)
	data, _ := doc.([]byte)
	if !ok || len(data) == 0 {
		return fmt.Errorf("%s: the bundle has no file", ch.Label())
	}
	rel, err := snapshot.Expand(k.Read, owner.Object())
	if err != nil {
		return fmt.Errorf("%s: %w", ch.Label(), err)
	}
	ctype := planned.ContentType(data)
	name := "logo"
	if _, sub, ok := strings.Cut(ctype, "/"); ok {
		name += "." + strings.TrimSuffix(strings.SplitN(sub, ";", 2)[0], "+xml")
	}
	if err := x.c.UploadFile(ctx, http.MethodPost, x.c.SpacePath(rel, false), name, ctype, data); err != nil {
		return fmt.Errorf("%s: uploading: %w", ch.Label(), err)
	}
	if dest := x.snap.Find(k.Name, ch.Names...); dest != nil {
		x.snap.Replace(dest, bytes.Clone(data))
	} else {
		x.snap.Add(snapshot.NewEntity(k, "", owner.Name, owner, bytes.Clone(data)))
	}
	return nil
}
