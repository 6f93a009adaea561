package gen

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/tools/octosim"
)

func TestGenerateDeterministic(t *testing.T) {
	o := Options{Projects: 30, Tenants: 8, Seed: 7}
	a, err := json.Marshal(Generate(o))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(Generate(o))
	if string(a) != string(b) {
		t.Fatal("Generate is not deterministic for equal options")
	}
	o.Seed = 8
	c, _ := json.Marshal(Generate(o))
	if string(a) == string(c) {
		t.Fatal("different seeds gave the same instance")
	}
}

func TestGenerateDefaults(t *testing.T) {
	inst := Generate(Options{})
	cols := inst.Spaces[0].Collections
	want := map[string]int{
		"projects": DefaultProjects, "deploymentprocesses": DefaultProjects,
		"environments": DefaultEnvironments, "tenants": DefaultTenants,
		"tenantvariables": DefaultTenants,
	}
	for coll, n := range want {
		if got := len(cols[coll]); got != n {
			t.Errorf("%s: got %d, want %d", coll, got, n)
		}
	}
	// Project variable sets: one per project plus the library sets.
	nvars := 0
	for _, vs := range cols["variables"] {
		if strings.HasPrefix(genStr(vs["OwnerId"]), "Projects-") {
			nvars++
			if n := len(vs["Variables"].([]any)); n != DefaultVariablesPerProject {
				t.Fatalf("%s has %d variables", vs["Id"], n)
			}
		}
	}
	if nvars != DefaultProjects {
		t.Errorf("project variable sets: %d", nvars)
	}
	for _, dp := range cols["deploymentprocesses"] {
		if n := len(dp["Steps"].([]any)); n != DefaultStepsPerProject {
			t.Fatalf("%s has %d steps", dp["Id"], n)
		}
	}
	if len(cols["runbooks"]) == 0 || len(cols["channels"]) <= DefaultProjects {
		t.Errorf("runbooks %d, channels %d", len(cols["runbooks"]), len(cols["channels"]))
	}
	if errs := checkSeedInstance(genRoundTrip(t, inst)); len(errs) > 0 {
		t.Fatalf("generated instance is invalid:\n%s", strings.Join(errs, "\n"))
	}
}

func TestGenerateSizes(t *testing.T) {
	for _, o := range []Options{
		{Projects: 1, Environments: 1, Tenants: -1, VariablesPerProject: 1, StepsPerProject: 1},
		{Projects: 9, Environments: 7, Tenants: 3, VariablesPerProject: 33, StepsPerProject: 12, Seed: 99},
	} {
		inst := Generate(o)
		cols := inst.Spaces[0].Collections
		if len(cols["projects"]) != o.Projects || len(cols["environments"]) != o.Environments {
			t.Errorf("%+v: %d projects, %d environments", o, len(cols["projects"]), len(cols["environments"]))
		}
		if errs := checkSeedInstance(genRoundTrip(t, inst)); len(errs) > 0 {
			t.Errorf("%+v: invalid:\n%s", o, strings.Join(errs, "\n"))
		}
	}
}

// TestSampleInstancesResolve checks the hand-written sample instances in
// testdata/instances: every reference the kind registry knows resolves, and
// the structural rules of the seed format hold.
func TestSampleInstancesResolve(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/instances/*.json")
	if len(files) == 0 {
		t.Fatal("no sample instances in testdata/instances")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var inst octosim.Instance
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&inst); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for _, e := range checkSeedInstance(&inst) {
			t.Errorf("%s: %s", filepath.Base(f), e)
		}
	}
}

// TestGenerateLoads loads a generated instance into the simulator, which
// validates every entity as a POST would (seed_test.go does the same for
// the sample instances).
func TestGenerateLoads(t *testing.T) {
	for _, o := range []Options{{}, {Projects: 40, Seed: 3}, {Projects: 5, Environments: 9, Tenants: -1}, {Projects: 2, Environments: 1, Tenants: 3, StepsPerProject: 1, VariablesPerProject: 1}} {
		if _, err := octosim.New(octosim.Options{Seed: Generate(o)}); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		Generate(Options{})
	}
}

func BenchmarkLoadGenerated(b *testing.B) {
	inst := Generate(Options{})
	for b.Loop() {
		if _, err := octosim.New(octosim.Options{Seed: inst}); err != nil {
			b.Fatal(err)
		}
	}
}

func genRoundTrip(t *testing.T, inst *octosim.Instance) *octosim.Instance {
	t.Helper()
	b, err := json.Marshal(inst)
	if err != nil {
		t.Fatal(err)
	}
	var out octosim.Instance
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// seedIndex is what checkSeedInstance knows about one space.
type seedIndex struct {
	inst     *octosim.Instance
	cols     map[string][]map[string]any
	ids      map[string]map[string]bool // kind name → IDs
	byID     map[string]map[string]any  // any collection entity by ID
	channels map[string]map[string]bool // project → channel IDs
	actions  map[string]map[string]bool // project → action IDs (deployment and runbook processes)
	owners   map[string]map[string]bool // project → process owner IDs (itself and its runbooks)
	ptmpl    map[string]map[string]bool // project → template IDs
	ltmpl    map[string]map[string]bool // library variable set → template IDs
}

// checkSeedInstance checks a seed instance against the kind registry: IDs
// have their kind's shape and are unique, owned singletons exist, and every
// reference in schema.Kinds()[i].Refs resolves inside the instance. It
// returns one message per problem.
func checkSeedInstance(inst *octosim.Instance) []string {
	var errs []string
	fail := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	roleIDs := map[string]bool{}
	for _, r := range inst.UserRoles {
		roleIDs[genStr(r["Id"])] = true
	}
	for _, sp := range inst.Spaces {
		x := indexSeedSpace(inst, sp, fail)
		x.ids[schema.UserRole] = roleIDs
		for _, k := range schema.Kinds() {
			if k.IsVirtual() {
				continue
			}
			for _, ent := range x.entitiesOf(k) {
				for _, ref := range k.Refs {
					x.checkRef(k, ent, ref, fail)
				}
			}
		}
	}
	sort.Strings(errs)
	return errs
}

func indexSeedSpace(inst *octosim.Instance, sp octosim.SpaceSeed, fail func(string, ...any)) *seedIndex {
	x := &seedIndex{
		inst: inst, cols: sp.Collections,
		ids: map[string]map[string]bool{}, byID: map[string]map[string]any{},
		channels: map[string]map[string]bool{}, actions: map[string]map[string]bool{},
		owners: map[string]map[string]bool{}, ptmpl: map[string]map[string]bool{},
		ltmpl: map[string]map[string]bool{},
	}
	add := func(m map[string]map[string]bool, k, v string) {
		if m[k] == nil {
			m[k] = map[string]bool{}
		}
		m[k][v] = true
	}
	known := map[string]bool{}
	for _, k := range schema.Kinds() {
		if k.Collection != "" && !k.ServerLevel {
			known[k.Collection] = true
		}
		if k.Read != "" {
			known[strings.SplitN(k.Read, "/", 2)[0]] = true
		}
	}
	known["tenantvariables"] = true
	known["projectlogos"] = true
	for coll, ents := range sp.Collections {
		if !known[coll] {
			fail("unknown collection %q", coll)
		}
		for i, e := range ents {
			id := genStr(e["Id"])
			if coll == "tenantvariables" {
				id = "tenantvariables-" + genStr(e["TenantId"])
			}
			if coll == "projectlogos" {
				id = "projectlogos-" + genStr(e["ProjectId"])
			}
			if id == "" || id == "tenantvariables-" {
				fail("%s[%d] has no Id", coll, i)
				continue
			}
			if x.byID[id] != nil {
				fail("duplicate Id %s", id)
			}
			x.byID[id] = e
			if sid := genStr(e["SpaceId"]); coll != "tenantvariables" && coll != "projectlogos" && sid != sp.Id {
				fail("%s: SpaceId %q, want %q", id, sid, sp.Id)
			}
		}
	}
	for _, k := range schema.Kinds() {
		if k.Collection == "" || k.ServerLevel {
			continue
		}
		x.ids[k.Name] = map[string]bool{}
		for _, e := range x.entitiesOf(k) {
			id := genStr(e["Id"])
			if !k.LooksLikeID(id) {
				fail("%s %q does not look like a %s ID", k.Name, id, k.IDPrefix)
			}
			x.ids[k.Name][id] = true
		}
	}
	for _, ch := range x.cols["channels"] {
		add(x.channels, genStr(ch["ProjectId"]), genStr(ch["Id"]))
	}
	for _, p := range x.cols["projects"] {
		pid := genStr(p["Id"])
		add(x.owners, pid, pid)
		for _, t := range genSlice(p["Templates"]) {
			add(x.ptmpl, pid, genStr(t.(map[string]any)["Id"]))
		}
		defaults := 0
		for _, ch := range x.cols["channels"] {
			if genStr(ch["ProjectId"]) == pid && ch["IsDefault"] == true {
				defaults++
			}
		}
		if defaults != 1 {
			fail("project %s has %d default channels", pid, defaults)
		}
		for field, want := range map[string]string{"DeploymentProcessId": "deploymentprocess-" + pid, "VariableSetId": "variableset-" + pid} {
			if genStr(p[field]) != want {
				fail("project %s: %s is %q, want %q", pid, field, p[field], want)
			} else if x.byID[want] == nil {
				fail("project %s: %s %s is missing", pid, field, want)
			}
		}
		if vs := x.byID["variableset-"+pid]; vs != nil && genStr(vs["OwnerId"]) != pid {
			fail("variableset-%s: OwnerId %q", pid, vs["OwnerId"])
		}
		if dp := x.byID["deploymentprocess-"+pid]; dp != nil && genStr(dp["ProjectId"]) != pid {
			fail("deploymentprocess-%s: ProjectId %q", pid, dp["ProjectId"])
		}
	}
	for _, l := range x.cols["libraryvariablesets"] {
		id := genStr(l["Id"])
		for _, t := range genSlice(l["Templates"]) {
			add(x.ltmpl, id, genStr(t.(map[string]any)["Id"]))
		}
		vs := x.byID[genStr(l["VariableSetId"])]
		if genStr(l["VariableSetId"]) != "variableset-"+id || vs == nil || genStr(vs["OwnerId"]) != id {
			fail("library variable set %s: variable set %q missing or not owned", id, l["VariableSetId"])
		}
		if l["ContentType"] == "ScriptModule" && vs != nil {
			name := genStr(l["Name"])
			have := map[string]bool{}
			for _, v := range genSlice(vs["Variables"]) {
				have[genStr(v.(map[string]any)["Name"])] = true
			}
			if !have["Octopus.Script.Module["+name+"]"] || !have["Octopus.Script.Module.Language["+name+"]"] {
				fail("script module %s: body or language variable missing", name)
			}
		}
	}
	for _, tv := range x.cols["tenantvariables"] {
		tid := genStr(tv["TenantId"])
		t := x.byID[tid]
		if t == nil {
			fail("tenant variables of %s: no such tenant", tid)
			continue
		}
		links, _ := t["ProjectEnvironments"].(map[string]any)
		included := map[string]bool{}
		for pid := range links {
			if p := x.byID[pid]; p != nil {
				for _, l := range genSlice(p["IncludedLibraryVariableSetIds"]) {
					included[genStr(l)] = true
				}
			}
		}
		pv, _ := tv["ProjectVariables"].(map[string]any)
		for pid, v := range pv {
			envs := map[string]bool{}
			for _, e := range genSlice(links[pid]) {
				envs[genStr(e)] = true
			}
			if links[pid] == nil {
				fail("tenant variables of %s: project %s is not linked to the tenant", tid, pid)
			}
			byEnv, _ := v.(map[string]any)["Variables"].(map[string]any)
			for e := range byEnv {
				if !envs[e] {
					fail("tenant variables of %s: project %s has values for %s, which the tenant is not linked to", tid, pid, e)
				}
			}
		}
		lv, _ := tv["LibraryVariables"].(map[string]any)
		for l := range lv {
			if !included[l] {
				fail("tenant variables of %s: library variable set %s is not included by the tenant's projects", tid, l)
			}
		}
	}
	for _, rb := range x.cols["runbooks"] {
		id, pid := genStr(rb["Id"]), genStr(rb["ProjectId"])
		add(x.owners, pid, id)
		rp := x.byID[genStr(rb["RunbookProcessId"])]
		if genStr(rb["RunbookProcessId"]) != "RunbookProcess-"+id || rp == nil ||
			genStr(rp["RunbookId"]) != id || genStr(rp["ProjectId"]) != pid {
			fail("runbook %s: runbook process %q missing or not owned", id, rb["RunbookProcessId"])
		}
	}
	for _, coll := range []string{"deploymentprocesses", "runbookProcesses"} {
		for _, dp := range x.cols[coll] {
			pid := genStr(dp["ProjectId"])
			for _, s := range genSlice(dp["Steps"]) {
				for _, a := range genSlice(s.(map[string]any)["Actions"]) {
					add(x.actions, pid, genStr(a.(map[string]any)["Id"]))
				}
			}
		}
	}
	return x
}

// entitiesOf returns the seed entities of kind k in this space.
func (x *seedIndex) entitiesOf(k *schema.Kind) []map[string]any {
	if k.ServerLevel {
		return x.inst.UserRoles
	}
	if k.Collection != "" {
		var out []map[string]any
		for _, e := range x.cols[k.Collection] {
			ok := true
			for q, v := range k.Filter {
				if genStr(e[strings.ToUpper(q[:1])+q[1:]]) != v {
					ok = false
				}
			}
			if ok {
				out = append(out, e)
			}
		}
		return out
	}
	if k.Read == "" {
		return nil
	}
	// A singleton read through its parent: "variables/{VariableSetId}",
	// "tenants/{Id}/variables".
	parent := schema.MustLookup(k.Parent)
	var out []map[string]any
	for _, p := range x.entitiesOf(parent) {
		if strings.HasPrefix(k.Read, "tenants/") {
			for _, tv := range x.cols["tenantvariables"] {
				if genStr(tv["TenantId"]) == genStr(p["Id"]) {
					out = append(out, tv)
				}
			}
			continue
		}
		if strings.HasPrefix(k.Read, parent.Collection+"/{Id}/") {
			// A view of the parent's document (a project's deployment
			// settings are stored on the project).
			out = append(out, p)
			continue
		}
		i, j := strings.Index(k.Read, "{"), strings.Index(k.Read, "}")
		if e := x.byID[genStr(p[k.Read[i+1:j]])]; e != nil {
			out = append(out, e)
		}
	}
	return out
}

// collIDs returns the IDs of every entity in a collection.
func (x *seedIndex) collIDs(coll string) map[string]bool {
	out := map[string]bool{}
	for _, e := range x.cols[coll] {
		out[genStr(e["Id"])] = true
	}
	return out
}

// ownerProject is the project an entity belongs to, for ScopeOwner refs.
func (x *seedIndex) ownerProject(ent map[string]any) string {
	if p := genStr(ent["ProjectId"]); p != "" {
		return p
	}
	if id := genStr(ent["Id"]); strings.HasPrefix(id, "Projects-") {
		return id
	}
	return genStr(ent["OwnerId"])
}

func (x *seedIndex) checkRef(k *schema.Kind, ent map[string]any, ref schema.Ref, fail func(string, ...any)) {
	id := genStr(ent["Id"])
	if id == "" {
		id = "tenant variables of " + genStr(ent["TenantId"])
	}
	walkSeedRef(ent, strings.Split(ref.Path, "/"), nil, nil, func(val string, keys []string, parent map[string]any) {
		if val == "" {
			return
		}
		if ref.When != nil && (parent == nil || !genContains(ref.When.Values, fmt.Sprint(parent[ref.When.Field]))) {
			return
		}
		var set map[string]bool
		to := ref.To
		switch ref.To {
		case schema.AnyKind:
			kk := schema.KindForID(val)
			if kk == nil {
				return // not an ID: a plain property value
			}
			to, set = kk.Name, x.ids[kk.Name]
		case schema.Channel:
			if ref.Within == schema.ScopeSelf {
				set = x.channels[id]
			} else if ref.Within == schema.ScopeOwner {
				set = x.channels[x.ownerProject(ent)]
			} else {
				set = x.ids[schema.Channel]
			}
		case schema.Action:
			if ref.Within == schema.ScopeSelf {
				set = x.actions[id]
			} else {
				set = x.actions[x.ownerProject(ent)]
			}
		case schema.ProcessOwner:
			set = x.owners[x.ownerProject(ent)]
		case schema.ProjectTemplate, schema.LibraryTemplate:
			scope := ""
			if ref.Within == schema.ScopeSibling {
				scope = genStr(parent[ref.Sibling])
			} else {
				scope = keys[1]
			}
			set = map[string]map[string]map[string]bool{schema.ProjectTemplate: x.ptmpl, schema.LibraryTemplate: x.ltmpl}[ref.To][scope]
		default:
			set = x.ids[ref.To]
			if kk := schema.Lookup(ref.To); kk != nil && len(kk.Filter) > 0 {
				// Kinds sharing a collection share an ID space: a project's
				// IncludedLibraryVariableSetIds holds script modules too.
				set = x.collIDs(kk.Collection)
			}
			if kk := schema.Lookup(ref.To); kk != nil && kk.ExtraIDs != nil && kk.ExtraIDs.MatchString(val) && kk.ServerLevel {
				return // built-in user roles always exist
			}
		}
		if !set[val] {
			fail("%s %s: %s = %q does not resolve to a %s", k.Name, id, ref.Path, val, to)
		}
	})
}

// walkSeedRef walks path segs from node as schema.Ref.Path describes and
// calls emit for each string found, with the keys taken and the object
// holding the leaf.
func walkSeedRef(node any, segs, keys []string, parent map[string]any, emit func(string, []string, map[string]any)) {
	if node == nil {
		return
	}
	if len(segs) == 0 {
		switch v := node.(type) {
		case string:
			emit(v, keys, parent)
		case []any:
			for _, e := range v {
				if s, ok := e.(string); ok {
					emit(s, keys, parent)
				}
			}
		}
		return
	}
	seg, rest := segs[0], segs[1:]
	switch seg {
	case "*":
		switch v := node.(type) {
		case map[string]any:
			for k, e := range v {
				walkSeedRef(e, rest, append(append([]string{}, keys...), k), parent, emit)
			}
		case []any:
			for i, e := range v {
				walkSeedRef(e, rest, append(append([]string{}, keys...), strconv.Itoa(i)), parent, emit)
			}
		}
	case "~":
		if m, ok := node.(map[string]any); ok {
			for k := range m {
				emit(k, append(append([]string{}, keys...), k), parent)
			}
		}
	default:
		if m, ok := node.(map[string]any); ok {
			walkSeedRef(m[seg], rest, append(append([]string{}, keys...), seg), m, emit)
		}
	}
}

func genSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func genContains(xs []string, s string) bool {
	for _, x := range xs {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func genStr(v any) string {
	s, _ := v.(string)
	return s
}

func TestScaleShape(t *testing.T) {
	const n = 25
	inst := Generate(Scale(n))
	cols := inst.Spaces[0].Collections
	want := map[string]int{
		"projects": n, "channels": 3 * n, "runbooks": 2 * n, "environments": 30, "tenants": n / 5,
		"actiontemplates": 20, "libraryvariablesets": 10 + 10,
	}
	for coll, w := range want {
		if got := len(cols[coll]); got != w {
			t.Errorf("%s: got %d, want %d", coll, got, w)
		}
	}
	for _, dp := range cols["deploymentprocesses"] {
		if got := len(dp["Steps"].([]any)); got != 12 {
			t.Errorf("%s: %d steps, want 12", dp["Id"], got)
		}
	}
	for _, vs := range cols["variables"] {
		if strings.HasPrefix(genStr(vs["OwnerId"]), "Projects-") {
			if got := len(vs["Variables"].([]any)); got != 60 {
				t.Errorf("%s: %d variables, want 60", vs["Id"], got)
			}
		}
	}
	if errs := checkSeedInstance(genRoundTrip(t, inst)); len(errs) > 0 {
		t.Fatalf("unresolved references: %v", errs[:min(len(errs), 10)])
	}
	if _, err := octosim.New(octosim.Options{Seed: inst}); err != nil {
		t.Fatal(err)
	}
}
