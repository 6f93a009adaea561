package octosim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/octobundle/octobundle/schema"
)

// storedCollection is a collection a real server has that is not a kind of
// the registry (octobundle does not sync it as a kind) but that the
// simulator stores all the same, so clients can write and read it back:
// git credentials, proxies, subscriptions, deployment freezes, rate
// limiting policies, a space's default retention policies. One entry of
// storedCollections (storedcolls.go) declares everything that differs
// between them; serveStored answers every route of every entry:
//
//	GET    /{name}[?skip,take,filters]  the paged envelope (or Envelope's shape, or SingleBy's one document)
//	GET    /{name}/all                  every match, a bare array
//	POST   /{name}                      201 with the created document (unless NoCreate)
//	GET    /{name}/{id}                 the document
//	PUT    /{name}/{id}                 the body replaces the document, as update does for kinds
//	DELETE /{name}/{id}                 (unless NoDelete)
//	GET    /{name}/{id}/{sub}           a declared sub-resource
type storedCollection struct {
	// Name is the path segment ("git-credentials").
	Name string
	// ItemType is the paged envelope's ItemType ("GitCredential").
	ItemType string
	// IDPrefix is the prefix of the IDs POST hands out ("GitCredentials").
	IDPrefix string
	// ServerLevel collections live under /api/ only; the others under
	// /api/{spaceId}/ (and /api/ for the default space).
	ServerLevel bool
	// Link and Query are the root document's link name and URI template
	// query ("{/id}{?skip,take,name}"); no root link when Link is empty.
	Link, Query string
	// NameField is the name field; empty for unnamed documents.
	NameField string
	// UniqueName refuses a second document with the same name
	// (case-insensitive) in the space, or on the server for server-level
	// collections.
	UniqueName bool
	// Required are fields a write must not leave empty.
	Required []string
	// Defaults returns the top-level fields the server fills when a write
	// leaves them out.
	Defaults func() map[string]any
	// Sensitive are slash paths of write-only values (SensitiveValues).
	Sensitive []string
	// mask is Sensitive compiled: what answers never show (see mask.go).
	mask *maskNode
	// KeptWhenNull are top-level fields a PUT that sends null (or leaves
	// them out) keeps: the server's command treats null as "unchanged".
	KeptWhenNull []string
	// Immutable are fields a PUT never changes (beyond Id, SpaceId and
	// Links): they are kept from the stored document.
	Immutable []string
	// Filters are the list's query filters beyond skip and take.
	Filters []storedFilter
	// Feature names the serverFeatures entry (versions.go) that gates the
	// collection: older versions answer 404. Empty: every version.
	Feature string
	// NoCreate and NoDelete refuse POST and DELETE (405): the collection
	// holds only what the server creates itself.
	NoCreate, NoDelete bool
	// Envelope, if set, is the list's item key in a {Key: [...], Count: n}
	// answer instead of the paged envelope.
	Envelope string
	// SingleBy, if set, is a query parameter (and the field it matches) the
	// collection GET requires; it answers the one matching document.
	SingleBy string
	// Links returns a document's Links given its path; nil: the documents
	// carry no Links.
	Links func(self string, doc map[string]any) map[string]any
	// Validate returns the collection's own validation errors; stored is
	// nil on create.
	Validate func(doc, stored map[string]any) []string
	// BuiltIns returns the documents the server has from the start (in a
	// new space, or on the server for server-level collections), IDs
	// included, for a server of the given version.
	BuiltIns func(version string, sp *space) []map[string]any
	// Subs are read-only sub-resources: GET /{name}/{id}/{sub}.
	Subs map[string]func(s *Server, sp *space, doc map[string]any) any
}

// storedFilter is one query filter of a stored collection's list: Match
// reports whether a document is selected by the values asked for (lower
// case, comma lists and repeated parameters merged).
type storedFilter struct {
	Param string
	Match func(doc map[string]any, want map[string]bool) bool
}

func lookupStored(name string) *storedCollection {
	for _, sc := range storedCollections {
		if strings.EqualFold(sc.Name, name) {
			return sc
		}
	}
	return nil
}

// served reports whether a server of version v has the collection.
func (sc *storedCollection) served(v string) bool {
	return featureAt(v, sc.Feature)
}

// singular is the item name in messages ("git credential").
func (sc *storedCollection) singular() string { return (&collSpec{ItemType: sc.ItemType}).singular() }

func (s *Server) storedColl(sp *space, sc *storedCollection) *coll {
	if sc.ServerLevel || sp == nil {
		return s.st.server.coll(sc.Name)
	}
	return sp.coll(sc.Name)
}

func storedPath(sp *space, sc *storedCollection) string {
	if sc.ServerLevel || sp == nil || sp.doc == nil {
		return "/api/" + sc.Name
	}
	return "/api/" + sp.id() + "/" + sc.Name
}

// serveStored answers a request below a stored collection; segs follow the
// collection's name. sp is nil for server-level collections.
func (s *Server) serveStored(r *request, sp *space, sc *storedCollection, segs []string) (int, any, error) {
	if !sc.served(s.version) {
		return 0, nil, notFound(r.path)
	}
	c := s.storedColl(sp, sc)
	switch {
	case len(segs) == 0 && r.method == http.MethodGet:
		return s.listStored(r, sp, sc, c)
	case len(segs) == 0 && r.method == http.MethodPost && !sc.NoCreate:
		return s.createStored(r, sp, sc, c)
	case len(segs) == 1 && strings.EqualFold(segs[0], "all") && r.method == http.MethodGet:
		items := s.selectStored(r, sc, c)
		out := make([]any, len(items))
		for i, d := range items {
			out[i] = s.renderStored(sp, sc, d)
		}
		return http.StatusOK, encodeNow(out), nil
	case len(segs) == 0:
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	doc := c.get(segs[0])
	if doc == nil {
		return 0, nil, notFound(segs[0])
	}
	if len(segs) == 2 && r.method == http.MethodGet {
		if h := sc.Subs[strings.ToLower(segs[1])]; h != nil {
			return http.StatusOK, h(s, sp, doc), nil
		}
	}
	if len(segs) != 1 {
		return 0, nil, notFound(r.path)
	}
	switch r.method {
	case http.MethodGet:
		return http.StatusOK, encodeNow(s.renderStored(sp, sc, doc)), nil
	case http.MethodPut:
		return s.updateStored(r, sp, sc, c, doc)
	case http.MethodDelete:
		if !sc.NoDelete {
			c.remove(str(doc["Id"]))
			return http.StatusOK, nil, nil
		}
	}
	return 0, nil, methodNotAllowed(r.method, r.path)
}

// listStored answers the collection GET in the collection's shape.
func (s *Server) listStored(r *request, sp *space, sc *storedCollection, c *coll) (int, any, error) {
	if sc.SingleBy != "" {
		want := r.q(sc.SingleBy)
		if want == "" {
			return 0, nil, badRequestf("The %s field is required.", sc.SingleBy)
		}
		for _, d := range c.all() {
			if strings.EqualFold(str(d[sc.SingleBy]), want) {
				return http.StatusOK, encodeNow(s.renderStored(sp, sc, d)), nil
			}
		}
		return 0, nil, notFound(r.path + "?" + sc.SingleBy + "=" + want)
	}
	items := s.selectStored(r, sc, c)
	out := page(r, sc.ItemType, items)
	pageItems := out["Items"].([]map[string]any)
	rendered := make([]any, len(pageItems))
	for i, d := range pageItems {
		rendered[i] = s.renderStored(sp, sc, d)
	}
	if sc.Envelope != "" {
		return http.StatusOK, encodeNow(map[string]any{sc.Envelope: rendered, "Count": len(items)}), nil
	}
	out["Items"] = rendered
	return http.StatusOK, encodeNow(out), nil
}

// selectStored returns the documents the request's declared filters
// select, in insertion order.
func (s *Server) selectStored(r *request, sc *storedCollection, c *coll) []map[string]any {
	type active struct {
		f    storedFilter
		want map[string]bool
	}
	var fs []active
	for _, f := range sc.Filters {
		want := map[string]bool{}
		for k, vals := range r.query {
			if !strings.EqualFold(k, f.Param) {
				continue
			}
			for _, v := range vals {
				for _, x := range strings.Split(v, ",") {
					if x = strings.TrimSpace(x); x != "" {
						want[strings.ToLower(x)] = true
					}
				}
			}
		}
		if len(want) > 0 {
			fs = append(fs, active{f, want})
		}
	}
	var out []map[string]any
	for _, d := range c.all() {
		keep := true
		for _, a := range fs {
			if !a.f.Match(d, a.want) {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, d)
		}
	}
	return out
}

// renderStored is a document as the API shows it: write-only values
// masked as the collection's mask says, Links added if the collection has
// them. The caller encodes it under Server.mu (encodeNow).
func (s *Server) renderStored(sp *space, sc *storedCollection, doc map[string]any) renderedDoc {
	rd := renderedDoc{doc: doc, mask: sc.mask}
	if sc.Links != nil {
		rd.extra = map[string]any{"Links": sc.Links(storedPath(sp, sc)+"/"+str(doc["Id"]), doc)}
	}
	return rd
}

// createStored answers POST: the body with the server's defaults, a new
// ID, and for space collections the space's ID.
func (s *Server) createStored(r *request, sp *space, sc *storedCollection, c *coll) (int, any, error) {
	doc := copyDoc(r.body)
	for _, f := range []string{"Id", "SpaceId", "Links"} {
		delete(doc, f)
	}
	sc.prepare(doc, nil)
	if err := s.validateStored(sc, c, doc, nil); err != nil {
		return 0, nil, err
	}
	doc["Id"] = s.st.nextID(sc.IDPrefix)
	if !sc.ServerLevel {
		doc["SpaceId"] = sp.id()
	}
	c.put(str(doc["Id"]), doc)
	return http.StatusCreated, encodeNow(s.renderStored(sp, sc, doc)), nil
}

// updateStored answers PUT: the body replaces the stored document, as
// update does for the kinds of the registry — a field it leaves out gets
// the server's default or reads back as null — keeping only what the
// server manages (Id, SpaceId, Links, the Immutable fields), the
// KeptWhenNull fields the body leaves null, and write-only values it marks
// HasValue without a NewValue.
func (s *Server) updateStored(r *request, sp *space, sc *storedCollection, c *coll, stored map[string]any) (int, any, error) {
	managed := append([]string{"Id", "SpaceId", "Links"}, sc.Immutable...)
	canonicalizeFields(r.body, storedCasing(stored))
	doc := map[string]any{}
	for k, v := range r.body {
		if !slices.Contains(managed, k) {
			doc[k] = schema.DeepCopy(v)
		}
	}
	for _, k := range managed {
		if v, ok := stored[k]; ok {
			doc[k] = schema.DeepCopy(v)
		}
	}
	for _, k := range sc.KeptWhenNull {
		if doc[k] == nil && stored[k] != nil {
			doc[k] = schema.DeepCopy(stored[k])
		}
	}
	sc.prepare(doc, stored)
	for k := range stored {
		if _, ok := doc[k]; !ok {
			doc[k] = nil // a real server's resource has every property
		}
	}
	if err := s.validateStored(sc, c, doc, stored); err != nil {
		return 0, nil, err
	}
	c.put(str(stored["Id"]), doc)
	return http.StatusOK, encodeNow(s.renderStored(sp, sc, doc)), nil
}

// prepare fills the defaults and resolves write-only values against the
// stored document (nil on create), as prepare does for kinds.
func (sc *storedCollection) prepare(doc, stored map[string]any) {
	if sc.Defaults != nil {
		for k, v := range sc.Defaults() {
			if _, ok := doc[k]; !ok {
				doc[k] = v
			}
		}
	}
	for _, p := range sc.Sensitive {
		rewriteAt(doc, strings.Split(p, "/"), maskSensitive)
	}
	var old any
	if stored != nil {
		old = stored
	}
	mergeSecrets(doc, old)
}

// validateStored checks a document about to be saved: the name, required
// fields, a unique name, and the collection's own rules.
func (s *Server) validateStored(sc *storedCollection, c *coll, doc, stored map[string]any) error {
	var errs []string
	if sc.NameField != "" && strings.TrimSpace(str(doc[sc.NameField])) == "" {
		errs = append(errs, fmt.Sprintf("Please provide a %s for the %s.", strings.ToLower(sc.NameField), sc.singular()))
	}
	for _, f := range sc.Required {
		if isEmptyValue(doc[f]) {
			errs = append(errs, fmt.Sprintf("The %s field is required.", f))
		}
	}
	if sc.UniqueName && len(errs) == 0 {
		name := str(doc[sc.NameField])
		for _, d := range c.whereAny(sc.NameField, name) {
			if stored != nil && str(d["Id"]) == str(stored["Id"]) {
				continue
			}
			where := " in this space"
			if sc.ServerLevel {
				where = ""
			}
			errs = append(errs, fmt.Sprintf("A %s with the name '%s' already exists%s. Please choose a different name.", sc.singular(), name, where))
			break
		}
	}
	if sc.Validate != nil {
		errs = append(errs, sc.Validate(doc, stored)...)
	}
	if len(errs) > 0 {
		return badRequest(errs...)
	}
	return nil
}

// addStoredBuiltIns stores the built-in documents of the stored
// collections that sp (a space, or the server for server-level
// collections) lacks.
func (s *Server) addStoredBuiltIns(sp *space) {
	server := sp == s.st.server
	for _, sc := range storedCollections {
		if sc.BuiltIns == nil || sc.ServerLevel != server || !sc.served(s.version) {
			continue
		}
		c := s.storedColl(sp, sc)
		for _, doc := range sc.BuiltIns(s.version, sp) {
			id := str(doc["Id"])
			if c.get(id) != nil {
				continue
			}
			s.st.noteID(id)
			if !server {
				doc["SpaceId"] = sp.id()
			}
			c.put(id, doc)
		}
	}
}

// loadStoredSeed stores the seed's documents of a space-level stored
// collection as given (secrets in clear become write-only values).
func (s *Server) loadStoredSeed(sp *space, sc *storedCollection, items []map[string]any) []string {
	var errs []string
	c := s.storedColl(sp, sc)
	for i, item := range items {
		doc := copyDoc(item)
		delete(doc, "Links")
		id := str(doc["Id"])
		if id == "" {
			id = s.st.nextID(sc.IDPrefix)
		}
		doc["Id"] = id
		doc["SpaceId"] = sp.id()
		sc.prepare(doc, nil)
		if c.get(id) != nil {
			errs = append(errs, fmt.Sprintf("space %s: %s[%d]: duplicate Id %s", sp.id(), sc.Name, i, id))
			continue
		}
		c.put(id, doc)
	}
	return errs
}

// selfLink is the Links of a document that links only to itself.
func selfLink(self string, _ map[string]any) map[string]any {
	return map[string]any{"Self": self}
}

// Filters shared by the stored collections.

func filterIDs() storedFilter {
	return storedFilter{Param: "ids", Match: func(d map[string]any, want map[string]bool) bool {
		return want[strings.ToLower(str(d["Id"]))]
	}}
}

func filterName(field string) storedFilter {
	return storedFilter{Param: "name", Match: func(d map[string]any, want map[string]bool) bool {
		return want[strings.ToLower(str(d[field]))]
	}}
}

func filterPartialName(field string) storedFilter {
	return storedFilter{Param: "partialName", Match: func(d map[string]any, want map[string]bool) bool {
		n := strings.ToLower(str(d[field]))
		for w := range want {
			if strings.Contains(n, w) {
				return true
			}
		}
		return false
	}}
}
