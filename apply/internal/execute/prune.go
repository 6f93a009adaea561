package execute

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/schema"
)

// deleteOrder (less the kind's Order: deletions go in reverse sync order)
// runs deletions after every other write, once nothing the
// bundle writes refers to the deleted entities any more.
const deleteOrder = 1 << 20

// deleteEntity deletes a change's destination entity; one already gone
// counts as deleted.
func (x *executor) deleteEntity(ctx context.Context, ch *planned.Change) error {
	k := schema.MustLookup(ch.Kind)
	dest := x.snap.Find(k.Name, ch.Names...)
	if dest == nil {
		return nil
	}
	err := x.c.Delete(ctx, x.collectionPath(k)+"/"+url.PathEscape(dest.ID))
	if err != nil && !octopus.IsStatus(err, http.StatusNotFound) {
		return fmt.Errorf("%s: deleting: %w", ch.Label(), err)
	}
	return nil
}

// prunedVariables returns the server-form identities (see identity) of the
// variables a pruning change removes, so that checkNothingLost lets exactly
// those go.
func (x *executor) prunedVariables(k *schema.Kind, ch *planned.Change) (map[string]bool, error) {
	if !ch.Prune {
		return nil, nil
	}
	var removed []any
	for _, d := range ch.Diff {
		if d.After != nil || !strings.HasPrefix(d.Path, "/Variables/") {
			continue
		}
		if _, err := strconv.Atoi(strings.TrimPrefix(d.Path, "/Variables/")); err == nil {
			removed = append(removed, d.Before)
		}
	}
	if len(removed) == 0 {
		return nil, nil
	}
	doc, err := x.ids.ToServer(k, ch.Names, map[string]any{"Variables": removed})
	if err != nil {
		return nil, fmt.Errorf("%s: resolving the variables to prune: %w", ch.Label(), err)
	}
	out := map[string]bool{}
	for _, v := range doc.(map[string]any)["Variables"].([]any) {
		if id, ok := bundles.Identity(v); ok {
			out[id] = true
		}
	}
	return out, nil
}

// keepBodyMaps makes the pruned map fields of body (a tenant's project
// links) authoritative over the live document they were merged onto.
// Pruned array fields need nothing: the write merge keeps only the body's
// elements.
func keepBodyMaps(k *schema.Kind, ch *planned.Change, body, merged map[string]any) {
	if !ch.Prune {
		return
	}
	for _, f := range k.DestOnlyKeys {
		if bv, ok := body[f].(map[string]any); ok {
			merged[f] = schema.DeepCopy(bv)
		}
	}
}
