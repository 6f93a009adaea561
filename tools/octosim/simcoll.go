package octosim

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// simColl is a collection a real server keeps that is not configuration a
// sync copies, so it lives outside the kind registry: built-in feed
// packages, build information, server tasks. Its documents are stored per
// space under Name (and appear in Dump and seeds under that name, keyed by
// Id); the table gives what differs between them — how a document reads
// and which documents a list query selects — and serve answers the routes
// they share:
//
//	GET    /{Name}            paged list (skip, take, ids and Match's filters), Order's order
//	GET    /{Name}/{id}       one document (404 unknown)
//	DELETE /{Name}/{id}       when Deletable
//	DELETE /{Name}/bulk?ids=  when Deletable
//
// Any other route goes to Extra (nil: 404 or 405).
type simColl struct {
	// Name is the path segment and the store's name ("packages").
	Name string
	// ItemType is the paged envelope's ItemType ("Package").
	ItemType string
	// Render is the document as the API answers it (Links added,
	// internal fields dropped).
	Render func(s *Server, sp *space, doc map[string]any) map[string]any
	// Match reports whether doc passes the request's list filters
	// (nil: every document).
	Match func(r *request, sp *space, doc map[string]any) bool
	// Order sorts a list (nil: insertion order).
	Order func(a, b map[string]any) int
	// Deletable allows DELETE of one document and of a bulk of them.
	Deletable bool
	// Extra answers the routes the shared ones do not; segs are the
	// segments after Name. Nil answers 404 (405 for a write to the
	// collection itself).
	Extra func(s *Server, r *request, sp *space, segs []string) (int, any, error)
}

// register makes c a route of every space and a seed collection.
func (c *simColl) register() {
	registerSpaceRoute(c.Name, func(s *Server, r *request, sp *space, segs []string) (int, any, error) {
		return c.serve(s, r, sp, segs)
	})
	registerSeedCollection(c.Name, "", "Id")
}

// serve answers a request below /{space}/{Name}.
func (c *simColl) serve(s *Server, r *request, sp *space, segs []string) (int, any, error) {
	switch {
	case len(segs) == 0 && r.method == http.MethodGet:
		return http.StatusOK, c.list(s, r, sp, sp.coll(c.Name).all()), nil
	case len(segs) == 1 && strings.EqualFold(segs[0], "bulk") && r.method == http.MethodDelete && c.Deletable:
		for _, id := range r.queryValues("ids") {
			sp.coll(c.Name).remove(id)
		}
		return http.StatusOK, nil, nil
	case len(segs) == 1 && (r.method == http.MethodGet || r.method == http.MethodDelete):
		doc := sp.coll(c.Name).get(segs[0])
		if doc == nil {
			if c.Extra != nil {
				return c.Extra(s, r, sp, segs)
			}
			return 0, nil, notFound(segs[0])
		}
		if r.method == http.MethodGet {
			return http.StatusOK, c.Render(s, sp, doc), nil
		}
		if !c.Deletable {
			return 0, nil, methodNotAllowed(r.method, r.path)
		}
		sp.coll(c.Name).remove(str(doc["Id"]))
		return http.StatusOK, nil, nil
	}
	if c.Extra != nil {
		return c.Extra(s, r, sp, segs)
	}
	if len(segs) == 0 {
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	return 0, nil, notFound(r.path)
}

// list selects docs by the request's ids and Match, sorts them by Order
// and answers one page of them rendered.
func (c *simColl) list(s *Server, r *request, sp *space, docs []map[string]any) map[string]any {
	ids := map[string]bool{}
	for _, id := range r.queryValues("ids") {
		ids[strings.ToLower(id)] = true
	}
	var items []map[string]any
	for _, d := range docs {
		if len(ids) > 0 && !ids[strings.ToLower(str(d["Id"]))] {
			continue
		}
		if c.Match != nil && !c.Match(r, sp, d) {
			continue
		}
		items = append(items, d)
	}
	if c.Order != nil {
		slices.SortStableFunc(items, c.Order)
	}
	out := page(r, c.ItemType, items)
	pageItems := out["Items"].([]map[string]any)
	rendered := make([]map[string]any, len(pageItems))
	for i, d := range pageItems {
		rendered[i] = c.Render(s, sp, d)
	}
	out["Items"] = rendered
	return out
}

// splitIDs flattens query values that may repeat or hold comma-separated
// lists (?ids=a,b&ids=c), as the server's binder accepts both.
func splitIDs(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				out = append(out, id)
			}
		}
	}
	return out
}

// queryValues is splitIDs of the query parameter name, matched
// case-insensitively.
func (r *request) queryValues(name string) []string {
	var vals []string
	for k, v := range r.query {
		if strings.EqualFold(k, name) {
			vals = append(vals, v...)
		}
	}
	return splitIDs(vals)
}

// timestamp is t as the server writes dates: ISO 8601 with milliseconds
// and an offset.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000+00:00") }

// timestampNow is timestamp of the current time.
func timestampNow() string { return timestamp(time.Now()) }
