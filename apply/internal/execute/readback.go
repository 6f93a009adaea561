package execute

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
)

// The singletons a wave of new owners brings (a new project's deployment
// process and variable set, a new runbook's process) must be read before
// their first PUT: the owner's POST answers only their IDs, and a PUT
// carries the document's Version and replaces the whole document. They are
// read in list requests, a batch of owners each, instead of one GET per
// owner (see readOwned).

// readBatch is how many singletons one list request asks for: a page of
// 100 deployment processes is about 0.8 MB, and fewer requests stop paying
// below about 100 per request (measured by the readlist work of issue 20).
const readBatch = 100

// maxIDsQuery bounds the bytes of a list request's ids parameter, so its
// request line stays well below the 8 KiB that Kestrel (Octopus Server on
// Linux) and common reverse proxies accept by default.
const maxIDsQuery = 6000

// listable matches a Read path that names the singleton by an ID field of
// its owner ("deploymentprocesses/{DeploymentProcessId}"): its collection
// has a list form that takes ids.
var listable = regexp.MustCompile(`^([A-Za-z]+)/\{([A-Za-z]+)\}$`)

// listForms are the list requests tried, in order, for a collection: the
// paged collection with ids (deploymentprocesses{?skip,take,ids}, the root
// document's DeploymentProcesses and RunbookProcesses links), then the
// bare array of variables/all{?ids} (OctopusClients' VariableSetRepository
// GetAll; the 2021.2 API description has no paged variables list). A
// server that answers a form 404 (or 405) gets the next; one that answers
// none has each singleton read on its own.
var listForms = []func(coll string) (path string, paged bool){
	func(coll string) (string, bool) { return coll, true },
	func(coll string) (string, bool) { return coll + "/all", false },
}

// readOwned reads, in list requests, the singletons of kind k that owners
// hold, and returns them by owner ID. An owner whose singleton the answers
// lack is missing from the result (its caller reads it at Read); so is
// every owner when k has no list form. It is the one place apply reads a
// kind in list form: at merge it becomes a call to the snapshot's list
// read (snapshot.ReadOwned), which knows each kind's form from the
// registry.
func readOwned(ctx context.Context, c *octopus.Client, forms *formCache, k *schema.Kind, owners []*snapshot.Entity) (map[string]map[string]any, error) {
	m := listable.FindStringSubmatch(k.Read)
	if m == nil || k.Shape == schema.ShapeParts || k.Shape == schema.ShapeBinary {
		return nil, nil
	}
	coll, field := m[1], m[2]
	byID := map[string]string{} // singleton ID (lower case) → owner ID
	var ids []string
	for _, o := range owners {
		id, _ := o.Object()[field].(string)
		if id == "" || byID[strings.ToLower(id)] != "" {
			continue
		}
		byID[strings.ToLower(id)] = o.ID
		ids = append(ids, id)
	}
	out := map[string]map[string]any{}
	for len(ids) > 0 {
		n, size := 0, 0
		for n < len(ids) && n < readBatch && size+len(ids[n])+3 <= maxIDsQuery {
			size += len(ids[n]) + 3 // the escaped comma
			n++
		}
		if n == 0 {
			n = 1
		}
		batch := ids[:n]
		ids = ids[n:]
		items, err := forms.list(ctx, c, coll, batch)
		if err != nil {
			return out, err
		}
		for _, it := range items {
			id, _ := it["Id"].(string)
			// Only what was asked for: a server that ignores ids answers
			// more (and a real server's lists hold release and runbook
			// snapshots too).
			if owner := byID[strings.ToLower(id)]; owner != "" {
				out[owner] = it
			}
		}
	}
	return out, nil
}

// formCache remembers, per collection, which list form the server
// answers (an index into listForms; len(listForms): none).
type formCache struct {
	mu   sync.Mutex
	form map[string]int
}

// list asks coll's list form for the documents with ids.
func (f *formCache) list(ctx context.Context, c *octopus.Client, coll string, ids []string) ([]map[string]any, error) {
	f.mu.Lock()
	if f.form == nil {
		f.form = map[string]int{}
	}
	i := f.form[coll]
	f.mu.Unlock()
	for ; i < len(listForms); i++ {
		path, paged := listForms[i](coll)
		items, err := listIDs(ctx, c, c.SpacePath(path, false), paged, ids)
		if errors.Is(err, errIgnoresIDs) {
			f.mu.Lock()
			f.form[coll] = max(f.form[coll], i+1)
			f.mu.Unlock()
			return items, nil // what it found is good; the rest is read on its own
		}
		if octopus.IsStatus(err, http.StatusNotFound) || octopus.IsStatus(err, http.StatusMethodNotAllowed) {
			continue
		}
		f.mu.Lock()
		if i > f.form[coll] {
			f.form[coll] = i
		}
		f.mu.Unlock()
		return items, err
	}
	f.mu.Lock()
	f.form[coll] = len(listForms)
	f.mu.Unlock()
	return nil, nil
}

// errIgnoresIDs says a list form answered more than the ids asked for.
var errIgnoresIDs = errors.New("the server ignores ids in this list request")

// listIDs reads the documents with ids from a list form at path: pages
// of a collection, or one bare array.
func listIDs(ctx context.Context, c *octopus.Client, path string, paged bool, ids []string) ([]map[string]any, error) {
	q := url.Values{"ids": {strings.Join(ids, ",")}}
	if paged {
		// One page holds a whole batch (octopus.PageSize > readBatch). A
		// server that ignores ids (its API description for the kind has
		// none) reports more items than were asked for: its pages are not
		// read on, and the form is not used again.
		raw, total, err := c.ListPage(ctx, path, q, 0)
		if err != nil {
			return nil, err
		}
		out := make([]map[string]any, 0, len(raw))
		for i, r := range raw {
			v, err := jsonv.Decode(r)
			if err != nil {
				return nil, fmt.Errorf("GET %s: item %d: %w", path, i, err)
			}
			if m, ok := v.(map[string]any); ok {
				out = append(out, m)
			}
		}
		if total > len(ids) {
			return out, errIgnoresIDs
		}
		return out, nil
	}
	v, err := c.GetAny(ctx, path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("GET %s: the answer is not an array", path)
	}
	out := make([]map[string]any, 0, len(arr))
	for _, it := range arr {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// ownedRead is one change's singleton as its wave's list request read it.
type ownedRead struct {
	done chan struct{} // closed once the batch's request is answered
	doc  map[string]any
}

// readWave starts the list reads of the singletons that the passes of
// one wave (the tasks of one order) write and the snapshot lacks: the
// singletons of owners created in this run. They are read by kind, a
// batch of owners per request, each batch holding a request slot of sem;
// wg covers them. A pass whose singleton the answer lacks reads it on its
// own (putSingleton).
func (x *executor) readWave(ctx context.Context, wave []*task, sem chan struct{}, wg *sync.WaitGroup) {
	type want struct {
		ch    *planned.Change
		owner *snapshot.Entity
	}
	byKind := map[*schema.Kind][]want{}
	var kinds []*schema.Kind
	for _, t := range wave {
		ch := x.changes[t.ci]
		if ch.Action != plans.OpCreate && ch.Action != plans.OpUpdate {
			continue
		}
		k := schema.MustLookup(ch.Kind)
		if !k.IsSingleton() || !listable.MatchString(k.Read) || k.Shape == schema.ShapeParts || k.Shape == schema.ShapeBinary {
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
		all := byKind[k]
		for len(all) > 0 {
			n := min(len(all), readBatch)
			batch := all[:n]
			all = all[n:]
			wg.Add(1)
			go func() {
				defer wg.Done()
				var got map[string]map[string]any
				select {
				case sem <- struct{}{}:
					owners := make([]*snapshot.Entity, len(batch))
					for i, w := range batch {
						owners[i] = w.owner
					}
					var err error
					got, err = readOwned(ctx, x.c, &x.forms, k, owners)
					<-sem
					if err != nil {
						x.log.Debug("reading in a list request", "kind", k.Title, "error", err)
					}
				case <-ctx.Done():
				}
				x.mu.Lock()
				rs := make([]*ownedRead, len(batch))
				for i, w := range batch {
					rs[i] = x.readback[w.ch]
					rs[i].doc = got[w.owner.ID]
				}
				x.mu.Unlock()
				for _, r := range rs {
					close(r.done)
				}
			}()
		}
	}
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
	defer x.mu.Unlock()
	r := x.readback[ch]
	if r == nil {
		return nil
	}
	delete(x.readback, ch)
	select {
	case <-r.done:
		return r.doc
	default:
		return nil
	}
}
