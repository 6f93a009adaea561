package execute

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"

	"github.com/octobundle/octobundle/internal/octopus"

	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
)

// The singletons a wave of new owners brings (a new project's deployment
// process and variable set, a new runbook's process) must be read before
// their first PUT: the owner's POST answers only their IDs, and a PUT
// carries the document's Version and replaces the whole document. They are
// read as the snapshot reads a space (snapshot.ReadOwned): in list
// requests where the registry gives the kind a list form (Kind.ReadAll), a
// batch of owners each, instead of one GET per owner.

// want is a pass waiting for its singleton: its change and the owner.
type want struct {
	ch    *planned.Change
	owner *snapshot.Entity
}

// ownedRead is one change's singleton as its wave's list request read it.
// It is held packed until its pass takes it: a wave reads up to one
// singleton per new owner (thousands) before their passes run, and a
// decoded document is many times its packed form.
type ownedRead struct {
	done chan struct{} // closed once the batch's request is answered
	e    *snapshot.Entity
}

// readWave starts the list reads of the singletons that the passes of
// one wave (the tasks of one order) write and the snapshot lacks: the
// singletons of owners created in this run. They are read by kind
// (snapshot.ReadOwned), each request holding a slot of sem; wg covers
// them. A pass whose singleton the answer lacks reads it on its
// own (putSingleton).
func (x *executor) readWave(ctx context.Context, wave []*task, sem chan struct{}, wg *sync.WaitGroup) {
	byKind := map[*schema.Kind][]want{}
	var kinds []*schema.Kind
	for _, t := range wave {
		ch := x.changes[t.ci]
		if ch.Action != plans.OpCreate && ch.Action != plans.OpUpdate {
			continue
		}
		k := schema.MustLookup(ch.Kind)
		if !k.IsSingleton() || k.ReadAll == "" || x.snap.Parts[k.Name] || k.Shape == schema.ShapeBinary {
			continue
		}
		if x.snap.Find(k.Name, ch.Names...) != nil {
			continue
		}
		owner, err := x.owner(k, ch)
		if err != nil {
			continue // the pass fails on its own
		}
		x.mu.Lock()
		if x.readback == nil {
			x.readback = map[*planned.Change]*ownedRead{}
		}
		_, seen := x.readback[ch]
		if !seen {
			x.readback[ch] = &ownedRead{done: make(chan struct{})}
		}
		x.mu.Unlock()
		if seen {
			continue
		}
		if byKind[k] == nil {
			kinds = append(kinds, k)
		}
		byKind[k] = append(byKind[k], want{ch, owner})
	}
	for _, k := range kinds {
		// A kind whose list takes ids is read a batch of owners per call,
		// so each batch's passes start as soon as its answer is in; a kind
		// read through its whole list (no ids) in one call.
		chunks := [][]want{byKind[k]}
		if k.ReadAllIDs {
			chunks = nil
			for all := byKind[k]; len(all) > 0; {
				n := min(len(all), snapshot.ListBatch)
				chunks, all = append(chunks, all[:n]), all[n:]
			}
		}
		for _, wants := range chunks {
			x.readChunk(ctx, k, wants, sem, wg)
		}
	}
}

// readChunk reads the singletons of kind k that wants' owners hold
// (snapshot.ReadOwned), each request holding a slot of sem, and hands
// them to the waiting passes; wg covers it.
func (x *executor) readChunk(ctx context.Context, k *schema.Kind, wants []want, sem chan struct{}, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		owners := make([]*snapshot.Entity, len(wants))
		for i, w := range wants {
			owners[i] = w.owner
		}
		// Each list request holds a slot of sem, as a pass does.
		got, err := x.snap.ReadOwned(ctx, x.c, k, owners, snapshot.Options{Slots: sem, Logger: x.log})
		if err != nil {
			// Each pass reads its own singleton (putSingleton) and
			// reports what fails then.
			x.log.Debug("reading in list requests", "kind", k.Title, "error", err)
		}
		x.mu.Lock()
		rs := make([]*ownedRead, len(wants))
		for i, w := range wants {
			rs[i] = x.readback[w.ch]
			rs[i].e = got[w.owner]
		}
		x.mu.Unlock()
		for _, r := range rs {
			close(r.done)
		}
	}()
}

// readbackOf returns change ci's pending list read, if any.
func (x *executor) readbackOf(ci int) *ownedRead {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.readback[x.changes[ci]]
}

// takeReadback returns (once) the live singleton of ch its wave read, nil
// if none was read for it.
func (x *executor) takeReadback(ch *planned.Change) map[string]any {
	x.mu.Lock()
	r := x.readback[ch]
	if r != nil {
		delete(x.readback, ch)
	}
	x.mu.Unlock()
	if r == nil {
		return nil
	}
	select {
	case <-r.done:
		if r.e == nil {
			return nil
		}
		return r.e.Object() // decoded outside the lock: every pass takes it
	default:
		return nil
	}
}

// A wave that creates the children of many new owners, where the server
// made some with each owner (schema.Kind.MadeWithParent: a new project's
// Default channel), reads the kind's whole collection once, in pages,
// instead of listing each owner's children on its own (2,000 GETs
// projects/{id}/channels in an N = 2,000 apply to an empty destination):
// when the collection's pages — the destination's entities of the kind as
// read, plus one made with each new owner — are fewer than the owners.
// All owners of the wave exist by then (waves run one after another), so
// the collection holds what the server made with each.

// wholeList is one wave's read of a kind's whole collection, grouped by
// owner and kept as the server sent it until each owner's pass takes its
// part.
type wholeList struct {
	k       *schema.Kind
	once    sync.Once
	err     error
	byOwner map[string][]json.RawMessage
}

// readMade prepares, for the kinds whose new owners' children the wave
// creates, the read of the kind's whole collection where it takes fewer
// requests than one per owner; the first pass that needs it reads it
// (wholeList.take).
func (x *executor) readMade(wave []*task) {
	owners := map[*schema.Kind][]*snapshot.Entity{}
	seen := map[*snapshot.Entity]bool{}
	var kinds []*schema.Kind
	for _, t := range wave {
		ch := x.changes[t.ci]
		k := schema.MustLookup(ch.Kind)
		if ch.Action != plans.OpCreate || !k.MadeWithParent {
			continue
		}
		owner, err := x.owner(k, ch)
		if err != nil || owner == nil || seen[owner] || !x.wasCreated(k.Parent, owner.Names()) {
			continue
		}
		seen[owner] = true
		if owners[k] == nil {
			kinds = append(kinds, k)
		}
		owners[k] = append(owners[k], owner)
	}
	for _, k := range kinds {
		os := owners[k]
		pages := (len(x.snap.Entities(k.Name))+len(os))/octopus.PageSize + 1
		if len(os) <= pages {
			continue
		}
		w := &wholeList{k: k}
		x.mu.Lock()
		if x.made == nil {
			x.made = map[string]*madeList{}
		}
		for _, o := range os {
			key := k.Name + "\x00" + o.ID
			if x.made[key] == nil {
				x.made[key] = &madeList{whole: w}
			}
		}
		x.mu.Unlock()
	}
}

// take returns the owner's part of the whole collection, reading it on
// the first call; false when the read failed (the caller lists the
// owner's children on its own).
func (w *wholeList) take(ctx context.Context, x *executor, ownerID string) ([]map[string]any, bool) {
	w.once.Do(func() {
		q := url.Values{}
		for f, v := range w.k.Filter {
			q.Set(f, v)
		}
		defer func() {
			if w.err != nil {
				x.log.Debug("reading a whole collection; listing per owner instead", "kind", w.k.Title, "error", w.err)
			}
		}()
		raw, err := x.c.ListRaw(ctx, x.collectionPath(w.k), q)
		if err != nil {
			w.err = err
			return
		}
		w.byOwner = map[string][]json.RawMessage{}
		for _, r := range raw {
			// Decoded once here for its owner and again when taken: the
			// raw text is what waits, a fraction of the decoded size.
			m, err := snapshot.DecodeObject(r)
			if err != nil {
				w.err = fmt.Errorf("GET %s: %w", x.collectionPath(w.k), err)
				return
			}
			owner, _ := m[w.k.ParentField].(string)
			w.byOwner[owner] = append(w.byOwner[owner], r)
		}
	})
	if w.err != nil {
		return nil, false
	}
	x.mu.Lock()
	raw := w.byOwner[ownerID]
	delete(w.byOwner, ownerID)
	x.mu.Unlock()
	items := make([]map[string]any, 0, len(raw))
	for _, r := range raw {
		m, err := snapshot.DecodeObject(r)
		if err != nil {
			return nil, false
		}
		items = append(items, m)
	}
	return items, true
}
