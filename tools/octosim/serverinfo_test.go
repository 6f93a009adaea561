package octosim

import (
	"net/http"
	"strings"
	"testing"
)

// do sends a raw request with the test key and decodes a JSON object
// answer (nil for arrays and empty bodies).
func (f *fixture) do(method, path string, body any, wantStatus int) map[string]any {
	f.t.Helper()
	r := f.raw(method, path, testKey, body)
	if r.status != wantStatus {
		f.t.Fatalf("%s %s: %d %s (want %d)", method, path, r.status, r.body, wantStatus)
	}
	if len(r.body) == 0 || r.body[0] != '{' {
		return nil
	}
	return r.json(f.t)
}

// TestUsersAndAPIKeys: users are created, listed, changed and deleted;
// passwords and keys are never answered except the key on creation; a
// created key authenticates as its user.
func TestUsersAndAPIKeys(t *testing.T) {
	f := newFixture(t, Options{})
	alice := f.do(http.MethodPost, "/api/users", map[string]any{"Username": "alice", "DisplayName": "Alice", "Password": "S3cret!pass"}, http.StatusCreated)
	if _, ok := alice["Password"]; ok || alice["IsRequestor"] != false || alice["CanPasswordBeEdited"] != true {
		t.Errorf("created user %v", alice)
	}
	links, _ := alice["Links"].(map[string]any)
	if !strings.HasPrefix(str(links["ApiKeys"]), "/api/users/"+str(alice["Id"])+"/apikeys") {
		t.Errorf("user links %v", links)
	}
	bot := f.do(http.MethodPost, "/api/users", map[string]any{"Username": "bot", "DisplayName": "Bot", "IsService": true}, http.StatusCreated)
	for _, tc := range []struct {
		name string
		body map[string]any
	}{
		{"duplicate username", map[string]any{"Username": "ALICE", "DisplayName": "A"}},
		{"no username", map[string]any{"DisplayName": "A"}},
		{"service account with a password", map[string]any{"Username": "svc", "DisplayName": "S", "IsService": true, "Password": "x"}},
	} {
		if r := f.raw(http.MethodPost, "/api/users", testKey, tc.body); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
		}
	}
	if page := f.do(http.MethodGet, "/api/users?filter=LIC", nil, http.StatusOK); page["TotalResults"] != float64(1) {
		t.Errorf("filter: %v", page)
	}
	if page := f.do(http.MethodGet, "/api/users?ids="+str(bot["Id"]), nil, http.StatusOK); page["TotalResults"] != float64(1) {
		t.Errorf("ids: %v", page)
	}
	upd := f.do(http.MethodPut, "/api/users/"+str(alice["Id"]), map[string]any{"DisplayName": "Alice B"}, http.StatusOK)
	if upd["DisplayName"] != "Alice B" || upd["Username"] != "alice" {
		t.Errorf("updated user %v", upd)
	}

	// API keys: for a service account, not for another person.
	f.do(http.MethodPost, "/api/users/"+str(alice["Id"])+"/apikeys", map[string]any{"Purpose": "x"}, http.StatusForbidden)
	f.do(http.MethodPost, "/api/users/"+str(bot["Id"])+"/apikeys", map[string]any{}, http.StatusBadRequest)
	created := f.do(http.MethodPost, "/api/users/"+str(bot["Id"])+"/apikeys", map[string]any{"Purpose": "ci"}, http.StatusCreated)
	key := str(created["ApiKey"])
	if !strings.HasPrefix(key, "API-") || !strings.HasPrefix(str(created["Id"]), "apikeys-") {
		t.Fatalf("created key %v", created)
	}
	list := f.raw(http.MethodGet, "/api/users/"+str(bot["Id"])+"/apikeys", testKey, nil)
	if strings.Contains(string(list.body), key) || !strings.Contains(string(list.body), `"Hint":"`+key[:8]+`"`) {
		t.Errorf("key list shows the key or lacks its hint: %s", list.body)
	}
	one := f.do(http.MethodGet, "/api/users/"+str(bot["Id"])+"/apikeys/"+str(created["Id"]), nil, http.StatusOK)
	if sv, _ := one["ApiKey"].(map[string]any); sv["HasValue"] != true || sv["NewValue"] != nil {
		t.Errorf("key by ID %v", one)
	}
	me := f.raw(http.MethodGet, "/api/users/me", key, nil)
	if me.status != http.StatusOK || me.json(t)["Id"] != bot["Id"] || me.json(t)["IsRequestor"] != true {
		t.Errorf("users/me with the new key: %d %s", me.status, me.body)
	}

	// Deleting: not yourself; a deleted user's keys stop working.
	f.do(http.MethodDelete, "/api/users/"+apiKeyUserID, nil, http.StatusBadRequest)
	f.do(http.MethodDelete, "/api/users/"+str(bot["Id"]), nil, http.StatusOK)
	f.do(http.MethodGet, "/api/users/"+str(bot["Id"]), nil, http.StatusNotFound)
	if r := f.raw(http.MethodGet, "/api/users/me", key, nil); r.status != http.StatusUnauthorized {
		t.Errorf("deleted user's key: %d", r.status)
	}

	// Authentication providers.
	auth := f.do(http.MethodGet, "/api/users/authentication/"+str(alice["Id"]), nil, http.StatusOK)
	if ps, _ := auth["AuthenticationProviders"].([]any); len(ps) == 0 {
		t.Errorf("user authentication %v", auth)
	}
	f.do(http.MethodGet, "/api/users/authentication", nil, http.StatusOK)
	f.do(http.MethodGet, "/api/users/authentication/Users-999", nil, http.StatusNotFound)
}

// TestServerInfoRoutes: the read-only documents a real server serves
// about itself answer, and their links resolve.
func TestServerInfoRoutes(t *testing.T) {
	f := newFixture(t, Options{})
	f.do(http.MethodPost, sp1("actiontemplates"), map[string]any{"Name": "My script", "ActionType": "Octopus.Script",
		"Properties": map[string]any{"Octopus.Action.Script.ScriptBody": "echo"}}, http.StatusCreated)
	tests := []struct {
		path string
		want []string // fragments of the body
	}{
		{"/api/configuration", []string{`"ItemType":"ConfigurationSection"`, `"authentication"`}},
		{"/api/configuration/authentication", []string{`"Values":"/api/configuration/authentication/values"`, `"Metadata":`}},
		{"/api/configuration/authentication/values", []string{`"AutoLoginEnabled":false`}},
		{"/api/configuration/authentication/metadata", []string{`"Types":[]`}},
		{"/api/configuration/feature-toggles", []string{`"FeatureToggles"`}},
		{"/api/serverstatus", []string{`"IsInMaintenanceMode":false`, `"Health":"/api/serverstatus/health"`}},
		{"/api/serverstatus/health", []string{`"Status":"Healthy"`}},
		{"/api/serverstatus/system-info", []string{`"Version"`}},
		{"/api/serverstatus/extensions", []string{`[]`}},
		{"/api/serverstatus/timezones", []string{`"UTC"`}},
		{"/api/events/agents", []string{`"Name"`}},
		{"/api/events/categories", []string{`"Id":"Created"`}},
		{"/api/events/groups", []string{`"EventCategories":["Created"`}},
		{"/api/events/documenttypes", []string{`"Id":"Projects"`}},
		{"/api/events", []string{`"ItemType":"Event"`}},
		{sp1("actiontemplates/categories"), []string{`"Name":"Script"`, `"DisplayOrder"`}},
		{sp1("actiontemplates/search"), []string{`"Type":"Octopus.Script"`, `"IsBuiltIn":true`, `"Name":"My script"`}},
		{sp1("actiontemplates/search?type=Octopus.Email"), []string{`"Type":"Octopus.Email"`}},
		{sp1("workers/operatingsystem/names/all"), []string{`[]`}},
		{sp1("workers/operatingsystem/shells/all"), []string{`[]`}},
		{sp1("machines/operatingsystem/names/all"), []string{`[]`}},
		{sp1("workerpools/dynamicworkertypes"), []string{`"WorkerTypes":[{`}},
	}
	for _, tc := range tests {
		r := f.raw(http.MethodGet, tc.path, testKey, nil)
		if r.status != http.StatusOK {
			t.Errorf("%s: %d %s", tc.path, r.status, r.body)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(string(r.body), w) {
				t.Errorf("%s: lacks %s: %s", tc.path, w, r.body)
			}
		}
	}
	if r := f.raw(http.MethodGet, sp1("actiontemplates/search?type=Octopus.Email"), testKey, nil); strings.Contains(string(r.body), "Octopus.Script") {
		t.Errorf("type filter ignored: %s", r.body)
	}
	f.do(http.MethodPut, "/api/configuration/guest/values", map[string]any{"IsEnabled": true}, http.StatusOK)
	if v := f.do(http.MethodGet, "/api/configuration/guest/values", nil, http.StatusOK); v["IsEnabled"] != true {
		t.Errorf("guest values after PUT: %v", v)
	}
	for _, p := range []string{"/api/configuration/nothing", "/api/serverstatus/nothing", sp1("workers/operatingsystem/names"), "/api/events/Events-1"} {
		if r := f.raw(http.MethodGet, p, testKey, nil); r.status != http.StatusNotFound {
			t.Errorf("%s: %d", p, r.status)
		}
	}
}

// TestVersionGatedRoutes: Kubernetes monitors and parent/ephemeral
// environments exist from 2025.3 and answer 404 before.
func TestVersionGatedRoutes(t *testing.T) {
	for _, v := range ConformanceVersions {
		t.Run(v, func(t *testing.T) {
			f := newFixture(t, Options{ServerVersion: v})
			has := versionAtLeast(v, 2025, 3)
			env := f.do(http.MethodPost, sp1("environments"), map[string]any{"Name": "Dev"}, http.StatusCreated)
			target := f.do(http.MethodPost, sp1("machines"), map[string]any{"Name": "k8s", "EnvironmentIds": []any{env["Id"]}, "Roles": []any{"web"},
				"Endpoint": map[string]any{"CommunicationStyle": "KubernetesTentacle"}}, http.StatusCreated)
			if !has {
				for _, p := range []string{"/api/spaces/Spaces-1/parentEnvironments", sp1("environments/v2"), sp1("observability/kubernetes-monitors/KubernetesMonitors-1")} {
					if r := f.raw(http.MethodGet, p, testKey, nil); r.status != http.StatusNotFound {
						t.Errorf("%s at %s: %d", p, v, r.status)
					}
				}
				return
			}
			// Kubernetes monitors.
			reg := f.do(http.MethodPost, sp1("observability/kubernetes-monitors"), map[string]any{"InstallationId": newGUID(), "MachineId": target["Id"]}, http.StatusOK)
			res, _ := reg["Resource"].(map[string]any)
			if str(reg["AuthenticationToken"]) == "" || str(reg["CertificateThumbprint"]) == "" || res["MachineId"] != target["Id"] {
				t.Fatalf("register: %v", reg)
			}
			mon := sp1("observability/kubernetes-monitors/" + str(res["Id"]))
			if got := f.do(http.MethodGet, mon, nil, http.StatusOK); strings.Contains(str(got), str(reg["AuthenticationToken"])) {
				t.Errorf("monitor answers its token: %v", got)
			}
			f.do(http.MethodPost, sp1("observability/kubernetes-monitors"), map[string]any{"InstallationId": newGUID(), "MachineId": env["Id"]}, http.StatusBadRequest)
			f.do(http.MethodDelete, mon, nil, http.StatusOK)
			f.do(http.MethodGet, mon, nil, http.StatusNotFound)

			// Parent and ephemeral environments.
			parent := f.do(http.MethodPost, "/api/spaces/Spaces-1/parentEnvironments", map[string]any{"Name": "PRs", "SpaceId": "Spaces-1"}, http.StatusCreated)
			f.do(http.MethodPost, "/api/spaces/Spaces-1/parentEnvironments", map[string]any{"Name": "dev"}, http.StatusBadRequest)
			proj := f.do(http.MethodPost, sp1("projects"), map[string]any{"Name": "App", "LifecycleId": "Lifecycles-1", "ProjectGroupId": "ProjectGroups-1"}, http.StatusCreated)
			pe := sp1("projects/" + str(proj["Id"]) + "/environments/ephemeral")
			f.do(http.MethodPost, pe, map[string]any{"EnvironmentName": "pr-1"}, http.StatusBadRequest) // no ephemeral channel yet
			f.do(http.MethodPost, sp1("channels"), map[string]any{"Name": "Ephemeral", "ProjectId": proj["Id"], "Type": "EphemeralEnvironment", "ParentEnvironmentId": parent["Id"]}, http.StatusCreated)
			eph := f.do(http.MethodPost, pe, map[string]any{"EnvironmentName": "pr-1"}, http.StatusCreated)
			v2 := f.do(http.MethodGet, sp1("environments/v2?type=Ephemeral&partialName=pr"), nil, http.StatusOK)
			if items, _ := v2["Items"].([]any); len(items) != 1 || items[0].(map[string]any)["Id"] != eph["Id"] || items[0].(map[string]any)["ParentEnvironmentId"] != parent["Id"] {
				t.Errorf("environments/v2: %v", v2)
			}
			if all := f.do(http.MethodGet, sp1("environments/v2"), nil, http.StatusOK); all["TotalResults"] != float64(3) {
				t.Errorf("environments/v2 of every type: %v", all)
			}
			if v1 := f.do(http.MethodGet, sp1("environments"), nil, http.StatusOK); v1["TotalResults"] != float64(1) {
				t.Errorf("v1 environments list parent or ephemeral ones: %v", v1)
			}
			pp := "/api/spaces/Spaces-1/parentEnvironments/" + str(parent["Id"])
			f.do(http.MethodDelete, pp, nil, http.StatusBadRequest) // still has an ephemeral environment
			if d := f.do(http.MethodPost, pe+"/"+str(eph["Id"])+"/deprovision", map[string]any{}, http.StatusOK); d == nil {
				t.Errorf("deprovision for project answered nothing")
			}
			f.do(http.MethodPost, sp1("environments/ephemeral/"+str(eph["Id"])+"/deprovision"), map[string]any{}, http.StatusNotFound)
			f.do(http.MethodDelete, pp, nil, http.StatusOK)
			f.do(http.MethodGet, pp, nil, http.StatusNotFound)
		})
	}
}
