package octosim

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/octobundle/octobundle/schema"
)

// putSingleton answers PUT of a deployment process, runbook process or
// variable set: the Version must be the stored one (else 409), the body
// replaces the document (owner fields are kept), missing step, action,
// package and variable IDs are generated, references are validated, and the
// Version goes up by one.
func (s *Server) putSingleton(r *request, sp *space, spec *collSpec, stored map[string]any) (int, any, error) {
	have := versionOf(stored["Version"])
	// A body without a Version is taken as version 0, as the real server's
	// model binding does.
	got := r.body["Version"]
	if versionOf(got) != have {
		return 0, nil, conflict(fmt.Sprintf(
			"The %s %s is at version %d but the request was based on version %v. Reload it and apply your changes again.",
			spec.singular(), str(stored["Id"]), have, got))
	}
	// The body replaces the document, as update does for entities; the
	// fields the server manages are kept from the stored one.
	doc := map[string]any{}
	for _, k := range singletonManaged {
		if v, ok := stored[k]; ok {
			doc[k] = schema.DeepCopy(v)
		}
	}
	canonicalizeFields(r.body, storedCasing(stored))
	for k, v := range r.body {
		if slices.Contains(singletonManaged, k) {
			continue
		}
		doc[k] = v // the request's own decoded body: no copy needed
	}
	if spec.Name == "variables" {
		mergeSensitiveVariables(doc, stored)
	}
	s.prepare(sp, spec, doc, stored)
	for k := range stored {
		if _, ok := doc[k]; !ok {
			doc[k] = nil // read back as null, as on a real server
		}
	}
	if err := s.validate(sp, spec, doc, stored); err != nil {
		return 0, nil, err
	}
	doc["Version"] = float64(have + 1)
	sp.coll(spec.Name).put(str(stored["Id"]), doc)
	return http.StatusOK, s.render(sp, spec, doc, false), nil
}

// singletonManaged are the fields of a process or variable set the server
// manages: never taken from a PUT body, kept from the stored document.
var singletonManaged = []string{"Id", "SpaceId", "Links", "Version", "OwnerId", "ProjectId", "RunbookId", "ScopeValues", "LastSnapshotId"}

func versionOf(v any) int {
	switch t := v.(type) {
	case float64:
		return int(t)
	case int:
		return t
	}
	return 0
}

// Sensitive variables. The real server never returns a sensitive
// variable's value (GET: IsSensitive true, Type "Sensitive", Value null). On
// PUT of the whole set, a sensitive variable keeps its stored secret only if
// it carries the Id of the stored variable and no new value (null or "");
// a sensitive variable without its Id and without a value is saved with no
// value — the secret is lost (go-octopusdeploy issue #449).

func isSensitiveVar(v map[string]any) bool {
	b, _ := v["IsSensitive"].(bool)
	return b || str(v["Type"]) == "Sensitive"
}

// mergeSensitiveVariables applies the rules above to doc's Variables
// against the stored set.
func mergeSensitiveVariables(doc, stored map[string]any) {
	old := map[string]map[string]any{}
	for _, v := range asSlice(stored["Variables"]) {
		if m, ok := v.(map[string]any); ok && str(m["Id"]) != "" {
			old[str(m["Id"])] = m
		}
	}
	for _, v := range asSlice(doc["Variables"]) {
		m, ok := v.(map[string]any)
		if !ok || !isSensitiveVar(m) {
			continue
		}
		m["IsSensitive"] = true
		m["Type"] = "Sensitive"
		if s, ok := m["Value"].(string); ok && s != "" {
			continue // a new secret
		}
		if prev := old[str(m["Id"])]; prev != nil && isSensitiveVar(prev) {
			m["Value"] = prev["Value"]
			continue
		}
		m["Value"] = nil // the secret is gone
	}
}

// markSensitiveVariables gives each sensitive variable of doc (marked by
// IsSensitive or by Type) both marks, as the server answers it: IsSensitive
// true, Type "Sensitive". The kind registry's Secret (a Value whose
// IsSensitive is true) then says it is write-only.
func markSensitiveVariables(doc map[string]any) {
	for _, v := range asSlice(doc["Variables"]) {
		if m, ok := v.(map[string]any); ok && isSensitiveVar(m) {
			m["IsSensitive"] = true
			m["Type"] = "Sensitive"
		}
	}
}

// scopeValues builds a variable set's ScopeValues: the ID → name lookups of
// everything its variables may be scoped to.
func (s *Server) scopeValues(sp *space, doc map[string]any) map[string]any {
	ref := func(docs []map[string]any) []any {
		out := []any{}
		for _, d := range docs {
			out = append(out, map[string]any{"Id": d["Id"], "Name": d["Name"]})
		}
		return out
	}
	project := ""
	if o := str(doc["OwnerId"]); strings.HasPrefix(o, "Projects-") {
		project = o
	}
	shared := spaceScopeOf(sp)
	out := map[string]any{
		"Environments": slices.Clone(shared.environments),
		"Machines":     slices.Clone(shared.machines),
		"Roles":        slices.Clone(shared.roles),
		"TenantTags":   slices.Clone(shared.tenantTags),
		"Channels":     []any{},
		"Actions":      []any{},
		"Processes":    []any{},
	}
	if project != "" {
		// The project's own entities, found through the ProjectId index.
		inProject := func(coll string) []map[string]any {
			var out []map[string]any
			for _, d := range sp.coll(coll).where("ProjectId", project) {
				if str(d["ProjectId"]) == project {
					out = append(out, d)
				}
			}
			return out
		}
		out["Channels"] = ref(inProject("channels"))
		actions := []any{}
		for _, coll := range []string{"deploymentprocesses", "runbookProcesses"} {
			for _, proc := range inProject(coll) {
				for _, st := range asSlice(proc["Steps"]) {
					sm, _ := st.(map[string]any)
					for _, a := range asSlice(sm["Actions"]) {
						am, _ := a.(map[string]any)
						actions = append(actions, map[string]any{"Id": am["Id"], "Name": am["Name"]})
					}
				}
			}
		}
		out["Actions"] = actions
		procs := []any{}
		if p := sp.coll("projects").get(project); p != nil {
			procs = append(procs, map[string]any{"Id": project, "Name": p["Name"], "ProcessType": "Deployment"})
		}
		for _, rb := range inProject("runbooks") {
			procs = append(procs, map[string]any{"Id": rb["Id"], "Name": rb["Name"], "ProcessType": "Runbook"})
		}
		out["Processes"] = procs
	}
	return out
}

// spaceScope is the part of ScopeValues every variable set of a space
// shares: its environments, machines, machine roles and tenant tags. It is
// built once for the versions of the collections it comes from, not once
// per variable set: a list of a space's n variable sets read its machines
// n times before.
type spaceScope struct {
	// vers are the versions of environments, machines and tagsets it was
	// built from.
	vers                                      [3]uint64
	environments, machines, roles, tenantTags []any
}

// spaceScopeOf returns sp's spaceScope, built again when one of its
// collections changed. Its slices are shared: callers copy them.
func spaceScopeOf(sp *space) *spaceScope {
	envs, machines, tagsets := sp.coll("environments"), sp.coll("machines"), sp.coll("tagsets")
	vers := [3]uint64{envs.version(), machines.version(), tagsets.version()}
	sp.scopeMu.Lock()
	defer sp.scopeMu.Unlock()
	if sc := sp.scope; sc != nil && sc.vers == vers {
		return sc
	}
	ref := func(docs []map[string]any) []any {
		out := []any{}
		for _, d := range docs {
			out = append(out, map[string]any{"Id": d["Id"], "Name": d["Name"]})
		}
		return out
	}
	roles := map[string]bool{}
	for _, m := range machines.all() {
		for _, r := range strs(m["Roles"]) {
			roles[r] = true
		}
	}
	roleList := []any{}
	for _, r := range sortedSet(roles) {
		roleList = append(roleList, map[string]any{"Id": r, "Name": r})
	}
	tags := []any{}
	for _, ts := range tagsets.all() {
		for _, t := range asSlice(ts["Tags"]) {
			if m, ok := t.(map[string]any); ok {
				c := str(ts["Name"]) + "/" + str(m["Name"])
				tags = append(tags, map[string]any{"Id": c, "Name": c})
			}
		}
	}
	sp.scope = &spaceScope{vers: vers, environments: ref(envs.all()), machines: ref(machines.all()), roles: roleList, tenantTags: tags}
	return sp.scope
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
