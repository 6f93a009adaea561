package octosim

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/octobundle/octobundle/schema"
)

// The scoped tenant variables of Octopus 2025.2+ (go-octopusdeploy's
// tenants.GetCommonVariables, UpdateCommonVariables, GetProjectVariables,
// UpdateProjectVariables):
//
//	GET /api/{space}/tenants/{id}/commonvariables[?includeMissingVariables=true]
//	  {TenantId, Variables: [{Id, LibraryVariableSetId, LibraryVariableSetName, TemplateId, Template, Value, Scope: {EnvironmentIds}, Links}],
//	   MissingVariables: [...]}
//	PUT /api/{space}/tenants/{id}/commonvariables {Variables: [{Id?, LibraryVariableSetId, TemplateId, Value, Scope}]}
//
// and the same for projectvariables with ProjectId (and ProjectName). A PUT
// replaces the tenant's list: values not sent are removed; a SensitiveValue
// {"HasValue": true} keeps the secret of the stored value with the same Id
// (or the same owner, template and scope). A value may be unscoped (all
// environments: for a project value, every environment the tenant is
// connected to for that project) or scoped, a project value only to
// environments the tenant is connected to for that project; two values of
// one template may not share an environment. (A real server takes an
// unscoped project value: the OctopusDeploy PowerShell module's
// Set-ProjectTenantVariable writes one.) The legacy view leaves unscoped
// project values out, as it does scoped common ones. Servers before 2025.2
// answer 404.

// tenantVariablesKind is the registry's tenant variables kind.
func tenantVariablesKind() *schema.Kind { return schema.MustLookup(schema.TenantVariables) }

// tenantVariablesToggle names the feature toggle of scoped tenant variables.
func tenantVariablesToggle() string { return tenantVariablesKind().Parts.Toggle }

// scopedTenantVariables reports whether the server has scoped tenant
// variables (its version is at least the registry's Parts.Since), which
// also turns the feature toggle on and the legacy PUT off.
func (s *Server) scopedTenantVariables() bool {
	return schema.VersionAtLeast(s.version, tenantVariablesKind().Parts.Since)
}

// tenantPart describes one of the two scoped resources.
type tenantPart struct {
	field    string // model field: CommonVariables, ProjectVariables
	owner    string // owner field: LibraryVariableSetId, ProjectId
	ownerTtl string // owner name field: LibraryVariableSetName, ProjectName
	coll     string // owner collection
}

var tenantParts = map[string]tenantPart{
	"commonvariables":  {field: "CommonVariables", owner: "LibraryVariableSetId", ownerTtl: "LibraryVariableSetName", coll: "libraryvariablesets"},
	"projectvariables": {field: "ProjectVariables", owner: "ProjectId", ownerTtl: "ProjectName", coll: "projects"},
}

func init() {
	for sub := range tenantParts {
		registerSubResource("tenants", sub, serveTenantPart)
	}
	registerCollAction("tenants", "variables-missing", serveMissingTenantVariables)
}

// serveTenantPart answers GET/PUT of tenants/{id}/commonvariables|projectvariables.
func serveTenantPart(s *Server, r *request, sp *space, tenant map[string]any, segs []string) (int, any, error) {
	if !s.scopedTenantVariables() || len(segs) != 1 {
		return 0, nil, notFound(r.path)
	}
	part := tenantParts[strings.ToLower(segs[0])]
	switch r.method {
	case http.MethodGet:
		return http.StatusOK, s.renderTenantPart(sp, tenant, part, strings.EqualFold(r.q("includeMissingVariables"), "true")), nil
	case http.MethodPut:
		if err := s.putTenantPart(sp, tenant, part, r.body); err != nil {
			return 0, nil, err
		}
		out := s.renderTenantPart(sp, tenant, part, false)
		delete(out, "MissingVariables")
		return http.StatusOK, out, nil
	}
	return 0, nil, methodNotAllowed(r.method, r.path)
}

// visibleValue returns the value as the scoped resource shows it, or nil
// when it is hidden (its project is no longer connected, its variable set
// no longer included, its template gone): project values keep only the
// environments the tenant is connected to for the project.
func (s *Server) visibleValue(sp *space, tenant map[string]any, part tenantPart, m map[string]any, owners map[string]map[string]any) map[string]any {
	owner := owners[str(m[part.owner])]
	if owner == nil {
		return nil
	}
	tmpl := templateByID(owner, str(m["TemplateId"]))
	if tmpl == nil {
		return nil
	}
	envs := scopeEnvs(m)
	if part.field == "ProjectVariables" && len(envs) > 0 {
		pe, _ := tenant["ProjectEnvironments"].(map[string]any)
		connected := strs(pe[str(owner["Id"])])
		var keep []string
		for _, e := range envs {
			if slices.Contains(connected, e) {
				keep = append(keep, e)
			}
		}
		if len(keep) == 0 {
			return nil
		}
		envs = keep
	}
	ds, _ := tmpl["DisplaySettings"].(map[string]any)
	sens := str(ds["Octopus.ControlType"]) == "Sensitive"
	envList := make([]any, len(envs))
	for i, e := range envs {
		envList[i] = e
	}
	out := map[string]any{
		"Id": m["Id"], part.owner: owner["Id"], part.ownerTtl: owner["Name"], "TemplateId": m["TemplateId"],
		"Template": schema.DeepCopy(tmpl), "Value": renderTenantValue(m["Value"], sens),
		"Scope": map[string]any{"EnvironmentIds": envList},
		"Links": map[string]any{},
	}
	return out
}

// partOwners returns the owners a tenant's values of part may be under:
// its connected projects, or the variable sets with templates they include.
func (s *Server) partOwners(sp *space, tenant map[string]any, part tenantPart) map[string]map[string]any {
	out := map[string]map[string]any{}
	if part.field == "ProjectVariables" {
		pe, _ := tenant["ProjectEnvironments"].(map[string]any)
		for pid := range pe {
			if p := sp.coll("projects").get(pid); p != nil {
				out[str(p["Id"])] = p
			}
		}
		return out
	}
	for _, l := range s.tenantLibrarySets(sp, tenant) {
		out[str(l["Id"])] = l
	}
	return out
}

func templateByID(owner map[string]any, id string) map[string]any {
	for _, t := range asSlice(owner["Templates"]) {
		if m, ok := t.(map[string]any); ok && strings.EqualFold(str(m["Id"]), id) {
			return m
		}
	}
	return nil
}

// renderTenantPart builds the GET answer of a scoped resource.
func (s *Server) renderTenantPart(sp *space, tenant map[string]any, part tenantPart, missing bool) map[string]any {
	tid := str(tenant["Id"])
	stored := sp.coll(seedTenantVariables).get(tid)
	owners := s.partOwners(sp, tenant, part)
	vars := []any{}
	covered := map[string]bool{} // owner/template/env ("" env: unscoped)
	for _, el := range asSlice(stored[part.field]) {
		m, _ := el.(map[string]any)
		if v := s.visibleValue(sp, tenant, part, m, owners); v != nil {
			vars = append(vars, v)
			envs := strs(v["Scope"].(map[string]any)["EnvironmentIds"])
			if len(envs) == 0 {
				envs = []string{""}
			}
			for _, e := range envs {
				covered[str(v[part.owner])+"/"+str(v["TemplateId"])+"/"+e] = true
			}
		}
	}
	out := map[string]any{"TenantId": tid, "Variables": vars,
		"Links": map[string]any{"Self": "/api/" + sp.id() + "/tenants/" + tid + "/" + strings.ToLower(part.field)}}
	if missing {
		out["MissingVariables"] = s.missingTenantValues(sp, tenant, part, owners, covered)
	}
	return out
}

// missingTenantValues lists the templates without a value: per connected
// environment for project templates, unscoped for common ones.
func (s *Server) missingTenantValues(sp *space, tenant map[string]any, part tenantPart, owners map[string]map[string]any, covered map[string]bool) []any {
	out := []any{}
	pe, _ := tenant["ProjectEnvironments"].(map[string]any)
	ids := make([]string, 0, len(owners))
	for id := range owners {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, oid := range ids {
		owner := owners[oid]
		envs := []string{""}
		if part.field == "ProjectVariables" {
			envs = strs(pe[oid])
		}
		for _, t := range asSlice(owner["Templates"]) {
			tm, _ := t.(map[string]any)
			for _, e := range envs {
				if covered[oid+"/"+str(tm["Id"])+"/"+e] {
					continue
				}
				if part.field == "CommonVariables" && anyCovered(covered, oid+"/"+str(tm["Id"])+"/") {
					continue
				}
				if covered[oid+"/"+str(tm["Id"])+"/"] {
					continue // an unscoped value covers every environment
				}
				scope := []any{}
				if e != "" {
					scope = append(scope, e)
				}
				out = append(out, map[string]any{
					part.owner: oid, part.ownerTtl: owner["Name"], "TemplateId": tm["Id"], "Template": schema.DeepCopy(tm),
					"Value": schema.DeepCopy(tm["DefaultValue"]), "Scope": map[string]any{"EnvironmentIds": scope},
				})
			}
		}
	}
	return out
}

func anyCovered(covered map[string]bool, prefix string) bool {
	for k := range covered {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// putTenantPart validates and stores a PUT of a scoped resource.
func (s *Server) putTenantPart(sp *space, tenant map[string]any, part tenantPart, body map[string]any) error {
	tid := str(tenant["Id"])
	stored := sp.coll(seedTenantVariables).get(tid)
	list, errs := s.checkTenantPart(sp, tenant, part, body["Variables"], stored, true)
	if len(errs) > 0 {
		return badRequest(errs...)
	}
	doc := copyDoc(stored)
	if doc == nil {
		doc = map[string]any{"Id": tid, "TenantId": tid, "CommonVariables": []any{}, "ProjectVariables": []any{}}
	}
	// Values hidden from the resource (an unconnected project's) are kept,
	// as a real server keeps them.
	owners := s.partOwners(sp, tenant, part)
	for _, el := range asSlice(stored[part.field]) {
		m, _ := el.(map[string]any)
		if s.visibleValue(sp, tenant, part, m, owners) == nil {
			list = append(list, m)
		}
	}
	doc[part.field] = list
	sp.coll(seedTenantVariables).put(tid, doc)
	return nil
}

// checkTenantPart checks incoming values of one part against the tenant's
// connections and the templates, resolves write-only values against the
// stored ones and gives new values an Id. With strict false (seeds), values
// under projects or environments the tenant is no longer connected to are
// accepted if they exist.
func (s *Server) checkTenantPart(sp *space, tenant map[string]any, part tenantPart, in any, stored map[string]any, strict bool) ([]any, []string) {
	var errs []string
	oldByID, oldByKey := map[string]map[string]any{}, map[string]map[string]any{}
	for _, el := range asSlice(stored[part.field]) {
		m, _ := el.(map[string]any)
		oldByID[strings.ToLower(str(m["Id"]))] = m
		oldByKey[tenantValueKey(m)] = m
	}
	owners := s.partOwners(sp, tenant, part)
	pe, _ := tenant["ProjectEnvironments"].(map[string]any)
	seen := map[string]int{} // owner/template/env → index
	out := []any{}
	for i, el := range asSlice(in) {
		m, ok := el.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Sprintf("Variables[%d] is not an object.", i))
			continue
		}
		oid, tid := str(m[part.owner]), str(m["TemplateId"])
		owner := owners[oid]
		if owner == nil && !strict {
			owner = sp.coll(part.coll).get(oid)
		}
		if owner == nil {
			errs = append(errs, fmt.Sprintf("Variables[%d]: %s %q is not a %s of this tenant.", i, part.owner, oid, map[string]string{"ProjectVariables": "connected project", "CommonVariables": "library variable set included by a connected project"}[part.field]))
			continue
		}
		oid = str(owner["Id"])
		tmpl := templateByID(owner, tid)
		if tmpl == nil {
			errs = append(errs, fmt.Sprintf("Variables[%d]: TemplateId %q is not a template of %s %s.", i, tid, part.owner, oid))
			continue
		}
		tid = str(tmpl["Id"])
		envs := scopeEnvs(m)
		bad := false
		for _, e := range envs {
			switch {
			case sp.coll("environments").get(e) == nil:
				errs = append(errs, fmt.Sprintf("Variables[%d]: Scope.EnvironmentIds: %q is not an environment.", i, e))
				bad = true
			case strict && part.field == "ProjectVariables" && !slices.Contains(strs(pe[oid]), e):
				errs = append(errs, fmt.Sprintf("Variables[%d]: Scope.EnvironmentIds: the tenant is not connected to project %s in environment %s.", i, oid, e))
				bad = true
			}
		}
		keys := envs
		if len(keys) == 0 {
			keys = []string{""}
		}
		for _, e := range keys {
			k := oid + "/" + tid + "/" + e
			if j, dup := seen[k]; dup {
				errs = append(errs, fmt.Sprintf("Variables[%d]: template %s of %s already has a value for %s in Variables[%d].", i, tid, oid, map[bool]string{true: "all environments", false: "environment " + e}[e == ""], j))
				bad = true
			}
			seen[k] = i
		}
		if bad {
			continue
		}
		ds, _ := tmpl["DisplaySettings"].(map[string]any)
		sens := str(ds["Octopus.ControlType"]) == "Sensitive"
		envList := make([]any, len(envs))
		for j, e := range envs {
			envList[j] = e
		}
		nv := map[string]any{part.owner: oid, "TemplateId": tid, "Scope": map[string]any{"EnvironmentIds": envList}}
		old := oldByID[strings.ToLower(str(m["Id"]))]
		if old == nil {
			old = oldByKey[tenantValueKey(nv)]
		}
		v, keep := resolveTenantValue(m["Value"], old["Value"], sens)
		if !keep {
			continue
		}
		nv["Value"] = v
		if old != nil && str(old["Id"]) != "" {
			nv["Id"] = old["Id"]
		} else {
			nv["Id"] = newGUID()
		}
		out = append(out, nv)
	}
	return out, errs
}

// loadTenantVariablesSeed stores a seed's tenant variables document, in
// either shape (scoped lists, or the legacy maps).
func (s *Server) loadTenantVariablesSeed(sp *space, tenant map[string]any, item map[string]any) []string {
	tid := str(tenant["Id"])
	_, legacyPV := item["ProjectVariables"].(map[string]any)
	_, legacyLV := item["LibraryVariables"].(map[string]any)
	if legacyPV || legacyLV {
		doc, errs := s.mergeTenantVariables(sp, tenant, item, false)
		sp.coll(seedTenantVariables).put(tid, s.modelFromLegacy(sp, tenant, doc))
		return errs
	}
	doc := map[string]any{"Id": tid, "TenantId": tid}
	var errs []string
	for _, part := range []tenantPart{tenantParts["commonvariables"], tenantParts["projectvariables"]} {
		list, perrs := s.checkTenantPart(sp, tenant, part, item[part.field], nil, false)
		for _, e := range perrs {
			errs = append(errs, part.field+": "+e)
		}
		// Seeds keep their Ids.
		for i, el := range asSlice(item[part.field]) {
			if m, ok := el.(map[string]any); ok && i < len(list) && str(m["Id"]) != "" && len(perrs) == 0 {
				list[i].(map[string]any)["Id"] = m["Id"]
			}
		}
		doc[part.field] = list
	}
	sp.coll(seedTenantVariables).put(tid, doc)
	return errs
}

// serveMissingTenantVariables answers GET tenants/variables-missing: per
// tenant (filtered by tenantId, projectId, environmentId), the project
// templates without a value per connected environment and the common
// templates without an unscoped value.
func serveMissingTenantVariables(s *Server, r *request, sp *space) (int, any, error) {
	if r.method != http.MethodGet {
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	out := []any{}
	for _, t := range sp.coll("tenants").all() {
		if id := r.q("tenantId"); id != "" && !strings.EqualFold(id, str(t["Id"])) {
			continue
		}
		var missing []any
		for _, name := range []string{"projectvariables", "commonvariables"} {
			part := tenantParts[name]
			doc := s.renderTenantPart(sp, t, part, true)
			for _, el := range asSlice(doc["MissingVariables"]) {
				m := el.(map[string]any)
				mv := map[string]any{"VariableTemplateId": m["TemplateId"], "Links": map[string]any{}}
				if tm, ok := m["Template"].(map[string]any); ok {
					mv["VariableTemplateName"] = tm["Name"]
				}
				if part.field == "ProjectVariables" {
					mv["ProjectId"] = m["ProjectId"]
					envs := strs(m["Scope"].(map[string]any)["EnvironmentIds"])
					if len(envs) > 0 {
						mv["EnvironmentId"] = envs[0]
					}
					if p := r.q("projectId"); p != "" && !strings.EqualFold(p, str(m["ProjectId"])) {
						continue
					}
					if e := r.q("environmentId"); e != "" && !strings.EqualFold(e, str(mv["EnvironmentId"])) {
						continue
					}
				} else {
					mv["LibraryVariableSetId"] = m["LibraryVariableSetId"]
				}
				missing = append(missing, mv)
			}
		}
		if len(missing) == 0 {
			continue
		}
		out = append(out, map[string]any{"TenantId": t["Id"], "MissingVariables": missing, "Links": map[string]any{}})
	}
	return http.StatusOK, out, nil
}

// TenantSecret returns the write-only value a tenant holds for a template
// of owner (a project or library variable set ID) in environment env ("" for
// a common value for all environments), for tests: the value whose scope
// covers env. ok is false when there is none.
func (s *Server) TenantSecret(spaceID, tenantID, owner, template, env string) (value string, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sp := s.st.lookupSpace(spaceID)
	if sp == nil {
		return "", false
	}
	doc := sp.coll(seedTenantVariables).get(tenantID)
	for _, f := range []string{"CommonVariables", "ProjectVariables"} {
		for _, el := range asSlice(doc[f]) {
			m, _ := el.(map[string]any)
			if str(m["TemplateId"]) != template || (str(m["ProjectId"]) != owner && str(m["LibraryVariableSetId"]) != owner) {
				continue
			}
			envs := scopeEnvs(m)
			if (env == "" && len(envs) == 0) || slices.Contains(envs, env) {
				if p := storedSecret(m["Value"]); p != nil {
					return *p, true
				}
				return "", false
			}
		}
	}
	return "", false
}
