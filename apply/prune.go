package apply

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/schema"
)

// Pruning (Options.Prune, --prune) deletes what the bundle no longer has —
// only when asked, and only inside what the bundle owns:
//
//   - in synced entities the bundle holds, the destination-only entries of
//     the fields the kind registry lists in Kind.Prune: steps (and actions of matched steps) of
//     deployment and runbook processes, variables of project and library
//     variable sets (sensitive ones too: the plan says so and lists them in
//     the clean-up), a tenant's links to projects the bundle holds, and a
//     tenant's variable values under the projects and library variable
//     sets the bundle's tenant variables document has (a key the bundle
//     does not have stays whole, whether or not the bundle holds the
//     project; sensitive values are listed in the clean-up; values without
//     a value, {"HasValue": false}, are nothing to remove);
//   - channels and runbooks the destination has in a project the bundle
//     holds (a DELETE each), never a project's default channel nor the
//     channel its release creation strategy uses.
//
// Top-level entities (environments, projects, tenants, accounts …) are never
// deleted, nor anything of exist- or exact-policy kinds: a bundle may be a
// partial export (export --project), so an entity missing from it says
// nothing about whether the destination still needs it; and the destination
// owns the details of exist-policy kinds. A destination-only project, its
// channels and runbooks, a tenant's links to it and its tenant variable
// values are never touched, nor anything of a tenant the bundle does not
// hold.
//
// Writing pruned tenant variable values: the legacy tenant-variables PUT
// stores the document it is sent, and apply sends the change merged onto the
// live document (which keeps everything the bundle does not mention), so
// removePrunedValues takes the pruned values out of that document one by one:
// a plain value's key is left out, a sensitive value is sent as
// {"HasValue": false, "NewValue": null} — what Octopus's own Terraform
// provider sends to remove a tenant's value (leaving out the key of a plain
// one) — so the secret is cleared even where an omitted secret would be
// kept.

// deleteOrder runs deletions after every other write, once nothing the
// bundle writes refers to the deleted entities any more.
const deleteOrder = 1 << 20

// prune removes from desired (the bundle merged onto the destination's
// form) the destination-only entries of k's prune fields and reports whether
// it removed any. Map fields (a tenant's project links) lose only keys that
// name a project the bundle holds.
func (pl *planner) prune(k *schema.Kind, bundleDoc, desired any) bool {
	bm, _ := bundleDoc.(map[string]any)
	dm, _ := desired.(map[string]any)
	if bm == nil || dm == nil {
		return false
	}
	removed := false
	for _, f := range k.Prune {
		bv, ok := bm[f]
		if !ok {
			continue // the bundle says nothing about the field
		}
		switch v := dm[f].(type) {
		case []any:
			out := pruneArrays(bv, v)
			removed = removed || !bundles.Equal(out, v)
			dm[f] = out
		case map[string]any:
			bmap, _ := bv.(map[string]any)
			if nestedValues(k) {
				removed = pruneValues(bmap, v, true) || removed
				continue
			}
			for key := range v {
				if _, inBundle := bmap[key]; inBundle {
					continue
				}
				if _, ours := pl.bn.find(schema.Project, "", key); ours {
					delete(v, key)
					removed = true
				}
			}
		}
	}
	return removed
}

// pruneArrays returns merged (the bundle's value merged onto the
// destination's) without the elements of identified arrays that the bundle
// does not have, at any depth (steps, and the actions of matched steps).
func pruneArrays(bundle, merged any) any {
	switch m := merged.(type) {
	case map[string]any:
		b, ok := bundle.(map[string]any)
		if !ok {
			return m
		}
		for k, v := range m {
			if bv, ok := b[k]; ok {
				m[k] = pruneArrays(bv, v)
			}
		}
		return m
	case []any:
		b, _ := bundle.([]any)
		if len(m) == 0 || !bundles.Named(m) {
			return m
		}
		pairs, _ := bundles.MatchElements(m, b)
		out := make([]any, 0, len(m))
		for i, el := range m {
			if j, ok := pairs[i]; ok {
				out = append(out, pruneArrays(b[j], el))
			}
		}
		return out
	}
	return merged
}

// prunedSecrets lists a clean-up item for every sensitive variable and
// every sensitive tenant variable value a diff removes: its secret is gone
// with it.
func prunedSecrets(k *schema.Kind, names []string, ds []FieldDiff) []CleanupItem {
	var out []CleanupItem
	for _, v := range prunedValues(k, ds) {
		if v.sensitive {
			out = append(out, CleanupItem{Kind: k.Name, Names: names, Field: v.label,
				Why: "destination-only sensitive tenant variable value deleted by --prune: its secret is gone; if it is still needed, set the tenant's value again"})
		}
	}
	for _, d := range ds {
		m, ok := d.Before.(map[string]any)
		if !ok || d.After != nil || !strings.HasPrefix(d.Path, "/Variables/") {
			continue
		}
		if sens, _ := m["IsSensitive"].(bool); sens {
			out = append(out, CleanupItem{Kind: k.Name, Names: names, Field: d.Label,
				Why: "destination-only sensitive variable deleted by --prune: its secret is gone; if it is still needed, add it again and set its value"})
		}
	}
	return out
}

// planDeletes adds a delete change for every destination-only channel and
// runbook of the projects the bundle holds, except the ones a project needs
// (its default channel, the channel of its release creation strategy),
// which get a note.
func (pl *planner) planDeletes(b *bundles.Bundle, p *Plan) []*Change {
	inBundle := map[string]bool{}
	for _, ch := range pl.changes {
		inBundle[changeKey(ch.Kind, ch.Names)] = true
	}
	var out []*Change
	for _, ch := range pl.changes {
		if ch.Kind != schema.Project || len(ch.Names) != 1 {
			continue
		}
		proj := pl.snap.Find(schema.Project, ch.Names...)
		if proj == nil {
			continue
		}
		// The channel the project's release creation strategy will use: the
		// bundle's when its document sets one (a bundle channel, never
		// destination-only), else the destination's, which merge keeps.
		keepChannel := ""
		bundleSets := false
		if doc, ok := b.Entity(schema.MustLookup(schema.Project), ch.Names...); ok {
			if rcs, ok := doc.(map[string]any)["ReleaseCreationStrategy"].(map[string]any); ok {
				_, bundleSets = rcs["ChannelId"]
			}
		}
		if rcs, ok := proj.Object()["ReleaseCreationStrategy"].(map[string]any); ok && !bundleSets {
			keepChannel, _ = rcs["ChannelId"].(string)
		}
		for _, k := range schema.Kinds() {
			if !k.Prunable {
				continue
			}
			kind := k.Name
			for _, e := range pl.snap.Children(proj, kind) {
				names := e.Names()
				if inBundle[changeKey(kind, names)] {
					continue
				}
				what := label(kind, names)
				if kind == schema.Channel {
					if def, _ := e.Object()["IsDefault"].(bool); def {
						p.Notes = append(p.Notes, fmt.Sprintf("%s kept: it is the project's default channel", what))
						continue
					}
					if keepChannel != "" && e.ID == keepChannel {
						p.Notes = append(p.Notes, fmt.Sprintf("%s kept: the project's release creation strategy uses it", what))
						continue
					}
				}
				esc := make([]string, len(names))
				for i, n := range names {
					esc[i] = bundles.EscapeName(n)
				}
				path, _ := k.Path(esc...)
				reason := fmt.Sprintf("the destination's project %q has it and the bundle does not (--prune)", names[0])
				if kind == schema.Runbook {
					reason += "; its process and snapshots go with it"
				}
				out = append(out, &Change{Kind: kind, Names: names, Path: path, Action: ActionDelete, Reason: reason})
			}
		}
	}
	return out
}

// deleteEntity deletes a change's destination entity; one already gone
// counts as deleted.
func (x *executor) deleteEntity(ctx context.Context, ch *Change) error {
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
func (x *executor) prunedVariables(k *schema.Kind, ch *Change) (map[string]bool, error) {
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
	doc, err := x.ids.resolve(k, ch.Names, map[string]any{"Variables": removed})
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
// links) authoritative over the live document they were merged onto. Nested
// values (tenant variables) are not: their pruned values are taken out one
// by one (see removePrunedValues), so that nothing else of the live
// document is lost.
func keepBodyMaps(k *schema.Kind, ch *Change, body, merged map[string]any) {
	if !ch.Prune || nestedValues(k) {
		return
	}
	for _, f := range k.Prune {
		if bv, ok := body[f].(map[string]any); ok {
			merged[f] = schema.DeepCopy(bv)
		}
	}
}

// nestedValues reports whether k's prune fields hold values nested under
// keys — a tenant's variable values, project → Variables → environment →
// template and library variable set → Variables → template — which are
// pruned value by value under the keys the bundle holds, rather than
// top-level keys naming bundle projects (a tenant's project links).
func nestedValues(k *schema.Kind) bool { return k.Name == schema.TenantVariables }

// pruneValues removes from merged (the bundle's map merged onto the
// destination's) the entries bundle does not have, below the keys bundle
// holds: when top is set, a key bundle does not have stays whole (a project
// or library variable set the bundle has no values for, since a bundle may
// be a partial export); below it, an entry bundle does not have goes if it
// holds a value (see hasValue). A sensitive value is a leaf. It reports
// whether it removed anything.
func pruneValues(bundle, merged map[string]any, top bool) bool {
	removed := false
	for key, mv := range merged {
		bv, held := bundle[key]
		if !held {
			if !top && hasValue(mv) {
				delete(merged, key)
				removed = true
			}
			continue
		}
		mm, ok := mv.(map[string]any)
		bm, bok := bv.(map[string]any)
		if ok && bok && !schema.IsSensitiveValue(mm) && !schema.IsSensitiveValue(bm) {
			removed = pruneValues(bm, mm, false) || removed
		}
	}
	return removed
}

// hasValue reports whether v holds a value: a sensitive value without a
// secret ({"HasValue": false}) and null are none, a map has one when one
// of its entries has.
func hasValue(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case map[string]any:
		if schema.IsSensitiveValue(t) {
			hv, _ := t["HasValue"].(bool)
			return hv
		}
		for _, x := range t {
			if hasValue(x) {
				return true
			}
		}
		return false
	}
	return true
}

// prunedValue is one tenant variable value a pruning change removes.
type prunedValue struct {
	at        []string // path in bundle form (names)
	label     string   // readable place (see bundles.LabelPath)
	sensitive bool     // a secret (a SensitiveValue with HasValue)
}

// prunedValues lists the values the removed entries of a pruning change's
// diff hold, one by one: a removed environment of a tenant's project
// values stands for each of its values.
func prunedValues(k *schema.Kind, ds []FieldDiff) []prunedValue {
	if !nestedValues(k) {
		return nil
	}
	var out []prunedValue
	var walk func(at []string, lbl string, v any)
	walk = func(at []string, lbl string, v any) {
		if !hasValue(v) {
			return
		}
		if m, ok := v.(map[string]any); ok && !schema.IsSensitiveValue(m) {
			for _, key := range slices.Sorted(maps.Keys(m)) {
				walk(append(at[:len(at):len(at)], key), bundles.KeyLabel(lbl, key), m[key])
			}
			return
		}
		out = append(out, prunedValue{at: at, label: lbl, sensitive: schema.IsSensitiveValue(v)})
	}
	for _, d := range ds {
		if d.After != nil || d.Before == nil {
			continue
		}
		at := parsePointer(d.Path)
		if len(at) == 0 || !containsString(k.Prune, at[0]) {
			continue
		}
		walk(at, d.Label, d.Before)
	}
	return out
}

// parsePointer splits a JSON pointer written by schema.Pointer.
func parsePointer(p string) []string {
	if p == "" || p == "/" {
		return nil
	}
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, s := range segs {
		segs[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return segs
}

// removePrunedValues takes the tenant variable values a pruning change
// removes out of merged, the server-form document about to be PUT (the
// change's body merged onto the live document, which still has them). The
// legacy tenant-variables PUT stores the document it is sent, so a value
// whose key is left out is removed; a sensitive value is sent as
// {"HasValue": false, "NewValue": null} instead, the way Octopus's own
// clients (the Terraform provider's tenant variable resources) remove one,
// so that its secret goes even on a server that would keep an omitted
// secret. A value already gone from the live document is left alone.
func (x *executor) removePrunedValues(k *schema.Kind, ch *Change, merged map[string]any) error {
	if !ch.Prune {
		return nil
	}
	for _, v := range prunedValues(k, ch.Diff) {
		skeleton := any(map[string]any{})
		for i := len(v.at) - 1; i >= 0; i-- {
			if i == len(v.at)-1 {
				skeleton = map[string]any{v.at[i]: "x"}
			} else {
				skeleton = map[string]any{v.at[i]: skeleton}
			}
		}
		resolved, err := x.ids.resolve(k, ch.Names, skeleton)
		if err != nil {
			return fmt.Errorf("%s: resolving the value %s to prune: %w", ch.Label(), v.label, err)
		}
		var ids []string
		for cur, _ := resolved.(map[string]any); len(cur) == 1; {
			for key, next := range cur {
				ids = append(ids, key)
				cur, _ = next.(map[string]any)
			}
		}
		if len(ids) != len(v.at) {
			return fmt.Errorf("%s: resolving the value %s to prune: unexpected shape", ch.Label(), v.label)
		}
		parent, _ := getPath(merged, ids[:len(ids)-1]).(map[string]any)
		key := ids[len(ids)-1]
		if _, ok := parent[key]; !ok {
			continue
		}
		if v.sensitive {
			parent[key] = map[string]any{"HasValue": false, "NewValue": nil}
		} else {
			delete(parent, key)
		}
	}
	return nil
}
