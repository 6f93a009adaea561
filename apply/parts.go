package apply

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/jsonv"
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
	desired := map[string]any{"File": ch.Path, "Bytes": len(data), "ContentType": planned.ContentType(data), "SHA256": hex.EncodeToString(sum[:])}
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
	return fmt.Sprintf("%d bytes, %s, sha256:%s", len(data), planned.ContentType(data), hex.EncodeToString(sum[:])[:16])
}
