package octosim

import (
	"net/url"
	"strconv"
	"strings"
)

// DefaultPageSize is the page size when a request gives no take.
const DefaultPageSize = 30

// queryFilters are query parameters that select on a field of the entity
// (case-insensitive equality; comma lists match any), beyond the generic
// ids, name and partialName.
var queryFilters = map[string]string{
	"contentType":         "ContentType",
	"feedType":            "FeedType",
	"accountType":         "AccountType",
	"projectIds":          "ProjectId",
	"clonedFromProjectId": "ClonedFromProjectId",
	"clonedFromTenantId":  "ClonedFromTenantId",
	"environmentIds":      "EnvironmentIds",
	"tenantIds":           "TenantIds",
	"workerPoolIds":       "WorkerPoolIds",
	"roles":               "Roles",
	"isDisabled":          "IsDisabled",
	"archived":            "Archived",
	"scopes":              "Scopes",
	"projects":            "ProjectId",
	"environments":        "EnvironmentId",
	"runbooks":            "RunbookId",
	"channels":            "ChannelId",
	"teamId":              "TeamId",
	"userRoleId":          "UserRoleId",
	// machines and workers, as the root document's templates offer them
	"healthStatuses":        "HealthStatus",
	"commStyles":            "Endpoint/CommunicationStyle",
	"deploymentTargetTypes": "Endpoint/CommunicationStyle",
	"deploymentTargetType":  "Endpoint/CommunicationStyle", // go-octopusdeploy's url tag
	"thumbprint":            "Endpoint/Thumbprint",
	"shellNames":            "ShellName",
	"tenantTags":            "TenantTags",
	"tags":                  "TenantTags",
}

// filterValueAliases translate a query filter's value into the value its
// field holds, where the two differ: a deployment target type is its
// endpoint's communication style, except that a cloud region's endpoint
// has the style None (deploymentTargetTypes=CloudRegion, as the Octopus
// CLI's `deployment-target cloud-region list` asks, lists cloud regions).
var filterValueAliases = map[string]map[string]string{
	"deploymentTargetTypes": {"cloudregion": "none"},
	"deploymentTargetType":  {"cloudregion": "none"},
}

// selected returns the documents of spec in sp that match the request's
// filters and the parent restriction, in the collection's list order
// (listForms; insertion order by default).
func (s *Server) selected(r *request, sp *space, spec *collSpec, parent map[string]string) []map[string]any {
	return s.selectedWith(r, sp, spec, parent, true).all()
}

// selection is what a list request selects, in list order: either
// documents, or a view of a whole collection's IDs in order, whose
// documents are looked up only for the page read (a paged read of a
// collection of n documents then costs its page, not n).
type selection struct {
	docs []map[string]any
	// c and ids are the view (ids nil with c set: an empty view).
	c   *coll
	ids []string
}

// len is the number of documents selected.
func (sel selection) len() int {
	if sel.c != nil {
		return len(sel.ids)
	}
	return len(sel.docs)
}

// slice returns the documents [lo, hi) of the selection.
func (sel selection) slice(lo, hi int) []map[string]any {
	if sel.c == nil {
		return sel.docs[lo:hi]
	}
	out := make([]map[string]any, hi-lo)
	for i, id := range sel.ids[lo:hi] {
		out[i] = sel.c.docs[id]
	}
	return out
}

// all returns every document of the selection.
func (sel selection) all() []map[string]any {
	if sel.c == nil {
		return sel.docs
	}
	return sel.slice(0, len(sel.ids))
}

// selectedWith is selected; useIDs false ignores the request's ids, as a
// list that takes no ids parameter does.
func (s *Server) selectedWith(r *request, sp *space, spec *collSpec, parent map[string]string, useIDs bool) selection {
	var ids map[string]bool
	if useIDs {
		ids = requestIDs(r)
	}
	name := r.q("name")
	partial := strings.ToLower(r.q("partialName"))
	filters := activeFilters(r, spec)
	order := listFormOf(spec).Order
	c := s.st.collFor(sp, spec)
	var docs []map[string]any
	sorted := false
	switch {
	case ids != nil:
		docs = byIDs(c, ids)
	case narrows(spec, parent, name):
		docs = candidates(c, spec, parent, name)
	default:
		// The whole collection, already in list order.
		all := c.ids
		if order != "" {
			all = c.ordered(order)
		}
		if len(parent) == 0 && partial == "" && filters.none() {
			return selection{c: c, ids: all}
		}
		docs = c.docsOf(all)
		sorted = true
	}
	var out []map[string]any
	for _, d := range docs {
		if !matchesParent(d, parent) {
			continue
		}
		if spec.NameField != "" {
			n := str(d[spec.NameField])
			if name != "" && !strings.EqualFold(n, name) {
				continue
			}
			if partial != "" && !strings.Contains(strings.ToLower(n), partial) {
				continue
			}
		}
		if !filters.match(d) {
			continue
		}
		out = append(out, d)
	}
	if !sorted {
		sortForList(out, order)
	}
	return selection{docs: out}
}

// narrows reports whether candidates finds a request's documents through
// an index rather than reading the whole collection.
func narrows(spec *collSpec, parent map[string]string, name string) bool {
	for _, v := range parent {
		if v != "" {
			return true
		}
	}
	return name != "" && spec.NameField != ""
}

// candidates narrows a selection through an index, as a real server's
// database would, so that listing a project's channels does not read every
// channel of the space: the documents under the parent, else those with
// the name asked for, else all, in insertion order. The caller still
// applies every condition.
func candidates(c *coll, spec *collSpec, parent map[string]string, name string) []map[string]any {
	for f, v := range parent {
		if v != "" {
			return c.where(f, v)
		}
	}
	if name != "" && spec.NameField != "" {
		return c.where(spec.NameField, name)
	}
	return c.all()
}

// filter is one query filter a request uses: the field it selects on and
// the values (lower case) it accepts.
type filter struct {
	field string
	want  map[string]bool
}

// queryFilterSet is a request's query filters, read once per request.
type queryFilterSet struct {
	fields []filter
	// projectID is tenants?projectId=: tenants connected to the project.
	projectID string
}

func activeFilters(r *request, spec *collSpec) queryFilterSet {
	var fs queryFilterSet
	for k, vals := range r.query {
		if len(vals) == 0 || vals[0] == "" {
			continue
		}
		for param, field := range queryFilters {
			if !strings.EqualFold(k, param) {
				continue
			}
			want := map[string]bool{}
			for _, x := range strings.Split(vals[0], ",") {
				x = strings.ToLower(strings.TrimSpace(x))
				if alias, ok := filterValueAliases[param][x]; ok {
					x = alias
				}
				want[x] = true
			}
			fs.fields = append(fs.fields, filter{field: field, want: want})
		}
	}
	if spec.Name == "tenants" {
		fs.projectID = r.q("projectId")
	}
	return fs
}

// none reports whether the request filters on nothing.
func (fs queryFilterSet) none() bool { return len(fs.fields) == 0 && fs.projectID == "" }

func (fs queryFilterSet) match(d map[string]any) bool {
	for _, f := range fs.fields {
		got, present := fieldAt(d, f.field)
		if !present {
			continue
		}
		if !anyValueIn(got, f.want) {
			return false
		}
	}
	if fs.projectID != "" {
		pe, _ := d["ProjectEnvironments"].(map[string]any)
		found := false
		for k := range pe {
			if strings.EqualFold(k, fs.projectID) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func anyValueIn(v any, want map[string]bool) bool {
	switch t := v.(type) {
	case []any:
		for _, x := range t {
			if anyValueIn(x, want) {
				return true
			}
		}
		return false
	case bool:
		return want[strconv.FormatBool(t)]
	case string:
		return want[strings.ToLower(t)]
	case nil:
		return false
	}
	return false
}

// list answers a paged collection GET.
func (s *Server) list(r *request, sp *space, spec *collSpec, parent map[string]string) any {
	return s.renderPage(r, sp, spec, s.selectedWith(r, sp, spec, parent, !listFormOf(spec).PagedIgnoresIDs))
}

// renderPage answers items as a page of spec's collection. Only the
// page's items are rendered, as a real server reads only them, and the
// page is encoded at once (encodeNow), its items straight from the stored
// documents.
func (s *Server) renderPage(r *request, sp *space, spec *collSpec, items selection) any {
	out := pageOf(r, spec.ItemType, items)
	out["Items"] = renderedItems{s: s, sp: sp, spec: spec, docs: out["Items"].([]map[string]any), full: true}
	return encodeNow(out)
}

// listAll answers the legacy /all route: a bare array of every match,
// encoded at once as renderPage's items are.
func (s *Server) listAll(r *request, sp *space, spec *collSpec, parent map[string]string) any {
	ri := renderedItems{s: s, sp: sp, spec: spec, docs: s.selectedWith(r, sp, spec, parent, true).all(), full: true}
	return encodeNow(ri)
}

// page cuts items to the request's skip/take and wraps them in the
// collection envelope with its paging links.
func page(r *request, itemType string, items []map[string]any) map[string]any {
	return pageOf(r, itemType, selection{docs: items})
}

// pageOf is page over a selection: only the page's documents are read.
func pageOf(r *request, itemType string, items selection) map[string]any {
	skip := atoiDefault(r.q("skip"), 0)
	take := atoiDefault(r.q("take"), DefaultPageSize)
	if skip < 0 {
		skip = 0
	}
	if take < 0 {
		take = DefaultPageSize
	}
	total := items.len()
	end := total
	if skip > total {
		skip = total
	}
	if take < total-skip {
		end = skip + take
	}
	pages := 0
	if take > 0 {
		pages = (total + take - 1) / take
	}
	last := pages - 1
	if last < 0 {
		last = 0
	}
	pageItems := items.slice(skip, end)
	if pageItems == nil {
		pageItems = []map[string]any{}
	}
	links := map[string]any{
		"Self":         pageLink(r, skip, take),
		"Template":     r.path + "{?skip,take,ids,partialName}",
		"Page.All":     pageLink(r, 0, 2147483647),
		"Page.Current": pageLink(r, skip, take),
		"Page.Last":    pageLink(r, last*take, take),
	}
	if take > 0 && skip+take < total {
		links["Page.Next"] = pageLink(r, skip+take, take)
	}
	return map[string]any{
		"ItemType":       itemType,
		"TotalResults":   total,
		"ItemsPerPage":   take,
		"NumberOfPages":  pages,
		"LastPageNumber": last,
		"Items":          pageItems,
		"Links":          links,
	}
}

// pageLink is the request's path with its query and the given skip/take.
func pageLink(r *request, skip, take int) string {
	q := url.Values{}
	for k, v := range r.query {
		if strings.EqualFold(k, "skip") || strings.EqualFold(k, "take") || strings.EqualFold(k, "apikey") {
			continue
		}
		q[k] = v
	}
	q.Set("skip", strconv.Itoa(skip))
	q.Set("take", strconv.Itoa(take))
	return r.path + "?" + q.Encode()
}

func atoiDefault(s string, def int) int {
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

// fieldAt returns the value at a slash-separated path of nested objects.
func fieldAt(d map[string]any, path string) (any, bool) {
	var cur any = d
	for _, seg := range strings.Split(path, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[seg]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// setFieldAt sets the field at a slash path of d whose parent objects
// exist; it does nothing when they do not.
func setFieldAt(d map[string]any, path string, v any) {
	segs := strings.Split(path, "/")
	cur := d
	for _, seg := range segs[:len(segs)-1] {
		next, ok := cur[seg].(map[string]any)
		if !ok {
			return
		}
		cur = next
	}
	cur[segs[len(segs)-1]] = v
}
