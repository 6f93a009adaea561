package octosim

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/accounts"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/actions"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/actiontemplates"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/certificates"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/channels"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/core"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/deployments"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/environments"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/feeds"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/filters"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/libraryvariablesets"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/lifecycles"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/machinepolicies"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/machines"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/projectgroups"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/projects"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/runbookprocess"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/runbooks"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/scriptmodules"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/tagsets"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/teams"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/tenants"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/triggers"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/userroles"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/users"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/variables"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/workerpools"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/workers"

	"github.com/octobundle/octobundle/schema"
)

// The conformance suite drives the simulator through go-octopusdeploy's
// typed packages, building one instance that holds an entity of every kind
// of the registry, on every server version of ConformanceVersions, and
// asserts what a real 2024/2025 server does: case-insensitive paths and
// bodies, Links that resolve, defaults filled, computed fields ignored,
// references protected on delete, shapes that follow the version.

// world is one entity (at least) of every registry kind, created through
// the typed packages.
type world struct {
	dev, prod    *environments.Environment
	tags         *tagsets.TagSet
	feed         feeds.IFeed
	team         *teams.Team
	role         *userroles.UserRole
	pool         workerpools.IWorkerPool
	account      accounts.IAccount
	policy       *machinepolicies.MachinePolicy
	template     *actiontemplates.ActionTemplate
	module       *variables.ScriptModule
	lifecycle    *lifecycles.Lifecycle
	worker       *machines.Worker
	target       *machines.DeploymentTarget
	cert         *certificates.CertificateResource
	library      *variables.LibraryVariableSet
	group        *projectgroups.ProjectGroup
	project      *projects.Project
	channel      *channels.Channel
	runbook      *runbooks.Runbook
	tenant       *tenants.Tenant
	templateName string
}

// result holds a call's value and error until a test checks them.
type result[T any] struct {
	v   T
	err error
}

func chk[T any](v T, err error) result[T] { return result[T]{v, err} }

// must returns the value, failing the test (naming what) on an error.
func (r result[T]) must(t *testing.T, what string) T {
	t.Helper()
	if r.err != nil {
		t.Fatalf("%s: %v", what, r.err)
	}
	return r.v
}

// buildWorld creates the instance the conformance tests inspect.
func buildWorld(t *testing.T, f *fixture) *world {
	t.Helper()
	w := &world{}
	c := f.c
	w.dev = chk(environments.Add(c, environments.NewEnvironment("Dev"))).must(t, "environments.Add")
	w.prod = chk(environments.Add(c, environments.NewEnvironment("Prod"))).must(t, "environments.Add")
	ts := tagsets.NewTagSet("Tier")
	ts.Tags = []*tagsets.Tag{tagsets.NewTag("Gold", "#FFD700")}
	w.tags = chk(tagsets.Add(c, ts)).must(t, "tagsets.Add")
	nuget, _ := feeds.NewNuGetFeed("NuGet.org", "https://api.nuget.org/v3/index.json")
	w.feed = chk(feeds.Add(c, nuget)).must(t, "feeds.Add")
	w.team = chk(teams.Add(c, teams.NewTeam("Ops"))).must(t, "teams.Add")
	role := userroles.NewUserRole("Auditor")
	role.GrantedSpacePermissions = []string{"EnvironmentView"}
	w.role = chk(userroles.Add(c, role)).must(t, "userroles.Add")
	sur := userroles.NewScopedUserRole(w.role.ID)
	sur.TeamID, sur.SpaceID = w.team.ID, "Spaces-1"
	sur.EnvironmentIDs = []string{w.prod.ID}
	chk(c.ScopedUserRoles.Add(sur)).must(t, "ScopedUserRoles.Add")
	w.pool = chk(workerpools.Add(c, workerpools.NewStaticWorkerPool("Linux"))).must(t, "workerpools.Add")
	acc, _ := accounts.NewUsernamePasswordAccount("Deployer")
	acc.SetUsername("deployer")
	acc.SetPassword(core.NewSensitiveValue("hunter2"))
	acc.EnvironmentIDs = []string{w.prod.ID}
	w.account = chk(accounts.Add(c, acc)).must(t, "accounts.Add")
	w.policy = chk(machinepolicies.Add(c, machinepolicies.NewMachinePolicy("Strict"))).must(t, "machinepolicies.Add")
	at := actiontemplates.NewActionTemplate("Say hello", "Octopus.Script")
	at.Properties = map[string]core.PropertyValue{"Octopus.Action.Script.ScriptBody": core.NewPropertyValue("echo hello", false)}
	w.template = chk(actiontemplates.Add(c, at)).must(t, "actiontemplates.Add")
	sm := variables.NewScriptModule("Util")
	sm.ScriptBody, sm.Syntax = "function Get-Answer { 42 }", "PowerShell"
	w.module = chk(scriptmodules.Add(c, sm)).must(t, "scriptmodules.Add")
	lc := lifecycles.NewLifecycle("Main")
	devPhase, prodPhase := lifecycles.NewPhase("Dev"), lifecycles.NewPhase("Prod")
	devPhase.AutomaticDeploymentTargets = []string{w.dev.ID}
	prodPhase.OptionalDeploymentTargets = []string{w.prod.ID}
	lc.Phases = []*lifecycles.Phase{devPhase, prodPhase}
	w.lifecycle = chk(lifecycles.Add(c, lc)).must(t, "lifecycles.Add")
	u, _ := url.Parse("https://web01:10933")
	wk := machines.NewWorker("worker01", machines.NewListeningTentacleEndpoint(u, "ABCDEF01"))
	wk.WorkerPoolIDs = []string{w.pool.GetID()}
	w.worker = chk(workers.Add(c, wk)).must(t, "workers.Add")
	tgt := machines.NewDeploymentTarget("web01", machines.NewListeningTentacleEndpoint(u, "ABCDEF02"), []string{w.prod.ID}, []string{"web"})
	tgt.MachinePolicyID = w.policy.ID
	w.target = chk(machines.Add(c, tgt)).must(t, "machines.Add")
	cert := certificates.NewCertificateResource("Web", core.NewSensitiveValue("MIIBase64=="), core.NewSensitiveValue("pfxpass"))
	cert.EnvironmentIDs = []string{w.prod.ID}
	w.cert = chk(certificates.Add(c, cert)).must(t, "certificates.Add")
	lvs := variables.NewLibraryVariableSet("Common")
	region := actiontemplates.NewActionTemplateParameter()
	region.Name = "Region"
	lvs.Templates = []actiontemplates.ActionTemplateParameter{*region}
	w.library = chk(libraryvariablesets.Add(c, lvs)).must(t, "libraryvariablesets.Add")
	libVars := chk(variables.GetAll(c, "Spaces-1", w.library.ID)).must(t, "variables.GetLibraryVariables")
	lv := variables.NewVariable("Greeting")
	lv.Value = "hello"
	lv.Scope = variables.VariableScope{Environments: []string{w.dev.ID}}
	libVars.Variables = []*variables.Variable{lv}
	chk(variables.Update(c, "Spaces-1", w.library.ID, libVars)).must(t, "variables.Update (library)")

	w.group = chk(projectgroups.Add(c, projectgroups.NewProjectGroup("Apps"))).must(t, "projectgroups.Add")
	p := projects.NewProject("Web", w.lifecycle.ID, w.group.ID)
	p.IncludedLibraryVariableSets = []string{w.library.ID}
	p.TenantedDeploymentMode = "TenantedOrUntenanted"
	tpl := actiontemplates.NewActionTemplateParameter()
	tpl.Name = "Web.Url"
	p.Templates = []actiontemplates.ActionTemplateParameter{*tpl}
	w.templateName = tpl.Name
	w.project = chk(projects.Add(c, p)).must(t, "projects.Add")
	ch := channels.NewChannel("Hotfix", w.project.ID)
	ch.LifecycleID = w.lifecycle.ID
	w.channel = chk(channels.Add(c, ch)).must(t, "channels.Add")

	dp := chk(deployments.GetDeploymentProcessByID(c, "Spaces-1", w.project.DeploymentProcessID)).must(t, "deployments.GetDeploymentProcessByID")
	step := deployments.NewDeploymentStep("Deploy")
	action := deployments.NewDeploymentAction("Run script", "Octopus.Script")
	action.Environments = []string{w.prod.ID}
	action.Channels = []string{w.channel.ID}
	action.WorkerPool = w.pool.GetID()
	action.Properties = map[string]core.PropertyValue{
		"Octopus.Action.Script.ScriptBody": core.NewPropertyValue("echo deploy", false),
		"Octopus.Action.Template.Id":       core.NewPropertyValue(w.template.ID, false),
	}
	step.Actions = []*deployments.DeploymentAction{action}
	dp.Steps = []*deployments.DeploymentStep{step}
	chk(deployments.UpdateDeploymentProcess(c, dp)).must(t, "deployments.UpdateDeploymentProcess")

	w.runbook = chk(runbooks.Add(c, runbooks.NewRunbook("Restart", w.project.ID))).must(t, "runbooks.Add")
	rp := chk(runbookprocess.GetByID(c, "Spaces-1", w.runbook.RunbookProcessID)).must(t, "runbookprocess.GetByID")
	rstep := deployments.NewDeploymentStep("Restart IIS")
	rstep.Actions = []*deployments.DeploymentAction{deployments.NewDeploymentAction("Restart IIS", "Octopus.Script")}
	rp.Steps = []*deployments.DeploymentStep{rstep}
	chk(runbookprocess.Update(c, rp)).must(t, "runbookprocess.Update")

	vs := chk(variables.GetAll(c, "Spaces-1", w.project.ID)).must(t, "variables.GetAll")
	plain := variables.NewVariable("ConnStr")
	plain.Value = "Server=db"
	plain.Scope = variables.VariableScope{Environments: []string{w.prod.ID}}
	accVar := variables.NewVariable("DeployAccount")
	accVar.Type, accVar.Value = "UsernamePasswordAccount", w.account.GetID()
	vs.Variables = []*variables.Variable{plain, accVar}
	chk(variables.Update(c, "Spaces-1", w.project.ID, vs)).must(t, "variables.Update")

	tn := tenants.NewTenant("Acme")
	tn.ProjectEnvironments = map[string][]string{w.project.ID: {w.prod.ID}}
	tn.TenantTags = []string{"Tier/Gold"}
	w.tenant = chk(tenants.Add(c, tn)).must(t, "tenants.Add")
	proj := chk(projects.GetByID(c, "Spaces-1", w.project.ID)).must(t, "projects.GetByID")
	if f.sim.scopedTenantVariables() {
		// 2025.2+: the scoped resources; as octobundle writes them (the legacy document is writable too).
		cmd := &variables.ModifyTenantProjectVariablesCommand{Variables: []variables.TenantProjectVariablePayload{{
			ProjectID: w.project.ID, TemplateID: proj.Templates[0].ID, Value: core.NewPropertyValue("https://acme", false),
			Scope: variables.TenantVariableScope{EnvironmentIds: []string{w.prod.ID}},
		}}}
		chk(tenants.UpdateProjectVariables(c, "Spaces-1", w.tenant.ID, cmd)).must(t, "tenants.UpdateProjectVariables")
	} else {
		tv := chk(c.Tenants.GetVariables(w.tenant)).must(t, "Tenants.GetVariables")
		pv := tv.ProjectVariables[w.project.ID]
		pv.Variables = map[string]map[string]core.PropertyValue{w.prod.ID: {proj.Templates[0].ID: core.NewPropertyValue("https://acme", false)}}
		tv.ProjectVariables[w.project.ID] = pv
		chk(c.Tenants.UpdateVariables(w.tenant, tv)).must(t, "Tenants.UpdateVariables")
	}

	trig := triggers.NewProjectTrigger("New web servers", "", false, proj, actions.NewAutoDeployAction(false),
		filters.NewDeploymentTargetFilter([]string{w.prod.ID}, nil, []string{"MachineAvailableForDeployment"}, []string{"web"}))
	trig.SpaceID = "Spaces-1"
	chk(triggers.Add(c, trig)).must(t, "triggers.Add")
	return w
}

// forEachVersion runs fn against a fresh simulator per conformance version.
func forEachVersion(t *testing.T, fn func(t *testing.T, f *fixture, w *world)) {
	for _, v := range ConformanceVersions {
		t.Run(v, func(t *testing.T) {
			f := newFixture(t, Options{ServerVersion: v})
			fn(t, f, buildWorld(t, f))
		})
	}
}

// TestConformanceEveryKindHeld checks that the world holds every kind the
// registry knows (so the other conformance tests cover them all).
func TestConformanceEveryKindHeld(t *testing.T) {
	forEachVersion(t, func(t *testing.T, f *fixture, _ *world) {
		dump := f.sim.Dump()
		var sp *SpaceSeed
		for i := range dump.Spaces {
			if dump.Spaces[i].Id == "Spaces-1" {
				sp = &dump.Spaces[i]
			}
		}
		for _, k := range schema.Kinds() {
			if k.IsVirtual() || k.Policy == schema.PolicyNever {
				continue
			}
			var docs []map[string]any
			switch {
			case k.ServerLevel:
				docs = dump.UserRoles
			case collByKind[k.Name] == nil:
				docs = sp.Collections[seedTenantVariables]
			default:
				docs = sp.Collections[collByKind[k.Name].Name]
			}
			n := 0
			for _, d := range docs {
				if ct := k.Filter["contentType"]; ct != "" && !strings.EqualFold(str(d["ContentType"]), ct) {
					continue
				}
				n++
			}
			if n == 0 {
				t.Errorf("the conformance world holds no %s", k.Title)
			}
		}
	})
}

// unfollowedLinks are links the link walk does not expect a 200 from, and
// why.
var unfollowedLinks = map[string]string{
	// A project without an uploaded logo answers 404 here, where a real
	// server generates a default image (see logo.go); the logo routes have
	// their own tests in conformance_kinds_test.go.
	"projects.Logo": "no logo uploaded",
	// Commands answered by POST (subResource.Action); GET answers 405.
	"projects.ConvertToVcs":  "POST action",
	"certificates.Archive":   "POST action",
	"certificates.Unarchive": "POST action",
}

var uriTemplatePart = regexp.MustCompile(`\{[^}]*\}`)

// TestConformanceLinksResolve follows every Link of every resource (and of
// the resources those links answer) and expects 200.
func TestConformanceLinksResolve(t *testing.T) {
	forEachVersion(t, func(t *testing.T, f *fixture, w *world) {
		followed := followAllLinks(t, f)
		if followed < 60 {
			t.Errorf("followed only %d links", followed)
		}
		t.Logf("followed %d distinct links", followed)
		// The project carries the links of a current server, including
		// those served by their own handlers.
		proj := f.get(sp1("projects/" + w.project.ID))["Links"].(map[string]any)
		for _, l := range []string{"Self", "Releases", "Channels", "Triggers", "DeploymentSettings", "Summary", "Progression",
			"Logo", "Runbooks", "DeploymentProcess", "Variables", "RunbookSnapshots"} {
			if str(proj[l]) == "" {
				t.Errorf("project lacks Links.%s", l)
			}
		}
		for path, link := range map[string]string{
			"projectgroups/" + w.group.ID:                          "Projects",
			"workerpools/" + w.pool.GetID():                        "Workers",
			"lifecycles/" + w.lifecycle.ID:                         "Projects",
			"runbooks/" + w.runbook.ID:                             "RunbookSnapshotTemplate",
			"deploymentprocesses/" + w.project.DeploymentProcessID: "Template",
			"environments/" + w.prod.ID:                            "Machines",
			"channels/" + w.channel.ID:                             "Project",
		} {
			if str(f.get(sp1(path))["Links"].(map[string]any)[link]) == "" {
				t.Errorf("%s lacks Links.%s", path, link)
			}
		}
		// The typed clients that follow links get what the links promise.
		inGroup := chk(f.c.ProjectGroups.GetProjects(w.group)).must(t, "ProjectGroups.GetProjects")
		if len(inGroup) != 1 || inGroup[0].Name != "Web" {
			t.Errorf("project group projects: %+v", inGroup)
		}
		inPool := chk(f.c.WorkerPools.GetWorkers(w.pool)).must(t, "WorkerPools.GetWorkers")
		if len(inPool) != 1 || inPool[0].Name != "worker01" {
			t.Errorf("worker pool workers: %+v", inPool)
		}
		onLifecycle := chk(f.c.Lifecycles.GetProjects(w.lifecycle)).must(t, "Lifecycles.GetProjects")
		if len(onLifecycle) != 1 {
			t.Errorf("lifecycle projects: %+v", onLifecycle)
		}
		dp := chk(deployments.GetDeploymentProcessByID(f.c, "Spaces-1", w.project.DeploymentProcessID)).must(t, "GetDeploymentProcessByID")
		tmpl := chk(deployments.GetDeploymentProcessTemplate(f.c, dp, "", "")).must(t, "GetDeploymentProcessTemplate")
		if tmpl.DeploymentProcessId != dp.ID {
			t.Errorf("deployment process template: %+v", tmpl)
		}
		rb := chk(runbooks.GetByID(f.c, "Spaces-1", w.runbook.ID)).must(t, "runbooks.GetByID")
		snap := chk(f.c.Runbooks.GetRunbookSnapshotTemplate(rb)).must(t, "Runbooks.GetRunbookSnapshotTemplate")
		if snap.RunbookProcessID != rb.RunbookProcessID || snap.NextNameIncrement == "" {
			t.Errorf("runbook snapshot template: %+v", snap)
		}
	})
}

// followAllLinks lists every collection of the default space (and the
// server), follows every Link of every item and of every resource those
// links answer, and reports each answer that is not 200. It returns the
// number of distinct links followed.
func followAllLinks(t *testing.T, f *fixture) int {
	t.Helper()
	type item struct {
		coll string
		doc  map[string]any
	}
	var queue []item
	for _, c := range collOrder {
		path := sp1(c.Name)
		if c.ServerLevel {
			path = "/api/" + c.Name
		}
		if c.Singleton {
			continue // reached through their owners' links
		}
		for _, it := range f.get(path + "?take=1000")["Items"].([]any) {
			queue = append(queue, item{c.Name, it.(map[string]any)})
		}
	}
	seen := map[string]bool{}
	followed := 0
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		links, _ := it.doc["Links"].(map[string]any)
		for _, name := range slices.Sorted(maps.Keys(links)) {
			href := str(links[name])
			if _, skip := unfollowedLinks[it.coll+"."+name]; name == "Web" || skip {
				continue
			}
			p := uriTemplatePart.ReplaceAllString(href, "")
			if seen[p] {
				continue
			}
			seen[p] = true
			followed++
			r := f.raw(http.MethodGet, p, testKey, nil)
			if r.status != http.StatusOK {
				t.Errorf("%s %s Links.%s = %s: %d %s", it.coll, str(it.doc["Id"]), name, href, r.status, r.body)
				continue
			}
			var doc map[string]any
			if jsonUnmarshal(r.body, &doc) == nil && doc != nil {
				next := collOf(p)
				if items, ok := doc["Items"].([]any); ok {
					for _, x := range items {
						if m, ok := x.(map[string]any); ok {
							queue = append(queue, item{next, m})
						}
					}
				} else {
					queue = append(queue, item{next, doc})
				}
			}
		}
	}
	return followed
}

// collOf names the collection of an API path (/api/Spaces-1/projects/…).
func collOf(p string) string {
	segs := splitPath(strings.TrimPrefix(p, "/api"))
	if len(segs) > 0 && strings.HasPrefix(strings.ToLower(segs[0]), "spaces-") {
		segs = segs[1:]
	}
	if len(segs) >= 3 {
		return segs[2] // a nested route names the child collection
	}
	if len(segs) > 0 {
		return segs[0]
	}
	return ""
}

// TestConformanceCaseInsensitive: ASP.NET matches routes and JSON fields
// without regard to case.
func TestConformanceCaseInsensitive(t *testing.T) {
	forEachVersion(t, func(t *testing.T, f *fixture, w *world) {
		for _, p := range []string{
			"/api/Spaces-1/projects/All", "/api/spaces-1/PROJECTS/all", "/api/Spaces-1/tenantvariables/All",
			"/api/Spaces-1/tenants/" + w.tenant.ID + "/Variables", "/api/Spaces-1/Projects/" + strings.ToLower(w.project.ID),
			"/api/Spaces-1/projects/" + w.project.ID + "/Channels", "/api/Spaces-1/projects/web", "/api/Spaces-1/Projects/WEB",
			"/api/Spaces-1/LibraryVariableSets/All", "/api/Spaces-1/runbookprocesses/" + w.runbook.RunbookProcessID,
		} {
			if r := f.raw(http.MethodGet, p, testKey, nil); r.status != http.StatusOK {
				t.Errorf("GET %s: %d %s", p, r.status, r.body)
			}
		}
		byIdentifier := chk(projects.GetByIdentifier(f.c, "Spaces-1", "web")).must(t, "projects.GetByIdentifier")
		if byIdentifier.ID != w.project.ID {
			t.Errorf("project by slug: %+v", byIdentifier)
		}
		body := map[string]any{"name": "Api", "LifecycleID": w.lifecycle.ID, "ProjectGroupID": w.group.ID, "description": "cased"}
		created := f.post(sp1("projects"), body)
		stored, _ := f.sim.Entity("Spaces-1", "projects", str(created["Id"]))
		for _, field := range []string{"Name", "LifecycleId", "ProjectGroupId", "Description"} {
			if _, ok := stored[field]; !ok {
				t.Errorf("field %s not stored under its canonical name: %v", field, slices.Sorted(maps.Keys(stored)))
			}
		}
		for _, field := range []string{"name", "LifecycleID", "ProjectGroupID", "description"} {
			if _, ok := stored[field]; ok {
				t.Errorf("field %s stored with the request's casing", field)
			}
		}
		upd := f.put(sp1("projects/"+str(created["Id"])), map[string]any{"DESCRIPTION": "updated", "name": "Api", "lifecycleId": w.lifecycle.ID, "PROJECTGROUPID": w.group.ID})
		if upd["Description"] != "updated" {
			t.Errorf("PUT with differently cased fields: %v", upd["Description"])
		}
		// Step property keys are dictionary keys, not fields: kept as sent.
		dp := f.get(sp1("deploymentprocesses/" + w.project.DeploymentProcessID))
		props := dp["Steps"].([]any)[0].(map[string]any)["Actions"].([]any)[0].(map[string]any)["Properties"].(map[string]any)
		if _, ok := props["Octopus.Action.Script.ScriptBody"]; !ok {
			t.Errorf("step properties lost their keys: %v", slices.Sorted(maps.Keys(props)))
		}
	})
}

// TestConformanceDefaultsAndComputedFields: the server fills defaults and
// never takes its computed fields from a body.
func TestConformanceDefaultsAndComputedFields(t *testing.T) {
	forEachVersion(t, func(t *testing.T, f *fixture, w *world) {
		env := f.get(sp1("environments/" + w.prod.ID))
		for _, fld := range []string{"ExtensionSettings", "EnvironmentTags", "UseGuidedFailure", "AllowDynamicInfrastructure", "Slug"} {
			if _, ok := env[fld]; !ok {
				t.Errorf("environment lacks %s", fld)
			}
		}
		proj := f.get(sp1("projects/" + w.project.ID))
		if ps, _ := proj["PersistenceSettings"].(map[string]any); str(ps["Type"]) != "Database" {
			t.Errorf("project PersistenceSettings %v", proj["PersistenceSettings"])
		}
		for _, fld := range []string{"ProjectConnectivityPolicy", "ExtensionSettings", "Slug", "DefaultGuidedFailureMode", "VersioningStrategy"} {
			if _, ok := proj[fld]; !ok {
				t.Errorf("project lacks %s", fld)
			}
		}
		if proj["Slug"] != "web" {
			t.Errorf("project Slug %v", proj["Slug"])
		}
		tgt := chk(machines.GetByID(f.c, "Spaces-1", w.target.ID)).must(t, "machines.GetByID")
		if tgt.HealthStatus != "Unknown" || tgt.Status != "Unknown" {
			t.Errorf("new target HealthStatus %q Status %q", tgt.HealthStatus, tgt.Status)
		}
		pool := chk(workerpools.GetByID(f.c, "Spaces-1", w.pool.GetID())).must(t, "workerpools.GetByID")
		if !pool.GetCanAddWorkers() {
			t.Error("a static worker pool does not accept workers")
		}

		tests := []struct {
			name, coll string
			body       map[string]any
			field      string
			want       any
		}{
			{"static pool CanAddWorkers", "workerpools", map[string]any{"Name": "P1", "WorkerPoolType": "StaticWorkerPool", "CanAddWorkers": false}, "CanAddWorkers", true},
			{"dynamic pool CanAddWorkers", "workerpools", map[string]any{"Name": "P2", "WorkerPoolType": "DynamicWorkerPool", "WorkerType": "UbuntuDefault", "CanAddWorkers": true}, "CanAddWorkers", false},
			{"tenant ClonedFromTenantId", "tenants", map[string]any{"Name": "T2", "ClonedFromTenantId": w.tenant.ID}, "ClonedFromTenantId", nil},
			{"project ClonedFromProjectId", "projects", map[string]any{"Name": "P3", "LifecycleId": w.lifecycle.ID, "ProjectGroupId": w.group.ID, "ClonedFromProjectId": w.project.ID}, "ClonedFromProjectId", nil},
			{"machine HealthStatus", "machines", map[string]any{"Name": "m2", "EnvironmentIds": []any{w.dev.ID}, "Roles": []any{"web"}, "HealthStatus": "Healthy",
				"Endpoint": map[string]any{"CommunicationStyle": "TentaclePassive", "Uri": "https://m2:10933", "Thumbprint": "AB"}}, "HealthStatus", "Unknown"},
			{"SpaceId", "environments", map[string]any{"Name": "E3", "SpaceId": "Spaces-99"}, "SpaceId", "Spaces-1"},
			{"slug from name", "environments", map[string]any{"Name": "Pre Prod"}, "Slug", "pre-prod"},
			{"step template Version", "actiontemplates", map[string]any{"Name": "T", "ActionType": "Octopus.Script", "Version": 42}, "Version", float64(0)},
			{"environment SortOrder", "environments", map[string]any{"Name": "E4"}, "SortOrder", float64(3)},
			{"environment SortOrder given", "environments", map[string]any{"Name": "E5", "SortOrder": 0}, "SortOrder", float64(0)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := f.post(sp1(tt.coll), tt.body)
				if got[tt.field] != tt.want {
					t.Errorf("%s = %#v, want %#v", tt.field, got[tt.field], tt.want)
				}
			})
		}
		// On update a computed field keeps its stored value.
		upd := f.put(sp1("workerpools/"+w.pool.GetID()), map[string]any{"Name": "Linux", "CanAddWorkers": false})
		if upd["CanAddWorkers"] != true {
			t.Errorf("PUT changed CanAddWorkers to %v", upd["CanAddWorkers"])
		}
	})
}

// TestConformanceDeleteReferenced: deleting what others still use is
// refused with the server's message; unused entities delete.
func TestConformanceDeleteReferenced(t *testing.T) {
	forEachVersion(t, func(t *testing.T, f *fixture, w *world) {
		tests := []struct {
			name string
			del  func() error
			want []string
		}{
			{"project group with projects", func() error { return projectgroups.DeleteByID(f.c, "Spaces-1", w.group.ID) },
				[]string{"This project group cannot be deleted because it is being used by the following projects: Web."}},
			{"environment in lifecycle, target, tenant, variables, account, certificate, step", func() error { return environments.DeleteByID(f.c, "Spaces-1", w.prod.ID) },
				[]string{"following lifecycles: Main", "following deployment targets: web01", "following variable sets: Web",
					"following accounts: Deployer", "following certificates: Web", "following deployment processes: Web", "following scoped user roles", "following tenant variables: Acme"}},
			{"lifecycle used by project and channel", func() error { return lifecycles.DeleteByID(f.c, "Spaces-1", w.lifecycle.ID) },
				[]string{"following projects: Web", "following channels: Hotfix"}},
			{"account used by a variable", func() error { return accounts.DeleteByID(f.c, "Spaces-1", w.account.GetID()) },
				[]string{"This account cannot be deleted because it is being used by the following variable sets: Web."}},
			{"worker pool with workers, used by a step", func() error { return workerpools.DeleteByID(f.c, "Spaces-1", w.pool.GetID()) },
				[]string{"following workers: worker01", "following deployment processes: Web"}},
			{"step template used by a step", func() error { return actiontemplates.DeleteByID(f.c, "Spaces-1", w.template.ID) },
				[]string{"following deployment processes: Web"}},
			{"channel used by a step", func() error { return channels.DeleteByID(f.c, "Spaces-1", w.channel.ID) },
				[]string{"following deployment processes: Web"}},
			{"library variable set included by a project", func() error { return libraryvariablesets.DeleteByID(f.c, "Spaces-1", w.library.ID) },
				[]string{"following projects: Web"}},
			{"machine policy used by a target", func() error { return machinepolicies.DeleteByID(f.c, "Spaces-1", w.policy.ID) },
				[]string{"following deployment targets: web01"}},
			{"user role in a team", func() error { return userroles.DeleteByID(f.c, w.role.ID) },
				[]string{"following scoped user roles: Ops"}},
			{"tag set whose tag a tenant carries", func() error { return tagsets.DeleteByID(f.c, "Spaces-1", w.tags.ID) },
				[]string{"This tag set cannot be deleted because it is being used by the following tenants: Acme."}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ae := apiErr(t, tt.del(), http.StatusBadRequest)
				all := ae.ErrorMessage + "\n" + strings.Join(ae.Errors, "\n")
				for _, frag := range tt.want {
					if !strings.Contains(all, frag) {
						t.Errorf("refusal does not mention %q:\n%s", frag, all)
					}
				}
			})
		}
		// What nothing uses deletes; deleting a project takes its own
		// channels, processes and variables along and unlinks tenants.
		spare := chk(environments.Add(f.c, environments.NewEnvironment("Spare"))).must(t, "environments.Add")
		if err := environments.DeleteByID(f.c, "Spaces-1", spare.ID); err != nil {
			t.Errorf("deleting an unused environment: %v", err)
		}
		if err := projects.DeleteByID(f.c, "Spaces-1", w.project.ID); err != nil {
			t.Fatalf("deleting the project: %v", err)
		}
		for _, del := range []func() error{
			func() error { return lifecycles.DeleteByID(f.c, "Spaces-1", w.lifecycle.ID) },
			func() error { return projectgroups.DeleteByID(f.c, "Spaces-1", w.group.ID) },
			func() error { return accounts.DeleteByID(f.c, "Spaces-1", w.account.GetID()) },
			func() error { return libraryvariablesets.DeleteByID(f.c, "Spaces-1", w.library.ID) },
		} {
			if err := del(); err != nil {
				t.Errorf("delete once the project is gone: %v", err)
			}
		}
	})
}

// TestConformanceVersionShapes: retention policies answer in the shape of
// the reported version.
func TestConformanceVersionShapes(t *testing.T) {
	forEachVersion(t, func(t *testing.T, f *fixture, w *world) {
		root := f.raw(http.MethodGet, "/api", "", nil).json(t)
		version := str(root["Version"])
		lc := f.get(sp1("lifecycles/" + w.lifecycle.ID))
		rp := lc["ReleaseRetentionPolicy"].(map[string]any)
		_, hasStrategy := rp["Strategy"]
		if want := versionAtLeast(version, 2025, 1); hasStrategy != want {
			t.Errorf("%s: lifecycle retention %v, Strategy expected %v", version, rp, want)
		}
		rb := f.get(sp1("runbooks/" + w.runbook.ID))
		rr := rb["RunRetentionPolicy"].(map[string]any)
		_, hasStrategy = rr["Strategy"]
		_, hasUnit := rr["Unit"]
		want := versionAtLeast(version, 2025, 4)
		if hasStrategy != want || hasUnit != want || rr["QuantityToKeep"] == nil {
			t.Errorf("%s: runbook retention %v, Strategy/Unit expected %v", version, rr, want)
		}
		// A client writing the newer shape to an older server is answered
		// in the older one (and the reverse), keeping the meaning.
		forever := f.put(sp1("runbooks/"+w.runbook.ID), map[string]any{"Name": "Restart",
			"RunRetentionPolicy": map[string]any{"Strategy": "Forever", "QuantityToKeep": 0, "Unit": "Items"}})
		fr := forever["RunRetentionPolicy"].(map[string]any)
		if fr["ShouldKeepForever"] != true || (want && fr["Strategy"] != "Forever") || (!want && fr["Strategy"] != nil) {
			t.Errorf("%s: keep-forever runbook retention answered as %v", version, fr)
		}
		typed := chk(runbooks.GetByID(f.c, "Spaces-1", w.runbook.ID)).must(t, "runbooks.GetByID")
		if typed.RunRetentionPolicy == nil || typed.RunRetentionPolicy.Strategy != runbooks.RunbookRetentionStrategyForever {
			t.Errorf("%s: go-octopusdeploy reads the runbook retention as %+v", version, typed.RunRetentionPolicy)
		}
	})
}

// TestConformanceCollectionsAndUsers: collections a real server has answer
// 200 even when empty; /users/me is the API key's user.
func TestConformanceCollectionsAndUsers(t *testing.T) {
	forEachVersion(t, func(t *testing.T, f *fixture, w *world) {
		root := f.raw(http.MethodGet, "/api", "", nil).json(t)["Links"].(map[string]any)
		for _, ec := range emptyCollections {
			link := str(root[ec.Link])
			if link == "" {
				t.Errorf("root document lacks %s", ec.Link)
				continue
			}
			p := uriTemplatePart.ReplaceAllString(link, "")
			page := f.get(p)
			if page["TotalResults"] != float64(0) || page["ItemType"] != ec.ItemType {
				t.Errorf("%s: %v", p, page)
			}
			if r := f.raw(http.MethodGet, p+"/all", testKey, nil); r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != "[]" {
				t.Errorf("%s/all: %d %s", p, r.status, r.body)
			}
			if r := f.raw(http.MethodGet, p+"/Things-1", testKey, nil); r.status != http.StatusNotFound {
				t.Errorf("%s/Things-1: %d", p, r.status)
			}
			if r := f.raw(http.MethodPost, p, testKey, map[string]any{"Name": "x"}); r.status != http.StatusMethodNotAllowed {
				t.Errorf("POST %s: %d (writes are refused, never silently dropped)", p, r.status)
			}
		}
		if !strings.Contains(str(root["Machines"]), "deploymentTargetTypes") || !strings.Contains(str(root["Machines"]), "commStyles") {
			t.Errorf("root Machines link %v", root["Machines"])
		}
		me := chk(f.c.Users.GetMe()).must(t, "Users.GetMe")
		if me.ID != apiKeyUserID || me.Username == "" {
			t.Errorf("users/me: %+v", me)
		}
		paged := chk(users.Get(f.c, "", users.UsersQuery{})).must(t, "users.Get")
		if len(paged.Items) != 1 || paged.Items[0].ID != me.ID {
			t.Errorf("users page: %+v", paged)
		}
		if r := f.raw(http.MethodGet, "/api/users/all", testKey, nil); r.status != http.StatusOK || !strings.Contains(string(r.body), apiKeyUserID) {
			t.Errorf("users/all: %d %s", r.status, r.body)
		}
	})
}

// TestConformanceFiltersAndClone: the machine filters of the root template
// work; ?clone= on projects is refused, never ignored.
func TestConformanceFiltersAndClone(t *testing.T) {
	forEachVersion(t, func(t *testing.T, f *fixture, w *world) {
		tests := []struct {
			name string
			q    machines.MachinesQuery
			want []string
		}{
			{"health Unknown", machines.MachinesQuery{HealthStatuses: []string{"Unknown"}}, []string{"web01"}},
			{"health Healthy", machines.MachinesQuery{HealthStatuses: []string{"Healthy"}}, nil},
			{"commStyles", machines.MachinesQuery{CommunicationStyles: []string{"TentaclePassive"}}, []string{"web01"}},
			{"commStyles other", machines.MachinesQuery{CommunicationStyles: []string{"Ssh"}}, nil},
			{"deploymentTargetTypes", machines.MachinesQuery{DeploymentTargetTypes: []string{"TentaclePassive"}}, []string{"web01"}},
			{"thumbprint", machines.MachinesQuery{Thumbprint: "ABCDEF02"}, []string{"web01"}},
			{"thumbprint other", machines.MachinesQuery{Thumbprint: "FFFF"}, nil},
			{"roles", machines.MachinesQuery{Roles: []string{"web"}}, []string{"web01"}},
			{"environmentIds", machines.MachinesQuery{EnvironmentIDs: []string{w.dev.ID}}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				page := chk(machines.Get(f.c, "Spaces-1", tt.q)).must(t, "machines.Get")
				var got []string
				for _, m := range page.Items {
					got = append(got, m.Name)
				}
				sort.Strings(got)
				if strings.Join(got, ",") != strings.Join(tt.want, ",") {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			})
		}
		for _, p := range []string{sp1("projects?clone=" + w.project.ID)} {
			r := f.raw(http.MethodPost, p, testKey, map[string]any{"Name": "Copy", "LifecycleId": w.lifecycle.ID, "ProjectGroupId": w.group.ID})
			if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "clone") {
				t.Errorf("POST %s: %d %s", p, r.status, r.body)
			}
		}
	})
}

// TestConformanceTenantClone: POST tenants?clone= with only a name and a
// description (go-octopusdeploy's TenantCloneRequest, as the Octopus CLI's
// `tenant clone` sends it) copies the source's tags, connections and
// variable values, and records the source; an unknown source is a 404.
func TestConformanceTenantClone(t *testing.T) {
	forEachVersion(t, func(t *testing.T, f *fixture, w *world) {
		got := f.post(sp1("tenants?clone="+w.tenant.ID), map[string]any{"Name": "Acme Copy", "Description": "cloned"})
		id := str(got["Id"])
		if id == "" || id == w.tenant.ID || got["Name"] != "Acme Copy" || got["Description"] != "cloned" || got["ClonedFromTenantId"] != w.tenant.ID {
			t.Fatalf("clone: %v", got)
		}
		src := f.get(sp1("tenants/" + w.tenant.ID))
		for _, field := range clonedTenantFields {
			if !reflect.DeepEqual(got[field], src[field]) {
				t.Errorf("%s = %v, want the source's %v", field, got[field], src[field])
			}
		}
		if page := f.get(sp1("tenants?clonedFromTenantId=" + w.tenant.ID)); page["TotalResults"] != float64(1) {
			t.Errorf("clonedFromTenantId filter: %v", page["TotalResults"])
		}
		values := func(tid string) any {
			return f.get(sp1("tenants/" + tid + "/variables"))["ProjectVariables"].(map[string]any)[w.project.ID].(map[string]any)["Variables"]
		}
		if v := values(id); !reflect.DeepEqual(v, values(w.tenant.ID)) || !strings.Contains(fmt.Sprint(v), "https://acme") {
			t.Errorf("clone's variable values %v, want the source's %v", v, values(w.tenant.ID))
		}
		if r := f.raw(http.MethodPost, sp1("tenants?clone=Tenants-999"), testKey, map[string]any{"Name": "X"}); r.status != http.StatusNotFound {
			t.Errorf("clone of an unknown tenant: %d %s", r.status, r.body)
		}
	})
}

// TestConformanceDeploymentTargetTypes: deploymentTargetTypes selects on
// the target type, which is the endpoint's communication style except for
// cloud regions (style None, type CloudRegion), as the Octopus CLI's
// `deployment-target <type> list` commands ask.
func TestConformanceDeploymentTargetTypes(t *testing.T) {
	forEachVersion(t, func(t *testing.T, f *fixture, w *world) {
		region := machines.NewDeploymentTarget("region01", machines.NewCloudRegionEndpoint(), []string{w.prod.ID}, []string{"cloud"})
		chk(machines.Add(f.c, region)).must(t, "machines.Add")
		for _, tt := range []struct{ types, want string }{
			{"CloudRegion", "region01"},
			{"TentaclePassive", "web01"},
			{"CloudRegion,TentaclePassive", "region01,web01"},
			{"Ssh", ""},
		} {
			// The query goes through the root document's template (as the
			// CLI's does): go-octopusdeploy's machines.Get template lacks it.
			r := f.raw(http.MethodGet, sp1("machines?deploymentTargetTypes="+tt.types), testKey, nil)
			var page struct{ Items []struct{ Name string } }
			if err := json.Unmarshal(r.body, &page); r.status != http.StatusOK || err != nil {
				t.Fatalf("deploymentTargetTypes=%s: %d %s", tt.types, r.status, r.body)
			}
			var got []string
			for _, m := range page.Items {
				got = append(got, m.Name)
			}
			sort.Strings(got)
			if strings.Join(got, ",") != tt.want {
				t.Errorf("deploymentTargetTypes=%s: got %v, want %s", tt.types, got, tt.want)
			}
		}
	})
}

// TestConformanceSampleInstanceLinks follows every Link of the sample
// source instance on both versions.
func TestConformanceSampleInstanceLinks(t *testing.T) {
	seed, err := LoadSeed("../../testdata/instances/source.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range ConformanceVersions {
		t.Run(v, func(t *testing.T) {
			f := newFixture(t, Options{ServerVersion: v, Seed: seed})
			n := followAllLinks(t, f)
			if n < 150 {
				t.Errorf("followed only %d links on the sample instance", n)
			}
			t.Logf("followed %d distinct links", n)
		})
	}
}
