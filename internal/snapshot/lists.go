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
// missing from the answer are missing from the result.
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
	for _, k := range schema.Kinds() {
		if k.ReadAll == "" || r.s.Parts[k.Name] || len(owners[k.Name]) == 0 {
			continue
		}
		t, err := r.listTasks(k, owners[k.Name], put)
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, t...)
	}
	return out, r.run(ctx, tasks)
}

// listTasks returns the requests that read the singletons of kind k owned
// by owners in list form, handing each one found to put.
func (r *reader) listTasks(k *schema.Kind, owners []*Entity, put func(k *schema.Kind, owner, e *Entity)) ([]func(context.Context) error, error) {
	path := r.c.SpacePath(k.ReadAll, false)
	if k.ReadAllBy == "" {
		// The whole space's singletons, each naming its owner.
		byID := map[string]*Entity{}
		for _, o := range owners {
			byID[o.ID] = o
		}
		return []func(context.Context) error{func(ctx context.Context) error {
			items, err := r.listAnswer(ctx, k, path)
			if err != nil || items == nil {
				return err
			}
			for i, raw := range items {
				it, err := singleton(k, raw)
				if err != nil {
					return fmt.Errorf("reading %s: GET %s: item %d: %w", k.Title, path, i, err)
				}
				if o := byID[it.parent]; o != nil {
					put(k, o, it.e)
				}
				items[i] = nil
			}
			return nil
		}}, nil
	}
	var tasks []func(context.Context) error
	for _, batch := range batches(k, owners, r.batch) {
		tasks = append(tasks, func(ctx context.Context) error {
			ids := make([]string, len(batch.ids))
			for i, id := range batch.ids {
				ids[i] = url.QueryEscape(id)
			}
			q := "ids=" + strings.Join(ids, ",")
			if k.ReadAllPaged {
				q += "&skip=0&take=" + strconv.Itoa(len(ids))
			}
			items, err := r.listAnswer(ctx, k, path+"?"+q)
			if err != nil || items == nil {
				return err
			}
			for i, raw := range items {
				it, err := singleton(k, raw)
				if err != nil {
					return fmt.Errorf("reading %s: GET %s: item %d: %w", k.Title, path, i, err)
				}
				// Only what was asked for: a server that ignores ids
				// answers more.
				if o := batch.owners[strings.ToLower(it.e.ID)]; o != nil {
					delete(batch.owners, strings.ToLower(it.e.ID))
					put(k, o, it.e)
				}
				items[i] = nil
			}
			return nil
		})
	}
	return tasks, nil
}

// listAnswer reads one list request of kind k: the items as the server
// sent them, or nil (and no error) when the server has no such list.
func (r *reader) listAnswer(ctx context.Context, k *schema.Kind, path string) ([]json.RawMessage, error) {
	var items []json.RawMessage
	var err error
	if k.ReadAllPaged {
		var raw json.RawMessage
		if raw, err = r.c.GetRaw(ctx, path); err == nil {
			var page struct{ Items []json.RawMessage }
			if err = json.Unmarshal(raw, &page); err != nil {
				err = fmt.Errorf("GET %s: %w", path, err)
			}
			items = page.Items
		}
	} else {
		items, err = r.c.GetArray(ctx, path)
	}
	if octopus.IsStatus(err, 404) {
		r.log.Debug("no list form; reading per owner", "kind", k.Name, "path", path)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", k.Title, err)
	}
	if items == nil {
		items = []json.RawMessage{}
	}
	return items, nil
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
// requests at once (of o, only Concurrency, ListBatch and Logger count).
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
	r := &reader{c: c, s: s, sem: make(chan struct{}, o.Concurrency), log: o.Logger, batch: listBatch(o)}
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
