package octosim

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/deployments"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/newclient"
)

// listFixture is a space with projects whose names are out of ID order
// and of mixed case, each with a runbook, and one library variable set.
type listFixture struct {
	*fixture
	projects []map[string]any // in creation order
	runbooks []map[string]any
	lvsVars  string // the library variable set's variable set
}

const listProjects = 12

func newListFixture(t *testing.T, version string) *listFixture {
	t.Helper()
	f := &listFixture{fixture: newFixture(t, Options{ServerVersion: version})}
	first := newProject(t, f.fixture, "Zeta 00")
	for i := range listProjects {
		var p map[string]any
		if i == 0 {
			p = f.get("/api/Spaces-1/projects/" + first.ID)
		} else {
			// Names sort differently from IDs: Projects-2 is "alpha 11",
			// Projects-3 "Beta 10", … and case must not matter.
			name := fmt.Sprintf("%s %02d", []string{"alpha", "Beta", "gamma", "Delta"}[i%4], listProjects-i)
			p = f.post("/api/Spaces-1/projects", map[string]any{
				"Name": name, "LifecycleId": first.LifecycleID, "ProjectGroupId": first.ProjectGroupID,
			})
		}
		f.projects = append(f.projects, p)
		rb := f.post("/api/Spaces-1/runbooks", map[string]any{
			"Name": fmt.Sprintf("rb %02d", (i*5)%listProjects), "ProjectId": p["Id"],
		})
		f.runbooks = append(f.runbooks, rb)
	}
	lvs := f.post("/api/Spaces-1/libraryvariablesets", map[string]any{"Name": "Shared", "ContentType": "Variables"})
	f.lvsVars = str(lvs["VariableSetId"])
	return f
}

// ids returns field of every project, in creation order.
func (f *listFixture) ids(field string) []string {
	var out []string
	for _, p := range f.projects {
		out = append(out, str(p[field]))
	}
	return out
}

// byIDOrder sorts IDs as the server lists them: case-insensitively, as
// strings ("Projects-10" before "Projects-2").
func byIDOrder(ids []string) []string {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return out
}

func itemIDs(items []any) []string {
	var out []string
	for _, it := range items {
		out = append(out, str(it.(map[string]any)["Id"]))
	}
	return out
}

// array GETs a bare-array list.
func (f *listFixture) array(path string) []any {
	f.t.Helper()
	r := f.raw(http.MethodGet, path, testKey, nil)
	var arr []any
	if r.status != http.StatusOK || jsonUnmarshal(r.body, &arr) != nil {
		f.t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	return arr
}

// sameAsGetByID checks every item equals the document GET by its Self link answers.
func (f *listFixture) sameAsGetByID(what string, items []any) {
	f.t.Helper()
	for _, it := range items {
		m := it.(map[string]any)
		self := str(m["Links"].(map[string]any)["Self"])
		if got := f.get(self); !reflect.DeepEqual(got, m) {
			f.t.Errorf("%s: item %s differs from GET %s:\nlist: %v\nget:  %v", what, m["Id"], self, m, got)
		}
	}
}

// TestListForms holds the list forms of a project's documents to what a
// real server answers (docs/simulator.md, "List forms"): the paged
// deploymentprocesses and runbookProcesses sorted by Id, variables/all,
// the name-sorted /all arrays of projects, channels and runbooks, and
// tenantvariables/all; paging across pages, ids (several, unknown,
// empty), order, items equal to GET by ID, and the routes a real server
// lacks.
func TestListForms(t *testing.T) {
	for _, version := range ConformanceVersions {
		t.Run(version, func(t *testing.T) {
			f := newListFixture(t, version)
			procIDs := f.ids("DeploymentProcessId")
			varIDs := f.ids("VariableSetId")
			var rbProcIDs []string
			for _, rb := range f.runbooks {
				rbProcIDs = append(rbProcIDs, str(rb["RunbookProcessId"]))
			}

			t.Run("deploymentprocesses through the client", func(t *testing.T) {
				all, err := deployments.GetAllDeploymentProcesses(f.c, "Spaces-1")
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, p := range all {
					got = append(got, p.ID)
				}
				if want := byIDOrder(procIDs); !slices.Equal(got, want) {
					t.Errorf("GetAllDeploymentProcesses: %v, want %v", got, want)
				}
			})

			pagingCases := []struct {
				name, path string
				want       []string
			}{
				{"deploymentprocesses", "/api/Spaces-1/deploymentprocesses", byIDOrder(procIDs)},
				{"runbookProcesses", "/api/Spaces-1/runbookProcesses", byIDOrder(rbProcIDs)},
				{"projects", "/api/Spaces-1/projects", nil},
			}
			for _, tc := range pagingCases {
				t.Run("paging "+tc.name, func(t *testing.T) {
					full := f.get(tc.path)
					if int(full["ItemsPerPage"].(float64)) != DefaultPageSize {
						t.Errorf("default take: ItemsPerPage %v", full["ItemsPerPage"])
					}
					want := tc.want
					if want == nil {
						want = itemIDs(full["Items"].([]any))
					}
					const take = 5
					var got []string
					next := fmt.Sprintf("%s?skip=0&take=%d", tc.path, take)
					pages := 0
					for next != "" {
						pg := f.get(next)
						items := pg["Items"].([]any)
						got = append(got, itemIDs(items)...)
						f := &listFixture{fixture: f.fixture}
						f.sameAsGetByID(tc.name, items)
						if pg["TotalResults"].(float64) != float64(len(want)) || pg["ItemsPerPage"].(float64) != take ||
							pg["NumberOfPages"].(float64) != float64((len(want)+take-1)/take) ||
							pg["LastPageNumber"].(float64) != float64((len(want)+take-1)/take-1) {
							t.Errorf("page %d envelope: %v", pages, pg)
						}
						next, _ = pg["Links"].(map[string]any)["Page.Next"].(string)
						pages++
					}
					if pages != (len(want)+take-1)/take || !slices.Equal(got, want) {
						t.Errorf("%d pages of %v, want %v", pages, got, want)
					}
					if tc.name == "projects" {
						var names []string
						for _, it := range full["Items"].([]any) {
							names = append(names, strings.ToLower(str(it.(map[string]any)["Name"])))
						}
						if !slices.IsSorted(names) {
							t.Errorf("projects not sorted by name: %v", names)
						}
					}
				})
			}

			idsCases := []struct {
				name, path string
				ids        []string
				want       []string
			}{
				{"several and unknown", "/api/Spaces-1/deploymentprocesses", []string{procIDs[9], procIDs[1], "deploymentprocess-Projects-999"}, byIDOrder([]string{procIDs[1], procIDs[9]})},
				{"other case", "/api/Spaces-1/deploymentprocesses", []string{strings.ToUpper(procIDs[3])}, []string{procIDs[3]}},
				{"only unknown", "/api/Spaces-1/deploymentprocesses", []string{"deploymentprocess-Projects-999"}, nil},
				{"empty", "/api/Spaces-1/deploymentprocesses", []string{""}, byIDOrder(procIDs)},
				{"runbookProcesses ignore ids", "/api/Spaces-1/runbookProcesses", []string{rbProcIDs[0]}, byIDOrder(rbProcIDs)},
			}
			for _, tc := range idsCases {
				t.Run("ids "+tc.name, func(t *testing.T) {
					pg := f.get(tc.path + "?take=100&ids=" + url.QueryEscape(strings.Join(tc.ids, ",")))
					if got := itemIDs(pg["Items"].([]any)); !slices.Equal(got, tc.want) || pg["TotalResults"].(float64) != float64(len(tc.want)) {
						t.Errorf("ids %v: %v (TotalResults %v), want %v", tc.ids, got, pg["TotalResults"], tc.want)
					}
				})
			}
			t.Run("ids repeated", func(t *testing.T) {
				pg := f.get("/api/Spaces-1/deploymentprocesses?ids=" + url.QueryEscape(procIDs[4]) + "&ids=" + url.QueryEscape(procIDs[2]))
				if got, want := itemIDs(pg["Items"].([]any)), byIDOrder([]string{procIDs[2], procIDs[4]}); !slices.Equal(got, want) {
					t.Errorf("repeated ids: %v, want %v", got, want)
				}
			})

			t.Run("variables/all", func(t *testing.T) {
				all := f.array("/api/Spaces-1/variables/all")
				if want := byIDOrder(append(slices.Clone(varIDs), f.lvsVars)); !slices.Equal(itemIDs(all), want) {
					t.Errorf("variables/all: %v, want %v", itemIDs(all), want)
				}
				f.sameAsGetByID("variables/all", all)
				for _, it := range all {
					if _, ok := it.(map[string]any)["ScopeValues"]; !ok {
						t.Errorf("variables/all item %v has no ScopeValues", it.(map[string]any)["Id"])
					}
				}
				sel := f.array("/api/Spaces-1/variables/all?ids=" + url.QueryEscape(varIDs[7]+","+varIDs[0]+",variableset-Projects-999"))
				if got, want := itemIDs(sel), byIDOrder([]string{varIDs[0], varIDs[7]}); !slices.Equal(got, want) {
					t.Errorf("variables/all?ids: %v, want %v", got, want)
				}
				if got := f.array("/api/Spaces-1/variables/all?ids=variableset-Projects-999"); len(got) != 0 {
					t.Errorf("unknown ids: %v", got)
				}
			})

			nameCases := []struct {
				path  string
				count int
			}{
				{"/api/Spaces-1/projects/all", listProjects},
				{"/api/Spaces-1/channels/all", listProjects},
				{"/api/Spaces-1/runbooks/all", listProjects},
			}
			for _, tc := range nameCases {
				t.Run(tc.path, func(t *testing.T) {
					all := f.array(tc.path)
					var names []string
					for _, it := range all {
						names = append(names, strings.ToLower(str(it.(map[string]any)["Name"]))+"\x00"+strings.ToLower(str(it.(map[string]any)["Id"])))
					}
					if len(all) != tc.count || !slices.IsSorted(names) {
						t.Errorf("%s: %d items, names %v: want %d sorted by name", tc.path, len(all), names, tc.count)
					}
					f.sameAsGetByID(tc.path, all)
					ids := itemIDs(all)
					sel := f.array(tc.path + "?ids=" + url.QueryEscape(ids[5]+","+ids[2]))
					if got := itemIDs(sel); !slices.Equal(got, []string{ids[2], ids[5]}) {
						t.Errorf("%s?ids: %v, want %v", tc.path, got, []string{ids[2], ids[5]})
					}
				})
			}

			absent := []string{
				"/api/Spaces-1/deploymentprocesses/all",
				"/api/Spaces-1/runbookProcesses/all",
				"/api/Spaces-1/variables",
				"/api/Spaces-1/variables?ids=" + varIDs[0],
			}
			for _, p := range absent {
				t.Run("absent "+p, func(t *testing.T) {
					_, err := newclient.Get[map[string]any](f.session(), p)
					apiErr(t, err, http.StatusNotFound)
				})
			}
		})
	}
}

// TestListFormsTenantVariablesAll: tenantvariables/all is served at every
// version from 2021.2 to the newest (the 2026 API reference still lists
// it), sorted by ID, filtered by projectId.
func TestListFormsTenantVariablesAll(t *testing.T) {
	for _, version := range append([]string{"2021.2.7650", "2023.1.9876"}, ConformanceVersions...) {
		t.Run(version, func(t *testing.T) {
			f := newFixture(t, Options{ServerVersion: version})
			p := newProject(t, f, "Web")
			env := f.post("/api/Spaces-1/environments", map[string]any{"Name": "Test"})
			var tenantIDs []string
			for i := range 11 {
				body := map[string]any{"Name": fmt.Sprintf("T%02d", 11-i)}
				if i%2 == 0 {
					body["ProjectEnvironments"] = map[string]any{p.ID: []any{env["Id"]}}
				}
				tenantIDs = append(tenantIDs, str(f.post("/api/Spaces-1/tenants", body)["Id"]))
			}
			all := (&listFixture{fixture: f}).array("/api/Spaces-1/tenantvariables/all")
			var got []string
			for _, it := range all {
				got = append(got, str(it.(map[string]any)["TenantId"]))
			}
			if want := byIDOrder(tenantIDs); !slices.Equal(got, want) {
				t.Errorf("tenantvariables/all: %v, want %v", got, want)
			}
			conn := (&listFixture{fixture: f}).array("/api/Spaces-1/tenantvariables/all?projectId=" + p.ID)
			if len(conn) != 6 {
				t.Errorf("projectId filter: %d tenants, want 6", len(conn))
			}
		})
	}
}
