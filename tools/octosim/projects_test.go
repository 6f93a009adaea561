package octosim

import (
	"net/http"
	"strings"
	"testing"

	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/actiontemplates"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/channels"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/core"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/deployments"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/environments"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/libraryvariablesets"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/lifecycles"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/projectgroups"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/projects"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/runbookprocess"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/runbooks"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/scriptmodules"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/tenants"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/variables"
)

// newProject creates a project with the space's default lifecycle and group.
func newProject(t *testing.T, f *fixture, name string) *projects.Project {
	t.Helper()
	lcs, err := lifecycles.GetAll(f.c, "Spaces-1")
	if err != nil {
		t.Fatal(err)
	}
	pgs, err := projectgroups.GetAll(f.c, "Spaces-1")
	if err != nil {
		t.Fatal(err)
	}
	p, err := projects.Add(f.c, projects.NewProject(name, lcs[0].ID, pgs[0].ID))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProjectCreatesItsParts(t *testing.T) {
	f := newFixture(t, Options{})
	p := newProject(t, f, "OctoFX")
	if p.DeploymentProcessID != "deploymentprocess-"+p.ID || p.VariableSetID != "variableset-"+p.ID {
		t.Fatalf("project parts: %q %q", p.DeploymentProcessID, p.VariableSetID)
	}
	chs, err := channels.GetByProjectID(f.c, "Spaces-1", channels.QueryByProjectID{ProjectID: p.ID})
	if err != nil || len(chs.Items) != 1 || chs.Items[0].Name != "Default" || !chs.Items[0].IsDefault {
		t.Fatalf("default channel: %v %+v", err, chs)
	}
	// Required fields and dangling references.
	_, err = projects.Add(f.c, projects.NewProject("No lifecycle", "", "ProjectGroups-1"))
	if err == nil {
		t.Fatal("project without a lifecycle accepted")
	}
	_, err = rawPost(f, sp1("projects"), map[string]any{"Name": "Dangling", "LifecycleId": "Lifecycles-404", "ProjectGroupId": p.ProjectGroupID})
	wantBadRequest(t, err, "LifecycleId refers to Lifecycles-404")
	_, err = rawPost(f, sp1("projects"), map[string]any{"Name": "octofx", "LifecycleId": p.LifecycleID, "ProjectGroupId": p.ProjectGroupID})
	wantBadRequest(t, err, "octofx")

	p.Description = "FX trading"
	upd, err := projects.Update(f.c, p)
	if err != nil || upd.Description != "FX trading" || upd.DeploymentProcessID != "deploymentprocess-"+p.ID {
		t.Fatalf("projects.Update: %v %+v", err, upd)
	}
	byName, err := projects.GetByName(f.c, "Spaces-1", "OctoFX")
	if err != nil || byName.ID != p.ID {
		t.Fatalf("GetByName: %v %+v", err, byName)
	}
	all, err := projects.GetAll(f.c, "Spaces-1")
	if err != nil || len(all) != 1 {
		t.Fatalf("GetAll: %v %d", err, len(all))
	}

	// Channels: one default per project, names unique per project.
	ch, err := channels.Add(f.c, channels.NewChannel("Hotfix", p.ID))
	if err != nil {
		t.Fatal(err)
	}
	other := newProject(t, f, "Other")
	if _, err := channels.Add(f.c, channels.NewChannel("Hotfix", other.ID)); err != nil {
		t.Errorf("same channel name in another project refused: %v", err)
	}
	_, err = channels.Add(f.c, channels.NewChannel("hotfix", p.ID))
	wantBadRequest(t, err, "hotfix")
	ch.IsDefault = true
	if _, err := channels.Update(f.c, ch); err != nil {
		t.Fatal(err)
	}
	chs, _ = channels.GetByProjectID(f.c, "Spaces-1", channels.QueryByProjectID{ProjectID: p.ID})
	defaults := 0
	for _, c := range chs.Items {
		if c.IsDefault {
			defaults++
		}
	}
	if defaults != 1 {
		t.Errorf("%d default channels", defaults)
	}
	err = channels.DeleteByID(f.c, "Spaces-1", ch.ID)
	wantBadRequest(t, err, "default channel")

	// Deleting the project takes its parts with it.
	if err := projects.DeleteByID(f.c, "Spaces-1", p.ID); err != nil {
		t.Fatal(err)
	}
	_, err = deployments.GetDeploymentProcessByID(f.c, "Spaces-1", p.DeploymentProcessID)
	apiErr(t, err, http.StatusNotFound)
	if _, err := channels.GetByID(f.c, "Spaces-1", ch.ID); err == nil {
		t.Error("channel of a deleted project still there")
	}
}

func rawPost(f *fixture, path string, body any) (map[string]any, error) {
	return rawWrite(f, http.MethodPost, path, body)
}

func rawPut(f *fixture, path string, body any) (map[string]any, error) {
	return rawWrite(f, http.MethodPut, path, body)
}

// rawWrite sends a write with a plain HTTP client and turns an error answer
// into the client library's APIError, as go-octopusdeploy would.
func rawWrite(f *fixture, method, path string, body any) (map[string]any, error) {
	r := f.raw(method, path, testKey, body)
	if r.status >= 300 {
		m := r.json(f.t)
		errs := []string{}
		for _, e := range asSlice(m["Errors"]) {
			errs = append(errs, str(e))
		}
		return nil, &core.APIError{StatusCode: r.status, ErrorMessage: str(m["ErrorMessage"]), Errors: errs}
	}
	return r.json(f.t), nil
}

func TestDeploymentProcessTyped(t *testing.T) {
	f := newFixture(t, Options{})
	env, _ := environments.Add(f.c, environments.NewEnvironment("Prod"))
	p := newProject(t, f, "Web")
	dp, err := deployments.GetDeploymentProcessByID(f.c, "Spaces-1", p.DeploymentProcessID)
	if err != nil {
		t.Fatal(err)
	}
	if dp.Links["Self"] == "" || dp.Version != 0 || dp.ProjectID != p.ID {
		t.Fatalf("process: %+v", dp)
	}
	step := deployments.NewDeploymentStep("Deploy")
	action := deployments.NewDeploymentAction("Run script", "Octopus.Script")
	action.Environments = []string{env.ID}
	action.Properties = map[string]core.PropertyValue{"Octopus.Action.Script.ScriptBody": core.NewPropertyValue("echo hi", false)}
	step.Actions = []*deployments.DeploymentAction{action}
	dp.Steps = []*deployments.DeploymentStep{step}
	upd, err := deployments.UpdateDeploymentProcess(f.c, dp)
	if err != nil {
		t.Fatal(err)
	}
	if upd.Version != 1 || upd.Steps[0].ID == "" || upd.Steps[0].Actions[0].ID == "" {
		t.Fatalf("after update: version %d, step %q, action %q", upd.Version, upd.Steps[0].ID, upd.Steps[0].Actions[0].ID)
	}
	actionID := upd.Steps[0].Actions[0].ID
	// Saving again keeps the IDs and bumps the version.
	upd2, err := deployments.UpdateDeploymentProcess(f.c, upd)
	if err != nil || upd2.Version != 2 || upd2.Steps[0].Actions[0].ID != actionID {
		t.Fatalf("second update: %v %+v", err, upd2)
	}
	// A stale version is a conflict.
	_, err = deployments.UpdateDeploymentProcess(f.c, upd)
	ae := apiErr(t, err, http.StatusConflict)
	if ae.ErrorMessage == "" || len(ae.Errors) == 0 {
		t.Errorf("409 body: %+v", ae)
	}
	// A dangling environment and duplicate step names are refused.
	cur, _ := deployments.GetDeploymentProcessByID(f.c, "Spaces-1", p.DeploymentProcessID)
	cur.Steps[0].Actions[0].Environments = []string{"Environments-404"}
	cur.Steps = append(cur.Steps, deployments.NewDeploymentStep("Deploy"))
	cur.Steps[1].Actions = []*deployments.DeploymentAction{deployments.NewDeploymentAction("Second", "Octopus.Script")}
	_, err = deployments.UpdateDeploymentProcess(f.c, cur)
	wantBadRequest(t, err, "Steps[0].Actions[0].Environments[0] refers to Environments-404", "Step names must be unique")
	// Channels of another project are refused.
	other := newProject(t, f, "Other")
	otherCh, _ := channels.GetByProjectID(f.c, "Spaces-1", channels.QueryByProjectID{ProjectID: other.ID})
	cur, _ = deployments.GetDeploymentProcessByID(f.c, "Spaces-1", p.DeploymentProcessID)
	cur.Steps[0].Actions[0].Channels = []string{otherCh.Items[0].ID}
	_, err = deployments.UpdateDeploymentProcess(f.c, cur)
	wantBadRequest(t, err, "belongs to another project")
	// The project route reaches the same process.
	viaProject := f.get(sp1("projects/" + p.ID + "/deploymentprocesses"))
	if viaProject["Id"] != p.DeploymentProcessID || viaProject["Version"].(float64) != 2 {
		t.Errorf("projects/{id}/deploymentprocesses: %v %v", viaProject["Id"], viaProject["Version"])
	}
	procs, err := deployments.GetAllDeploymentProcesses(f.c, "Spaces-1")
	if err != nil || len(procs) != 2 {
		t.Errorf("GetAllDeploymentProcesses: %v %d", err, len(procs))
	}
}

func TestRunbooksTyped(t *testing.T) {
	f := newFixture(t, Options{})
	p := newProject(t, f, "Ops")
	rb, err := runbooks.Add(f.c, runbooks.NewRunbook("Restart", p.ID))
	if err != nil {
		t.Fatal(err)
	}
	if rb.RunbookProcessID != "RunbookProcess-"+rb.ID {
		t.Fatalf("RunbookProcessId %q", rb.RunbookProcessID)
	}
	rp, err := runbookprocess.GetByID(f.c, "Spaces-1", rb.RunbookProcessID)
	if err != nil {
		t.Fatal(err)
	}
	step := deployments.NewDeploymentStep("Restart IIS")
	step.Actions = []*deployments.DeploymentAction{deployments.NewDeploymentAction("Restart IIS", "Octopus.Script")}
	rp.Steps = []*deployments.DeploymentStep{step}
	urp, err := runbookprocess.Update(f.c, rp)
	if err != nil {
		t.Fatal(err)
	}
	if urp.Steps[0].Actions[0].ID == "" || urp.Version == nil || *urp.Version != 1 {
		t.Fatalf("runbook process after update: %+v", urp)
	}
	got, err := runbooks.GetProcess(f.c, "Spaces-1", p.ID, rb.RunbookProcessID)
	if err != nil || len(got.Steps) != 1 {
		t.Fatalf("runbooks.GetProcess: %v", err)
	}
	_, err = runbooks.Add(f.c, runbooks.NewRunbook("restart", p.ID))
	wantBadRequest(t, err, "restart")
	list, err := runbooks.List(f.c, "Spaces-1", p.ID, "", 10)
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("runbooks.List: %v %+v", err, list)
	}
	byName, err := runbooks.GetByName(f.c, "Spaces-1", p.ID, "Restart")
	if err != nil || byName == nil || byName.ID != rb.ID {
		t.Fatalf("GetByName: %v %+v", err, byName)
	}
	rb.Description = "restarts"
	if _, err := runbooks.Update(f.c, rb); err != nil {
		t.Fatal(err)
	}
	if err := runbooks.DeleteByID(f.c, "Spaces-1", rb.ID); err != nil {
		t.Fatal(err)
	}
	_, err = runbookprocess.GetByID(f.c, "Spaces-1", rb.RunbookProcessID)
	apiErr(t, err, http.StatusNotFound)
}

// TestSensitiveVariables covers the write-only rules of variable sets and
// the go-octopusdeploy #449 trap: a sensitive variable sent without its Id
// and without a value loses its secret.
func TestSensitiveVariables(t *testing.T) {
	f := newFixture(t, Options{})
	env, _ := environments.Add(f.c, environments.NewEnvironment("Prod"))
	p := newProject(t, f, "Bank")
	vs, err := variables.GetAll(f.c, "Spaces-1", p.ID)
	if err != nil {
		t.Fatal(err)
	}
	plain := variables.NewVariable("ConnStr")
	plain.Value = "Server=db"
	plain.Scope = variables.VariableScope{Environments: []string{env.ID}}
	secret := variables.NewVariable("DbPassword")
	secret.IsSensitive = true
	secret.Type = "Sensitive"
	secret.Value = "p@ss"
	vs.Variables = []*variables.Variable{plain, secret}
	saved, err := variables.Update(f.c, "Spaces-1", p.ID, vs)
	if err != nil {
		t.Fatal(err)
	}
	var sv *variables.Variable
	for _, v := range saved.Variables {
		if v.Name == "DbPassword" {
			sv = v
		}
	}
	if sv == nil || sv.GetID() == "" || sv.Value != "" || !sv.IsSensitive || sv.Type != "Sensitive" {
		t.Fatalf("sensitive variable answered as %+v", sv)
	}
	if saved.ScopeValues == nil || len(saved.ScopeValues.Environments) != 1 {
		t.Errorf("ScopeValues: %+v", saved.ScopeValues)
	}
	raw := f.get(sp1("variables/" + p.VariableSetID))
	for _, v := range raw["Variables"].([]any) {
		if m := v.(map[string]any); m["Name"] == "DbPassword" && m["Value"] != nil {
			t.Errorf("GET returned the secret value %v", m["Value"])
		}
	}
	if v, ok := f.sim.Secret("Spaces-1", "variables", p.VariableSetID, "Variables/DbPassword/Value"); !ok || v != "p@ss" {
		t.Fatalf("stored secret %q %v", v, ok)
	}

	// Safe path: read, change something else, write back with the Ids.
	cur, _ := variables.GetAll(f.c, "Spaces-1", p.ID)
	cur.Variables[0].Value = "Server=db2"
	if _, err := variables.Update(f.c, "Spaces-1", p.ID, cur); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.sim.Secret("Spaces-1", "variables", p.VariableSetID, "Variables/DbPassword/Value"); v != "p@ss" {
		t.Fatalf("secret lost on the safe path: %q", v)
	}

	// Stale version: 409.
	_, err = variables.Update(f.c, "Spaces-1", p.ID, vs)
	apiErr(t, err, http.StatusConflict)

	// The trap: the same variable without its Id (as a sync tool building
	// the set from a bundle would send it) wipes the secret.
	cur, _ = variables.GetAll(f.c, "Spaces-1", p.ID)
	for _, v := range cur.Variables {
		if v.Name == "DbPassword" {
			v.ID = ""
		}
	}
	after, err := variables.Update(f.c, "Spaces-1", p.ID, cur)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.sim.Secret("Spaces-1", "variables", p.VariableSetID, "Variables/DbPassword/Value"); ok {
		t.Fatal("a sensitive variable sent without its Id kept its secret; the real server wipes it")
	}
	for _, v := range after.Variables {
		if v.Name == "DbPassword" && (!v.IsSensitive || v.GetID() == "") {
			t.Errorf("wiped variable answered as %+v", v)
		}
	}
	// Setting a new value works with or without the Id.
	cur, _ = variables.GetAll(f.c, "Spaces-1", p.ID)
	for _, v := range cur.Variables {
		if v.Name == "DbPassword" {
			v.Value = "n3w"
		}
	}
	if _, err := variables.Update(f.c, "Spaces-1", p.ID, cur); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.sim.Secret("Spaces-1", "variables", p.VariableSetID, "Variables/DbPassword/Value"); v != "n3w" {
		t.Fatalf("new secret not stored: %q", v)
	}

	// Scopes are validated.
	cur, _ = variables.GetAll(f.c, "Spaces-1", p.ID)
	cur.Variables[0].Scope.Environments = []string{"Environments-404"}
	_, err = variables.Update(f.c, "Spaces-1", p.ID, cur)
	wantBadRequest(t, err, "Variables[0].Scope.Environment[0] refers to Environments-404")
	cur.Variables[0].Scope = variables.VariableScope{Actions: []string{"8c7a6f3e-0000-4000-8000-000000000000"}}
	_, err = variables.Update(f.c, "Spaces-1", p.ID, cur)
	wantBadRequest(t, err, "not a step or action")
}

func TestTenantsAndTenantVariables(t *testing.T) {
	// The legacy tenant variables document before 2025.2
	// (see TestConformanceScopedTenantVariables for the scoped resources).
	f := newFixture(t, Options{ServerVersion: ConformanceVersions[0]})
	env, _ := environments.Add(f.c, environments.NewEnvironment("Prod"))
	p := newProject(t, f, "Portal")
	sensitiveTpl := actiontemplates.NewActionTemplateParameter()
	sensitiveTpl.Name = "ApiKey"
	sensitiveTpl.DisplaySettings = map[string]string{"Octopus.ControlType": "Sensitive"}
	plainTpl := actiontemplates.NewActionTemplateParameter()
	plainTpl.Name = "Url"
	p.Templates = []actiontemplates.ActionTemplateParameter{*sensitiveTpl, *plainTpl}
	p, err := projects.Update(f.c, p)
	if err != nil {
		t.Fatal(err)
	}
	if p.Templates[0].ID == "" {
		t.Fatal("template Id not generated")
	}
	lvs := variables.NewLibraryVariableSet("Common")
	regionTpl := actiontemplates.NewActionTemplateParameter()
	regionTpl.Name = "Region"
	lvs.Templates = []actiontemplates.ActionTemplateParameter{*regionTpl}
	lvs, err = libraryvariablesets.Add(f.c, lvs)
	if err != nil {
		t.Fatal(err)
	}
	p.IncludedLibraryVariableSets = []string{lvs.ID}
	if p, err = projects.Update(f.c, p); err != nil {
		t.Fatal(err)
	}

	tn := tenants.NewTenant("Acme")
	tn.ProjectEnvironments = map[string][]string{p.ID: {env.ID}}
	tn, err = tenants.Add(f.c, tn)
	if err != nil {
		t.Fatal(err)
	}
	bad := tenants.NewTenant("Dangling")
	bad.ProjectEnvironments = map[string][]string{"Projects-404": {env.ID}}
	_, err = tenants.Add(f.c, bad)
	wantBadRequest(t, err, "Projects-404")

	tv, err := f.c.Tenants.GetVariables(tn)
	if err != nil {
		t.Fatal(err)
	}
	pv, ok := tv.ProjectVariables[p.ID]
	if !ok || len(pv.Templates) != 2 || tv.LibraryVariables[lvs.ID].LibraryVariableSetName != "Common" {
		t.Fatalf("tenant variables shape: %+v", tv)
	}
	apiKeyID, urlID, regionID := p.Templates[0].ID, p.Templates[1].ID, lvs.Templates[0].ID
	pv.Variables = map[string]map[string]core.PropertyValue{env.ID: {
		apiKeyID: core.NewPropertyValue("k3y", true),
		urlID:    core.NewPropertyValue("https://acme", false),
	}}
	tv.ProjectVariables[p.ID] = pv
	lv := tv.LibraryVariables[lvs.ID]
	lv.Variables = map[string]core.PropertyValue{regionID: core.NewPropertyValue("eu", false)}
	tv.LibraryVariables[lvs.ID] = lv
	if _, err := f.c.Tenants.UpdateVariables(tn, tv); err != nil {
		t.Fatal(err)
	}
	if v, ok := f.sim.TenantSecret("Spaces-1", tn.ID, p.ID, apiKeyID, env.ID); !ok || v != "k3y" {
		t.Fatalf("tenant secret %q %v", v, ok)
	}
	raw := f.get(sp1("tenants/" + tn.ID + "/variables"))
	got := raw["ProjectVariables"].(map[string]any)[p.ID].(map[string]any)["Variables"].(map[string]any)[env.ID].(map[string]any)
	if s, ok := got[apiKeyID].(map[string]any); !ok || s["HasValue"] != true || s["NewValue"] != nil {
		t.Errorf("sensitive tenant value answered as %v", got[apiKeyID])
	}
	if got[urlID] != "https://acme" {
		t.Errorf("plain tenant value %v", got[urlID])
	}
	// Sending the masked document back keeps the secret.
	tv2, _ := f.c.Tenants.GetVariables(tn)
	if _, err := f.c.Tenants.UpdateVariables(tn, tv2); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.sim.TenantSecret("Spaces-1", tn.ID, p.ID, apiKeyID, env.ID); v != "k3y" {
		t.Fatalf("tenant secret after round trip %q", v)
	}
	// Unknown templates are refused.
	raw["ProjectVariables"].(map[string]any)[p.ID].(map[string]any)["Variables"].(map[string]any)[env.ID].(map[string]any)["00000000-0000-4000-8000-000000000000"] = "x"
	_, err = rawPut(f, sp1("tenants/"+tn.ID+"/variables"), raw)
	wantBadRequest(t, err, "00000000-0000-4000-8000-000000000000")

	// Tenants list filters.
	byProject, err := tenants.Get(f.c, "Spaces-1", tenants.TenantsQuery{ProjectID: p.ID})
	if err != nil || len(byProject.Items) != 1 {
		t.Errorf("tenants by project: %v %+v", err, byProject)
	}
	all := f.raw(http.MethodGet, sp1("tenantvariables/all"), testKey, nil)
	if all.status != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(string(all.body)), "[") {
		t.Errorf("tenantvariables/all: %d %s", all.status, all.body)
	}
	// Deleting the project disconnects the tenant.
	if err := projects.DeleteByID(f.c, "Spaces-1", p.ID); err != nil {
		t.Fatal(err)
	}
	tn, _ = tenants.GetByID(f.c, "Spaces-1", tn.ID)
	if len(tn.ProjectEnvironments) != 0 {
		t.Errorf("tenant still linked to a deleted project: %v", tn.ProjectEnvironments)
	}
	// Deleting the tenant deletes its variables.
	if _, ok := f.sim.Entity("Spaces-1", seedTenantVariables, tn.ID); !ok {
		t.Fatal("the stored tenant variables are not found")
	}
	if err := tenants.DeleteByID(f.c, "Spaces-1", tn.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.sim.Entity("Spaces-1", seedTenantVariables, tn.ID); ok {
		t.Error("the tenant variables outlived their tenant")
	}
}

func TestLibraryVariableSetsAndScriptModules(t *testing.T) {
	f := newFixture(t, Options{})
	lvs, err := libraryvariablesets.Add(f.c, variables.NewLibraryVariableSet("Shared"))
	if err != nil {
		t.Fatal(err)
	}
	if lvs.VariableSetID != "variableset-"+lvs.ID || lvs.ContentType != "Variables" {
		t.Fatalf("library variable set: %+v", lvs)
	}
	vs, err := variables.GetAll(f.c, "Spaces-1", lvs.ID)
	if err != nil || vs.OwnerID != lvs.ID {
		t.Fatalf("its variable set: %v %+v", err, vs)
	}
	sm := variables.NewScriptModule("Helpers")
	sm.ScriptBody = "function Say-Hi { 'hi' }"
	sm.Syntax = "PowerShell"
	created, err := scriptmodules.Add(f.c, sm)
	if err != nil {
		t.Fatal(err)
	}
	got, err := scriptmodules.GetByID(f.c, "Spaces-1", created.ID)
	if err != nil || got.ScriptBody != sm.ScriptBody || got.Syntax != "PowerShell" {
		t.Fatalf("script module read back: %v %+v", err, got)
	}
	body, _ := f.sim.Entity("Spaces-1", "variables", created.VariableSetID)
	names := []string{}
	for _, v := range body["Variables"].([]any) {
		names = append(names, str(v.(map[string]any)["Name"]))
	}
	if strings.Join(names, ",") != "Octopus.Script.Module[Helpers],Octopus.Script.Module.Language[Helpers]" {
		t.Errorf("script module variables: %v", names)
	}
	got.ScriptBody = "function Say-Hi { 'hello' }"
	if _, err := scriptmodules.Update(f.c, got); err != nil {
		t.Fatal(err)
	}
	// contentType separates the two kinds sharing the collection.
	onlyModules, err := scriptmodules.Get(f.c, "Spaces-1", variables.LibraryVariablesQuery{ContentType: "ScriptModule"})
	if err != nil || len(onlyModules.Items) != 1 || onlyModules.Items[0].ScriptBody != "function Say-Hi { 'hello' }" {
		t.Fatalf("script modules: %v %+v", err, onlyModules)
	}
	onlySets, err := libraryvariablesets.Get(f.c, "Spaces-1", variables.LibraryVariablesQuery{ContentType: "Variables"})
	if err != nil || len(onlySets.Items) != 1 || onlySets.Items[0].Name != "Shared" {
		t.Fatalf("library variable sets: %v %+v", err, onlySets)
	}
	lvs.Description = "shared values"
	if _, err := libraryvariablesets.Update(f.c, lvs); err != nil {
		t.Fatal(err)
	}
	if err := scriptmodules.DeleteByID(f.c, "Spaces-1", created.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.sim.Entity("Spaces-1", "variables", created.VariableSetID); ok {
		t.Error("the script module's variable set outlived it")
	}
	if err := libraryvariablesets.DeleteByID(f.c, "Spaces-1", lvs.ID); err != nil {
		t.Fatal(err)
	}
}
