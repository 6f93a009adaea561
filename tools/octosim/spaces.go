package octosim

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/octobundle/octobundle/schema"
)

// routeSpaces serves /api/spaces[/all|/{id}].
func (s *Server) routeSpaces(r *request, segs []string) (int, any, error) {
	switch {
	case len(segs) == 0 && r.method == http.MethodGet:
		return http.StatusOK, page(r, "Space", s.renderSpaces(r)), nil
	case len(segs) == 0 && r.method == http.MethodPost:
		doc, err := s.createSpace(r.body, "")
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, renderSpace(doc), nil
	case len(segs) == 1 && strings.EqualFold(segs[0], "all") && r.method == http.MethodGet:
		return http.StatusOK, s.renderSpaces(r), nil
	case len(segs) == 1:
		sp := s.st.lookupSpace(segs[0])
		if sp == nil {
			return 0, nil, notFound(segs[0])
		}
		switch r.method {
		case http.MethodGet:
			return http.StatusOK, renderSpace(sp.doc), nil
		case http.MethodPut:
			return s.updateSpace(sp, r.body)
		case http.MethodDelete:
			return s.deleteSpace(sp)
		}
	case len(segs) >= 2:
		sp := s.st.lookupSpace(segs[0])
		if sp == nil {
			return 0, nil, notFound(segs[0])
		}
		if h := spaceSub(segs[1]); h != nil {
			return h(s, r, sp, segs[2:])
		}
		if h := spaceRoute(segs[1]); h != nil {
			// A space's simulator-only routes answer below
			// /api/spaces/{id} too (go-octopusdeploy's tasks.Cancel posts
			// there).
			return h(s, r, sp, segs[2:])
		}
		return 0, nil, notFound(r.path)
	}
	return 0, nil, methodNotAllowed(r.method, r.path)
}

func (s *Server) renderSpaces(r *request) []map[string]any {
	spec := &collSpec{Name: "spaces", NameField: "Name"}
	var out []map[string]any
	for _, d := range s.st.spaces.all() {
		if !s.spaceMatches(r, spec, d) {
			continue
		}
		out = append(out, renderSpace(d))
	}
	return out
}

func (s *Server) spaceMatches(r *request, spec *collSpec, d map[string]any) bool {
	if ids := r.q("ids"); ids != "" {
		ok := false
		for _, id := range strings.Split(ids, ",") {
			if strings.EqualFold(strings.TrimSpace(id), str(d["Id"])) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	if n := r.q("name"); n != "" && !strings.EqualFold(n, str(d["Name"])) {
		return false
	}
	if p := r.q("partialName"); p != "" && !strings.Contains(strings.ToLower(str(d["Name"])), strings.ToLower(p)) {
		return false
	}
	return true
}

func renderSpace(d map[string]any) map[string]any {
	out := copyDoc(d)
	id := str(d["Id"])
	out["Links"] = map[string]any{"Self": "/api/spaces/" + id, "SpaceHome": "/api/" + id, "Web": "/app#/spaces/" + id}
	return out
}

// createSpace validates and stores a new space with its defaults. id may
// force the ID (the fresh instance's Spaces-1 and seeds).
func (s *Server) createSpace(body map[string]any, id string) (map[string]any, error) {
	doc := copyDoc(body)
	delete(doc, "Links")
	name := strings.TrimSpace(str(doc["Name"]))
	var errs []string
	if name == "" {
		errs = append(errs, "Please provide a name for the space.")
	}
	for _, d := range s.st.spaces.all() {
		if name != "" && strings.EqualFold(str(d["Name"]), name) {
			errs = append(errs, fmt.Sprintf("A space with the name '%s' already exists. Please choose a different name.", name))
		}
	}
	if id == "" && len(strs(doc["SpaceManagersTeams"]))+len(strs(doc["SpaceManagersTeamMembers"])) == 0 {
		errs = append(errs, "At least one team or user must be a space manager.")
	}
	if len(errs) > 0 {
		return nil, badRequest(errs...)
	}
	if id == "" {
		id = s.st.nextID("Spaces")
	} else {
		s.st.noteID(id)
	}
	doc["Id"] = id
	doc["Name"] = name
	if str(doc["Slug"]) == "" {
		doc["Slug"] = slug(name)
	}
	for k, v := range spaceDefaults() {
		if _, ok := doc[k]; !ok {
			doc[k] = v
		}
	}
	if b, _ := doc["IsDefault"].(bool); b {
		s.clearDefaultSpace()
	}
	sp := newSpace(doc)
	s.st.spaces.put(id, doc)
	s.st.spaceSt[id] = sp
	s.addSpaceDefaults(sp)
	return doc, nil
}

func (s *Server) clearDefaultSpace() {
	for _, d := range s.st.spaces.all() {
		d["IsDefault"] = false
	}
}

// updateSpace answers PUT of a space: the body replaces the document (see
// update), keeping the Id, the Slug when none is sent, and the defaults of
// a new space for fields the body omits.
func (s *Server) updateSpace(sp *space, body map[string]any) (int, any, error) {
	doc := map[string]any{}
	for k, v := range body {
		if k == "Id" || k == "Links" {
			continue
		}
		doc[k] = schema.DeepCopy(v)
	}
	doc["Id"] = sp.id()
	if str(doc["Slug"]) == "" {
		doc["Slug"] = sp.doc["Slug"]
	}
	for k, v := range spaceDefaults() {
		if _, ok := doc[k]; !ok {
			doc[k] = v
		}
	}
	name := strings.TrimSpace(str(doc["Name"]))
	if name == "" {
		return 0, nil, badRequest("Please provide a name for the space.")
	}
	for _, d := range s.st.spaces.all() {
		if str(d["Id"]) != sp.id() && strings.EqualFold(str(d["Name"]), name) {
			return 0, nil, badRequestf("A space with the name '%s' already exists. Please choose a different name.", name)
		}
	}
	if b, _ := doc["IsDefault"].(bool); b {
		s.clearDefaultSpace()
	}
	for k := range sp.doc {
		delete(sp.doc, k)
	}
	for k, v := range doc {
		sp.doc[k] = v
	}
	return http.StatusOK, renderSpace(sp.doc), nil
}

func (s *Server) deleteSpace(sp *space) (int, any, error) {
	if b, _ := sp.doc["IsDefault"].(bool); b {
		return 0, nil, badRequest("The default space cannot be deleted.")
	}
	if b, _ := sp.doc["TaskQueueStopped"].(bool); !b {
		return 0, nil, badRequest("The task queue of a space must be stopped before the space can be deleted.")
	}
	id := sp.id()
	s.st.spaces.remove(id)
	delete(s.st.spaceSt, id)
	return http.StatusOK, nil, nil
}

// spaceDefaults are the fields a space gets when a POST or PUT omits them.
func spaceDefaults() map[string]any {
	return map[string]any{
		"Description": "", "IsDefault": false, "TaskQueueStopped": false,
		"SpaceManagersTeams": []any{}, "SpaceManagersTeamMembers": []any{},
	}
}
