package apply

import (
	"fmt"
	"strings"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/schema"
)

// A team's scoped user roles are one bundle file per team holding unnamed
// items (schema.ShapeItems), each granting one user role within a scope
// (environments, projects, project groups, tenants). Team permissions differ
// per instance, so the rule is per item, by user role:
//
//   - an item whose user role the destination team does not have yet is
//     created (its scope narrowed to the names that exist; see narrowing);
//   - an item whose user role the team already has is left alone: the
//     destination owns the scoping of the roles it has;
//   - items only the destination has are kept.
//
// Because the rule looks at each role, a run that created some of a team's
// roles and failed on the rest is finished by the next run, which creates
// only the missing ones.

// decideItems fills in the action of change i, of a ShapeItems kind.
func (pl *planner) decideItems(i int, k *schema.Kind, bundleDoc, destForm any) {
	ch := pl.changes[i]
	items, _ := bundleDoc.([]any)
	have, _ := destForm.([]any)
	has := map[string]bool{}
	for _, el := range have {
		if id, ok := bundles.Identify(el); ok {
			has[id.Key] = true
		}
	}
	var fresh []any
	kept := []any{}
	var keptLabels []string
	for _, el := range items {
		if id, ok := bundles.Identify(el); ok && has[id.Key] {
			kept = append(kept, el)
			keptLabels = append(keptLabels, id.Label)
			continue
		}
		fresh = append(fresh, el)
	}
	var reasons []string
	if len(keptLabels) > 0 {
		reasons = append(reasons, fmt.Sprintf("the team already has %s: left alone (the destination owns the scoping of roles it has)", strings.Join(keptLabels, ", ")))
	}
	doc, notes, problems := pl.checkRefs(k, ch.Names, any(fresh))
	reasons = append(reasons, notes...)
	if len(problems) > 0 {
		ch.Action, ch.Error = plans.OpError, ch.Label()+": "+strings.Join(problems, "; ")
		return
	}
	fresh, _ = doc.([]any)
	ch.Reason = strings.Join(reasons, "; ")
	if len(fresh) == 0 {
		// Nothing to create: what differs (the scoping of roles the team
		// has) belongs to the destination.
		ch.Diff = bundles.Diff(destItemsFor(have, kept), kept)
		if len(ch.Diff) == 0 {
			ch.Action = plans.OpNoOp
			return
		}
		ch.Action = plans.OpLeftAlone
		return
	}
	ch.Action = plans.OpUpdate
	if destForm == nil {
		ch.Action = plans.OpCreate
	}
	ch.Desired = jsonv.MustPack(fresh)
	ch.WriteMain = true
	ch.Diff = bundles.Diff([]any{}, fresh)
}

// destItemsFor returns the destination items whose identity some item of
// want has, for comparing the scoping of roles both sides have.
func destItemsFor(have, want []any) []any {
	ids := map[string]bool{}
	for _, el := range want {
		if id, ok := bundles.Identify(el); ok {
			ids[id.Key] = true
		}
	}
	out := []any{}
	for _, el := range have {
		if id, ok := bundles.Identify(el); ok && ids[id.Key] {
			out = append(out, el)
		}
	}
	return out
}
