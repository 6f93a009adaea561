package octosim

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/octobundle/octobundle/schema"
)

// A real server refuses to delete an entity that others still refer to
// ("This environment cannot be deleted because it is being used by the
// following lifecycles: …"). The simulator finds the referrers from the
// kind registry: every document of every collection is walked with its
// kinds' Refs (schema.VisitRefs), and a reference whose target collection
// is the deleted entity's and whose value is its ID is a use. What goes
// with the entity (its children and owned singletons) does not count, nor
// do the links the server removes itself (unlinkedOnDelete).

// unlinkedOnDelete lists, per deleted collection, the references a real
// server removes instead of refusing the delete: deleting a project
// disconnects it from tenants (and drops their values for it); deleting an
// environment disconnects it from tenants — go-octopusdeploy's e2e suite,
// run against real servers, deletes an environment while a tenant is
// connected to it (deployment_freeze_service_test.go, createTestResources'
// cleanup) and asserts no error.
var unlinkedOnDelete = map[string][]struct{ Coll, Path string }{
	"environments": {{Coll: "tenants", Path: "ProjectEnvironments/*"}},
	"projects": {
		{Coll: "tenants", Path: "ProjectEnvironments/~"},
		{Coll: seedTenantVariables, Path: "ProjectVariables/*/ProjectId"},
	},
	// A library variable set's tenant values go with it.
	"libraryvariablesets": {{Coll: seedTenantVariables, Path: "CommonVariables/*/LibraryVariableSetId"}},
}

// tenantVariableRefs are the references of stored tenant variables (which
// are not a collection of their own).
func tenantVariableRefs() []schema.Ref { return schema.MustLookup(schema.TenantVariables).Refs }

// inUse returns the 400 for deleting doc while others refer to it, or nil.
func (s *Server) inUse(sp *space, spec *collSpec, doc map[string]any) error {
	id := str(doc["Id"])
	gone := map[string]bool{}
	s.collectCascade(sp, spec, doc, gone)
	unlinked := map[string]bool{}
	for _, u := range unlinkedOnDelete[spec.Name] {
		unlinked[u.Coll+"\x00"+u.Path] = true
	}
	users := map[string]map[string]bool{} // referring collection title → names
	visit := func(coll string, title string, refs []schema.Ref, d map[string]any, label string) {
		if gone[coll+"\x00"+strings.ToLower(str(d["Id"]))] {
			return
		}
		_ = schema.VisitRefs(refs, d, func(ref schema.Ref, _ []string, v string) {
			if !strings.EqualFold(v, id) || unlinked[coll+"\x00"+ref.Path] {
				return
			}
			target := collByKind[ref.To]
			if ref.To == schema.AnyKind {
				if !spec.ownsID(v) {
					return
				}
			} else if target != spec {
				return
			}
			if users[title] == nil {
				users[title] = map[string]bool{}
			}
			users[title][label] = true
		})
	}
	// A server-level entity (a user role) is used from every space.
	spaces := []*space{sp}
	if spec.ServerLevel {
		spaces = nil
		for _, d := range s.st.spaces.all() {
			spaces = append(spaces, s.st.spaceSt[str(d["Id"])])
		}
	}
	for _, in := range spaces {
		for _, c := range collOrder {
			if len(c.Refs) == 0 {
				continue
			}
			for _, d := range s.st.collFor(in, c).all() {
				visit(c.Name, c.plural(), c.Refs, d, s.refererLabel(in, c, d))
			}
		}
		if spec.Name != tenantVarsParent {
			for _, d := range in.coll(seedTenantVariables).all() {
				t := in.coll(tenantVarsParent).get(str(d["TenantId"]))
				visit(seedTenantVariables, "tenant variables", tenantVariableRefs(), d, str(t["Name"]))
			}
		}
	}
	if spec.Name == "tagsets" {
		s.tagUsers(sp, doc, users)
	}
	if len(users) == 0 {
		return nil
	}
	var errs []string
	for _, title := range slices.Sorted(maps.Keys(users)) {
		errs = append(errs, fmt.Sprintf("This %s cannot be deleted because it is being used by the following %s: %s.",
			spec.singular(), title, strings.Join(slices.Sorted(maps.Keys(users[title])), ", ")))
	}
	return &apiError{Status: http.StatusBadRequest, Message: errs[0], Errors: errs}
}

// collectCascade marks doc and everything deleted with it (children
// through their parent field, owned singletons, a tenant's variables) as
// "coll\x00lower(id)" in gone.
func (s *Server) collectCascade(sp *space, spec *collSpec, doc map[string]any, gone map[string]bool) {
	id := str(doc["Id"])
	gone[spec.Name+"\x00"+strings.ToLower(id)] = true
	for _, child := range childCollections(spec.Name) {
		for _, d := range s.st.collFor(sp, child).all() {
			if strings.EqualFold(str(d[child.ParentField]), id) {
				s.collectCascade(sp, child, d, gone)
			}
		}
	}
	for coll, field := range ownedSingletons(spec.Name) {
		if sid := str(doc[field]); sid != "" {
			gone[coll+"\x00"+strings.ToLower(sid)] = true
		}
	}
	if spec.Name == tenantVarsParent {
		gone[seedTenantVariables+"\x00"+strings.ToLower(id)] = true
	}
}

// refererLabel names a referring entity in messages: its name, or for a
// singleton (process, variable set) its owner's name.
func (s *Server) refererLabel(sp *space, c *collSpec, d map[string]any) string {
	if c.NameField != "" {
		return str(d[c.NameField])
	}
	for _, f := range []string{"OwnerId", "RunbookId", "ProjectId", "TeamId"} {
		o := str(d[f])
		if o == "" {
			continue
		}
		for _, oc := range collOrder {
			if oc.ownsID(o) && oc.NameField != "" {
				if od := s.st.collFor(sp, oc).get(o); od != nil {
					return str(od[oc.NameField])
				}
			}
		}
		return o
	}
	return str(d["Id"])
}

// plural is the collection's plural in messages: its kind's title, or for a
// singleton collection shared by several kinds the server's item type
// ("variable sets", "deployment processes").
func (c *collSpec) plural() string {
	if !c.Singleton {
		return c.title()
	}
	sg := c.singular()
	if strings.HasSuffix(sg, "s") {
		return sg + "es"
	}
	return sg + "s"
}

// tagPaths are, per collection, the places holding canonical tag names
// ("Tier/Gold"): the registry's set paths that end in TenantTags or
// TenantTag (tags are names, not references, so they have no Refs).
var tagPaths map[string][]string

// buildTagPaths fills tagPaths once the collection table is built.
func buildTagPaths() {
	out := map[string][]string{}
	for _, k := range schema.Kinds() {
		c := collByKind[k.Name]
		if c == nil {
			continue
		}
		for _, st := range k.Sets {
			segs := strings.Split(st.Path, "/")
			if last := segs[len(segs)-1]; last == "TenantTags" || last == "TenantTag" {
				out[c.Name] = append(out[c.Name], st.Path)
			}
		}
	}
	tagPaths = out
}

// tagUsers adds to users the entities that carry a tag of the tag set.
func (s *Server) tagUsers(sp *space, tagSet map[string]any, users map[string]map[string]bool) {
	prefix := strings.ToLower(str(tagSet["Name"])) + "/"
	for _, c := range collOrder {
		for _, p := range tagPaths[c.Name] {
			for _, d := range s.st.collFor(sp, c).all() {
				for _, tag := range stringsAt(d, strings.Split(p, "/")) {
					if strings.HasPrefix(strings.ToLower(tag), prefix) {
						if users[c.plural()] == nil {
							users[c.plural()] = map[string]bool{}
						}
						users[c.plural()][s.refererLabel(sp, c, d)] = true
					}
				}
			}
		}
	}
}

// stringsAt returns the strings reached by segs ("*" steps into arrays).
func stringsAt(node any, segs []string) []string {
	if len(segs) == 0 {
		return strs(node)
	}
	switch t := node.(type) {
	case map[string]any:
		if segs[0] == "*" {
			return nil
		}
		return stringsAt(t[segs[0]], segs[1:])
	case []any:
		var out []string
		for _, x := range t {
			out = append(out, stringsAt(x, segs)...)
		}
		if segs[0] == "*" {
			out = nil
			for _, x := range t {
				out = append(out, stringsAt(x, segs[1:])...)
			}
		}
		return out
	}
	return nil
}
