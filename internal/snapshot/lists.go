package snapshot

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/octobundle/octobundle/internal/limits"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/schema"
)

// The singletons of a kind with a list form (schema.Kind.ReadAll) are read
// in list requests: a batch of owners per request, asked for by the IDs
// of their singletons, all batches of all kinds at once. An owner the
// answer lacks, and every owner of a batch whose list request answers 404
// (a server without the list form), is read on its own at Read.

// ListBatch is how many singletons one list request asks for unless
// Options.ListBatch says otherwise. Measured with octobench at N = 500
// (docs/bench/skips.md): a read makes 1,280 requests at 50, 1,260 at 100
// and 1,251 with as many IDs as fit maxIDsQuery (about 190), with the
// same peak memory; beyond 100 a batch saves one request per 100 owners
// while a page of 100 processes is already about 0.8 MB.
const ListBatch = 100

// maxIDsQuery bounds the bytes of a list request's ids parameter, so its
// request line stays well below the 8 KiB that Kestrel (Octopus Server on
// Linux) and common reverse proxies accept by default.
const maxIDsQuery = 6000

// owned reads the singletons of kinds read per owner (processes, variable
// sets, tenant variables, deployment settings, logos) in one group: every
// list request and every per-owner read at once.
type owned struct {
	r *reader
	g *group
	// got receives each singleton read, its Name and Owner set.
	got func(k *schema.Kind, owner, e *Entity)
	// settled, if set, is told once per kind and owner that the owner's
	// singleton of that kind is read, or that it has none.
	settled func(owner *Entity)
}

// read queues the reads of the singletons of every kind in owners: in
// list requests where the kind has a list form and is not read as parts,
// per owner otherwise, and per owner for the owners a list answer lacks
// (a server without the list form answers 404: every owner of that
// request). A whole space's paged list is read in two rounds: as many
// pages as the owners fill, all at once, then any the server's total says
// remain.
//
// The requests are queued in the order of the owners they read, by rank
// (nil: the owners' order within their kind): a list request where its
// first owner goes, among the per-owner reads. A list answer costs the
// CPU of decoding up to a megabyte, a per-owner read mostly waits, so
// spreading the lists among the reads keeps both the cores and the
// request slots busy; with the lists first, the reads of an N = 2,000
// export waited some 2.5 s for the lists' decoding with 1 to 3 of 8
// requests in flight. The owners' documents come in the order of their
// top-level entities, so those are complete (Options.Ready) one by one.
func (o *owned) read(owners map[string][]*Entity, rank func(*Entity) int) {
	type queued struct {
		at   int // the rank of the first owner it reads
		task func(context.Context) error
	}
	var q []queued
	for _, k := range schema.Kinds() {
		os := owners[k.Name]
		n := len(os)
		if n == 0 {
			continue
		}
		at := rank
		if at == nil {
			index := make(map[*Entity]int, n)
			for i, ow := range os {
				index[ow] = i
			}
			at = func(ow *Entity) int { return index[ow] }
		}
		l := &lister{o: o, k: k, path: o.r.c.SpacePath(k.ReadAll, false)}
		var without []*Entity
		switch {
		case k.ReadAll == "" || o.r.s.Parts[k.Name] || (k.ReadAllPaged && !k.ReadAllIDs && n < o.r.minWhole):
			// Per owner: no list form, or fewer owners than a page.
			without = os
		case k.ReadAllIDs:
			var bs []batch
			bs, without = batches(k, os, o.r.batch)
			for _, b := range bs {
				q = append(q, queued{at(b.order[0]), l.byIDs(b)})
			}
		case k.ReadAllPaged:
			p := &pagedList{lister: l, owners: map[string]*Entity{}}
			for _, ow := range os {
				if id := strings.ToLower(ownerField(ow, k.ReadAllBy)); id != "" && p.owners[id] == nil {
					p.owners[id] = ow
					p.order = append(p.order, ow)
				} else {
					without = append(without, ow)
				}
			}
			// The list is the server's order, not the owners': page i is
			// placed i/pages of the way through them.
			pages := (n + o.r.batch - 1) / o.r.batch
			for i, t := range p.pages(0, pages) {
				q = append(q, queued{at(os[i*n/pages]), t})
			}
		default:
			q = append(q, queued{at(os[0]), l.whole(os)})
		}
		for _, ow := range without {
			q = append(q, queued{at(ow), o.one(k, ow)})
		}
	}
	slices.SortStableFunc(q, func(a, b queued) int { return a.at - b.at })
	tasks := make([]func(context.Context) error, len(q))
	for i, t := range q {
		tasks[i] = t.task
	}
	o.g.add(tasks...)
}

// one returns the task reading owner's singleton of kind k on its own.
func (o *owned) one(k *schema.Kind, owner *Entity) func(context.Context) error {
	return func(ctx context.Context) error {
		e, err := o.r.readOne(ctx, k, owner)
		if err != nil {
			return err
		}
		if e != nil {
			o.got(k, owner, e)
		}
		if o.settled != nil {
			o.settled(owner)
		}
		return nil
	}
}

// fallback queues, first, the per-owner reads of the owners a list
// request was to read but whose answer lacked them.
func (o *owned) fallback(k *schema.Kind, owners []*Entity) {
	if len(owners) == 0 {
		return
	}
	o.r.log.Debug("reading per owner what a list lacked", "kind", k.Name, "owners", len(owners))
	tasks := make([]func(context.Context) error, len(owners))
	for i, ow := range owners {
		tasks[i] = o.one(k, ow)
	}
	o.g.addFirst(tasks...)
}

// lister reads the list form of one kind.
type lister struct {
	o    *owned
	k    *schema.Kind
	path string // the list's path, without a query
}

// take hands the items of one answer to their owners in index (by the
// lower-cased ID of their singleton, or by owner ID when the kind has no
// ReadAllBy), ignoring the rest (what was not asked for: a release's
// frozen copy, another batch's). mu, if set, guards index.
func (l *lister) take(items []json.RawMessage, index map[string]*Entity, mu *sync.Mutex) error {
	for i, raw := range items {
		it, err := singleton(l.k, raw)
		if err != nil {
			return fmt.Errorf("reading %s: GET %s: item %d: %w", l.k.Title, l.path, i, err)
		}
		key := it.parent
		if l.k.ReadAllBy != "" {
			key = strings.ToLower(it.e.ID)
		}
		if mu != nil {
			mu.Lock()
		}
		o := index[key]
		delete(index, key)
		if mu != nil {
			mu.Unlock()
		}
		if o != nil {
			it.e.Name, it.e.Owner = o.Name, o
			l.o.got(l.k, o, it.e)
			if l.o.settled != nil {
				l.o.settled(o)
			}
		}
		items[i] = nil
	}
	return nil
}

// left returns the owners, in order, that index still holds under key.
func left(order []*Entity, index map[string]*Entity, key func(*Entity) string) []*Entity {
	var out []*Entity
	for _, o := range order {
		if index[key(o)] == o {
			out = append(out, o)
		}
	}
	return out
}

// whole returns the request reading the whole space's singletons as one
// bare array, each naming its owner in ParentField (tenantvariables/all).
func (l *lister) whole(owners []*Entity) func(context.Context) error {
	byID := map[string]*Entity{}
	for _, o := range owners {
		byID[o.ID] = o
	}
	return func(ctx context.Context) error {
		items, _, err := l.o.r.listAnswer(ctx, l.k, l.path)
		if err != nil {
			return err
		}
		if items != nil {
			if err := l.take(items, byID, nil); err != nil {
				return err
			}
		}
		l.o.fallback(l.k, left(owners, byID, func(o *Entity) string { return o.ID }))
		return nil
	}
}

// byIDs returns the request reading one batch of owners' singletons by
// their IDs (deploymentprocesses?ids=, variables/all?ids=).
func (l *lister) byIDs(b batch) func(context.Context) error {
	return func(ctx context.Context) error {
		ids := make([]string, len(b.ids))
		for i, id := range b.ids {
			ids[i] = url.QueryEscape(id)
		}
		q := "ids=" + strings.Join(ids, ",")
		if l.k.ReadAllPaged {
			q += "&skip=0&take=" + strconv.Itoa(len(ids))
		}
		items, _, err := l.o.r.listAnswer(ctx, l.k, l.path+"?"+q)
		if err != nil {
			return err
		}
		if items != nil {
			// Only what was asked for: a server that ignores ids
			// answers more.
			if err := l.take(items, b.owners, nil); err != nil {
				return err
			}
		}
		l.o.fallback(l.k, left(b.order, b.owners, func(o *Entity) string { return strings.ToLower(ownerField(o, l.k.ReadAllBy)) }))
		return nil
	}
}

// pagedList is a whole space's paged list (runbookProcesses, which takes
// no ids), matched to the owners by the IDs they name.
type pagedList struct {
	*lister
	order  []*Entity // the owners, in order
	mu     sync.Mutex
	owners map[string]*Entity // by the lower-cased ID of their singleton
	total  int                // as the server reports it
	asked  int                // pages asked for
	open   int                // pages asked for and not answered
	none   bool               // the list answered 404
}

// pages returns the requests for pages from to to-1. When the last of
// the first round is answered, it queues the pages the server's total
// says remain, unless every owner has its singleton already; when the
// last of all is answered, the per-owner reads of the owners none held.
func (p *pagedList) pages(from, to int) []func(context.Context) error {
	var tasks []func(context.Context) error
	for n := from; n < to; n++ {
		tasks = append(tasks, func(ctx context.Context) error {
			q := "skip=" + strconv.Itoa(n*p.o.r.batch) + "&take=" + strconv.Itoa(p.o.r.batch)
			items, total, err := p.o.r.listAnswer(ctx, p.k, p.path+"?"+q)
			if err != nil {
				return err
			}
			p.mu.Lock()
			if items == nil {
				p.none = true
			} else if total > p.total {
				p.total = total
			}
			p.mu.Unlock()
			if err := p.take(items, p.owners, &p.mu); err != nil {
				return err
			}
			p.mu.Lock()
			p.open--
			var more []func(context.Context) error
			if p.open == 0 && !p.none && len(p.owners) > 0 {
				more = p.pages(p.asked, (p.total+p.o.r.batch-1)/p.o.r.batch)
			}
			var rest []*Entity
			if p.open == 0 && len(more) == 0 {
				rest = left(p.order, p.owners, func(o *Entity) string { return strings.ToLower(ownerField(o, p.k.ReadAllBy)) })
			}
			p.mu.Unlock()
			p.o.g.addFirst(more...)
			p.o.fallback(p.k, rest)
			return nil
		})
	}
	p.asked = max(p.asked, to)
	p.open += len(tasks)
	return tasks
}

// listAnswer reads one list request of kind k: the items as the server
// sent them and, for a page, the total it reports; nil items (and no
// error) when the server has no such list.
func (r *reader) listAnswer(ctx context.Context, k *schema.Kind, path string) ([]json.RawMessage, int, error) {
	var items []json.RawMessage
	var total int
	var err error
	if k.ReadAllPaged {
		var raw json.RawMessage
		raw, err = r.c.GetRaw(ctx, path)
		answered(ctx)
		if err == nil {
			var page struct {
				Items        []json.RawMessage
				TotalResults int
			}
			if err = json.Unmarshal(raw, &page); err != nil {
				err = fmt.Errorf("GET %s: %w", path, err)
			}
			items, total = page.Items, page.TotalResults
			if total > limits.CollectionItems {
				return nil, 0, &limits.Error{Subject: "GET " + path + fmt.Sprintf(": the server reports %d items", total),
					Limit: "collection size", Max: limits.CollectionItems, Unit: "items"}
			}
		}
	} else {
		items, err = r.c.GetArray(ctx, path)
		answered(ctx)
	}
	if octopus.IsStatus(err, 404) {
		r.log.Debug("no list form; reading per owner", "kind", k.Name, "path", path)
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("reading %s: %w", k.Title, err)
	}
	if items == nil {
		items = []json.RawMessage{}
	}
	return items, total, nil
}

// batch is the owners one list request asks for, in order, by the
// lower-cased ID of their singleton, and those IDs in order.
type batch struct {
	ids    []string
	order  []*Entity
	owners map[string]*Entity
}

// batches cuts owners into list requests of at most size IDs and
// maxIDsQuery bytes of ids. Owners without the ID field, and a second
// owner naming an ID of the batch, are returned apart, to be read on
// their own.
func batches(k *schema.Kind, owners []*Entity, size int) (out []batch, without []*Entity) {
	var cur batch
	bytes := 0
	for _, o := range owners {
		id := ownerField(o, k.ReadAllBy)
		if id == "" || cur.owners[strings.ToLower(id)] != nil {
			without = append(without, o)
			continue
		}
		n := len(url.QueryEscape(id)) + 1
		if len(cur.ids) > 0 && (len(cur.ids) >= size || bytes+n > maxIDsQuery) {
			out = append(out, cur)
			cur, bytes = batch{}, 0
		}
		if cur.owners == nil {
			cur.owners = map[string]*Entity{}
		}
		cur.ids = append(cur.ids, id)
		cur.order = append(cur.order, o)
		cur.owners[strings.ToLower(id)] = o
		bytes += n
	}
	if len(cur.ids) > 0 {
		out = append(out, cur)
	}
	return out, without
}

// ownerField returns a string field of the owner's document.
func ownerField(o *Entity, field string) string {
	if field == "Id" {
		return o.ID
	}
	return str(o.Object()[field])
}

// readOne reads the singleton of kind k that owner owns on its own (a
// logo, a parts document, a GET at Read): nil when the server has none (a
// project without a logo).
func (r *reader) readOne(ctx context.Context, k *schema.Kind, owner *Entity) (*Entity, error) {
	c := r.c
	if k.Shape == schema.ShapeBinary {
		path, err := expandFor(k.Read, owner)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", owner.Label(), err)
		}
		bin, err := c.GetBinary(ctx, c.SpacePath(path, false))
		answered(ctx)
		if octopus.IsStatus(err, 404) {
			return nil, nil // none: no entity, no file
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s of %s: %w", k.Name, owner.Label(), err)
		}
		if len(bin.Data) == 0 {
			return nil, nil
		}
		return NewEntity(k, "", owner.Name, owner, bin.Data), nil
	}
	if r.s.Parts[k.Name] {
		doc, err := ReadParts(ctx, c, k, owner.Object())
		if err != nil {
			return nil, fmt.Errorf("reading %s of %s: %w", k.Name, owner.Label(), err)
		}
		return NewEntity(k, "", owner.Name, owner, doc), nil
	}
	path, err := expandFor(k.Read, owner)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", owner.Label(), err)
	}
	path = c.SpacePath(path, false)
	raw, err := c.GetRaw(ctx, path)
	answered(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading %s of %s: %w", k.Name, owner.Label(), err)
	}
	it, err := singleton(k, raw)
	if err != nil {
		return nil, fmt.Errorf("reading %s of %s: GET %s: %w", k.Name, owner.Label(), path, err)
	}
	it.e.Name, it.e.Owner = owner.Name, owner
	return it.e, nil
}

// ReadOwned reads the singletons of kind k (a kind with a Read path) that
// owners own — entities of k.Parent whose documents are as the server
// answered them, carrying the field that names their singleton — the way
// Read does: in list requests where the kind has a list form, on their
// own otherwise and for owners a list answer lacks, at most o.Concurrency
// requests at once (of o, only Concurrency, Slots, ListBatch and Logger count).
// It returns the entities by owner, their Name and Owner set, not added
// to s (the caller adds them, s.Add); an owner without one (a project
// without a logo) is absent. s tells how the server serves the kind
// (s.Parts). Apply calls it after creating owners, to read the
// singletons the server made for them, with their Version, before
// writing them.
func (s *Snapshot) ReadOwned(ctx context.Context, c *octopus.Client, k *schema.Kind, owners []*Entity, o Options) (map[*Entity]*Entity, error) {
	if k.Read == "" {
		return nil, fmt.Errorf("snapshot: %s is not read per owner", k.Name)
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	// A whole space's paged list (a kind whose list takes no ids) only when
	// its pages are fewer than the owners: the space holds about as many
	// singletons as s holds owners.
	batch := listBatch(o)
	pages := (len(s.Entities(k.Parent)) + batch - 1) / batch
	r := &reader{c: c, s: s, sem: o.slots(), log: o.Logger, batch: batch, minWhole: pages + 1}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	out := map[*Entity]*Entity{}
	var mu sync.Mutex
	g := r.group(ctx)
	rd := &owned{r: r, g: g, got: func(_ *schema.Kind, owner, e *Entity) {
		mu.Lock()
		out[owner] = e
		mu.Unlock()
	}}
	rd.read(map[string][]*Entity{k.Name: owners}, nil)
	if err := g.wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// listBatch is the batch size o asks for, ListBatch by default.
func listBatch(o Options) int {
	if o.ListBatch > 0 {
		return o.ListBatch
	}
	return ListBatch
}
