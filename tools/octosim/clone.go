package octosim

import (
	"net/http"

	"github.com/octobundle/octobundle/schema"
)

// Cloning a tenant: POST /api/{space}/tenants?clone={id}. go-octopusdeploy's
// TenantService.Clone (and the Octopus CLI's `tenant clone`, which uses it)
// sends only a TenantCloneRequest, {Name, Description}; the server copies
// everything else from the source tenant: its tags, its project and
// environment connections and its variable values, and records the source
// in ClonedFromTenantId. Projects are not cloned (?clone= on projects is
// still refused, see create): a project clone copies its process,
// variables, channels and runbooks, which the simulator does not model.

// clonedTenantFields are the fields a tenant clone takes from its source.
var clonedTenantFields = []string{"TenantTags", "ProjectEnvironments"}

// cloneTenant answers POST /tenants?clone=: a new tenant named by the body
// with the source's tags, connections and variable values.
func (s *Server) cloneTenant(r *request, sp *space, spec *collSpec, parent map[string]string) (int, any, error) {
	srcID := r.q("clone")
	src := s.st.collFor(sp, spec).get(srcID)
	if src == nil {
		return 0, nil, notFound(srcID)
	}
	body := copyDoc(r.body)
	if body == nil {
		body = map[string]any{}
	}
	for _, f := range clonedTenantFields {
		body[f] = schema.DeepCopy(src[f])
	}
	doc, err := s.insert(r, sp, spec, body, parent)
	if err != nil {
		return 0, nil, err
	}
	id := str(doc["Id"])
	doc["ClonedFromTenantId"] = str(src["Id"])
	s.st.collFor(sp, spec).put(id, doc)
	if model := sp.coll(seedTenantVariables).get(str(src["Id"])); model != nil {
		cp := copyDoc(model)
		for _, f := range []string{"CommonVariables", "ProjectVariables"} {
			for _, el := range asSlice(cp[f]) {
				if m, ok := el.(map[string]any); ok {
					m["Id"] = newGUID()
				}
			}
		}
		cp["Id"], cp["TenantId"] = id, id
		sp.coll(seedTenantVariables).put(id, cp)
	}
	return http.StatusCreated, s.render(sp, spec, doc, true), nil
}
