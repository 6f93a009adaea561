package apply

import (
	"fmt"
	"strings"

	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/apply/internal/secrets"
	"github.com/octobundle/octobundle/apply/internal/writemerge"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
)

// Pruning comes in two, each only when asked. Options.Prune (--prune)
// deletes the entities the source deleted since the last sync (the base
// proves octobundle applied them, and the destination has not changed them
// since; see base.go). Options.RemoveDestinationOnly
// (--remove-destination-only) removes the destination's own, what the base
// never had, inside what the bundle owns:
//
//   - in synced entities the bundle holds, the destination-only entries of
//     the registry's lists whose destination-only elements are removable
//     (schema.List.DestOnly) and the map fields in Kind.DestOnlyKeys: steps (and actions of matched steps) of
//     deployment and runbook processes, variables of project and library
//     variable sets (sensitive ones too: the plan says so and lists them in
//     the clean-up), a tenant's links to projects the bundle holds, and a
//     tenant's variable values under the projects and library variable
//     sets the bundle's tenant variables document has values for
//     (schema.List.Owner: values under a project or variable set the bundle
//     has none for stay, whether or not the bundle holds the project;
//     sensitive values are listed in the clean-up);
//   - channels and runbooks the destination has in a project the bundle
//     holds (a DELETE each), never a project's default channel nor the
//     channel its release creation strategy uses.
//
// Destination-only top-level entities (environments, projects, tenants,
// accounts … that the base does not have) are never deleted, nor anything
// of exist- or exact-policy kinds the base does not have: a bundle may be a
// partial export (export --project), so an entity missing from it says
// nothing about whether the destination still needs it; and the
// destination owns the details of exist-policy kinds. A destination-only project, its
// channels and runbooks, a tenant's links to it and its tenant variable
// values are never touched, nor anything of a tenant the bundle does not
// hold.
//
// Writing pruned tenant variable values: the common and project variables
// PUTs (and the legacy document, on older servers) store the list they are
// sent, so a pruned value is one left out of it.

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
	for _, f := range removableFields(k) {
		bv, ok := bm[f]
		if !ok {
			continue // the bundle says nothing about the field
		}
		switch v := dm[f].(type) {
		case []any:
			var out any
			if within := k.List(f).Owner; within != "" {
				out = pruneWithin(bv, v, within)
			} else {
				out = pruneArrays(bv, v)
			}
			removed = removed || !bundles.Equal(out, v)
			dm[f] = out
		case map[string]any:
			bmap, _ := bv.(map[string]any)
			for key := range v {
				if _, inBundle := bmap[key]; inBundle {
					continue
				}
				if _, ours := pl.bn.Find(schema.Project, "", key); ours {
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
		if len(m) == 0 || !bundles.Identified(m) {
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

// pruneWithin returns merged (the bundle's array merged onto the
// destination's) without the destination-only elements whose field within
// holds a value some element of the bundle's array holds too (see
// schema.List.Owner): a tenant's values go only under the projects
// and library variable sets the bundle has values for.
func pruneWithin(bundle any, merged []any, within string) []any {
	b, _ := bundle.([]any)
	held := map[string]bool{}
	for _, el := range b {
		if m, ok := el.(map[string]any); ok {
			held[fmt.Sprint(m[within])] = true
		}
	}
	pairs, _ := bundles.MatchElements(merged, b)
	out := make([]any, 0, len(merged))
	for i, el := range merged {
		m, _ := el.(map[string]any)
		if _, matched := pairs[i]; matched || m == nil || !held[fmt.Sprint(m[within])] {
			out = append(out, el)
		}
	}
	return out
}

// prunedSecrets lists a clean-up item for every sensitive variable and
// every sensitive tenant variable value a diff removes: its secret is gone
// with it.
func prunedSecrets(k *schema.Kind, names []string, ds []plans.FieldDiff) []plans.CleanupItem {
	var out []plans.CleanupItem
	for _, d := range ds {
		at := writemerge.ParsePointer(d.Path)
		if d.After != nil || len(at) != 2 || k.List(at[0]) == nil || k.List(at[0]).Owner == "" {
			continue
		}
		if m, ok := d.Before.(map[string]any); ok && secrets.HasSecret(m["Value"]) {
			out = append(out, plans.CleanupItem{Kind: k.Name, Names: names, Field: d.Label,
				Why: "destination-only sensitive tenant variable value removed by --remove-destination-only: its secret is gone; if it is still needed, set the tenant's value again"})
		}
	}
	for _, d := range ds {
		m, ok := d.Before.(map[string]any)
		if !ok || d.After != nil || !strings.HasPrefix(d.Path, "/Variables/") {
			continue
		}
		if sens, _ := schema.SensitiveFlag(m); sens {
			out = append(out, plans.CleanupItem{Kind: k.Name, Names: names, Field: d.Label,
				Why: "destination-only sensitive variable removed by --remove-destination-only: its secret is gone; if it is still needed, add it again and set its value"})
		}
	}
	return out
}

// planDeletes adds a delete change for every destination-only entity of
// a DeleteDestOnly kind (a project's channels, runbooks and triggers) under the
// owners the bundle holds, except the ones the owner needs (Kind.Keep: a
// project's default channel, the channel of its release creation
// strategy), which get a note.
func (pl *planner) planDeletes(b *bundles.Bundle, p *plans.Plan) []*change {
	inBundle := map[string]bool{}
	for _, ch := range pl.changes {
		inBundle[planned.Key(ch.Kind, ch.Names)] = true
	}
	var out []*change
	for _, ch := range pl.changes {
		ownerKind := schema.MustLookup(ch.Kind)
		if len(ch.Names) != ownerKind.Depth()+1 || ownerKind.IsSingleton() {
			continue
		}
		var destOnly []*schema.Kind
		for _, k := range schema.Children(ownerKind.Name) {
			if k.DeleteDestOnly {
				destOnly = append(destOnly, k)
			}
		}
		if len(destOnly) == 0 {
			continue
		}
		owner := pl.snap.Find(ownerKind.Name, ch.Names...)
		if owner == nil {
			continue
		}
		destOwner := owner.Object()
		var bundleOwner map[string]any
		if doc, found := b.Entity(ownerKind, ch.Names...); found {
			bundleOwner, _ = doc.(map[string]any)
		}
		for _, k := range destOnly {
			kind := k.Name
			for _, e := range pl.snap.Children(owner, kind) {
				names := e.Names()
				if inBundle[planned.Key(kind, names)] {
					continue
				}
				what := planned.Label(kind, names)
				if why := kept(k, e, destOwner, bundleOwner); why != "" {
					p.Notes = append(p.Notes, fmt.Sprintf("%s kept: %s", what, why))
					continue
				}
				esc := make([]string, len(names))
				for i, n := range names {
					esc[i] = bundles.EscapeName(n)
				}
				path, _ := k.Path(esc...)
				reason := fmt.Sprintf("the destination's %s %q has it and the bundle does not (--prune)", planned.Title(ownerKind.Name), names[0])
				if k.DeletesWith != "" {
					reason += "; " + k.DeletesWith + " go with it"
				}
				out = append(out, newChange(plans.Change{Kind: kind, Names: names, Path: path, Action: plans.OpDelete, Reason: reason}))
			}
		}
	}
	return out
}

// kept returns why --prune keeps the destination-only entity e (see
// schema.Kind.Kept); it reads e's document only for a kind that has Keep.
func kept(k *schema.Kind, e *snapshot.Entity, destOwner, bundleOwner map[string]any) string {
	if len(k.Keep) == 0 {
		return ""
	}
	return k.Kept(e.Object(), e.ID, destOwner, bundleOwner)
}

// removableFields are k's top-level fields whose destination-only entries
// --remove-destination-only removes: the lists the registry marks
// removable, then the map fields of Kind.DestOnlyKeys.
func removableFields(k *schema.Kind) []string {
	var out []string
	for _, l := range k.Lists {
		if l.DestOnly == schema.DestOnlyRemovable && l.Path != "" && !strings.Contains(l.Path, "/") {
			out = append(out, l.Path)
		}
	}
	return append(out, k.DestOnlyKeys...)
}
