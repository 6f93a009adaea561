package schema

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Tenant variables have two shapes on an Octopus server.
//
// The legacy document (GET/PUT tenants/{id}/variables, every server):
//
//	{"TenantId": "Tenants-1",
//	 "ProjectVariables": {"Projects-1": {"Variables": {"Environments-1": {"<template id>": value}}}},
//	 "LibraryVariables": {"LibraryVariableSets-1": {"Variables": {"<template id>": value}}}}
//
// and, since 2025.2 (CommonVariableScopingFeatureToggle), two resources
// whose values carry a scope — a common (library variable set) value may be
// scoped to environments, a project value to several:
//
//	GET/PUT tenants/{id}/commonvariables  {"Variables": [{"LibraryVariableSetId", "TemplateId", "Scope": {"EnvironmentIds": [...]}, "Value"}]}
//	GET/PUT tenants/{id}/projectvariables {"Variables": [{"ProjectId", "TemplateId", "Scope": {"EnvironmentIds": [...]}, "Value"}]}
//
// octobundle keeps the richer shape everywhere (snapshot, bundle):
// {"CommonVariables": [...], "ProjectVariables": [...]}. The functions below
// convert from and to the legacy document for servers that have only it.

// Field names of the tenant variables shape.
const (
	tvCommon  = "CommonVariables"
	tvProject = "ProjectVariables"
	tvLibrary = "LibraryVariables"
	tvLVS     = "LibraryVariableSetId"
	tvProj    = "ProjectId"
	tvTmpl    = "TemplateId"
	tvScope   = "Scope"
	tvEnvs    = "EnvironmentIds"
	tvValue   = "Value"
)

// TenantVariablesFromLegacy converts a legacy tenant variables document to
// the scoped shape: one project value per environment, common values
// unscoped. Values without a value (null, a SensitiveValue with HasValue
// false) are left out, as the scoped endpoints do not list them.
func TenantVariablesFromLegacy(legacy map[string]any) map[string]any {
	common, project := []any{}, []any{}
	pv, _ := legacy[tvProject].(map[string]any)
	for _, pid := range slices.Sorted(maps.Keys(pv)) {
		envs, _ := nestedMap(pv[pid], "Variables")
		for _, env := range slices.Sorted(maps.Keys(envs)) {
			vals, _ := envs[env].(map[string]any)
			for _, tpl := range slices.Sorted(maps.Keys(vals)) {
				if !tenantValueSet(vals[tpl]) {
					continue
				}
				project = append(project, map[string]any{
					tvProj: pid, tvTmpl: tpl, tvScope: map[string]any{tvEnvs: []any{env}}, tvValue: DeepCopy(vals[tpl]),
				})
			}
		}
	}
	lv, _ := legacy[tvLibrary].(map[string]any)
	for _, lid := range slices.Sorted(maps.Keys(lv)) {
		vals, _ := nestedMap(lv[lid], "Variables")
		for _, tpl := range slices.Sorted(maps.Keys(vals)) {
			if !tenantValueSet(vals[tpl]) {
				continue
			}
			common = append(common, map[string]any{
				tvLVS: lid, tvTmpl: tpl, tvScope: map[string]any{tvEnvs: []any{}}, tvValue: DeepCopy(vals[tpl]),
			})
		}
	}
	out := map[string]any{tvCommon: common, tvProject: project}
	if tid, ok := legacy["TenantId"]; ok {
		out["TenantId"] = tid
	}
	return out
}

// tenantValueSet reports whether a legacy value is a value: not null and
// not a SensitiveValue saying none is set.
func tenantValueSet(v any) bool {
	if v == nil {
		return false
	}
	if IsSensitiveValue(v) {
		m := v.(map[string]any)
		hv, _ := m["HasValue"].(bool)
		nv, _ := m["NewValue"].(string)
		return hv || nv != ""
	}
	return true
}

// TenantVariablesToLegacy converts the scoped shape to the legacy document:
// a project value scoped to several environments becomes one value per
// environment. It refuses what the legacy document cannot hold — a common
// value scoped to environments, a project value scoped to none, two values
// of one template for the same environment — naming the variable set or
// project, the template and the field (by whatever doc holds: names in a
// bundle form, IDs in a server form).
func TenantVariablesToLegacy(doc map[string]any) (map[string]any, error) {
	pv, lv := map[string]any{}, map[string]any{}
	var problems []string
	for i, el := range asList(doc[tvProject]) {
		m, _ := el.(map[string]any)
		pid, tpl := fmt.Sprint(m[tvProj]), fmt.Sprint(m[tvTmpl])
		envs := scopeEnvironments(m)
		if len(envs) == 0 {
			problems = append(problems, fmt.Sprintf("ProjectVariables[%d] (project %q, template %q): Scope.EnvironmentIds is empty; this server keeps project tenant variable values per environment only", i, pid, tpl))
			continue
		}
		p, _ := pv[pid].(map[string]any)
		if p == nil {
			p = map[string]any{tvProj: pid, "Variables": map[string]any{}}
			pv[pid] = p
		}
		vars := p["Variables"].(map[string]any)
		for _, env := range envs {
			vals, _ := vars[env].(map[string]any)
			if vals == nil {
				vals = map[string]any{}
				vars[env] = vals
			}
			if _, dup := vals[tpl]; dup {
				problems = append(problems, fmt.Sprintf("ProjectVariables[%d] (project %q, template %q): Scope.EnvironmentIds: environment %q has two values", i, pid, tpl, env))
				continue
			}
			vals[tpl] = DeepCopy(m[tvValue])
		}
	}
	for i, el := range asList(doc[tvCommon]) {
		m, _ := el.(map[string]any)
		lid, tpl := fmt.Sprint(m[tvLVS]), fmt.Sprint(m[tvTmpl])
		if envs := scopeEnvironments(m); len(envs) > 0 {
			problems = append(problems, fmt.Sprintf("CommonVariables[%d] (library variable set %q, template %q): Scope.EnvironmentIds is %s; this server (before 2025.2, or without CommonVariableScopingFeatureToggle) keeps one common value for all environments", i, lid, tpl, strings.Join(envs, ", ")))
			continue
		}
		l, _ := lv[lid].(map[string]any)
		if l == nil {
			l = map[string]any{tvLVS: lid, "Variables": map[string]any{}}
			lv[lid] = l
		}
		vals := l["Variables"].(map[string]any)
		if _, dup := vals[tpl]; dup {
			problems = append(problems, fmt.Sprintf("CommonVariables[%d] (library variable set %q, template %q): a second unscoped value", i, lid, tpl))
			continue
		}
		vals[tpl] = DeepCopy(m[tvValue])
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	out := map[string]any{tvProject: pv, tvLibrary: lv}
	if tid, ok := doc["TenantId"]; ok {
		out["TenantId"] = tid
	}
	return out, nil
}

// scopeEnvironments returns the environments of a scoped tenant value.
func scopeEnvironments(m map[string]any) []string {
	sc, _ := m[tvScope].(map[string]any)
	var out []string
	for _, e := range asList(sc[tvEnvs]) {
		if s, ok := e.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

func asList(v any) []any {
	switch t := v.(type) {
	case []any:
		return t
	case []map[string]any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = e
		}
		return out
	}
	return nil
}

func nestedMap(v any, key string) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	out, ok := m[key].(map[string]any)
	return out, ok
}
