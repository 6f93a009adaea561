package octosim

import (
	"net/http"
	"strings"
)

// systemScoped are the collections a real server serves both in a space
// (/api/Spaces-1/teams) and at the system level (/api/teams): a team or a
// scoped user role belongs to one space or, with "SpaceId": null, to the
// system. go-octopusdeploy's teams.Add and userroles' scoped user role
// service POST to /api/teams and /api/scopeduserroles whatever the
// entity's space (the SpaceId travels in the body), and GET /api/teams/{id}
// finds a team of any space.
var systemScoped = map[string]bool{"teams": true, "scopeduserroles": true}

// resolveSpace is the one rule for which space a request below /api/ acts
// on, given its first segment and the collection it names (nil if none):
//
//   - a space ID ("/api/Spaces-2/…") names that space;
//   - a server-level collection (userroles) lives in the server store;
//   - a system-scoped collection reached without a space (see systemScoped)
//     acts on the space the entity is in: the space of the ID for
//     /{coll}/{id}…, the body's SpaceId for a POST (none: the system
//     store), and every space and the system for a list;
//   - any other collection reached without a space acts on the default
//     space (the legacy, pre-spaces URLs).
//
// rest are the segments after the space (the collection first). It answers
// nil when no space applies (404).
func (s *Server) resolveSpace(r *request, spec *collSpec, segs []string) (*space, []string, error) {
	if sp := s.st.lookupSpace(segs[0]); sp != nil {
		return sp, segs[1:], nil
	}
	switch {
	case spec != nil && spec.ServerLevel:
		return s.st.server, segs, nil
	case spec != nil && systemScoped[spec.Name]:
		sp, err := s.systemScopeSpace(r, spec, segs[1:])
		return sp, segs, err
	}
	return s.st.defaultSpace(), segs, nil
}

// systemScopeSpace resolves a system route of a system-scoped collection;
// rest follow the collection's name.
func (s *Server) systemScopeSpace(r *request, spec *collSpec, rest []string) (*space, error) {
	if len(rest) == 0 || strings.EqualFold(rest[0], "all") || collAction(spec.Name, rest[0]) != nil {
		if r.method == http.MethodPost && len(rest) == 0 {
			id := str(fieldFold(r.body, "SpaceId"))
			if id == "" {
				return s.st.server, nil
			}
			sp := s.st.lookupSpace(id)
			if sp == nil {
				return nil, badRequestf("The space '%s' does not exist.", id)
			}
			return sp, nil
		}
		return s.everySpace(spec), nil
	}
	for _, sp := range s.scopes() {
		if s.lookupEntity(sp, spec, rest[0]) != nil {
			return sp, nil
		}
	}
	return s.st.server, nil
}

// scopes are the system store and every space, in creation order.
func (s *Server) scopes() []*space {
	out := []*space{s.st.server}
	for _, d := range s.st.spaces.all() {
		if sp := s.st.lookupSpace(str(d["Id"])); sp != nil {
			out = append(out, sp)
		}
	}
	return out
}

// everySpace is a read-only view of spec's entities in the system store and
// every space, for a system route's list.
func (s *Server) everySpace(spec *collSpec) *space {
	view := newSpace(nil)
	c := view.coll(spec.Name)
	for _, sp := range s.scopes() {
		for _, d := range sp.coll(spec.Name).all() {
			c.put(str(d["Id"]), d)
		}
	}
	return view
}

// fieldFold returns m's field named name, matched case-insensitively.
func fieldFold(m map[string]any, name string) any {
	if v, ok := m[name]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}
