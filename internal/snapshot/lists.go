package snapshot

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
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

// readLists reads, for every kind in owners that has a list form and is
// not read as parts, the singletons of those owners in list requests, and
// returns them by kind and owner, with their Name and Owner set. Owners
// missing from the answers are missing from the result. A whole space's
// paged list is read in two rounds: as many pages as the owners fill,
// all at once, then any the server's total says remain.
func (r *reader) readLists(ctx context.Context, owners map[string][]*Entity) (map[string]map[*Entity]*Entity, error) {
	out := map[string]map[*Entity]*Entity{}
	var mu sync.Mutex
	put := func(k *schema.Kind, owner, e *Entity) {
		e.Name, e.Owner = owner.Name, owner
		mu.Lock()
		defer mu.Unlock()
		m := out[k.Name]
		if m == nil {
			m = map[*Entity]*Entity{}
			out[k.Name] = m
		}
		m[owner] = e
	}
	var tasks []func(context.Context) error
	var paged []*pagedList
	for _, k := range schema.Kinds() {
		n := len(owners[k.Name])
		if k.ReadAll == "" || r.s.Parts[k.Name] || n == 0 {
			continue
		}
		l := &lister{r: r, k: k, path: r.c.SpacePath(k.ReadAll, false), put: put}
		switch {
		case k.ReadAllIDs:
			tasks = append(tasks, l.byIDs(owners[k.Name])...)
		case k.ReadAllPaged:
			if n < r.minWhole {
				continue // fewer owners than a page: read on their own
			}
			p := &pagedList{lister: l, owners: ownerIndex(k, owners[k.Name])}
			paged = append(paged, p)
			tasks = append(tasks, p.pages(0, (n+r.batch-1)/r.batch)...)
		default:
			tasks = append(tasks, l.whole(owners[k.Name]))
		}
	}
	if err := r.run(ctx, tasks); err != nil {
		return nil, err
	}
	tasks = nil
	for _, p := range paged {
		tasks = append(tasks, p.rest()...)
	}
	return out, r.run(ctx, tasks)
}

// lister reads the list form of one kind.
type lister struct {
	r    *reader
	k    *schema.Kind
	path string // the list's path, without a query
	put  func(k *schema.Kind, owner, e *Entity)
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
			l.put(l.k, o, it.e)
		}
		items[i] = nil
	}
	return nil
}

// whole returns the request reading the whole space's singletons as one
// bare array, each naming its owner in ParentField (tenantvariables/all).
func (l *lister) whole(owners []*Entity) func(context.Context) error {
	byID := map[string]*Entity{}
	for _, o := range owners {
		byID[o.ID] = o
	}
	return func(ctx context.Context) error {
		items, _, err := l.r.listAnswer(ctx, l.k, l.path)
		if err != nil || items == nil {
			return err
		}
		return l.take(items, byID, nil)
	}
}

// byIDs returns the requests reading the owners' singletons by their IDs,
// a batch a request (deploymentprocesses?ids=, variables/all?ids=).
func (l *lister) byIDs(owners []*Entity) []func(context.Context) error {
	var tasks []func(context.Context) error
	for _, batch := range batches(l.k, owners, l.r.batch) {
		tasks = append(tasks, func(ctx context.Context) error {
			ids := make([]string, len(batch.ids))
			for i, id := range batch.ids {
				ids[i] = url.QueryEscape(id)
			}
			q := "ids=" + strings.Join(ids, ",")
			if l.k.ReadAllPaged {
				q += "&skip=0&take=" + strconv.Itoa(len(ids))
			}
			items, _, err := l.r.listAnswer(ctx, l.k, l.path+"?"+q)
			if err != nil || items == nil {
				return err
			}
			// Only what was asked for: a server that ignores ids
			// answers more.
			return l.take(items, batch.owners, nil)
		})
	}
	return tasks
}

// pagedList is a whole space's paged list (runbookProcesses, which takes
// no ids), matched to the owners by the IDs they name.
type pagedList struct {
	*lister
	mu     sync.Mutex
	owners map[string]*Entity // by the lower-cased ID of their singleton
	total  int                // as the server reports it
	asked  int                // pages asked for
	none   bool               // the list answered 404
}

// pages returns the requests for pages from to to-1.
func (p *pagedList) pages(from, to int) []func(context.Context) error {
	var tasks []func(context.Context) error
	for n := from; n < to; n++ {
		tasks = append(tasks, func(ctx context.Context) error {
			q := "skip=" + strconv.Itoa(n*p.r.batch) + "&take=" + strconv.Itoa(p.r.batch)
			items, total, err := p.r.listAnswer(ctx, p.k, p.path+"?"+q)
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
			return p.take(items, p.owners, &p.mu)
		})
	}
	p.asked = max(p.asked, to)
	return tasks
}

// rest returns the requests for the pages the server's total says remain
// after the first round, unless every owner has its singleton already.
func (p *pagedList) rest() []func(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.none || len(p.owners) == 0 {
		return nil
	}
	return p.pages(p.asked, (p.total+p.r.batch-1)/p.r.batch)
}

// ownerIndex maps the lower-cased IDs of the owners' singletons (their
// field k.ReadAllBy) to the owners.
func ownerIndex(k *schema.Kind, owners []*Entity) map[string]*Entity {
	out := map[string]*Entity{}
	for _, o := range owners {
		if id := ownerField(o, k.ReadAllBy); id != "" {
			out[strings.ToLower(id)] = o
		}
	}
	return out
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
		if raw, err = r.c.GetRaw(ctx, path); err == nil {
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

// batch is the owners one list request asks for, by the lower-cased ID of
// their singleton, and those IDs in order.
type batch struct {
	ids    []string
	owners map[string]*Entity
}

// batches cuts owners into list requests of at most size IDs and
// maxIDsQuery bytes of ids. Owners without the ID field are left out:
// they are read on their own.
func batches(k *schema.Kind, owners []*Entity, size int) []batch {
	var out []batch
	var cur batch
	bytes := 0
	for _, o := range owners {
		id := ownerField(o, k.ReadAllBy)
		if id == "" || cur.owners[strings.ToLower(id)] != nil {
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
		cur.owners[strings.ToLower(id)] = o
		bytes += n
	}
	if len(cur.ids) > 0 {
		out = append(out, cur)
	}
	return out
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
	listed, err := r.readLists(ctx, map[string][]*Entity{k.Name: owners})
	if err != nil {
		return nil, err
	}
	out := listed[k.Name]
	if out == nil {
		out = map[*Entity]*Entity{}
	}
	var mu sync.Mutex
	var tasks []func(context.Context) error
	for _, owner := range owners {
		if out[owner] != nil {
			continue
		}
		tasks = append(tasks, func(ctx context.Context) error {
			e, err := r.readOne(ctx, k, owner)
			if e != nil {
				mu.Lock()
				out[owner] = e
				mu.Unlock()
			}
			return err
		})
	}
	if err := r.run(ctx, tasks); err != nil {
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
