package octosim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/core"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/credentials"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/deploymentfreezes"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/environments"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/newclient"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/proxies"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/ratelimitingpolicies"
	retentionpolicies "github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/retention"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/subscriptions"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/tenants"
)

// call sends a request and decodes a JSON object answer (nil otherwise).
func (f *fixture) call(method, path string, body any) (int, map[string]any) {
	f.t.Helper()
	r := f.raw(method, path, testKey, body)
	var m map[string]any
	_ = json.Unmarshal(r.body, &m)
	return r.status, m
}

// TestStoredCollectionsCRUD: the collections a sync copies that are not
// kinds of the registry are stored — POST 201 with a new ID, GET, the
// paged list with its filters, /all, PUT replacing the document, DELETE —
// where they used to answer an empty page and 405 for writes.
func TestStoredCollectionsCRUD(t *testing.T) {
	tests := []struct {
		name, path, prefix string
		body               map[string]any
		// cleared is a field the create sets and the PUT leaves out: it
		// reads back as its default (want) after the PUT.
		cleared string
		want    any
		// list is the item key of the list answer.
		list string
	}{
		{"git credentials", sp1("git-credentials"), "GitCredentials-",
			map[string]any{"Name": "GitHub", "Description": "d", "Details": map[string]any{"Type": "Anonymous"}},
			"Description", nil, "Items"},
		{"proxies", sp1("proxies"), "Proxies-",
			map[string]any{"Name": "Corp", "Host": "proxy.example.com", "Port": 8080, "ProxyType": "HTTP"},
			"Port", float64(80), "Items"},
		{"subscriptions", sp1("subscriptions"), "Subscriptions-",
			map[string]any{"Name": "Deploys", "IsDisabled": true},
			"IsDisabled", false, "Items"},
		{"deployment freezes", "/api/deploymentfreezes", "DeploymentFreezes-",
			map[string]any{"Name": "Xmas", "Start": "2030-12-24T00:00:00Z", "End": "2030-12-27T00:00:00Z", "Description": "d"},
			"Description", nil, "DeploymentFreezes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			status, created := f.call(http.MethodPost, tt.path, tt.body)
			if status != http.StatusCreated || !strings.HasPrefix(str(created["Id"]), tt.prefix) {
				t.Fatalf("POST %s: %d %v", tt.path, status, created)
			}
			id := str(created["Id"])
			self := tt.path + "/" + id
			if links, _ := created["Links"].(map[string]any); str(links["Self"]) != self {
				t.Errorf("Links %v, want Self %s", created["Links"], self)
			}
			if status, got := f.call(http.MethodGet, self, nil); status != http.StatusOK || got["Name"] != tt.body["Name"] {
				t.Errorf("GET %s: %d %v", self, status, got)
			}
			_, other := f.call(http.MethodPost, tt.path, withName(tt.body, "Other"))
			for _, q := range []struct {
				query string
				want  int
			}{
				{"", 2}, {"?partialName=" + strings.ToLower(str(tt.body["Name"])[:3]), 1}, {"?ids=" + str(other["Id"]), 1},
				{"?skip=1&take=1", 1}, {"?partialName=nothing", 0},
			} {
				_, page := f.call(http.MethodGet, tt.path+q.query, nil)
				items, _ := page[tt.list].([]any)
				if len(items) != q.want {
					t.Errorf("GET %s%s: %d items, want %d: %v", tt.path, q.query, len(items), q.want, page)
				}
			}
			if r := f.raw(http.MethodGet, tt.path+"/all", testKey, nil); r.status != http.StatusOK || strings.Count(string(r.body), `"Id"`) != 2 {
				t.Errorf("GET %s/all: %d %s", tt.path, r.status, r.body)
			}
			body := withName(tt.body, "Renamed")
			delete(body, tt.cleared)
			status, updated := f.call(http.MethodPut, self, body)
			if status != http.StatusOK || updated["Name"] != "Renamed" || updated["Id"] != id || updated[tt.cleared] != tt.want {
				t.Errorf("PUT without %s: %d %v (want %s %v)", tt.cleared, status, updated, tt.cleared, tt.want)
			}
			if status, _ := f.call(http.MethodDelete, self, nil); status != http.StatusOK {
				t.Errorf("DELETE: %d", status)
			}
			if status, _ := f.call(http.MethodGet, self, nil); status != http.StatusNotFound {
				t.Errorf("GET after DELETE: %d", status)
			}
		})
	}
}

func withName(m map[string]any, name string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	out["Name"] = name
	return out
}

// TestStoredValidation: names are required and unique (per space), and
// each collection's required fields are checked, with 400.
func TestStoredValidation(t *testing.T) {
	f := newFixture(t, Options{})
	f.post(sp1("proxies"), map[string]any{"Name": "Corp", "Host": "h"})
	tests := []struct {
		name, path string
		body       map[string]any
		want       string
	}{
		{"proxy name taken", sp1("proxies"), map[string]any{"Name": "corp", "Host": "h"}, "A proxy with the name 'corp' already exists in this space."},
		{"proxy without host", sp1("proxies"), map[string]any{"Name": "Other"}, "The Host field is required."},
		{"git credential without name", sp1("git-credentials"), map[string]any{"Details": map[string]any{"Type": "Anonymous"}}, "Please provide a name for the git credential."},
		{"git credential without details", sp1("git-credentials"), map[string]any{"Name": "x"}, "The Details field is required."},
		{"git credential of unknown type", sp1("git-credentials"), map[string]any{"Name": "x", "Details": map[string]any{"Type": "Ssh"}}, "Details.Type"},
		{"freeze without end", "/api/deploymentfreezes", map[string]any{"Name": "x", "Start": "2030-01-01T00:00:00Z"}, "The End field is required."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newclientPost(f, tt.path, tt.body)
			wantBadRequest(t, err, tt.want)
		})
	}
	// The same name in another space is allowed.
	other := f.post("/api/spaces", map[string]any{"Name": "Other", "SpaceManagersTeams": []any{"teams-administrators"}})
	if status, _ := f.call(http.MethodPost, "/api/"+str(other["Id"])+"/proxies", map[string]any{"Name": "Corp", "Host": "h"}); status != http.StatusCreated {
		t.Errorf("a proxy named Corp in another space: %d", status)
	}
}

// TestStoredGitCredentialSecrets: the password is write-only; a PUT that
// marks it HasValue keeps it; RepositoryRestrictions sent null are kept
// (go-octopusdeploy's TestCredentialServiceUpdateWithNullRepositoryRestrictions);
// the Usage link resolves.
func TestStoredGitCredentialSecrets(t *testing.T) {
	f := newFixture(t, Options{})
	res := credentials.NewResource("GitHub", credentials.NewUsernamePassword("bot", core.NewSensitiveValue("s3cret")))
	res.RepositoryRestrictions = &credentials.RepositoryRestrictions{Enabled: true, AllowedRepositories: []string{"https://github.com/*"}}
	created := chk(credentials.Add(f.c, res)).must(t, "credentials.Add")
	raw := f.get(sp1("git-credentials/" + created.GetID()))
	pw := raw["Details"].(map[string]any)["Password"]
	if m, _ := pw.(map[string]any); m["HasValue"] != true || m["NewValue"] != nil {
		t.Errorf("password answered as %v", pw)
	}
	if v, ok := f.sim.Secret("Spaces-1", "git-credentials", created.GetID(), "Details/Password"); !ok || v != "s3cret" {
		t.Errorf("stored password %q %v", v, ok)
	}
	got := chk(credentials.GetByID(f.c, "Spaces-1", created.GetID())).must(t, "credentials.GetByID")
	got.Description = "changed"
	got.RepositoryRestrictions = nil
	updated := chk(credentials.Update(f.c, got)).must(t, "credentials.Update")
	if updated.Description != "changed" || updated.RepositoryRestrictions == nil || len(updated.RepositoryRestrictions.AllowedRepositories) != 1 {
		t.Errorf("after PUT: %+v %+v", updated, updated.RepositoryRestrictions)
	}
	if v, ok := f.sim.Secret("Spaces-1", "git-credentials", created.GetID(), "Details/Password"); !ok || v != "s3cret" {
		t.Errorf("password after a PUT marking it HasValue: %q %v", v, ok)
	}
	usage := f.get(str(raw["Links"].(map[string]any)["Usage"]))
	if p, ok := usage["Projects"].([]any); !ok || len(p) != 0 {
		t.Errorf("usage %v", usage)
	}
	// Through the typed proxy and subscription clients too.
	px := chk(proxies.Add(f.c, proxies.NewProxy("Corp", "proxy.example.com", "u", core.NewSensitiveValue("pw")))).must(t, "proxies.Add")
	if v, ok := f.sim.Secret("Spaces-1", "proxies", px.GetID(), "Password"); !ok || v != "pw" {
		t.Errorf("proxy password %q %v", v, ok)
	}
	sub := chk(subscriptions.Add(f.c, "Spaces-1", subscriptions.NewSubscription("Deploys"))).must(t, "subscriptions.Add")
	if back := chk(subscriptions.GetByID(f.c, "Spaces-1", sub.GetID())).must(t, "subscriptions.GetByID"); back.EventNotificationSubscription == nil || back.EventNotificationSubscription.WebhookTimeout != "00:00:10" {
		t.Errorf("subscription read back as %+v", back)
	}
}

// TestStoredDeploymentFreezeScopes: deployment freezes are server-level,
// listed as {DeploymentFreezes, Count}, and filtered by the projects,
// environments and tenants of their scopes.
func TestStoredDeploymentFreezeScopes(t *testing.T) {
	f := newFixture(t, Options{})
	add := func(name string, pes map[string][]string, tpe []deploymentfreezes.TenantProjectEnvironment) string {
		fr := f.post("/api/deploymentfreezes", map[string]any{"Name": name, "Start": "2030-01-01T00:00:00Z", "End": "2030-01-02T00:00:00Z",
			"ProjectEnvironmentScope": pes, "TenantProjectEnvironmentScope": tpe})
		return str(fr["Id"])
	}
	a := add("A", map[string][]string{"Projects-1": {"Environments-1"}}, nil)
	b := add("B", nil, []deploymentfreezes.TenantProjectEnvironment{{TenantId: "Tenants-1", ProjectId: "Projects-2", EnvironmentId: "Environments-2"}})
	tests := []struct {
		q    deploymentfreezes.DeploymentFreezeQuery
		want []string
	}{
		{deploymentfreezes.DeploymentFreezeQuery{Take: 30}, []string{a, b}},
		{deploymentfreezes.DeploymentFreezeQuery{ProjectIds: []string{"Projects-1"}, Take: 30}, []string{a}},
		{deploymentfreezes.DeploymentFreezeQuery{ProjectIds: []string{"Projects-2"}, Take: 30}, []string{b}},
		{deploymentfreezes.DeploymentFreezeQuery{EnvironmentIds: []string{"Environments-1", "Environments-2"}, Take: 30}, []string{a, b}},
		{deploymentfreezes.DeploymentFreezeQuery{TenantIds: []string{"Tenants-1"}, ProjectIds: []string{"Projects-2"}, Take: 30}, []string{b}},
		{deploymentfreezes.DeploymentFreezeQuery{TenantIds: []string{"Tenants-1"}, ProjectIds: []string{"Projects-1"}, Take: 30}, nil},
		{deploymentfreezes.DeploymentFreezeQuery{Skip: 1, Take: 1}, []string{b}},
	}
	for _, tt := range tests {
		got := chk(deploymentfreezes.Get(f.c, tt.q)).must(t, "deploymentfreezes.Get")
		var ids []string
		for _, fr := range got.DeploymentFreezes {
			ids = append(ids, fr.GetID())
		}
		if strings.Join(ids, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%+v: %v, want %v", tt.q, ids, tt.want)
		}
		if tt.q.Skip == 0 && got.Count != len(tt.want) {
			t.Errorf("%+v: Count %d", tt.q, got.Count)
		}
	}
	if status, _ := f.call(http.MethodGet, sp1("deploymentfreezes"), nil); status != http.StatusNotFound {
		t.Errorf("a server-level collection under a space: %d", status)
	}
}

// TestStoredRateLimitingPolicies: from 2026.3 the server has three
// built-in policies that can be modified but not created, deleted,
// renamed or re-scoped; older servers answer 404.
func TestStoredRateLimitingPolicies(t *testing.T) {
	for _, v := range append(append([]string{}, ConformanceVersions...), "2026.3.1000") {
		t.Run(v, func(t *testing.T) {
			f := newFixture(t, Options{ServerVersion: v})
			list, err := ratelimitingpolicies.List(f.c, ratelimitingpolicies.ListRateLimitingPoliciesRequest{})
			if !versionAtLeast(v, 2026, 3) {
				apiErr(t, err, http.StatusNotFound)
				return
			}
			if err != nil || list.TotalResults != 3 || list.ItemType != "RateLimitingPolicy" || list.Items[0].ID != "RateLimitingPolicies-1" {
				t.Fatalf("list: %v %+v", err, list)
			}
			p := list.Items[1]
			cmd := ratelimitingpolicies.ModifyRateLimitingPolicyCommand{ID: p.ID, Name: p.Name, ScopeType: p.ScopeType,
				IsEnabled: false, RequestsPerMinute: 12, BurstLimit: 34, AuditMode: true}
			if got, err := ratelimitingpolicies.Modify(f.c, cmd); err != nil || got.RequestsPerMinute != 12 || !got.IsBuiltIn || got.IsEnabled {
				t.Errorf("modify: %v %+v", err, got)
			}
			cmd.Name = "New name"
			cmd.ScopeType = ratelimitingpolicies.Unauthenticated
			_, err = ratelimitingpolicies.Modify(f.c, cmd)
			wantBadRequest(t, err, "The name of a built-in rate limiting policy cannot be changed.",
				"The scope of a built-in rate limiting policy cannot be changed.")
			for _, r := range []struct{ method, path string }{{http.MethodPost, "/api/ratelimitingpolicies"}, {http.MethodDelete, "/api/ratelimitingpolicies/" + p.ID}} {
				if status, _ := f.call(r.method, r.path, map[string]any{"Name": "x"}); status != http.StatusMethodNotAllowed {
					t.Errorf("%s %s: %d", r.method, r.path, status)
				}
			}
		})
	}
}

// TestStoredSpaceRetentionPolicies: from 2025.3 every space, new ones
// included, has its default retention policies, read by type and
// modified; older servers answer 404.
func TestStoredSpaceRetentionPolicies(t *testing.T) {
	for _, v := range ConformanceVersions {
		t.Run(v, func(t *testing.T) {
			f := newFixture(t, Options{ServerVersion: v})
			other := f.post("/api/spaces", map[string]any{"Name": "Other", "SpaceManagersTeams": []any{"teams-administrators"}})
			for _, spaceID := range []string{"Spaces-1", str(other["Id"])} {
				for _, rt := range []retentionpolicies.RetentionType{retentionpolicies.LifecycleReleaseRetentionType, retentionpolicies.LifecycleTentacleRetentionType, retentionpolicies.RunbookRetentionType} {
					got, err := retentionpolicies.Get(f.c, retentionpolicies.SpaceDefaultRetentionPolicyQuery{SpaceID: spaceID, RetentionType: rt})
					if !versionAtLeast(v, 2025, 3) {
						apiErr(t, err, http.StatusNotFound)
						continue
					}
					if err != nil || got.RetentionType != rt || got.SpaceId != spaceID || got.Strategy != retentionpolicies.RetentionStrategyCount {
						t.Errorf("%s %s: %v %+v", spaceID, rt, err, got)
					}
				}
			}
			if !versionAtLeast(v, 2025, 3) {
				return
			}
			cur := chk(retentionpolicies.Get(f.c, retentionpolicies.SpaceDefaultRetentionPolicyQuery{SpaceID: "Spaces-1", RetentionType: retentionpolicies.LifecycleReleaseRetentionType})).must(t, "retentionpolicies.Get")
			up := chk(retentionpolicies.Update(f.c, retentionpolicies.NewCountBasedLifecycleReleaseRetentionPolicy(4, retentionpolicies.RetentionUnitItems, "Spaces-1", cur.ID))).must(t, "retentionpolicies.Update")
			if up.QuantityToKeep != 4 || up.Unit != retentionpolicies.RetentionUnitItems || up.RetentionType != retentionpolicies.LifecycleReleaseRetentionType || up.Name != cur.Name {
				t.Errorf("after modify: %+v", up)
			}
			bad := retentionpolicies.NewCountBasedLifecycleReleaseRetentionPolicy(0, "Weeks", "Spaces-1", cur.ID)
			_, err := retentionpolicies.Update(f.c, bad)
			wantBadRequest(t, err, "QuantityToKeep", "The Unit field must be one of Days, Items.")
			if status, _ := f.call(http.MethodGet, sp1("retentionpolicies"), nil); status != http.StatusBadRequest {
				t.Errorf("GET without RetentionType: %d", status)
			}
			if status, _ := f.call(http.MethodDelete, sp1("retentionpolicies/"+cur.ID), nil); status != http.StatusMethodNotAllowed {
				t.Errorf("DELETE: %d", status)
			}
		})
	}
}

// TestStoredSeedRoundTrip: a dump holds the stored collections of each
// space, secrets in clear, and loads back to the same documents.
func TestStoredSeedRoundTrip(t *testing.T) {
	f := newFixture(t, Options{})
	cred := f.post(sp1("git-credentials"), map[string]any{"Name": "GitHub",
		"Details": map[string]any{"Type": "UsernamePassword", "Username": "bot", "Password": map[string]any{"HasValue": true, "NewValue": "s3cret"}}})
	dump := f.sim.Dump()
	g := newFixture(t, Options{Seed: dump})
	back := g.get(sp1("git-credentials/" + str(cred["Id"])))
	if back["Name"] != "GitHub" {
		t.Errorf("loaded back as %v", back)
	}
	if v, ok := g.sim.Secret("Spaces-1", "git-credentials", str(cred["Id"]), "Details/Password"); !ok || v != "s3cret" {
		t.Errorf("secret after the round trip: %q %v", v, ok)
	}
	if next := g.post(sp1("git-credentials"), map[string]any{"Name": "Other", "Details": map[string]any{"Type": "Anonymous"}}); next["Id"] == cred["Id"] {
		t.Errorf("a new credential reuses the seeded ID %v", next["Id"])
	}
}

// TestDeleteEnvironmentDisconnectsTenants: deleting an environment a
// tenant is connected to succeeds and removes it from the tenant, as on a
// real server (go-octopusdeploy's e2e suite deletes such an environment
// and asserts no error).
func TestDeleteEnvironmentDisconnectsTenants(t *testing.T) {
	f := newFixture(t, Options{})
	w := buildWorld(t, f)
	env := chk(environments.Add(f.c, environments.NewEnvironment("Scratch"))).must(t, "environments.Add")
	tn := chk(tenants.GetByID(f.c, "Spaces-1", w.tenant.ID)).must(t, "tenants.GetByID")
	tn.ProjectEnvironments[w.project.ID] = append(tn.ProjectEnvironments[w.project.ID], env.ID)
	chk(tenants.Update(f.c, tn)).must(t, "tenants.Update")
	if err := environments.DeleteByID(f.c, "Spaces-1", env.ID); err != nil {
		t.Fatalf("delete an environment a tenant is connected to: %v", err)
	}
	after := chk(tenants.GetByID(f.c, "Spaces-1", w.tenant.ID)).must(t, "tenants.GetByID")
	if envs := after.ProjectEnvironments[w.project.ID]; len(envs) != 1 || envs[0] != w.prod.ID {
		t.Errorf("tenant environments after the delete: %v", after.ProjectEnvironments)
	}
}

// newclientPost posts and returns the error (for validation checks).
func newclientPost(f *fixture, path string, body any) (*map[string]any, error) {
	return newclient.Post[map[string]any](f.session(), path, body)
}
