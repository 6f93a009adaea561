package octosim

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/octobundle/octobundle/internal/jsonv"
)

// decodeBody decodes a request body as json.Unmarshal into an any does:
// through jsonv.DecodeWith (float64 numbers, encoding/json's leniency),
// or json.Unmarshal itself for what that refuses (for its error, or a
// document nested deeper than jsonv.MaxDepth). Request bodies are decoded
// on every write, and encoding/json's decoder was one of the simulator's
// larger costs during an apply (issue 20).
func decodeBody(b []byte) (any, error) {
	if v, err := jsonv.DecodeWith(b, jsonv.DecodeOptions{Float64: true, Lenient: true}); err == nil {
		return v, nil
	}
	var v any
	err := json.Unmarshal(b, &v)
	return v, err
}

// route dispatches a request below /api/. segs is never empty.
func (s *Server) route(r *request) (int, any, error) {
	segs := r.segs
	if len(segs) == 0 {
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	if strings.EqualFold(segs[0], "spaces") {
		return s.routeSpaces(r, segs[1:])
	}
	if h := serverRoute(segs[0]); h != nil {
		return h(s, r, segs[1:])
	}
	if ec := lookupEmpty(segs[0]); ec != nil && ec.ServerLevel {
		return serveEmpty(r, ec, segs[1:])
	}
	if sc := lookupStored(segs[0]); sc != nil && sc.ServerLevel {
		return s.serveStored(r, nil, sc, segs[1:])
	}
	spec := lookupColl(segs[0])
	if s.st.lookupSpace(segs[0]) == nil && spec == nil && lookupEmpty(segs[0]) == nil && lookupStored(segs[0]) == nil && spaceRoute(segs[0]) == nil && !strings.EqualFold(segs[0], seedTenantVariables) {
		return 0, nil, notFound(r.path)
	}
	sp, rest, err := s.resolveSpace(r, spec, segs)
	if err != nil {
		return 0, nil, err
	}
	if sp == nil {
		return 0, nil, notFound(r.path)
	}
	if len(rest) == 0 {
		if r.method != http.MethodGet {
			return 0, nil, methodNotAllowed(r.method, r.path)
		}
		return http.StatusOK, s.spaceRoot(sp), nil
	}
	if sp == s.st.server || sp.doc == nil {
		return s.routeColl(r, sp, spec, rest[1:])
	}
	return s.routeInSpace(r, sp, rest)
}

// lookupColl finds a collection by name, case-insensitively.
func lookupColl(name string) *collSpec {
	if c := collByName[name]; c != nil {
		return c
	}
	for _, c := range collOrder {
		if strings.EqualFold(c.Name, name) {
			return c
		}
	}
	return nil
}

func (s *Server) routeInSpace(r *request, sp *space, segs []string) (int, any, error) {
	if strings.EqualFold(segs[0], seedTenantVariables) {
		if len(segs) == 2 && strings.EqualFold(segs[1], "all") && r.method == http.MethodGet {
			return http.StatusOK, s.allTenantVariables(sp, r.q("projectId")), nil
		}
		return 0, nil, notFound(r.path)
	}
	if h := spaceRoute(segs[0]); h != nil {
		return h(s, r, sp, segs[1:])
	}
	if ec := lookupEmpty(segs[0]); ec != nil && !ec.ServerLevel {
		return serveEmpty(r, ec, segs[1:])
	}
	if sc := lookupStored(segs[0]); sc != nil && !sc.ServerLevel {
		return s.serveStored(r, sp, sc, segs[1:])
	}
	spec := lookupColl(segs[0])
	if spec == nil {
		return 0, nil, notFound(r.path)
	}
	return s.routeColl(r, sp, spec, segs[1:])
}

// routeColl serves /{coll}, /{coll}/all, /{coll}/{id} and nested routes
// /{coll}/{id}/{sub}[/{subId}].
func (s *Server) routeColl(r *request, sp *space, spec *collSpec, segs []string) (int, any, error) {
	form := listFormOf(spec)
	switch {
	case len(segs) == 0:
		switch r.method {
		case http.MethodGet:
			if form.NoPaged {
				return 0, nil, notFound(r.path)
			}
			return http.StatusOK, s.list(r, sp, spec, nil), nil
		case http.MethodPost:
			if spec.Singleton {
				return 0, nil, methodNotAllowed(r.method, r.path)
			}
			return s.create(r, sp, spec, nil)
		}
	case len(segs) == 1 && strings.EqualFold(segs[0], "all") && r.method == http.MethodGet && !form.NoAll:
		return http.StatusOK, s.listAll(r, sp, spec, nil), nil
	case collRoute(spec.Name, segs[0]) != nil:
		return collRoute(spec.Name, segs[0])(s, r, sp, segs[1:])
	case collAction(spec.Name, strings.Join(segs, "/")) != nil:
		return collAction(spec.Name, strings.Join(segs, "/"))(s, r, sp)
	case len(segs) == 1:
		return s.routeEntity(r, sp, spec, segs[0], nil)
	default:
		return s.routeNested(r, sp, spec, segs[0], segs[1:])
	}
	return 0, nil, methodNotAllowed(r.method, r.path)
}

// routeEntity serves GET/PUT/DELETE of one entity. parent, if set, is the
// ParentField value the entity must have (nested routes).
func (s *Server) routeEntity(r *request, sp *space, spec *collSpec, id string, parent map[string]string) (int, any, error) {
	doc := s.lookupEntity(sp, spec, id)
	if doc == nil && parent == nil && entityFallbacks[spec.Name] != nil {
		if status, out, err := entityFallbacks[spec.Name](s, r, sp, spec, id); status != 0 || err != nil {
			return status, out, err
		}
	}
	if doc == nil || !matchesParent(doc, parent) {
		return 0, nil, notFound(id)
	}
	switch r.method {
	case http.MethodGet:
		return http.StatusOK, s.render(sp, spec, doc, true), nil
	case http.MethodPut:
		if spec.Singleton {
			return s.putSingleton(r, sp, spec, doc)
		}
		return s.update(r, sp, spec, doc)
	case http.MethodDelete:
		if spec.Singleton {
			return 0, nil, methodNotAllowed(r.method, r.path)
		}
		return s.remove(sp, spec, doc)
	}
	return 0, nil, methodNotAllowed(r.method, r.path)
}

func matchesParent(doc map[string]any, parent map[string]string) bool {
	for f, v := range parent {
		if !strings.EqualFold(str(doc[f]), v) {
			return false
		}
	}
	return true
}

// routeNested serves /{coll}/{id}/{sub}…: children through a ParentField
// (projects/{id}/channels), singletons owned by the entity
// (projects/{id}/deploymentprocesses) or reached through it
// (projects/{id}/runbookProcesses/{rpId}), and tenant variables.
func (s *Server) routeNested(r *request, sp *space, spec *collSpec, id string, segs []string) (int, any, error) {
	owner := s.lookupEntity(sp, spec, id)
	if owner == nil {
		return 0, nil, notFound(id)
	}
	ownerID := str(owner["Id"])
	sub := segs[0]
	if h := subHandlerFor(spec.Name, sub); h != nil {
		return h(s, r, sp, owner, segs)
	}
	if spec.Name == tenantVarsParent && strings.EqualFold(sub, tenantVarsSub) && len(segs) == 1 {
		switch r.method {
		case http.MethodGet:
			return http.StatusOK, s.renderTenantVariables(sp, owner), nil
		case http.MethodPut, http.MethodPost: // the legacy client POSTs
			return s.putTenantVariables(r, sp, owner)
		}
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	if sr := findSubResource(spec.Name, segs); sr != nil {
		return s.serveSubResource(r, sp, sr, owner)
	}
	child := lookupColl(sub)
	if child == nil {
		return 0, nil, notFound(r.path)
	}
	switch {
	case child.Parent == spec.Name && child.ParentField != "":
		return s.routeChildren(r, sp, child, map[string]string{child.ParentField: ownerID}, segs)
	case child.Singleton:
		if len(segs) == 1 {
			field, ok := child.Owners[spec.Name]
			if !ok {
				return 0, nil, notFound(r.path)
			}
			return s.routeEntity(r, sp, child, str(owner[field]), nil)
		}
		if len(segs) == 2 {
			return s.routeEntity(r, sp, child, segs[1], nil)
		}
	}
	return 0, nil, notFound(r.path)
}

// routeChildren serves the entities of child that belong to one owner,
// /{owner}/{id}/{sub}[/{childId}]; segs starts with sub and parent holds
// the child's owner field and the owner's ID.
func (s *Server) routeChildren(r *request, sp *space, child *collSpec, parent map[string]string, segs []string) (int, any, error) {
	switch len(segs) {
	case 1:
		switch r.method {
		case http.MethodGet:
			return http.StatusOK, s.list(r, sp, child, parent), nil
		case http.MethodPost:
			return s.create(r, sp, child, parent)
		}
		return 0, nil, methodNotAllowed(r.method, r.path)
	case 2:
		return s.routeEntity(r, sp, child, segs[1], parent)
	}
	// Deeper routes of the child itself, reached through its owner
	// (projects/{id}/runbooks/{runbookId}/runbookSnapshots).
	if doc := s.lookupEntity(sp, child, segs[1]); doc != nil && matchesParent(doc, parent) {
		return s.routeNested(r, sp, child, segs[1], segs[2:])
	}
	return 0, nil, notFound(r.path)
}

// lookupEntity finds an entity by ID or, for kinds with slugs, by slug
// (GET /projects/{slug} works on a real server), case-insensitively.
func (s *Server) lookupEntity(sp *space, spec *collSpec, idOrSlug string) map[string]any {
	c := s.st.collFor(sp, spec)
	if d := c.get(idOrSlug); d != nil {
		return d
	}
	if spec.NameField == "" {
		return nil
	}
	for _, d := range c.where("Slug", idOrSlug) {
		if sl := str(d["Slug"]); sl != "" && strings.EqualFold(sl, idOrSlug) {
			return d
		}
	}
	return nil
}
