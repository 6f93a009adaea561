package octosim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestCollOrdered holds a collection's kept list orders to sortForList
// over its documents after every kind of write: a document added, one
// renamed, one saved unchanged, one saved under the same name in another
// case, one removed. An order no write touched is served again as it was.
func TestCollOrdered(t *testing.T) {
	doc := func(id, name string) map[string]any { return map[string]any{"Id": id, "Name": name} }
	steps := []struct {
		name string
		do   func(c *coll)
		// keeps: the Name order survives this write.
		keeps bool
	}{
		{"add", func(c *coll) { c.put("Projects-9", doc("Projects-9", "aardvark")) }, false},
		{"rename", func(c *coll) { c.put("Projects-2", doc("Projects-2", "zulu")) }, false},
		{"save unchanged", func(c *coll) { c.put("Projects-3", doc("Projects-3", "Mike")) }, true},
		{"change case only", func(c *coll) { c.put("Projects-3", doc("Projects-3", "MIKE")) }, true},
		{"tie by name", func(c *coll) { c.put("projects-10", doc("projects-10", "mike")) }, false},
		{"remove", func(c *coll) { c.remove("Projects-1") }, false},
		{"remove unknown", func(c *coll) { c.remove("Projects-404") }, true},
		{"edit in place, then put", func(c *coll) { d := c.get("Projects-9"); d["Name"] = "Yankee"; c.put("Projects-9", d) }, false},
	}
	c := newColl()
	for i, n := range []string{"delta", "Bravo", "Mike", "charlie"} {
		id := fmt.Sprintf("Projects-%d", i+1)
		c.put(id, doc(id, n))
	}
	want := func(field string) []string {
		docs := c.all()
		sortForList(docs, field)
		var ids []string
		for _, d := range docs {
			ids = append(ids, str(d["Id"]))
		}
		return ids
	}
	for _, st := range steps {
		before := c.ordered("Name")
		c.ordered("Id")
		st.do(c)
		for _, field := range []string{"Name", "Id"} {
			if got := c.ordered(field); !slices.Equal(got, want(field)) {
				t.Errorf("after %s: ordered(%s) = %v, want %v", st.name, field, got, want(field))
			}
		}
		if kept := &before[0] == &c.ordered("Name")[0]; kept != st.keeps {
			t.Errorf("after %s: Name order kept = %v, want %v", st.name, kept, st.keeps)
		}
	}
}

// TestListFormsAfterWrites reads the name-sorted and Id-sorted lists in
// pages after the writes that move a document in them (a rename, a
// delete, a create): every page walk equals the order of the /all
// arrays computed afresh.
func TestListFormsAfterWrites(t *testing.T) {
	f := newListFixture(t, "")
	walk := func(path string) []string {
		t.Helper()
		var ids []string
		for skip := 0; ; skip += 5 {
			pg := f.get(fmt.Sprintf("%s?skip=%d&take=5", path, skip))
			ids = append(ids, itemIDs(pg["Items"].([]any))...)
			if _, ok := pg["Links"].(map[string]any)["Page.Next"]; !ok {
				return ids
			}
		}
	}
	wantNames := func() []string {
		t.Helper()
		var ps []map[string]any
		for _, p := range f.array("/api/Spaces-1/projects/all") {
			ps = append(ps, p.(map[string]any))
		}
		slices.SortStableFunc(ps, func(a, b map[string]any) int {
			if c := strings.Compare(strings.ToLower(str(a["Name"])), strings.ToLower(str(b["Name"]))); c != 0 {
				return c
			}
			return strings.Compare(strings.ToLower(str(a["Id"])), strings.ToLower(str(b["Id"])))
		})
		var ids []string
		for _, p := range ps {
			ids = append(ids, str(p["Id"]))
		}
		return ids
	}
	check := func(when string) {
		t.Helper()
		if got, want := walk("/api/Spaces-1/projects"), wantNames(); !slices.Equal(got, want) {
			t.Errorf("%s: projects by name %v, want %v", when, got, want)
		}
		var procs []string
		for _, p := range f.array("/api/Spaces-1/projects/all") {
			procs = append(procs, str(p.(map[string]any)["DeploymentProcessId"]))
		}
		if got, want := walk("/api/Spaces-1/deploymentprocesses"), byIDOrder(procs); !slices.Equal(got, want) {
			t.Errorf("%s: deploymentprocesses %v, want %v", when, got, want)
		}
	}
	check("at first")
	p := f.get("/api/Spaces-1/projects/" + str(f.projects[3]["Id"]))
	p["Name"] = "AAA first now"
	f.put("/api/Spaces-1/projects/"+str(p["Id"]), p)
	check("after a rename")
	if r := f.raw(http.MethodDelete, "/api/Spaces-1/projects/"+str(f.projects[5]["Id"]), testKey, nil); r.status >= 300 {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	check("after a delete")
	f.post("/api/Spaces-1/projects", map[string]any{
		"Name": "middle 06", "LifecycleId": p["LifecycleId"], "ProjectGroupId": p["ProjectGroupId"],
	})
	check("after a create")
}

// TestScopeValuesFollowWrites: the ScopeValues variable sets share (a
// space's environments, machines, roles and tenant tags; spaceScope) are
// kept between reads and follow every write to what they come from.
func TestScopeValuesFollowWrites(t *testing.T) {
	f := newFixture(t, Options{})
	p := newProject(t, f, "Scoped")
	scope := func() map[string]any {
		t.Helper()
		return f.get("/api/Spaces-1/variables/" + p.VariableSetID)["ScopeValues"].(map[string]any)
	}
	names := func(field string) []string {
		t.Helper()
		var out []string
		for _, x := range scope()[field].([]any) {
			out = append(out, str(x.(map[string]any)["Name"]))
		}
		return out
	}
	env := f.post("/api/Spaces-1/environments", map[string]any{"Name": "Staging"})
	if got := names("Environments"); !slices.Contains(got, "Staging") {
		t.Errorf("after a create: Environments %v, want Staging among them", got)
	}
	env["Name"] = "Acceptance"
	f.put("/api/Spaces-1/environments/"+str(env["Id"]), env)
	if got := names("Environments"); !slices.Contains(got, "Acceptance") || slices.Contains(got, "Staging") {
		t.Errorf("after a rename: Environments %v, want Acceptance, not Staging", got)
	}
	m := f.post("/api/Spaces-1/machines", map[string]any{"Name": "web-1", "EnvironmentIds": []any{env["Id"]}, "Roles": []any{"web"},
		"Endpoint": map[string]any{"CommunicationStyle": "None"}})
	if got := names("Roles"); !slices.Equal(got, []string{"web"}) {
		t.Errorf("after a machine: Roles %v, want [web]", got)
	}
	if got := names("Machines"); !slices.Equal(got, []string{"web-1"}) {
		t.Errorf("after a machine: Machines %v, want [web-1]", got)
	}
	f.post("/api/Spaces-1/tagsets", map[string]any{"Name": "Tier", "Tags": []any{map[string]any{"Name": "Gold", "Color": "#333333"}}})
	if got := names("TenantTags"); !slices.Equal(got, []string{"Tier/Gold"}) {
		t.Errorf("after a tag set: TenantTags %v, want [Tier/Gold]", got)
	}
	if r := f.raw(http.MethodDelete, "/api/Spaces-1/machines/"+str(m["Id"]), testKey, nil); r.status >= 300 {
		t.Fatalf("DELETE machine: %d %s", r.status, r.body)
	}
	if got := names("Roles"); len(got) != 0 {
		t.Errorf("after the machine's delete: Roles %v, want none", got)
	}
}
