package octosim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/octobundle/octobundle/schema"
)

// Tenant variables are stored in one model, the scoped one of 2025.2+
// (see schema/tenantvars.go): per tenant
//
//	{TenantId, CommonVariables: [{Id, LibraryVariableSetId, TemplateId, Scope: {EnvironmentIds}, Value}],
//	 ProjectVariables: [{Id, ProjectId, TemplateId, Scope: {EnvironmentIds}, Value}]}
//
// with secrets in clear (scopedtenantvars.go serves it). The legacy document of
// GET/PUT /api/{space}/tenants/{id}/variables is a view of it:
//
//	{TenantId, TenantName, SpaceId,
//	 ProjectVariables: {projectId: {ProjectId, ProjectName, Templates,
//	     Variables: {environmentId: {templateId: value}}}},
//	 LibraryVariables: {libraryVariableSetId: {LibraryVariableSetId,
//	     LibraryVariableSetName, Templates, Variables: {templateId: value}}}}
//
// for the tenant's connected projects and environments, and the library
// variable sets with templates that those projects include; a common value
// scoped to environments does not show in it. Values of sensitive
// templates are SensitiveValues. Seeds may hold either shape.

// templateIndex maps template IDs to whether the template is sensitive.
func templateIndex(doc map[string]any) map[string]bool {
	out := map[string]bool{}
	for _, t := range asSlice(doc["Templates"]) {
		m, ok := t.(map[string]any)
		if !ok {
			continue
		}
		ds, _ := m["DisplaySettings"].(map[string]any)
		out[str(m["Id"])] = str(ds["Octopus.ControlType"]) == "Sensitive"
	}
	return out
}

// tenantLibrarySets returns the library variable sets (with templates)
// included by the projects the tenant is connected to.
func (s *Server) tenantLibrarySets(sp *space, tenant map[string]any) []map[string]any {
	seen := map[string]bool{}
	var out []map[string]any
	pe, _ := tenant["ProjectEnvironments"].(map[string]any)
	for _, pid := range slices.Sorted(maps.Keys(pe)) {
		p := sp.coll("projects").get(pid)
		if p == nil {
			continue
		}
		for _, l := range strs(p["IncludedLibraryVariableSetIds"]) {
			lvs := sp.coll("libraryvariablesets").get(l)
			if lvs == nil || seen[str(lvs["Id"])] || len(asSlice(lvs["Templates"])) == 0 {
				continue
			}
			seen[str(lvs["Id"])] = true
			out = append(out, lvs)
		}
	}
	sort.Slice(out, func(i, j int) bool { return str(out[i]["Id"]) < str(out[j]["Id"]) })
	return out
}

// legacyValues returns the stored model of a tenant as the legacy
// internal maps {ProjectVariables: {p: {Variables: {e: {t: v}}}},
// LibraryVariables: {l: {Variables: {t: v}}}}, secrets in clear; common
// values scoped to environments are left out.
func legacyValues(stored map[string]any) map[string]any {
	pv, lv := map[string]any{}, map[string]any{}
	for _, el := range asSlice(stored["ProjectVariables"]) {
		m, _ := el.(map[string]any)
		pid, tpl := str(m["ProjectId"]), str(m["TemplateId"])
		p, _ := pv[pid].(map[string]any)
		if p == nil {
			p = map[string]any{"Variables": map[string]any{}}
			pv[pid] = p
		}
		vars := p["Variables"].(map[string]any)
		for _, env := range scopeEnvs(m) {
			vals, _ := vars[env].(map[string]any)
			if vals == nil {
				vals = map[string]any{}
				vars[env] = vals
			}
			vals[tpl] = m["Value"]
		}
	}
	for _, el := range asSlice(stored["CommonVariables"]) {
		m, _ := el.(map[string]any)
		if len(scopeEnvs(m)) > 0 {
			continue
		}
		lid := str(m["LibraryVariableSetId"])
		l, _ := lv[lid].(map[string]any)
		if l == nil {
			l = map[string]any{"Variables": map[string]any{}}
			lv[lid] = l
		}
		l["Variables"].(map[string]any)[str(m["TemplateId"])] = m["Value"]
	}
	return map[string]any{"ProjectVariables": pv, "LibraryVariables": lv}
}

// scopeEnvs returns the environments of a stored tenant value's scope.
func scopeEnvs(m map[string]any) []string {
	sc, _ := m["Scope"].(map[string]any)
	return strs(sc["EnvironmentIds"])
}

// renderTenantVariables builds the legacy document for a tenant.
func (s *Server) renderTenantVariables(sp *space, tenant map[string]any) map[string]any {
	tid := str(tenant["Id"])
	stored := legacyValues(sp.coll(seedTenantVariables).get(tid))
	pv := map[string]any{}
	pe, _ := tenant["ProjectEnvironments"].(map[string]any)
	for _, pid := range slices.Sorted(maps.Keys(pe)) {
		p := sp.coll("projects").get(pid)
		if p == nil {
			continue
		}
		tmpl := templateIndex(p)
		storedEnvs, _ := nested(stored, "ProjectVariables", pid, "Variables").(map[string]any)
		vars := map[string]any{}
		for _, env := range strs(pe[pid]) {
			vals := map[string]any{}
			envVals, _ := storedEnvs[env].(map[string]any)
			for tpl, v := range envVals {
				if sens, ok := tmpl[tpl]; ok {
					vals[tpl] = renderTenantValue(v, sens)
				}
			}
			vars[env] = vals
		}
		pv[pid] = map[string]any{
			"ProjectId": pid, "ProjectName": p["Name"], "Templates": schema.DeepCopy(p["Templates"]), "Variables": vars,
			"Links": map[string]any{"Project": "/api/" + sp.id() + "/projects/" + pid},
		}
	}
	lv := map[string]any{}
	for _, lvs := range s.tenantLibrarySets(sp, tenant) {
		lid := str(lvs["Id"])
		tmpl := templateIndex(lvs)
		storedVals, _ := nested(stored, "LibraryVariables", lid, "Variables").(map[string]any)
		vals := map[string]any{}
		for tpl, v := range storedVals {
			if sens, ok := tmpl[tpl]; ok {
				vals[tpl] = renderTenantValue(v, sens)
			}
		}
		lv[lid] = map[string]any{
			"LibraryVariableSetId": lid, "LibraryVariableSetName": lvs["Name"], "Templates": schema.DeepCopy(lvs["Templates"]),
			"Variables": vals,
			"Links":     map[string]any{"LibraryVariableSet": "/api/" + sp.id() + "/libraryvariablesets/" + lid},
		}
	}
	// Id and ConcurrencyToken, as OctopusClients' TenantVariableResource
	// has them ("Token to validate that no variables for the given tenant
	// have changed since this TenantVariableResource was last requested"):
	// the token changes whenever the tenant's stored values do.
	return map[string]any{
		"Id": "TenantVariables-" + tid, "ConcurrencyToken": tenantVariablesToken(sp.coll(seedTenantVariables).get(tid)),
		"TenantId": tid, "TenantName": tenant["Name"], "SpaceId": sp.id(),
		"ProjectVariables": pv, "LibraryVariables": lv,
		"Links": map[string]any{"Self": "/api/" + sp.id() + "/tenants/" + tid + "/variables"},
	}
}

func renderTenantValue(v any, sensitiveTemplate bool) any {
	if schema.IsSensitiveValue(v) || sensitiveTemplate {
		return map[string]any{"HasValue": storedSecret(v) != nil, "NewValue": nil}
	}
	return schema.DeepCopy(v)
}

// nested follows map keys, returning nil when any is missing.
func nested(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// putTenantVariables answers PUT of the legacy tenant variables document.
// A server with scoped tenant variables refuses it, as Octopus 2025.2+
// does with CommonVariableScopingFeatureToggle on.
//
// From 2025.2 (CommonVariableScopingFeatureToggle) too: a real server still
// accepts the legacy write. Source: the Terraform provider's
// TestAccTenantCommonVariableMigration
// (OctopusDeployLabs/terraform-provider-octopusdeploy,
// octopusdeploy_framework/resource_tenant_common_variable_test.go), run
// against one live server, writes a value with the toggle overridden off
// on the client (createV1: Tenants.UpdateVariables, the legacy POST) and
// then, toggle on, finds that value through tenants/{id}/commonvariables
// (migrateV1ToV2OnRead) — so one server with the toggle on serves both and
// the legacy write lands in the scoped model. The Octopus CLI
// (OctopusDeploy/cli, tenant variables update) likewise keeps its legacy
// path (updateRunV1) for when the toggle reads off. Values the legacy
// document cannot show (common values scoped to environments) are kept.
func (s *Server) putTenantVariables(r *request, sp *space, tenant map[string]any) (int, any, error) {
	doc, errs := s.mergeTenantVariables(sp, tenant, r.body, true)
	if len(errs) > 0 {
		return 0, nil, badRequest(errs...)
	}
	sp.coll(seedTenantVariables).put(str(tenant["Id"]), s.modelFromLegacy(sp, tenant, doc))
	return http.StatusOK, s.renderTenantVariables(sp, tenant), nil
}

// modelFromLegacy turns a legacy internal document into the stored model,
// keeping the Id of each stored value that the legacy document still has
// (same project or variable set, template and single environment), and
// the common values scoped to environments, which the legacy document
// does not show.
func (s *Server) modelFromLegacy(sp *space, tenant map[string]any, legacy map[string]any) map[string]any {
	tid := str(tenant["Id"])
	model := schema.TenantVariablesFromLegacy(legacy)
	old := sp.coll(seedTenantVariables).get(tid)
	ids := map[string]string{}
	for _, f := range []string{"CommonVariables", "ProjectVariables"} {
		for _, el := range asSlice(old[f]) {
			m, _ := el.(map[string]any)
			ids[tenantValueKey(m)] = str(m["Id"])
		}
	}
	for _, f := range []string{"CommonVariables", "ProjectVariables"} {
		for _, el := range asSlice(model[f]) {
			m := el.(map[string]any)
			if id := ids[tenantValueKey(m)]; id != "" {
				m["Id"] = id
			} else {
				m["Id"] = newGUID()
			}
		}
	}
	model["ProjectVariables"] = keepMultiEnvironment(asSlice(model["ProjectVariables"]), asSlice(old["ProjectVariables"]))
	for _, el := range asSlice(old["CommonVariables"]) {
		if m, _ := el.(map[string]any); len(scopeEnvs(m)) > 0 {
			model["CommonVariables"] = append(asSlice(model["CommonVariables"]), m)
		}
	}
	model["Id"], model["TenantId"] = tid, tid
	return model
}

// tenantValueKey identifies a stored value by owner, template and scope.
func tenantValueKey(m map[string]any) string {
	envs := append([]string(nil), scopeEnvs(m)...)
	sort.Strings(envs)
	return str(m["ProjectId"]) + "\x00" + str(m["LibraryVariableSetId"]) + "\x00" + str(m["TemplateId"]) + "\x00" + strings.Join(envs, ",")
}

// mergeTenantVariables checks an incoming tenant variables document against
// the tenant's connections and the templates, resolves write-only values
// against the stored ones, and returns the new internal document.
//
// With strict false (seeds, which are snapshots of a server's storage),
// values for projects, environments and library variable sets the tenant is
// no longer connected to are kept (a real server keeps them too, hidden);
// they must still exist.
func (s *Server) mergeTenantVariables(sp *space, tenant map[string]any, body map[string]any, strict bool) (map[string]any, []string) {
	tid := str(tenant["Id"])
	stored := legacyValues(sp.coll(seedTenantVariables).get(tid))
	out := map[string]any{"Id": tid, "TenantId": tid, "ProjectVariables": map[string]any{}, "LibraryVariables": map[string]any{}}
	var errs []string
	pe, _ := tenant["ProjectEnvironments"].(map[string]any)

	inPV, hasPV := body["ProjectVariables"].(map[string]any)
	if !hasPV {
		out["ProjectVariables"] = schema.DeepCopy(stored["ProjectVariables"])
	}
	for _, pid := range slices.Sorted(maps.Keys(inPV)) {
		envs, connected := pe[pid]
		p := sp.coll("projects").get(pid)
		if p == nil || (strict && !connected) {
			errs = append(errs, fmt.Sprintf("ProjectVariables refers to %s, which is not a project this tenant is connected to.", pid))
			continue
		}
		tmpl := templateIndex(p)
		connectedEnv := map[string]bool{}
		for _, e := range strs(envs) {
			connectedEnv[e] = true
		}
		inVars, _ := nested(inPV[pid], "Variables").(map[string]any)
		newEnvs := map[string]any{}
		for _, env := range slices.Sorted(maps.Keys(inVars)) {
			if !connectedEnv[env] && (strict || sp.coll("environments").get(env) == nil) {
				errs = append(errs, fmt.Sprintf("ProjectVariables.%s.Variables refers to %s, which is not an environment this tenant is connected to for that project.", pid, env))
				continue
			}
			vals, _ := inVars[env].(map[string]any)
			oldVals, _ := nested(stored, "ProjectVariables", pid, "Variables", env).(map[string]any)
			newVals := map[string]any{}
			for _, tpl := range slices.Sorted(maps.Keys(vals)) {
				sens, ok := tmpl[tpl]
				if !ok {
					errs = append(errs, fmt.Sprintf("ProjectVariables.%s.Variables.%s refers to template %s, which is not a template of project %s.", pid, env, tpl, pid))
					continue
				}
				if v, keep := resolveTenantValue(vals[tpl], oldVals[tpl], sens); keep {
					newVals[tpl] = v
				}
			}
			newEnvs[env] = newVals
		}
		out["ProjectVariables"].(map[string]any)[pid] = map[string]any{"Variables": newEnvs}
	}

	inLV, hasLV := body["LibraryVariables"].(map[string]any)
	if !hasLV {
		out["LibraryVariables"] = schema.DeepCopy(stored["LibraryVariables"])
	}
	allowed := map[string]map[string]any{}
	for _, l := range s.tenantLibrarySets(sp, tenant) {
		allowed[strings.ToLower(str(l["Id"]))] = l
	}
	for _, lid := range slices.Sorted(maps.Keys(inLV)) {
		lvs := allowed[strings.ToLower(lid)]
		if lvs == nil && !strict {
			lvs = sp.coll("libraryvariablesets").get(lid)
		}
		if lvs == nil {
			errs = append(errs, fmt.Sprintf("LibraryVariables refers to %s, which is not a library variable set with templates included by this tenant's projects.", lid))
			continue
		}
		tmpl := templateIndex(lvs)
		vals, _ := nested(inLV[lid], "Variables").(map[string]any)
		oldVals, _ := nested(stored, "LibraryVariables", lid, "Variables").(map[string]any)
		newVals := map[string]any{}
		for _, tpl := range slices.Sorted(maps.Keys(vals)) {
			sens, ok := tmpl[tpl]
			if !ok {
				errs = append(errs, fmt.Sprintf("LibraryVariables.%s.Variables refers to template %s, which is not a template of that library variable set.", lid, tpl))
				continue
			}
			if v, keep := resolveTenantValue(vals[tpl], oldVals[tpl], sens); keep {
				newVals[tpl] = v
			}
		}
		out["LibraryVariables"].(map[string]any)[lid] = map[string]any{"Variables": newVals}
	}
	return out, errs
}

// resolveTenantValue turns an incoming tenant variable value into the
// stored one; keep is false when the value is cleared.
func resolveTenantValue(in, old any, sensitiveTemplate bool) (any, bool) {
	switch t := in.(type) {
	case nil:
		return nil, false
	case string:
		if sensitiveTemplate {
			return sensitive(&t), true
		}
		return t, true
	case map[string]any:
		if schema.IsSensitiveValue(t) {
			v := resolveSensitive(t, old)
			if storedSecret(v) == nil {
				return nil, false
			}
			return v, true
		}
	}
	return schema.DeepCopy(in), true
}

// allTenantVariables answers the legacy /tenantvariables/all: every
// tenant's legacy document (of the tenants connected to projectID, when
// given: "for matching tenants, variables from all projects are still
// returned"), "sorted alphabetically by id" (the 2021.2 API description
// and the 2026 API reference, OctopusDeploy/docs
// src/pages/docs/api/_generated/tenants.md, which still lists the route).
func (s *Server) allTenantVariables(sp *space, projectID string) []any {
	out := []any{}
	tc := sp.coll("tenants")
	tenants := tc.docsOf(tc.ordered("Id"))
	for _, t := range tenants {
		if projectID != "" {
			pe, _ := t["ProjectEnvironments"].(map[string]any)
			if _, ok := pe[projectID]; !ok {
				continue
			}
		}
		out = append(out, s.renderTenantVariables(sp, t))
	}
	return out
}

// keepMultiEnvironment keeps a stored project value scoped to several
// environments (2025.2+) as one value, with its Id, when the legacy
// document written back still holds it unchanged: the legacy view shows
// it once per environment, and fromLegacy holds one single-environment
// value for each.
func keepMultiEnvironment(fromLegacy, old []any) []any {
	for _, el := range old {
		m, _ := el.(map[string]any)
		envs := scopeEnvs(m)
		if len(envs) < 2 {
			continue
		}
		drop := map[int]bool{}
		for _, env := range envs {
			for i, x := range fromLegacy {
				n, _ := x.(map[string]any)
				if e := scopeEnvs(n); !drop[i] && len(e) == 1 && strings.EqualFold(e[0], env) &&
					str(n["ProjectId"]) == str(m["ProjectId"]) && str(n["TemplateId"]) == str(m["TemplateId"]) &&
					reflect.DeepEqual(n["Value"], m["Value"]) {
					drop[i] = true
					break
				}
			}
		}
		if len(drop) != len(envs) {
			continue
		}
		kept := []any{}
		for i, x := range fromLegacy {
			if !drop[i] {
				kept = append(kept, x)
			}
		}
		fromLegacy = append(kept, schema.DeepCopy(m))
	}
	return fromLegacy
}

// tenantVariablesToken is the legacy document's ConcurrencyToken: a hash
// of the tenant's stored values.
func tenantVariablesToken(model map[string]any) string {
	b, _ := json.Marshal(model)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
