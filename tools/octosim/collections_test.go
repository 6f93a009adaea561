package octosim

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/newclient"
)

// deps are entities the collection bodies refer to.
type deps struct {
	env, project, team, tenant, pool, release, runbook, snapshot string
}

func setupDeps(f *fixture) deps {
	f.t.Helper()
	var d deps
	d.env = str(f.post(sp1("environments"), map[string]any{"Name": "Dep Env"})["Id"])
	lc := f.get(sp1("lifecycles?partialName=Default"))["Items"].([]any)[0].(map[string]any)
	pg := f.get(sp1("projectgroups?partialName=Default"))["Items"].([]any)[0].(map[string]any)
	d.project = str(f.post(sp1("projects"), map[string]any{"Name": "Dep Project", "LifecycleId": lc["Id"], "ProjectGroupId": pg["Id"]})["Id"])
	d.team = str(f.post(sp1("teams"), map[string]any{"Name": "Dep Team"})["Id"])
	d.tenant = str(f.post(sp1("tenants"), map[string]any{"Name": "Dep Tenant"})["Id"])
	d.pool = str(f.get(sp1("workerpools?partialName=Default"))["Items"].([]any)[0].(map[string]any)["Id"])
	d.release = str(f.post(sp1("releases"), map[string]any{"Version": "0.0.1", "ProjectId": d.project})["Id"])
	d.runbook = str(f.post(sp1("runbooks"), map[string]any{"Name": "Dep Runbook", "ProjectId": d.project})["Id"])
	d.snapshot = str(f.post(sp1("runbookSnapshots"), map[string]any{"Name": "Dep Snapshot", "RunbookId": d.runbook})["Id"])
	return d
}

// collectionBodies returns, for every collection the simulator serves
// through POST, a valid body for the i-th entity.
func collectionBodies(d deps) map[string]func(i int) map[string]any {
	named := func(prefix string, extra func(i int) map[string]any) func(i int) map[string]any {
		return func(i int) map[string]any {
			m := map[string]any{"Name": fmt.Sprintf("%s %02d", prefix, i)}
			if extra != nil {
				for k, v := range extra(i) {
					m[k] = v
				}
			}
			return m
		}
	}
	return map[string]func(int) map[string]any{
		"environments":  named("Env", nil),
		"projectgroups": named("Group", nil),
		"tagsets": named("Tags", func(int) map[string]any {
			return map[string]any{"Tags": []any{map[string]any{"Name": "Gold", "Color": "#FFD700"}}}
		}),
		"feeds": named("Feed", func(int) map[string]any {
			return map[string]any{"FeedType": "NuGet", "FeedUri": "https://nuget.example.com/v3/index.json"}
		}),
		"teams":     named("Team", nil),
		"userroles": named("Role", nil),
		"machinepolicies": named("Policy", func(int) map[string]any {
			m := defaultMachinePolicy()
			delete(m, "Name")
			m["IsDefault"] = false
			return m
		}),
		"workerpools": named("Pool", func(int) map[string]any { return map[string]any{"WorkerPoolType": "StaticWorkerPool"} }),
		"accounts": named("Account", func(int) map[string]any {
			return map[string]any{"AccountType": "UsernamePassword", "Username": "u", "Password": map[string]any{"HasValue": true, "NewValue": "pw"}}
		}),
		"actiontemplates": named("Template", func(int) map[string]any {
			return map[string]any{"ActionType": "Octopus.Script", "Properties": map[string]any{"Octopus.Action.Script.ScriptBody": "echo hi"}}
		}),
		"libraryvariablesets": named("Library", func(int) map[string]any { return map[string]any{"ContentType": "Variables"} }),
		"lifecycles":          named("Lifecycle", nil),
		"tenants":             named("Tenant", nil),
		"certificates": named("Cert", func(int) map[string]any {
			return map[string]any{"CertificateData": map[string]any{"HasValue": true, "NewValue": "MIIB"}, "Password": map[string]any{"HasValue": false}}
		}),
		"projects": func(i int) map[string]any {
			return nil // filled in by the test (needs the default lifecycle and group)
		},
		"channels": named("Channel", func(int) map[string]any { return map[string]any{"ProjectId": d.project} }),
		"runbooks": named("Runbook", func(int) map[string]any { return map[string]any{"ProjectId": d.project} }),
		"projecttriggers": named("Trigger", func(int) map[string]any {
			return map[string]any{"ProjectId": d.project,
				"Filter": map[string]any{"FilterType": "MachineFilter", "EnvironmentIds": []any{d.env}, "Roles": []any{"web"}},
				"Action": map[string]any{"ActionType": "AutoDeploy", "ShouldRedeployWhenMachineHasBeenDeployedTo": false}}
		}),
		"machines": named("Target", func(int) map[string]any {
			return map[string]any{"EnvironmentIds": []any{d.env}, "Roles": []any{"web"}, "Endpoint": map[string]any{"CommunicationStyle": "None"}}
		}),
		"workers": named("Worker", func(int) map[string]any {
			return map[string]any{"WorkerPoolIds": []any{d.pool}, "Endpoint": map[string]any{"CommunicationStyle": "None"}}
		}),
		"scopeduserroles": func(int) map[string]any {
			return map[string]any{"TeamId": d.team, "UserRoleId": "userroles-projectviewer", "EnvironmentIds": []any{d.env}}
		},
		"releases": func(i int) map[string]any {
			return map[string]any{"Version": fmt.Sprintf("1.0.%d", i), "ProjectId": d.project}
		},
		"deployments": func(int) map[string]any { return map[string]any{"ReleaseId": d.release, "EnvironmentId": d.env} },
		"runbookSnapshots": func(i int) map[string]any {
			return map[string]any{"Name": fmt.Sprintf("Snapshot %d", i), "RunbookId": d.runbook}
		},
		"runbookRuns": func(int) map[string]any {
			return map[string]any{"RunbookSnapshotId": d.snapshot, "EnvironmentId": d.env}
		},
	}
}

// TestEveryCollection drives every collection of the registry through the
// client's raw-JSON helpers: create, list across pages (following
// Page.Next), filters, /all, get, update, delete, duplicate names.
func TestEveryCollection(t *testing.T) {
	f := newFixture(t, Options{})
	d := setupDeps(f)
	bodies := collectionBodies(d)
	lc := str(f.get(sp1("lifecycles?partialName=Default"))["Items"].([]any)[0].(map[string]any)["Id"])
	pg := str(f.get(sp1("projectgroups?partialName=Default"))["Items"].([]any)[0].(map[string]any)["Id"])
	bodies["projects"] = func(i int) map[string]any {
		return map[string]any{"Name": fmt.Sprintf("Project %02d", i), "LifecycleId": lc, "ProjectGroupId": pg}
	}
	for _, spec := range collOrder {
		if spec.Singleton {
			continue
		}
		if bodies[spec.Name] == nil {
			t.Errorf("no test body for collection %s: add one to collectionBodies", spec.Name)
		}
	}
	const n = DefaultPageSize + 5
	for _, spec := range collOrder {
		body := bodies[spec.Name]
		if spec.Singleton || body == nil {
			continue
		}
		t.Run(spec.Name, func(t *testing.T) {
			f := &fixture{t: t, sim: f.sim, base: f.base, c: f.c}
			base := "/api/Spaces-1/" + spec.Name
			template := "/api/{spaceId}/" + spec.Name + "{/id}{?skip,take,ids,partialName}"
			if spec.ServerLevel {
				base = "/api/" + spec.Name
				template = "/api/" + spec.Name + "{/id}{?skip,take,ids,partialName}"
			}
			before, err := newclient.GetAll[map[string]any](f.c, template, "Spaces-1")
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for i := 0; i < n; i++ {
				created := f.post(base, body(i))
				id := str(created["Id"])
				if !spec.ownsID(id) {
					t.Fatalf("created Id %q does not have the prefix %s", id, spec.IDPrefix)
				}
				if self := str(created["Links"].(map[string]any)["Self"]); self != base+"/"+id {
					t.Errorf("Links.Self %q", self)
				}
				if !spec.ServerLevel && created["SpaceId"] != "Spaces-1" {
					t.Errorf("SpaceId %v", created["SpaceId"])
				}
				ids = append(ids, id)
			}

			// One page: the default page size, Page.Next present.
			first := f.get(base)
			items := first["Items"].([]any)
			if len(items) != DefaultPageSize {
				t.Errorf("first page has %d items, want %d", len(items), DefaultPageSize)
			}
			total := int(first["TotalResults"].(float64))
			if total != len(before)+n {
				t.Errorf("TotalResults %d, want %d", total, len(before)+n)
			}
			links := first["Links"].(map[string]any)
			if links["Page.Next"] == nil || first["ItemType"] != spec.ItemType {
				t.Errorf("first page: Page.Next %v, ItemType %v", links["Page.Next"], first["ItemType"])
			}
			if first["ItemsPerPage"].(float64) != DefaultPageSize || first["NumberOfPages"].(float64) != float64((total+DefaultPageSize-1)/DefaultPageSize) {
				t.Errorf("paging fields: %v per page, %v pages", first["ItemsPerPage"], first["NumberOfPages"])
			}
			// All pages through the client's Page.Next loop.
			all, err := newclient.GetAll[map[string]any](f.c, template, "Spaces-1")
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != total {
				t.Errorf("GetAll returned %d items, want %d", len(all), total)
			}
			// Small pages: skip/take.
			last := f.get(fmt.Sprintf("%s?skip=%d&take=10", base, total-3))
			if got := len(last["Items"].([]any)); got != 3 || last["Links"].(map[string]any)["Page.Next"] != nil {
				t.Errorf("last page: %d items, Page.Next %v", got, last["Links"].(map[string]any)["Page.Next"])
			}
			// ids
			sel := f.get(base + "?ids=" + url.QueryEscape(ids[0]+","+ids[3]))
			if got := len(sel["Items"].([]any)); got != 2 {
				t.Errorf("ids filter: %d items", got)
			}
			// legacy /all: a bare array.
			var arr []any
			resp := f.raw(http.MethodGet, base+"/all", testKey, nil)
			if err := jsonUnmarshal(resp.body, &arr); err != nil || len(arr) != total {
				t.Errorf("/all: %d items, %v", len(arr), err)
			}
			// name filters
			if spec.NameField != "" {
				name := str(body(7)[spec.NameField])
				partial := f.get(base + "?partialName=" + url.QueryEscape(strings.ToLower(name[:len(name)-1])))
				if got := len(partial["Items"].([]any)); got != 10 {
					t.Errorf("partialName %q: %d items, want 10", name[:len(name)-1], got)
				}
				exact := f.get(base + "?name=" + url.QueryEscape(name))
				if got := len(exact["Items"].([]any)); got != 1 {
					t.Errorf("name %q: %d items", name, got)
				}
				// Duplicate names are refused.
				_, err := newclient.Post[map[string]any](f.session(), base, body(7))
				wantBadRequest(t, err, name)
			}
			// get, update
			one := f.get(base + "/" + ids[1])
			one["Description"] = "changed by the test"
			upd := f.put(base+"/"+ids[1], one)
			if upd["Description"] != "changed by the test" || upd["Id"] != ids[1] {
				t.Errorf("update answered %v", upd)
			}
			if got := f.get(base + "/" + ids[1]); got["Description"] != "changed by the test" {
				t.Errorf("update not stored: %v", got["Description"])
			}
			// delete
			if err := newclient.Delete(f.session(), base+"/"+ids[2]); err != nil {
				t.Fatal(err)
			}
			_, err = newclient.Get[map[string]any](f.session(), base+"/"+ids[2])
			apiErr(t, err, http.StatusNotFound)
			if got := int(f.get(base)["TotalResults"].(float64)); got != total-1 {
				t.Errorf("after delete TotalResults %d, want %d", got, total-1)
			}
		})
	}
}

// TestSubResourceRoutes checks the two halves of the sub-resource
// mechanism agree: every entry of the subResources table that names a
// route (not one through another entity) is served, by the table (Doc or
// List) or, if External, by a handler registered with registerSubResource;
// and no registered handler shadows a table route.
func TestSubResourceRoutes(t *testing.T) {
	for _, sr := range subResources {
		if sr.Through != nil || sr.Sub == "" {
			continue
		}
		h := subHandlerFor(sr.Owner, sr.Sub)
		switch {
		case sr.External && h == nil:
			t.Errorf("%s/{id}/%s: External, but no handler is registered", sr.Owner, sr.Sub)
		case !sr.External && h != nil:
			t.Errorf("%s/{id}/%s: a registered handler shadows the table's route", sr.Owner, sr.Sub)
		case !sr.External && sr.Doc == nil && sr.List == nil && sr.Action == nil:
			t.Errorf("%s/{id}/%s: neither Doc, List, Action nor External", sr.Owner, sr.Sub)
		}
	}
}
