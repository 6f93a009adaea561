package apply

import (
	"fmt"
	"slices"
	"strings"

	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/policy"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/translate"
)

// Base is what octobundle last applied to a destination, in bundle form:
// the merge base of the three-way merge (see merge3.go).
type Base struct {
	// Bundle holds one document per entity applied (never a secret).
	Bundle *bundles.Bundle
	// Digest identifies the base; plans record it, and a saved plan made
	// against another base is refused.
	Digest string
	// From says where the base comes from, for the plan
	// ("state .octobundle/…", "--base prev/").
	From string
	// IDs are the server IDs octobundle recorded, by bundle path, when it
	// wrote each entity to this destination (the state's, with --base
	// too). Prune deletes an entity the source deleted only if its
	// destination entity still carries the ID recorded here: never one a
	// base names that octobundle did not write (a hand-made base file, a
	// --base bundle of another destination), nor one recreated on the
	// destination since. Those are kept, and the plan says why.
	IDs map[string]string
}

// StateRecorder records what apply applied to a destination (see package
// internal/state). Execute calls Record once all writes of an entity
// succeeded (or it needed none), with the entity's bundle path, the
// document that becomes its base (the bundle's, as applied) and the
// document the destination holds (bundle form; either may be a jsonv.Doc,
// the plan's packed document, which encoding/json marshals as its JSON),
// and RecordID with the server ID the entity has on the destination (for
// the entities Prune may delete; also when nothing needed recording
// otherwise, as in a replay);
// Forget once an entity is deleted, or gone from both the bundle and the
// destination. Calls may come from several goroutines.
type StateRecorder interface {
	Record(path string, base, written any) error
	RecordID(path, id string) error
	Forget(path string) error
}

// WrittenChecker is a StateRecorder that can tell whether the written
// document it records for an entity is the one with the given fingerprint
// (the sha256 of its canonical JSON), so a replay need not convert the
// destination's entity again to record it unchanged.
type WrittenChecker interface {
	HasWritten(path string, sum []byte) bool
}

// baseDoc returns the base document of an entity (decoded afresh: the
// caller's own).
func (pl *planner) baseDoc(k *schema.Kind, names []string) (any, bool) {
	if pl.o.Base == nil || pl.o.Base.Bundle == nil {
		return nil, false
	}
	return pl.o.Base.Bundle.Entity(k, names...)
}

// baseHolds reports whether the base holds exactly doc at bundle path p
// (packed documents compare byte for byte: jsonv.Pack and a bundle pack
// the same value alike).
func (pl *planner) baseHolds(p string, doc jsonv.Doc) bool {
	if pl.o.Base == nil || pl.o.Base.Bundle == nil {
		return false
	}
	held, ok := pl.o.Base.Bundle.Packed(p)
	return ok && held.Equal(doc)
}

// inBase reports whether the base has an entity, without decoding it.
func (pl *planner) inBase(k *schema.Kind, names []string) bool {
	return pl.o.Base != nil && pl.o.Base.Bundle != nil && pl.o.Base.Bundle.Has(k, names...)
}

// planSourceDeletes adds a change for every entity the base has and the
// bundle no longer does (deleted at the source): a delete with
// Options.Prune, else a keep; nothing when the destination no longer has
// it either (the state forgets it). An entity whose owner the source
// deleted too goes with its owner.
func (pl *planner) planSourceDeletes(b *bundles.Bundle) []*change {
	if pl.o.Base == nil || pl.o.Base.Bundle == nil {
		return nil
	}
	base := pl.o.Base.Bundle
	gone := map[string]bool{} // planned.Key of every base entity the bundle lacks
	var entries []bundles.Entry
	for _, e := range base.Catalog() {
		if b.Has(e.Kind, e.Names...) {
			continue
		}
		if !authoritative(b, e.Kind, e.Names) {
			continue // a partial export says nothing about it
		}
		if e.Kind.Optional && !pl.o.IncludeTargets {
			continue
		}
		gone[planned.Key(e.Kind.Name, e.Names)] = true
		entries = append(entries, e)
	}
	ownerGone := func(k *schema.Kind, names []string) bool {
		for k.Parent != "" {
			pk := schema.MustLookup(k.Parent)
			if !k.IsSingleton() && k.Shape != schema.ShapeItems {
				names = names[:len(names)-1]
			}
			if gone[planned.Key(pk.Name, names)] {
				return true
			}
			k = pk
		}
		return false
	}
	var out []*change
	for _, e := range entries {
		ch := newChange(plans.Change{Kind: e.Kind.Name, Names: e.Names, Path: e.Path})
		if ownerGone(e.Kind, e.Names) {
			continue // forgotten with its owner
		}
		// The state paths below the entity go with it.
		ch.Forget = []string{e.Path}
		for _, o := range entries {
			if o.Path != e.Path && ownedBy(o.Kind, o.Names, e.Kind, e.Names) {
				ch.Forget = append(ch.Forget, o.Path)
			}
		}
		dest := pl.snap.Find(e.Kind.Name, e.Names...)
		var notOurs string
		if dest != nil && planned.Deletable(e.Kind) {
			notOurs = pl.notWritten(e.Kind, e.Path, dest)
		}
		switch {
		case dest == nil || !planned.Deletable(e.Kind):
			ch.Action = plans.OpNoOp
			ch.Reason = "deleted at source; not on the destination either: the state forgets it"
			if dest != nil {
				ch.Reason = fmt.Sprintf("deleted at source; %s go with their owner", e.Kind.Title)
				ch.Forget = nil
				if !pl.o.Prune {
					ch.Action, ch.Why = plans.OpKeep, []string{plans.WhyDeletedKept}
					ch.Reason = "deleted at source; kept on the destination (--prune deletes what the source deleted)"
				}
			}
		case pl.o.Prune && notOurs != "":
			// The base names it, but octobundle cannot show it wrote this
			// entity: --prune never widens to what it did not write.
			ch.Action, ch.Why = plans.OpKeep, []string{plans.WhyDeletedKept, plans.WhyNotWritten}
			ch.Reason = "deleted at source (" + pl.o.Base.From + "), but not deleted: " + notOurs
			ch.Forget = nil
		case pl.o.Prune && pl.changedSinceBase(e.Kind, e.Names, e.Path, dest) && pl.pol.DecideDeleted().Winner != policy.WinnerSource:
			// Deleted at the source, changed on the destination: a
			// conflict, which keeps the entity unless decided otherwise.
			dec := pl.pol.DecideDeleted()
			ch.Why = []string{plans.WhyDeletedKept, plans.WhyConflict}
			ch.Forget = nil
			ch.Conflicts = []plans.Conflict{{Field: "the entity", Resolution: dec.Winner, Rule: dec.Rule}}
			ch.Action, ch.Reason = plans.OpKeep, "deleted at source, but changed on the destination since the last sync: kept (conflict; --on-conflict source deletes it)"
			if dec.Winner == policy.WinnerFail {
				ch.Action, ch.Error = plans.OpError, ch.Label()+": deleted at the source and changed on the destination since the last sync, and --on-conflict fail"
			}
		case pl.o.Prune:
			ch.Action, ch.Why = plans.OpDelete, []string{plans.WhyDeletedPruned}
			ch.Reason = fmt.Sprintf("deleted at source: octobundle applied it (%s) and the bundle no longer has it (--prune)", pl.o.Base.From)
		default:
			ch.Action, ch.Why = plans.OpKeep, []string{plans.WhyDeletedKept}
			ch.Reason = "deleted at source; kept on the destination (--prune deletes it)"
			ch.Forget = nil
		}
		out = append(out, ch)
	}
	return out
}

// notWritten says why the destination entity dest at bundle path p is not
// one octobundle recorded writing ("" when it is): the base's record
// carries no server ID, or the destination's entity of that name carries
// another.
func (pl *planner) notWritten(k *schema.Kind, p string, dest *snapshot.Entity) string {
	id, ok := pl.o.Base.IDs[p]
	switch {
	case !ok:
		return fmt.Sprintf("the state records no server ID for %s, so nothing shows octobundle wrote it (a base file octobundle did not write, or a state from before IDs were recorded: re-apply once to record IDs — the last bundle that had it, with --allow-rollback if it is older)", p)
	case dest.ID != id:
		return fmt.Sprintf("the destination's %s is %s, not %s that octobundle wrote (replaced on the destination since)", k.Title, dest.ID, id)
	}
	return ""
}

// authoritative reports whether bundle b speaks for the entity (k, names):
// a whole-space export for everything, a partial one (export --project)
// only for the projects it selected and what they own.
func authoritative(b *bundles.Bundle, k *schema.Kind, names []string) bool {
	if len(b.Manifest.Projects) == 0 {
		return true
	}
	selected, ok := k.SelectedBy(names)
	if !ok {
		return false
	}
	for _, p := range b.Manifest.Projects {
		if strings.EqualFold(p, selected) {
			return true
		}
	}
	return false
}

// ownedBy reports whether the entity (k, names) lies below the entity
// (ok, onames).
func ownedBy(k *schema.Kind, names []string, ok *schema.Kind, onames []string) bool {
	for k.Parent != "" {
		pk := schema.MustLookup(k.Parent)
		if !k.IsSingleton() && k.Shape != schema.ShapeItems {
			names = names[:len(names)-1]
		}
		if pk.Name == ok.Name && len(names) == len(onames) && strings.EqualFold(strings.Join(names, "\x00"), strings.Join(onames, "\x00")) {
			return true
		}
		k = pk
	}
	return false
}

// whyOf turns what a merge found into a change's Why and reason text.
func whyOf(m *merger, hasBase bool) (why []string, reason []string) {
	if !hasBase {
		why = append(why, plans.WhyNoBase)
	}
	add := func(w string, items []string) {
		if len(items) == 0 {
			return
		}
		why = append(why, w)
		shown := items
		if len(shown) > 8 {
			shown = append(slices.Clone(shown[:8]), fmt.Sprintf("… %d more", len(items)-8))
		}
		reason = append(reason, w+": "+strings.Join(shown, ", "))
	}
	add(plans.WhySourceChanged, m.changed)
	add(plans.WhySourceDeleted, m.deleted)
	var drift []string
	for _, d := range m.drift {
		drift = append(drift, d.Label)
	}
	add(plans.WhyDrift, drift)
	var conflicts []string
	for _, c := range m.conflicts {
		conflicts = append(conflicts, c.Field+" → "+string(c.Resolution))
	}
	add(plans.WhyConflict, conflicts)
	add(plans.WhyDestOnly, m.kept)
	return why, reason
}

// changedSinceBase reports whether the destination entity dest differs
// from what octobundle last applied as (k, names): someone changed it on
// the destination since. An entity whose form cannot be read counts as
// changed.
//
// What the destination held after octobundle's last write (the state's
// written record) decides; without one (a --base bundle), the fields the
// base has, as the server's defaults fill the others.
func (pl *planner) changedSinceBase(k *schema.Kind, names []string, path string, dest *snapshot.Entity) bool {
	form, err := translate.ToBundle(pl.snap, dest)
	if err != nil {
		return true
	}
	if w, ok := pl.o.State.(WrittenChecker); ok && w.HasWritten(path, formSum(form)) {
		return false
	}
	base, ok := pl.baseDoc(k, names)
	if !ok {
		return true
	}
	bm, fm := asMap(base), asMap(form)
	if bm == nil || fm == nil {
		return !bundles.Equal(form, base)
	}
	for f, v := range bm {
		if !bundles.Equal(v, fm[f]) {
			return true
		}
	}
	return false
}
