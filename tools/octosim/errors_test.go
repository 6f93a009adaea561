package octosim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/client"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/core"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/environments"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/lifecycles"
)

func TestErrorAnswers(t *testing.T) {
	f := newFixture(t, Options{})
	lc := str(f.get(sp1("lifecycles"))["Items"].([]any)[0].(map[string]any)["Id"])
	pg := str(f.get(sp1("projectgroups"))["Items"].([]any)[0].(map[string]any)["Id"])
	f.post(sp1("environments"), map[string]any{"Name": "Prod"})
	cases := []struct {
		name     string
		method   string
		path     string
		key      string
		body     any
		status   int
		contains string // in ErrorMessage or Errors
	}{
		{"no api key", http.MethodGet, sp1("environments"), "", nil, http.StatusUnauthorized, "API key"},
		{"wrong api key", http.MethodGet, sp1("environments"), "API-WRONG", nil, http.StatusUnauthorized, "API key"},
		{"unknown id", http.MethodGet, sp1("environments/Environments-999"), testKey, nil, http.StatusNotFound, "Environments-999"},
		{"unknown collection", http.MethodGet, sp1("nonsense"), testKey, nil, http.StatusNotFound, "nonsense"},
		{"unknown space", http.MethodGet, "/api/Spaces-77/environments", testKey, nil, http.StatusNotFound, "Spaces-77"},
		{"not under /api", http.MethodGet, "/elsewhere", testKey, nil, http.StatusNotFound, "elsewhere"},
		{"update unknown", http.MethodPut, sp1("environments/Environments-999"), testKey, map[string]any{"Name": "x"}, http.StatusNotFound, "Environments-999"},
		{"delete unknown", http.MethodDelete, sp1("projects/Projects-999"), testKey, nil, http.StatusNotFound, "Projects-999"},
		{"missing name", http.MethodPost, sp1("environments"), testKey, map[string]any{"Description": "x"}, http.StatusBadRequest, "name"},
		{"duplicate name", http.MethodPost, sp1("environments"), testKey, map[string]any{"Name": "PROD"}, http.StatusBadRequest, "PROD"},
		{"project required fields", http.MethodPost, sp1("projects"), testKey, map[string]any{"Name": "P"}, http.StatusBadRequest, "The LifecycleId field is required."},
		{"dangling group", http.MethodPost, sp1("projects"), testKey, map[string]any{"Name": "P", "LifecycleId": lc, "ProjectGroupId": "ProjectGroups-404"}, http.StatusBadRequest, "ProjectGroupId refers to ProjectGroups-404"},
		{"dangling included set", http.MethodPost, sp1("projects"), testKey, map[string]any{"Name": "P", "LifecycleId": lc, "ProjectGroupId": pg, "IncludedLibraryVariableSetIds": []any{"LibraryVariableSets-9"}}, http.StatusBadRequest, "IncludedLibraryVariableSetIds[0]"},
		{"post to a singleton", http.MethodPost, sp1("deploymentprocesses"), testKey, map[string]any{}, http.StatusMethodNotAllowed, "POST"},
		{"not an object", http.MethodPost, sp1("environments"), testKey, []any{1, 2}, http.StatusBadRequest, "JSON object"},
		{"stale process version", http.MethodPut, sp1("deploymentprocesses/deploymentprocess-Projects-1"), testKey, map[string]any{"Version": 7, "Steps": []any{}}, http.StatusConflict, "version"},
	}
	f.post(sp1("projects"), map[string]any{"Name": "Existing", "LifecycleId": lc, "ProjectGroupId": pg})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := f.raw(tc.method, tc.path, tc.key, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			m := r.json(t)
			_, hasErrors := m["Errors"]
			if str(m["ErrorMessage"]) == "" || hasErrors != (tc.status != http.StatusNotFound) {
				t.Errorf("error body shape (a 404 has no Errors, other statuses an array): %s", r.body)
			}
			if tc.status == http.StatusBadRequest && m["ErrorMessage"] != "There was a problem with your request." {
				t.Errorf("400 ErrorMessage %q", m["ErrorMessage"])
			}
			if !strings.Contains(strings.ToLower(string(r.body)), strings.ToLower(tc.contains)) {
				t.Errorf("body does not mention %q: %s", tc.contains, r.body)
			}
		})
	}
	// Malformed JSON.
	req, _ := http.NewRequest(http.MethodPost, f.base+sp1("environments"), strings.NewReader("{not json"))
	req.Header.Set("X-Octopus-ApiKey", testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("malformed JSON: %d", resp.StatusCode)
	}
}

// TestNotFoundThroughClient: go-octopusdeploy reports a missing entity as
// *core.APIError with StatusCode 404 (issue 19, item 2: before, every 404
// carried "Errors": [] and the client returned a plain error).
func TestNotFoundThroughClient(t *testing.T) {
	f := newFixture(t, Options{})
	env, err := environments.Add(f.c, environments.NewEnvironment("Gone"))
	if err != nil {
		t.Fatal(err)
	}
	lc, err := lifecycles.Add(f.c, lifecycles.NewLifecycle("Gone"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		del  func() error
		get  func() error
	}{
		{"environment", func() error { return environments.DeleteByID(f.c, "Spaces-1", env.ID) },
			func() error { _, err := environments.GetByID(f.c, "Spaces-1", env.ID); return err }},
		{"lifecycle", func() error { return lifecycles.DeleteByID(f.c, "Spaces-1", lc.ID) },
			func() error { _, err := lifecycles.GetByID(f.c, "Spaces-1", lc.ID); return err }},
		{"never existed", func() error { return nil },
			func() error { _, err := environments.GetByID(f.c, "Spaces-1", "Environments-999"); return err }},
		// The services of the client's first API check the error body with
		// core.APIErrorChecker, as the e2e suite's "get after delete"
		// tests do (err.(*core.APIError)).
		{"environment, service", func() error { return nil },
			func() error { _, err := f.c.Environments.GetByID(env.ID); return err }},
		{"lifecycle, service", func() error { return nil },
			func() error { _, err := f.c.Lifecycles.GetByID(lc.ID); return err }},
		{"account, service", func() error { return nil },
			func() error { _, err := f.c.Accounts.GetByID("Accounts-999"); return err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.del(); err != nil {
				t.Fatal(err)
			}
			err := tc.get()
			ae, ok := err.(*core.APIError)
			if !ok || ae.StatusCode != http.StatusNotFound {
				t.Fatalf("want *core.APIError with StatusCode 404, got %T %v", err, err)
			}
		})
	}
}

func TestWrongKeyThroughClient(t *testing.T) {
	f := newFixture(t, Options{})
	u, _ := url.Parse(f.base)
	// The root is public, so construction succeeds as far as the space root.
	_, err := client.NewClient(nil, u, "API-NOTTHEKEY", "Spaces-1")
	if err == nil {
		t.Fatal("a client with a wrong key could read the space")
	}
	c, err := client.NewClient(nil, u, testKey, "Spaces-1")
	if err != nil {
		t.Fatal(err)
	}
	c.HttpSession().DefaultHeaders["X-Octopus-ApiKey"] = "API-NOTTHEKEY"
	_, err = environments.GetAll(c, "Spaces-1")
	apiErr(t, err, http.StatusUnauthorized)
}

func TestLegacyRoutesUseTheDefaultSpace(t *testing.T) {
	f := newFixture(t, Options{})
	f.post("/api/environments", map[string]any{"Name": "Legacy"})
	got := f.get(sp1("environments?name=Legacy"))
	if int(got["TotalResults"].(float64)) != 1 {
		t.Fatalf("an environment created without a space is not in the default space: %v", got)
	}
}

// TestPutReplaces: a PUT stores the body as sent; fields it omits are
// cleared or get the server's default, and only what the server manages is
// kept (issue 19, item 1: the simulator used to keep omitted fields).
func TestPutReplaces(t *testing.T) {
	f := newFixture(t, Options{})
	lc := str(f.get(sp1("lifecycles"))["Items"].([]any)[0].(map[string]any)["Id"])
	pg := str(f.get(sp1("projectgroups"))["Items"].([]any)[0].(map[string]any)["Id"])
	cases := []struct {
		name   string
		coll   string
		create map[string]any
		put    func(id string) map[string]any
		want   map[string]any // field → value after the PUT; nil: absent
	}{
		{"lifecycle description", "lifecycles",
			map[string]any{"Name": "L", "Description": "old"},
			func(string) map[string]any { return map[string]any{"Name": "L"} },
			map[string]any{"Description": nil, "Name": "L"}},
		{"s3 feed access key", "feeds",
			map[string]any{"Name": "S3", "FeedType": "S3", "AccessKey": "AKIA", "SecretKey": map[string]any{"HasValue": true, "NewValue": "s"}, "UseMachineCredentials": false, "Region": "eu-west-1"},
			func(string) map[string]any {
				return map[string]any{"Name": "S3", "FeedType": "S3", "UseMachineCredentials": true, "Region": "eu-west-1"}
			},
			map[string]any{"AccessKey": nil, "Region": "eu-west-1"}},
		{"library variable set description", "libraryvariablesets",
			map[string]any{"Name": "Lib", "Description": "old", "ContentType": "Variables"},
			func(string) map[string]any { return map[string]any{"Name": "Lib", "ContentType": "Variables"} },
			map[string]any{"Description": nil}},
		{"project: server fields kept, omitted cleared", "projects",
			map[string]any{"Name": "P", "LifecycleId": lc, "ProjectGroupId": pg, "Description": "old"},
			func(id string) map[string]any {
				return map[string]any{"Name": "P2", "LifecycleId": lc, "ProjectGroupId": pg, "DeploymentProcessId": "deploymentprocess-Projects-999", "Id": "Projects-999"}
			},
			map[string]any{"Description": nil, "Slug": "p2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			created := f.post(sp1(tc.coll), tc.create)
			id := str(created["Id"])
			f.put(sp1(tc.coll+"/"+id), tc.put(id))
			got := f.get(sp1(tc.coll + "/" + id))
			for k, want := range tc.want {
				v, has := got[k]
				if want == nil && has && v != nil && v != "" {
					t.Errorf("%s = %v after a PUT without it, want it cleared", k, v)
				}
				if want != nil && v != want {
					t.Errorf("%s = %v, want %v", k, v, want)
				}
			}
			if got["Id"] != id {
				t.Errorf("Id %v, want %s", got["Id"], id)
			}
			if tc.coll == "projects" && got["DeploymentProcessId"] != "deploymentprocess-"+id {
				t.Errorf("DeploymentProcessId taken from the body: %v", got["DeploymentProcessId"])
			}
		})
	}
	t.Run("space description", func(t *testing.T) {
		id := str(f.post("/api/spaces", map[string]any{"Name": "S", "Description": "old", "SpaceManagersTeams": []any{"teams-administrators"}})["Id"])
		f.put("/api/spaces/"+id, map[string]any{"Name": "S", "SpaceManagersTeams": []any{"teams-administrators"}})
		if got := f.get("/api/spaces/" + id); got["Description"] != "" || got["Slug"] != "s" {
			t.Errorf("after a PUT without Description: Description %v, Slug %v", got["Description"], got["Slug"])
		}
	})
}

func TestProcessVersionDefaultsToZero(t *testing.T) {
	f := newFixture(t, Options{})
	lc := str(f.get(sp1("lifecycles"))["Items"].([]any)[0].(map[string]any)["Id"])
	pg := str(f.get(sp1("projectgroups"))["Items"].([]any)[0].(map[string]any)["Id"])
	p := f.post(sp1("projects"), map[string]any{"Name": "P", "LifecycleId": lc, "ProjectGroupId": pg})
	path := sp1("deploymentprocesses/" + str(p["DeploymentProcessId"]))
	if r := f.raw(http.MethodPut, path, testKey, map[string]any{"Steps": []any{}}); r.status != http.StatusOK {
		t.Fatalf("first PUT without a Version: %d %s", r.status, r.body)
	}
	if r := f.raw(http.MethodPut, path, testKey, map[string]any{"Steps": []any{}}); r.status != http.StatusConflict {
		t.Fatalf("second PUT without a Version: %d, want 409", r.status)
	}
}
