package apply

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
)

// Kinds with parts (schema.ShapeParts: tenant variables) are written through
// their parts where the destination serves them (2025.2+: the common and
// project variables resources, each PUT whole), and otherwise as the legacy
// document, converted from the parts' shape. A value the legacy document
// cannot hold (a common value scoped to environments) is an error at plan
// time, by name.

// legacyProblem returns why doc (bundle form) cannot be written to a
// destination that has only the legacy document of k, or "".
func (pl *planner) legacyProblem(k *schema.Kind, doc any) string {
	if k.Shape != schema.ShapeParts || k.Parts.ToLegacy == nil || pl.snap.Parts[k.Name] {
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
func (x *executor) putParts(ctx context.Context, k *schema.Kind, ch *change, body any) error {
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

// ShapeBinary kinds (a project's logo) are compared byte for byte and written
// whole, only when they differ: a multipart upload of the bundle's file to
// the kind's Read path (POST, as OctopusClients' SetLogo does). The plan's
// Desired describes the file (path, size, content type, sha256) and the
// bytes stay in the bundle; an update's diff says how large each side is
// and its digest.

// decideBinary fills in the action of a change of a ShapeBinary kind.
func (pl *planner) decideBinary(ch *change, bundleDoc, destForm any, onDest bool) {
	data, _ := bundleDoc.([]byte)
	sum := sha256.Sum256(data)
	// What will be uploaded; the bytes themselves stay in the bundle.
	desired := map[string]any{"File": ch.Path, "Bytes": len(data), "ContentType": contentType(data), "SHA256": hex.EncodeToString(sum[:])}
	switch {
	case !onDest:
		ch.Action, ch.WriteMain, ch.Desired = plans.OpCreate, true, jsonv.MustPack(desired)
		ch.Reason = "uploaded: " + binarySummary(data)
	case bundles.Equal(data, destForm):
		ch.Action = plans.OpNoOp
	default:
		old, _ := destForm.([]byte)
		ch.Action, ch.WriteMain, ch.Desired = plans.OpUpdate, true, jsonv.MustPack(desired)
		ch.Diff = []plans.FieldDiff{{Path: "/", Before: binarySummary(old), After: binarySummary(data)}}
		ch.Reason = "the file differs"
	}
}

// binarySummary describes bytes for a plan: size, content type, digest.
func binarySummary(data []byte) string {
	sum := sha256.Sum256(data)
	return fmt.Sprintf("%d bytes, %s, sha256:%s", len(data), contentType(data), hex.EncodeToString(sum[:])[:16])
}

// contentType tells an image's type from its bytes (SVG, which content
// sniffing calls text, by its root element).
func contentType(data []byte) string {
	head := bytes.TrimSpace(data[:min(len(data), 512)])
	if bytes.HasPrefix(head, []byte("<svg")) || (bytes.HasPrefix(head, []byte("<?xml")) && bytes.Contains(head, []byte("<svg"))) {
		return "image/svg+xml"
	}
	return http.DetectContentType(data)
}

// putBinary uploads a change's file from the bundle.
func (x *executor) putBinary(ctx context.Context, k *schema.Kind, ch *change) error {
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
	ctype := contentType(data)
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
