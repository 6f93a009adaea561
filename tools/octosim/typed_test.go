package octosim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/accounts"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/actiontemplates"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/certificates"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/client"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/core"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/environments"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/feeds"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/lifecycles"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/machinepolicies"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/machines"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/projectgroups"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/spaces"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/tagsets"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/teams"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/userroles"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/workerpools"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/workers"
)

func TestRootDocumentAndClientConstruction(t *testing.T) {
	f := newFixture(t, Options{ServerVersion: "2024.3.12345"})
	root := f.raw(http.MethodGet, "/api/", "", nil) // the root is public
	if root.status != http.StatusOK {
		t.Fatalf("GET /api/: %d", root.status)
	}
	doc := root.json(t)
	if doc["Application"] != "Octopus Deploy" || doc["Version"] != "2024.3.12345" || doc["ApiVersion"] != "3.0.0" || str(doc["InstallationId"]) == "" {
		t.Errorf("root document: %v", doc)
	}
	links := doc["Links"].(map[string]any)
	for _, l := range []string{"Self", "Spaces", "Environments", "Projects", "Tenants", "UserRoles", "Feeds", "Variables", "DeploymentProcesses"} {
		if str(links[l]) == "" {
			t.Errorf("root document lacks link %s", l)
		}
	}
	if !strings.HasPrefix(str(links["Environments"]), "/api/Spaces-1/environments{") {
		t.Errorf("Environments link %v", links["Environments"])
	}
	spaceRoot := f.get("/api/Spaces-1")["Links"].(map[string]any)
	if spaceRoot["Feeds"] != "/api/Spaces-1/feeds{/id}{?skip,take,ids,partialName,feedType}" || spaceRoot["Self"] != "/api/Spaces-1" {
		t.Errorf("space root links: Feeds %v Self %v", spaceRoot["Feeds"], spaceRoot["Self"])
	}

	// Without a space the client finds the default one.
	u, _ := url.Parse(f.base)
	c, err := client.NewClient(nil, u, testKey, "")
	if err != nil || c.GetSpaceID() != "Spaces-1" {
		t.Fatalf("NewClient without space: %v, space %q", err, c.GetSpaceID())
	}
	// An unknown space aborts construction.
	if _, err := client.NewClient(nil, u, testKey, "Spaces-99"); err == nil {
		t.Error("NewClient with an unknown space succeeded")
	}
	// Legacy services are wired from the links.
	envs, err := c.Environments.GetAll()
	if err != nil {
		t.Fatalf("legacy Environments.GetAll: %v", err)
	}
	if len(envs) != 0 {
		t.Errorf("fresh instance has %d environments", len(envs))
	}
}

func TestSpacesTyped(t *testing.T) {
	f := newFixture(t, Options{})
	all, err := spaces.GetAll(f.c)
	if err != nil || len(all) != 1 || all[0].Name != "Default" || !all[0].IsDefault || all[0].ID != "Spaces-1" {
		t.Fatalf("fresh instance spaces: %v %+v", err, all)
	}
	sp := spaces.NewSpace("Second")
	sp.SpaceManagersTeamMembers = []string{"Users-1"}
	created, err := f.c.Spaces.Add(sp)
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == "Spaces-1" || created.IsDefault {
		t.Errorf("created space %+v", created)
	}
	// The new space has its defaults.
	lcs, err := lifecycles.GetAll(f.c, created.ID)
	if err != nil || len(lcs) != 1 || lcs[0].Name != "Default Lifecycle" {
		t.Errorf("new space lifecycles: %v %v", err, lcs)
	}
	fs, err := feeds.GetAll(f.c, created.ID)
	if err != nil || len(fs) != 2 {
		t.Errorf("new space feeds: %v %d", err, len(fs))
	}
	created.Description = "second space"
	if upd, err := spaces.Update(f.c, created); err != nil || upd.Description != "second space" {
		t.Errorf("spaces.Update: %v %+v", err, upd)
	}
	// A space manager is required; names are unique.
	_, err = f.c.Spaces.Add(spaces.NewSpace("No managers"))
	if err == nil {
		t.Error("a space without managers was created")
	}
	dup := spaces.NewSpace("second")
	dup.SpaceManagersTeamMembers = []string{"Users-1"}
	if _, err := f.c.Spaces.Add(dup); err == nil {
		t.Error("a duplicate space name was accepted")
	}
	// Deleting needs the task queue stopped.
	if err := f.c.Spaces.DeleteByID(created.ID); err == nil {
		t.Error("deleted a space with a running task queue")
	}
	created.TaskQueueStopped = true
	if _, err := spaces.Update(f.c, created); err != nil {
		t.Fatal(err)
	}
	if err := f.c.Spaces.DeleteByID(created.ID); err != nil {
		t.Fatalf("delete space: %v", err)
	}
	if _, err := spaces.GetByID(f.c, created.ID); err == nil {
		t.Error("deleted space still found")
	}
}

func TestEnvironmentsTyped(t *testing.T) {
	f := newFixture(t, Options{})
	for _, n := range []string{"Development", "Test", "Production"} {
		if _, err := environments.Add(f.c, environments.NewEnvironment(n)); err != nil {
			t.Fatal(err)
		}
	}
	all, err := environments.GetAll(f.c, "Spaces-1")
	if err != nil || len(all) != 3 {
		t.Fatalf("GetAll: %v, %d", err, len(all))
	}
	page, err := environments.Get(f.c, "Spaces-1", environments.EnvironmentsQuery{Name: "test"})
	if err != nil || len(page.Items) != 1 || page.Items[0].Name != "Test" {
		t.Fatalf("Get by name: %v %+v", err, page)
	}
	env := page.Items[0]
	env.Description = "for testing"
	env.UseGuidedFailure = true
	upd, err := environments.Update(f.c, env)
	if err != nil || upd.Description != "for testing" || !upd.UseGuidedFailure || upd.Slug != "test" {
		t.Fatalf("Update: %v %+v", err, upd)
	}
	if err := environments.DeleteByID(f.c, "Spaces-1", env.ID); err != nil {
		t.Fatal(err)
	}
	_, err = environments.GetByID(f.c, "Spaces-1", env.ID)
	apiErr(t, err, http.StatusNotFound)
	_, err = environments.Add(f.c, environments.NewEnvironment("production"))
	wantBadRequest(t, err, "production")
}

func TestLifecyclesAndProjectGroupsTyped(t *testing.T) {
	f := newFixture(t, Options{})
	env, _ := environments.Add(f.c, environments.NewEnvironment("Dev"))
	lc := lifecycles.NewLifecycle("Main")
	phase := lifecycles.NewPhase("Dev")
	phase.AutomaticDeploymentTargets = []string{env.ID}
	lc.Phases = []*lifecycles.Phase{phase}
	created, err := lifecycles.Add(f.c, lc)
	if err != nil {
		t.Fatal(err)
	}
	if len(created.Phases) != 1 || created.Phases[0].ID == "" {
		t.Fatalf("phase Id not generated: %+v", created.Phases)
	}
	created.Description = "main lifecycle"
	if upd, err := lifecycles.Update(f.c, created); err != nil || upd.Description != "main lifecycle" || upd.Phases[0].ID != created.Phases[0].ID {
		t.Fatalf("Update: %v %+v", err, upd)
	}
	all, err := lifecycles.GetAll(f.c, "Spaces-1")
	if err != nil || len(all) != 2 {
		t.Fatalf("GetAll: %v %d", err, len(all))
	}
	// A phase naming a missing environment is refused.
	bad := lifecycles.NewLifecycle("Broken")
	bp := lifecycles.NewPhase("X")
	bp.OptionalDeploymentTargets = []string{"Environments-999"}
	bad.Phases = []*lifecycles.Phase{bp}
	_, err = lifecycles.Add(f.c, bad)
	wantBadRequest(t, err, "Phases[0].OptionalDeploymentTargets[0]", "Environments-999")

	pg := projectgroups.NewProjectGroup("Apps")
	pg.EnvironmentIDs = []string{env.ID}
	pgc, err := projectgroups.Add(f.c, pg)
	if err != nil {
		t.Fatal(err)
	}
	pgc.Description = "apps"
	if upd, err := projectgroups.Update(f.c, *pgc); err != nil || upd.Description != "apps" {
		t.Fatalf("projectgroups.Update: %v", err)
	}
	groups, err := projectgroups.GetAll(f.c, "Spaces-1")
	if err != nil || len(groups) != 2 {
		t.Fatalf("projectgroups.GetAll: %v %d", err, len(groups))
	}
	if err := projectgroups.DeleteByID(f.c, "Spaces-1", pgc.ID); err != nil {
		t.Fatal(err)
	}
}

func TestTagSetsTyped(t *testing.T) {
	f := newFixture(t, Options{})
	ts := tagsets.NewTagSet("Tier")
	ts.Tags = []*tagsets.Tag{tagsets.NewTag("Gold", "#FFD700"), tagsets.NewTag("Silver", "#C0C0C0")}
	created, err := tagsets.Add(f.c, ts)
	if err != nil {
		t.Fatal(err)
	}
	if created.Tags[0].ID == "" || created.Tags[0].CanonicalTagName != "Tier/Gold" {
		t.Errorf("tags: %+v", created.Tags[0])
	}
	created.Tags = append(created.Tags, tagsets.NewTag("Bronze", "#CD7F32"))
	upd, err := tagsets.Update(f.c, created)
	if err != nil || len(upd.Tags) != 3 || upd.Tags[2].CanonicalTagName != "Tier/Bronze" || upd.Tags[0].ID != created.Tags[0].ID {
		t.Fatalf("Update: %v %+v", err, upd)
	}
	all, err := tagsets.GetAll(f.c, "Spaces-1")
	if err != nil || len(all) != 1 {
		t.Fatalf("GetAll: %v %d", err, len(all))
	}
	if err := tagsets.DeleteByID(f.c, "Spaces-1", created.ID); err != nil {
		t.Fatal(err)
	}
}

func TestFeedsTyped(t *testing.T) {
	f := newFixture(t, Options{})
	all, err := feeds.GetAll(f.c, "Spaces-1")
	if err != nil || len(all) != 2 {
		t.Fatalf("built-in feeds: %v %d (ToFeed must accept them)", err, len(all))
	}
	nuget, _ := feeds.NewNuGetFeed("NuGet.org", "https://api.nuget.org/v3/index.json")
	nuget.Username = "me"
	nuget.Password = core.NewSensitiveValue("s3cret")
	created, err := feeds.Add(f.c, nuget)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := feeds.ToFeedResource(created)
	if res.Password == nil || !res.Password.HasValue || res.Password.NewValue != nil {
		t.Errorf("feed password answered as %+v", res.Password)
	}
	if v, ok := f.sim.Secret("Spaces-1", "feeds", created.GetID(), "Password"); !ok || v != "s3cret" {
		t.Errorf("stored password %q %v", v, ok)
	}
	// Update sending the answer back keeps the secret.
	if _, err := feeds.Update(f.c, created); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.sim.Secret("Spaces-1", "feeds", created.GetID(), "Password"); v != "s3cret" {
		t.Errorf("password after update %q", v)
	}
	page, err := feeds.Get(f.c, "Spaces-1", feeds.FeedsQuery{FeedType: "NuGet"})
	if err != nil || len(page.Items) != 1 {
		t.Errorf("feedType filter: %v %v", err, page)
	}
	err = feeds.DeleteByID(f.c, "Spaces-1", "feeds-builtin")
	wantBadRequest(t, err, "built-in")
	if err := feeds.DeleteByID(f.c, "Spaces-1", created.GetID()); err != nil {
		t.Fatal(err)
	}
}

func TestAccountsAndCertificatesTyped(t *testing.T) {
	f := newFixture(t, Options{})
	env, _ := environments.Add(f.c, environments.NewEnvironment("Prod"))
	acc, _ := accounts.NewUsernamePasswordAccount("Deployer")
	acc.SetUsername("deployer")
	acc.SetPassword(core.NewSensitiveValue("hunter2"))
	acc.EnvironmentIDs = []string{env.ID}
	created, err := accounts.Add(f.c, acc)
	if err != nil {
		t.Fatal(err)
	}
	up := created.(*accounts.UsernamePasswordAccount)
	if p := up.Password; p == nil || !p.HasValue || p.NewValue != nil {
		t.Errorf("password answered as %+v", p)
	}
	up.Description = "updated"
	if _, err := accounts.Update(f.c, up); err != nil {
		t.Fatal(err)
	}
	if v, ok := f.sim.Secret("Spaces-1", "accounts", up.GetID(), "Password"); !ok || v != "hunter2" {
		t.Errorf("password after update: %q %v", v, ok)
	}
	tok, _ := accounts.NewTokenAccount("Token", core.NewSensitiveValue("tkn"))
	if _, err := accounts.Add(f.c, tok); err != nil {
		t.Fatal(err)
	}
	all, err := accounts.GetAll(f.c, "Spaces-1")
	if err != nil || len(all) != 2 {
		t.Fatalf("GetAll: %v %d", err, len(all))
	}
	bad, _ := accounts.NewTokenAccount("Bad", core.NewSensitiveValue("x"))
	bad.TenantIDs = []string{"Tenants-404"}
	_, err = accounts.Add(f.c, bad)
	wantBadRequest(t, err, "TenantIds[0]", "Tenants-404")

	cert := certificates.NewCertificateResource("Web", core.NewSensitiveValue("MIIBase64=="), core.NewSensitiveValue("pfxpass"))
	cc, err := certificates.Add(f.c, cert)
	if err != nil {
		t.Fatal(err)
	}
	if cc.CertificateData == nil || !cc.CertificateData.HasValue || cc.CertificateData.NewValue != nil {
		t.Errorf("certificate data answered as %+v", cc.CertificateData)
	}
	cc.Notes = "renew in May"
	if _, err := certificates.Update(f.c, cc); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.sim.Secret("Spaces-1", "certificates", cc.ID, "CertificateData"); v != "MIIBase64==" {
		t.Errorf("certificate data after update %q", v)
	}
	certs, err := certificates.GetAll(f.c, "Spaces-1")
	if err != nil || len(certs) != 1 {
		t.Fatalf("certificates.GetAll: %v %d", err, len(certs))
	}
	if err := certificates.DeleteByID(f.c, "Spaces-1", cc.ID); err != nil {
		t.Fatal(err)
	}
}

func TestWorkerPoolsPoliciesMachinesWorkersTyped(t *testing.T) {
	f := newFixture(t, Options{})
	pols, err := machinepolicies.GetAll(f.c, "Spaces-1")
	if err != nil || len(pols) != 1 || !pols[0].IsDefault {
		t.Fatalf("default machine policy: %v %+v", err, pols)
	}
	mp := machinepolicies.NewMachinePolicy("Strict")
	created, err := machinepolicies.Add(f.c, mp)
	if err != nil {
		t.Fatal(err)
	}
	created.Description = "strict"
	if _, err := machinepolicies.Update(f.c, created); err != nil {
		t.Fatal(err)
	}
	err = machinepolicies.DeleteByID(f.c, "Spaces-1", pols[0].ID)
	wantBadRequest(t, err, "default")

	pool, err := workerpools.Add(f.c, workerpools.NewStaticWorkerPool("Linux"))
	if err != nil {
		t.Fatal(err)
	}
	pools, err := workerpools.Get(f.c, "Spaces-1", workerpools.WorkerPoolsQuery{PartialName: "linux"})
	if err != nil || len(pools.Items) != 1 {
		t.Fatalf("workerpools.Get: %v %v", err, pools)
	}
	wp, err := workerpools.GetByID(f.c, "Spaces-1", pool.GetID())
	if err != nil {
		t.Fatal(err)
	}
	wp.SetDescription("linux workers")
	if upd, err := workerpools.Update(f.c, wp); err != nil || upd.GetDescription() != "linux workers" {
		t.Fatalf("workerpools.Update: %v", err)
	}

	env, _ := environments.Add(f.c, environments.NewEnvironment("Prod"))
	u, _ := url.Parse("https://web01:10933")
	target := machines.NewDeploymentTarget("web01", machines.NewListeningTentacleEndpoint(u, "ABCDEF"), []string{env.ID}, []string{"web"})
	tc, err := machines.Add(f.c, target)
	if err != nil {
		t.Fatal(err)
	}
	if tc.MachinePolicyID != "" {
		t.Logf("machine policy %s", tc.MachinePolicyID)
	}
	targets, err := machines.GetAll(f.c, "Spaces-1")
	if err != nil || len(targets) != 1 || targets[0].Name != "web01" {
		t.Fatalf("machines.GetAll: %v %v", err, targets)
	}
	badTarget := machines.NewDeploymentTarget("web02", machines.NewOfflinePackageDropEndpoint(), []string{"Environments-77"}, []string{"web"})
	_, err = machines.Add(f.c, badTarget)
	wantBadRequest(t, err, "Environments-77")

	w := machines.NewWorker("worker01", machines.NewListeningTentacleEndpoint(u, "ABCDEF"))
	w.WorkerPoolIDs = []string{pool.GetID()}
	wc, err := workers.Add(f.c, w)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := workers.GetAll(f.c, "Spaces-1")
	if err != nil || len(ws) != 1 {
		t.Fatalf("workers.GetAll: %v %d", err, len(ws))
	}
	if err := workers.DeleteByID(f.c, "Spaces-1", wc.ID); err != nil {
		t.Fatal(err)
	}
	if err := workerpools.DeleteByID(f.c, "Spaces-1", pool.GetID()); err != nil {
		t.Fatal(err)
	}
}

func TestTeamsUserRolesTyped(t *testing.T) {
	f := newFixture(t, Options{})
	role := userroles.NewUserRole("Auditor")
	role.GrantedSpacePermissions = []string{"EnvironmentView"}
	rc, err := userroles.Add(f.c, role)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rc.ID, "UserRoles-") {
		t.Errorf("custom role ID %s", rc.ID)
	}
	rc.Description = "audits"
	if _, err := userroles.Update(f.c, rc); err != nil {
		t.Fatal(err)
	}
	page, err := userroles.Get(f.c, "Spaces-1", userroles.UserRolesQuery{PartialName: "project"})
	if err != nil || len(page.Items) < 4 {
		t.Fatalf("built-in roles: %v %v", err, page)
	}
	if _, err := userroles.GetByID(f.c, "userroles-projectdeployer"); err != nil {
		t.Fatal(err)
	}
	err = userroles.DeleteByID(f.c, "userroles-projectdeployer")
	wantBadRequest(t, err, "cannot be deleted")

	team, err := teams.Add(f.c, teams.NewTeam("Ops"))
	if err != nil {
		t.Fatal(err)
	}
	team.Description = "operations"
	if _, err := f.c.Teams.Update(team); err != nil {
		t.Fatal(err)
	}
	sur := userroles.NewScopedUserRole(rc.ID)
	sur.TeamID = team.ID
	sur.SpaceID = "Spaces-1"
	if _, err := f.c.ScopedUserRoles.Add(sur); err != nil {
		t.Fatal(err)
	}
	got, err := teams.GetByID(f.c, "Spaces-1", team.ID)
	if err != nil {
		t.Fatal(err)
	}
	roles, err := f.c.Teams.GetScopedUserRoles(*got, core.SkipTakeQuery{Take: 10})
	if err != nil || len(roles.Items) != 1 || roles.Items[0].UserRoleID != rc.ID {
		t.Fatalf("GetScopedUserRoles: %v %+v", err, roles)
	}
	bad := userroles.NewScopedUserRole("userroles-doesnotexist")
	bad.TeamID = team.ID
	bad.SpaceID = "Spaces-1"
	_, err = f.c.ScopedUserRoles.Add(bad)
	if err == nil || !strings.Contains(err.Error(), "userroles-doesnotexist") {
		t.Errorf("dangling user role accepted: %v", err)
	}
	// Deleting the team takes its role bindings with it.
	if err := teams.DeleteByID(f.c, "Spaces-1", team.ID); err != nil {
		t.Fatal(err)
	}
	if n := len(f.get(sp1("scopeduserroles"))["Items"].([]any)); n != 0 {
		t.Errorf("%d scoped user roles left after deleting the team", n)
	}
	if err := userroles.DeleteByID(f.c, rc.ID); err != nil {
		t.Fatal(err)
	}
}

func TestActionTemplatesTyped(t *testing.T) {
	f := newFixture(t, Options{})
	at := actiontemplates.NewActionTemplate("Say hello", "Octopus.Script")
	at.Properties = map[string]core.PropertyValue{"Octopus.Action.Script.ScriptBody": core.NewPropertyValue("echo hello", false)}
	p := actiontemplates.NewActionTemplateParameter()
	p.Name = "Greeting"
	at.Parameters = []actiontemplates.ActionTemplateParameter{*p}
	created, err := actiontemplates.Add(f.c, at)
	if err != nil {
		t.Fatal(err)
	}
	if created.Parameters[0].ID == "" {
		t.Error("parameter Id not generated")
	}
	if created.Version != 0 {
		t.Errorf("a new step template has Version %d, want 0", created.Version)
	}
	created.Description = "greets"
	created.Version = 42 // the server owns the version and ignores this
	if _, err := actiontemplates.Update(f.c, created); err != nil {
		t.Fatal(err)
	}
	got, err := actiontemplates.GetByID(f.c, "Spaces-1", created.ID)
	if err != nil || got.Description != "greets" {
		t.Fatalf("GetByID: %v %+v", err, got)
	}
	if got.Version != 1 {
		t.Errorf("after one save the step template has Version %d, want 1", got.Version)
	}
	if err := actiontemplates.DeleteByID(f.c, "Spaces-1", created.ID); err != nil {
		t.Fatal(err)
	}
}
