package octosim

import (
	"net/http"
	"strings"

	"github.com/octobundle/octobundle/schema"
)

// Parent and ephemeral environments (go-octopusdeploy's
// environments/v2 packages), from 2025.3 (see serverFeatures; 404 before):
//
//	GET/POST /api/spaces/{space}/parentEnvironments, GET/PUT/DELETE …/parentEnvironments/{id}
//	POST /api/{space}/projects/{id}/environments/ephemeral {EnvironmentName} → {Id}
//	POST /api/{space}/projects/{id}/environments/ephemeral/{envId}/deprovision → {DeprovisioningRun}
//	POST /api/{space}/environments/ephemeral/{envId}/deprovision → {DeprovisioningRuns}
//	GET  /api/{space}/environments/v2{?name,skip,ids,take,partialName,type}
//
// A parent environment scopes variables, targets and accounts for the
// ephemeral environments under it and is never deployed to. A project
// gets ephemeral environments through a channel of Type
// "EphemeralEnvironment" whose ParentEnvironmentId names a parent
// environment; each ephemeral environment is created under that parent
// and connected to the project. Deprovisioning disconnects the project (or
// every project) and removes the environment once no project is left; the
// simulator runs no runbooks, so no deprovisioning run is reported.
// Environments v2 lists static (the environments collection), parent and
// ephemeral environments with their Type. The v1 environments collection
// keeps only static ones, and a parent environment that still has
// ephemeral environments cannot be deleted. Parent and ephemeral
// environments are simulator state: not registry kinds, not in seeds.

// Space collections of parent and ephemeral environments.
const (
	parentEnvsColl    = "parentenvironments"
	ephemeralEnvsColl = "ephemeralenvironments"
)

// ephemeralChannelType is the channel Type that configures ephemeral
// environments for its project.
const ephemeralChannelType = "EphemeralEnvironment"

func init() {
	registerSpaceSub("parentEnvironments", (*Server).serveParentEnvironments)
	registerSubResource("projects", "environments", (*Server).serveProjectEphemeral)
	registerCollRoute("environments", "ephemeral", (*Server).serveEphemeralDeprovision)
	registerCollRoute("environments", "v2", (*Server).serveEnvironmentsV2)
}

// serveParentEnvironments answers /api/spaces/{space}/parentEnvironments[/{id}].
func (s *Server) serveParentEnvironments(r *request, sp *space, segs []string) (int, any, error) {
	if !s.hasFeature("ephemeralEnvironments") || len(segs) > 1 {
		return 0, nil, notFound(r.path)
	}
	parents := sp.coll(parentEnvsColl)
	if len(segs) == 0 {
		switch r.method {
		case http.MethodGet:
			var items []map[string]any
			for _, d := range parents.all() {
				if s.envMatches(r, d) {
					items = append(items, renderEnvV2(d))
				}
			}
			return http.StatusOK, page(r, "ParentEnvironment", items), nil
		case http.MethodPost:
			doc := parentEnvBody(r.body, nil)
			if err := s.validateEnvName(sp, doc, ""); err != nil {
				return 0, nil, err
			}
			doc["Id"] = s.st.nextID("Environments")
			doc["SpaceId"] = sp.id()
			doc["SortOrder"] = s.nextEnvSortOrder(sp)
			parents.put(str(doc["Id"]), doc)
			return http.StatusCreated, renderEnvV2(doc), nil
		}
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	p := parents.get(segs[0])
	if p == nil {
		return 0, nil, notFound(r.path)
	}
	switch r.method {
	case http.MethodGet:
		return http.StatusOK, renderEnvV2(p), nil
	case http.MethodPut:
		doc := parentEnvBody(r.body, p)
		if err := s.validateEnvName(sp, doc, str(p["Id"])); err != nil {
			return 0, nil, err
		}
		parents.put(str(doc["Id"]), doc)
		return http.StatusOK, renderEnvV2(doc), nil
	case http.MethodDelete:
		if kids := sp.coll(ephemeralEnvsColl).where("ParentEnvironmentId", str(p["Id"])); len(kids) > 0 {
			return 0, nil, badRequestf("The parent environment '%s' cannot be deleted because it has %d ephemeral environment(s); deprovision them first.", p["Name"], len(kids))
		}
		parents.remove(str(p["Id"]))
		return http.StatusOK, nil, nil
	}
	return 0, nil, methodNotAllowed(r.method, r.path)
}

// parentEnvBody takes a parent environment's writable fields from body
// over stored (nil for a new one).
func parentEnvBody(body, stored map[string]any) map[string]any {
	doc := map[string]any{"Type": "Parent", "Description": "", "UseGuidedFailure": false, "AutomaticDeprovisioningRule": nil}
	for k, v := range stored {
		doc[k] = v
	}
	for _, f := range []string{"Name", "Description", "Slug", "UseGuidedFailure", "AutomaticDeprovisioningRule", "SortOrder"} {
		if v, ok := fieldFoldOK(body, f); ok {
			doc[f] = schema.DeepCopy(v)
		}
	}
	doc["Name"] = strings.TrimSpace(str(doc["Name"]))
	if str(doc["Slug"]) == "" {
		doc["Slug"] = slug(str(doc["Name"]))
	}
	return doc
}

// validateEnvName checks that doc has a name no other environment of the
// space (static, parent or ephemeral) has; self is doc's own ID.
func (s *Server) validateEnvName(sp *space, doc map[string]any, self string) error {
	name := str(doc["Name"])
	if name == "" {
		return badRequest("Please provide a name for the environment.")
	}
	for _, c := range []*coll{s.st.collFor(sp, lookupColl("environments")), sp.coll(parentEnvsColl), sp.coll(ephemeralEnvsColl)} {
		for _, d := range c.whereAny("Name", name) {
			if !strings.EqualFold(str(d["Id"]), self) {
				return badRequestf("An environment with the name '%s' already exists in this space. Please choose a different name.", name)
			}
		}
	}
	return nil
}

// nextEnvSortOrder is one past the highest SortOrder of the space's
// environments of every type.
func (s *Server) nextEnvSortOrder(sp *space) int {
	n := 0
	for _, c := range []*coll{s.st.collFor(sp, lookupColl("environments")), sp.coll(parentEnvsColl), sp.coll(ephemeralEnvsColl)} {
		for _, d := range c.all() {
			if v, ok := d["SortOrder"].(float64); ok && int(v) >= n {
				n = int(v) + 1
			}
			if v, ok := d["SortOrder"].(int); ok && v >= n {
				n = v + 1
			}
		}
	}
	return n
}

// renderEnvV2 is a parent or ephemeral environment as the server answers
// it (without the projects it is connected to).
func renderEnvV2(d map[string]any) map[string]any {
	out := copyDoc(d)
	delete(out, "ProjectIds")
	return out
}

// serveProjectEphemeral answers projects/{id}/environments/ephemeral[/{envId}/deprovision].
func (s *Server) serveProjectEphemeral(r *request, sp *space, project map[string]any, segs []string) (int, any, error) {
	if !s.hasFeature("ephemeralEnvironments") || len(segs) < 2 || !strings.EqualFold(segs[1], "ephemeral") {
		return 0, nil, notFound(r.path)
	}
	if r.method != http.MethodPost {
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	switch {
	case len(segs) == 2:
		return s.createEphemeralEnvironment(r, sp, project)
	case len(segs) == 4 && strings.EqualFold(segs[3], "deprovision"):
		env := sp.coll(ephemeralEnvsColl).get(segs[2])
		if env == nil || !anyValueIn(env["ProjectIds"], map[string]bool{strings.ToLower(str(project["Id"])): true}) {
			return 0, nil, notFound(r.path)
		}
		s.disconnectEphemeral(sp, env, str(project["Id"]))
		return http.StatusOK, map[string]any{"DeprovisioningRun": nil}, nil
	}
	return 0, nil, notFound(r.path)
}

// createEphemeralEnvironment is POST projects/{id}/environments/ephemeral.
func (s *Server) createEphemeralEnvironment(r *request, sp *space, project map[string]any) (int, any, error) {
	var parentID string
	for _, ch := range s.st.collFor(sp, lookupColl("channels")).where("ProjectId", str(project["Id"])) {
		if strings.EqualFold(str(ch["Type"]), ephemeralChannelType) && str(ch["ParentEnvironmentId"]) != "" {
			parentID = str(ch["ParentEnvironmentId"])
			break
		}
	}
	parent := sp.coll(parentEnvsColl).get(parentID)
	if parent == nil {
		return 0, nil, badRequestf("The project '%s' is not configured for ephemeral environments: it needs a channel of type %s with a parent environment.", project["Name"], ephemeralChannelType)
	}
	doc := map[string]any{
		"Name": strings.TrimSpace(str(fieldFold(r.body, "EnvironmentName"))), "SpaceId": sp.id(), "Type": "Ephemeral",
		"Description": "", "UseGuidedFailure": parent["UseGuidedFailure"], "ParentEnvironmentId": parent["Id"],
		"ProjectIds": []any{project["Id"]},
	}
	if err := s.validateEnvName(sp, doc, ""); err != nil {
		return 0, nil, err
	}
	doc["Id"] = s.st.nextID("Environments")
	doc["Slug"] = slug(str(doc["Name"]))
	doc["SortOrder"] = s.nextEnvSortOrder(sp)
	sp.coll(ephemeralEnvsColl).put(str(doc["Id"]), doc)
	return http.StatusCreated, map[string]any{"Id": doc["Id"]}, nil
}

// disconnectEphemeral removes project (every project if empty) from env,
// and env once it has none.
func (s *Server) disconnectEphemeral(sp *space, env map[string]any, project string) {
	c := sp.coll(ephemeralEnvsColl)
	kept := []any{}
	for _, p := range strs(env["ProjectIds"]) {
		if project != "" && !strings.EqualFold(p, project) {
			kept = append(kept, p)
		}
	}
	if len(kept) == 0 {
		c.remove(str(env["Id"]))
		return
	}
	doc := copyDoc(env)
	doc["ProjectIds"] = kept
	c.put(str(doc["Id"]), doc)
}

// serveEphemeralDeprovision answers POST environments/ephemeral/{id}/deprovision.
func (s *Server) serveEphemeralDeprovision(r *request, sp *space, segs []string) (int, any, error) {
	if !s.hasFeature("ephemeralEnvironments") || len(segs) != 2 || !strings.EqualFold(segs[1], "deprovision") {
		return 0, nil, notFound(r.path)
	}
	env := sp.coll(ephemeralEnvsColl).get(segs[0])
	if env == nil {
		return 0, nil, notFound(r.path)
	}
	if r.method != http.MethodPost {
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	s.disconnectEphemeral(sp, env, "")
	return http.StatusOK, map[string]any{"DeprovisioningRuns": []any{}}, nil
}

// serveEnvironmentsV2 answers GET environments/v2: every environment of the
// space with its Type, filtered by type, ids, name and partialName.
func (s *Server) serveEnvironmentsV2(r *request, sp *space, segs []string) (int, any, error) {
	if !s.hasFeature("ephemeralEnvironments") || len(segs) != 0 {
		return 0, nil, notFound(r.path)
	}
	if r.method != http.MethodGet {
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	types := map[string]bool{}
	for k, vals := range r.query {
		if strings.EqualFold(k, "type") {
			for _, v := range vals {
				for _, t := range strings.Split(v, ",") {
					if t = strings.TrimSpace(t); t != "" {
						types[strings.ToLower(t)] = true
					}
				}
			}
		}
	}
	envSpec := lookupColl("environments")
	var items []map[string]any
	add := func(d map[string]any, typ string) {
		if (len(types) > 0 && !types[strings.ToLower(typ)]) || !s.envMatches(r, d) {
			return
		}
		items = append(items, d)
	}
	for _, d := range s.st.collFor(sp, envSpec).all() {
		out, err := s.renderMap(sp, envSpec, d, false)
		if err != nil {
			return 0, nil, err
		}
		out["Type"] = "Static"
		add(out, "Static")
	}
	for _, d := range sp.coll(parentEnvsColl).all() {
		add(renderEnvV2(d), "Parent")
	}
	for _, d := range sp.coll(ephemeralEnvsColl).all() {
		add(renderEnvV2(d), "Ephemeral")
	}
	return http.StatusOK, page(r, "Environment", items), nil
}

// envMatches applies the ids, name and partialName filters to d.
func (s *Server) envMatches(r *request, d map[string]any) bool {
	if v := r.q("ids"); v != "" {
		ok := false
		for k, vals := range r.query {
			if !strings.EqualFold(k, "ids") {
				continue
			}
			for _, val := range vals {
				for _, id := range strings.Split(val, ",") {
					ok = ok || strings.EqualFold(strings.TrimSpace(id), str(d["Id"]))
				}
			}
		}
		if !ok {
			return false
		}
	}
	if n := r.q("name"); n != "" && !strings.EqualFold(n, str(d["Name"])) {
		return false
	}
	p := strings.ToLower(r.q("partialName"))
	return p == "" || strings.Contains(strings.ToLower(str(d["Name"])), p)
}
