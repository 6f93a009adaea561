package octosim

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/actions"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/actiontemplates"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/configuration"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/core"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/environments"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/filters"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/libraryvariablesets"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/projects"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/tenants"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/triggers"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/variables"

	"github.com/octobundle/octobundle/schema"
)

// The kinds issue 7 added, driven through go-octopusdeploy's typed
// packages on a server before scoped tenant variables (2024.4) and a
// current one (2025.4): feature toggles, tenant common and project
// variables with multi-environment scopes (and the legacy document as a
// view of them), project deployment settings and project triggers.

// tenantFixture is a tenant connected to a project in two environments,
// with a plain and a sensitive project template and a library variable set
// template the project includes.
type tenantFixture struct {
	staging, prod      string
	project            *projects.Project
	url, apiKey, alias string // template IDs
	lvs                string
	tenant             *tenants.Tenant
}

func newTenantFixture(t *testing.T, f *fixture) *tenantFixture {
	t.Helper()
	var tf tenantFixture
	for _, name := range []string{"Staging", "Production"} {
		env, err := environments.Add(f.c, environments.NewEnvironment(name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "Staging" {
			tf.staging = env.ID
		} else {
			tf.prod = env.ID
		}
	}
	lvs := variables.NewLibraryVariableSet("Common")
	alias := actiontemplates.NewActionTemplateParameter()
	alias.Name = "Alias"
	lvs.Templates = []actiontemplates.ActionTemplateParameter{*alias}
	lvs, err := libraryvariablesets.Add(f.c, lvs)
	if err != nil {
		t.Fatal(err)
	}
	tf.lvs, tf.alias = lvs.ID, lvs.Templates[0].ID
	p := newProject(t, f, "Portal")
	url := actiontemplates.NewActionTemplateParameter()
	url.Name = "Url"
	key := actiontemplates.NewActionTemplateParameter()
	key.Name = "ApiKey"
	key.DisplaySettings = map[string]string{"Octopus.ControlType": "Sensitive"}
	p.Templates = []actiontemplates.ActionTemplateParameter{*url, *key}
	p.IncludedLibraryVariableSets = []string{lvs.ID}
	if p, err = projects.Update(f.c, p); err != nil {
		t.Fatal(err)
	}
	tf.project, tf.url, tf.apiKey = p, p.Templates[0].ID, p.Templates[1].ID
	tn := tenants.NewTenant("Acme")
	tn.ProjectEnvironments = map[string][]string{p.ID: {tf.staging, tf.prod}}
	if tf.tenant, err = tenants.Add(f.c, tn); err != nil {
		t.Fatal(err)
	}
	return &tf
}

func TestConformanceFeatureToggles(t *testing.T) {
	for _, v := range ConformanceVersions {
		t.Run(v, func(t *testing.T) {
			f := newFixture(t, Options{ServerVersion: v})
			want := schema.VersionAtLeast(v, "2025.2")
			for _, q := range []*configuration.FeatureToggleConfigurationQuery{{}, {Name: "CommonVariableScopingFeatureToggle"}} {
				got, err := configuration.Get(f.c, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(got.FeatureToggles) != 1 || got.FeatureToggles[0].Name != "CommonVariableScopingFeatureToggle" || got.FeatureToggles[0].IsEnabled != want {
					t.Errorf("query %+v: toggles %+v, want CommonVariableScopingFeatureToggle enabled=%v", q, got.FeatureToggles, want)
				}
			}
			got, err := configuration.Get(f.c, &configuration.FeatureToggleConfigurationQuery{Name: "NoSuchToggle"})
			if err != nil || len(got.FeatureToggles) != 0 {
				t.Errorf("an unknown toggle: %v %+v", err, got)
			}
		})
	}
}

func TestConformanceScopedTenantVariables(t *testing.T) {
	f := newFixture(t, Options{ServerVersion: "2025.4.1200"})
	tf := newTenantFixture(t, f)
	both := variables.TenantVariableScope{EnvironmentIds: []string{tf.staging, tf.prod}}
	cmd := &variables.ModifyTenantProjectVariablesCommand{Variables: []variables.TenantProjectVariablePayload{
		{ProjectID: tf.project.ID, TemplateID: tf.url, Value: core.NewPropertyValue("https://acme", false), Scope: both},
		{ProjectID: tf.project.ID, TemplateID: tf.apiKey, Value: core.NewPropertyValue("k3y", true), Scope: variables.TenantVariableScope{EnvironmentIds: []string{tf.prod}}},
	}}
	if _, err := tenants.UpdateProjectVariables(f.c, "Spaces-1", tf.tenant.ID, cmd); err != nil {
		t.Fatal(err)
	}
	pv, err := tenants.GetProjectVariables(f.c, variables.GetTenantProjectVariablesQuery{TenantID: tf.tenant.ID, SpaceID: "Spaces-1", IncludeMissingVariables: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(pv.Variables) != 2 {
		t.Fatalf("project variables: %+v", pv.Variables)
	}
	for _, v := range pv.Variables {
		if v.ID == "" || v.ProjectName != "Portal" || v.Template.Name == "" {
			t.Errorf("a project variable lacks its Id, ProjectName or Template: %+v", v)
		}
		switch v.TemplateID {
		case tf.url:
			if !slices.Equal(v.Scope.EnvironmentIds, []string{tf.staging, tf.prod}) || v.Value.Value != "https://acme" {
				t.Errorf("multi-environment value answered as %+v", v)
			}
		case tf.apiKey:
			if !v.Value.IsSensitive || v.Value.SensitiveValue == nil || !v.Value.SensitiveValue.HasValue || v.Value.SensitiveValue.NewValue != nil {
				t.Errorf("sensitive value answered as %+v", v.Value)
			}
		}
	}
	// The sensitive template has no value in Staging: a missing variable.
	if len(pv.MissingVariables) != 1 || pv.MissingVariables[0].TemplateID != tf.apiKey || !slices.Equal(pv.MissingVariables[0].Scope.EnvironmentIds, []string{tf.staging}) {
		t.Errorf("missing variables: %+v", pv.MissingVariables)
	}
	if s, ok := f.sim.TenantSecret("Spaces-1", tf.tenant.ID, tf.project.ID, tf.apiKey, tf.prod); !ok || s != "k3y" {
		t.Fatalf("secret stored as %q %v", s, ok)
	}
	// Sending back what GET answered keeps the secret and the Ids.
	var back []variables.TenantProjectVariablePayload
	for _, v := range pv.Variables {
		back = append(back, variables.TenantProjectVariablePayload{ID: v.ID, ProjectID: v.ProjectID, TemplateID: v.TemplateID, Value: v.Value, Scope: v.Scope})
	}
	res, err := tenants.UpdateProjectVariables(f.c, "Spaces-1", tf.tenant.ID, &variables.ModifyTenantProjectVariablesCommand{Variables: back})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Variables) != 2 || res.Variables[0].ID != pv.Variables[0].ID {
		t.Errorf("round trip answered %+v", res.Variables)
	}
	if s, _ := f.sim.TenantSecret("Spaces-1", tf.tenant.ID, tf.project.ID, tf.apiKey, tf.prod); s != "k3y" {
		t.Errorf("secret after the round trip: %q", s)
	}

	// Common variables: one value per environment, or one for all.
	common := func(vals ...variables.TenantCommonVariablePayload) error {
		_, err := tenants.UpdateCommonVariables(f.c, "Spaces-1", tf.tenant.ID, &variables.ModifyTenantCommonVariablesCommand{Variables: vals})
		return err
	}
	scoped := variables.TenantCommonVariablePayload{LibraryVariableSetId: tf.lvs, TemplateID: tf.alias, Value: core.NewPropertyValue("acme-stg", false), Scope: variables.TenantVariableScope{EnvironmentIds: []string{tf.staging}}}
	all := variables.TenantCommonVariablePayload{LibraryVariableSetId: tf.lvs, TemplateID: tf.alias, Value: core.NewPropertyValue("acme", false), Scope: variables.TenantVariableScope{EnvironmentIds: []string{}}}
	if err := common(scoped, all); err != nil {
		t.Fatal(err)
	}
	cv, err := tenants.GetCommonVariables(f.c, variables.GetTenantCommonVariablesQuery{TenantID: tf.tenant.ID, SpaceID: "Spaces-1"})
	if err != nil || len(cv.Variables) != 2 || cv.Variables[0].LibraryVariableSetName != "Common" {
		t.Fatalf("common variables: %v %+v", err, cv)
	}
	for _, tc := range []struct {
		name string
		vals []variables.TenantCommonVariablePayload
		want string
	}{
		{"two values for one environment", []variables.TenantCommonVariablePayload{scoped, scoped}, "already has a value for environment " + tf.staging},
		{"two unscoped values", []variables.TenantCommonVariablePayload{all, all}, "already has a value for all environments"},
		{"an unknown template", []variables.TenantCommonVariablePayload{{LibraryVariableSetId: tf.lvs, TemplateID: "nope", Scope: variables.TenantVariableScope{EnvironmentIds: []string{}}}}, "is not a template"},
	} {
		wantBadRequest(t, common(tc.vals...), tc.want)
	}
	// An unscoped project value is taken: TestConformanceUnscopedTenantProjectValue.

	// The legacy document is a view: per environment, unscoped common
	// values only.
	legacy, err := f.c.Tenants.GetVariables(tf.tenant)
	if err != nil {
		t.Fatal(err)
	}
	byEnv := legacy.ProjectVariables[tf.project.ID].Variables
	if byEnv[tf.staging][tf.url].Value != "https://acme" || byEnv[tf.prod][tf.url].Value != "https://acme" {
		t.Errorf("legacy view of the multi-environment value: %+v", byEnv)
	}
	if got := legacy.LibraryVariables[tf.lvs].Variables[tf.alias].Value; got != "acme" {
		t.Errorf("legacy view of the common value: %q", got)
	}
	// It carries Id and ConcurrencyToken (OctopusClients'
	// TenantVariableResource), the token changing with the values.
	rawLegacy := f.get("/api/Spaces-1/tenants/" + tf.tenant.ID + "/variables")
	token := str(rawLegacy["ConcurrencyToken"])
	if str(rawLegacy["Id"]) == "" || token == "" {
		t.Errorf("legacy document lacks Id or ConcurrencyToken: %v %v", rawLegacy["Id"], rawLegacy["ConcurrencyToken"])
	}
	// Issue 19 item 3: a real 2025.2+ server still accepts the legacy
	// write (the Terraform provider's migration test, see
	// putTenantVariables). Written back unchanged it keeps what it cannot
	// show: the scoped common value and the multi-environment project
	// value, with their IDs.
	before, _ := tenants.GetProjectVariables(f.c, variables.GetTenantProjectVariablesQuery{TenantID: tf.tenant.ID, SpaceID: "Spaces-1"})
	if _, err = f.c.Tenants.UpdateVariables(tf.tenant, legacy); err != nil {
		t.Fatalf("the legacy update on 2025.4: %v", err)
	}
	after, _ := tenants.GetProjectVariables(f.c, variables.GetTenantProjectVariablesQuery{TenantID: tf.tenant.ID, SpaceID: "Spaces-1"})
	if before == nil || after == nil || !reflect.DeepEqual(projectValueIDs(before), projectValueIDs(after)) {
		t.Errorf("project values after the unchanged legacy write: %v, were %v", projectValueIDs(after), projectValueIDs(before))
	}
	cv2, err := tenants.GetCommonVariables(f.c, variables.GetTenantCommonVariablesQuery{TenantID: tf.tenant.ID, SpaceID: "Spaces-1"})
	if err != nil || len(cv2.Variables) != 2 {
		t.Errorf("common values after the legacy write: %v %+v", err, cv2)
	}
	// A changed legacy value lands in the scoped model as an unscoped
	// common value; the token moves.
	lv := legacy.LibraryVariables[tf.lvs]
	lv.Variables[tf.alias] = core.NewPropertyValue("acme-2", false)
	legacy.LibraryVariables[tf.lvs] = lv
	if _, err = f.c.Tenants.UpdateVariables(tf.tenant, legacy); err != nil {
		t.Fatalf("the legacy update on 2025.4: %v", err)
	}
	cv2, _ = tenants.GetCommonVariables(f.c, variables.GetTenantCommonVariablesQuery{TenantID: tf.tenant.ID, SpaceID: "Spaces-1"})
	vals := map[string]bool{}
	for _, v := range cv2.Variables {
		vals[v.Value.Value] = true
	}
	if !vals["acme-2"] || !vals["acme-stg"] || len(cv2.Variables) != 2 {
		t.Errorf("common values after the changed legacy write: %+v", cv2.Variables)
	}
	if got := str(f.get("/api/Spaces-1/tenants/" + tf.tenant.ID + "/variables")["ConcurrencyToken"]); got == token {
		t.Errorf("ConcurrencyToken did not change with the values")
	}

	// tenants/variables-missing lists the template without a value: the
	// sensitive one in Staging.
	var missing []variables.TenantsMissingVariables
	r := f.raw(http.MethodGet, sp1("tenants/variables-missing?tenantId="+tf.tenant.ID), testKey, nil)
	if err := jsonUnmarshal(r.body, &missing); err != nil || r.status != http.StatusOK {
		t.Fatalf("variables-missing: %d %v %s", r.status, err, r.body)
	}
	if len(missing) != 1 || missing[0].TenantID != tf.tenant.ID || len(missing[0].MissingVariables) != 1 ||
		missing[0].MissingVariables[0].VariableTemplateID != tf.apiKey || missing[0].MissingVariables[0].EnvironmentID != tf.staging {
		t.Errorf("variables-missing: %+v", missing)
	}
}

func TestConformanceLegacyTenantVariables(t *testing.T) {
	f := newFixture(t, Options{ServerVersion: "2024.4.6000"})
	tf := newTenantFixture(t, f)
	_, err := tenants.GetCommonVariables(f.c, variables.GetTenantCommonVariablesQuery{TenantID: tf.tenant.ID, SpaceID: "Spaces-1"})
	apiErr(t, err, http.StatusNotFound)
	_, err = tenants.UpdateProjectVariables(f.c, "Spaces-1", tf.tenant.ID, &variables.ModifyTenantProjectVariablesCommand{})
	apiErr(t, err, http.StatusNotFound)
	legacy, err := f.c.Tenants.GetVariables(tf.tenant)
	if err != nil {
		t.Fatal(err)
	}
	pv := legacy.ProjectVariables[tf.project.ID]
	pv.Variables = map[string]map[string]core.PropertyValue{
		tf.staging: {tf.url: core.NewPropertyValue("https://stg", false)},
		tf.prod:    {tf.url: core.NewPropertyValue("https://prod", false), tf.apiKey: core.NewPropertyValue("k3y", true)},
	}
	legacy.ProjectVariables[tf.project.ID] = pv
	if _, err := f.c.Tenants.UpdateVariables(tf.tenant, legacy); err != nil {
		t.Fatal(err)
	}
	if s, ok := f.sim.TenantSecret("Spaces-1", tf.tenant.ID, tf.project.ID, tf.apiKey, tf.prod); !ok || s != "k3y" {
		t.Errorf("secret %q %v", s, ok)
	}
	got, err := f.c.Tenants.GetVariables(tf.tenant)
	if err != nil || got.ProjectVariables[tf.project.ID].Variables[tf.staging][tf.url].Value != "https://stg" {
		t.Errorf("legacy document after the update: %v %+v", err, got)
	}
}

func TestConformanceDeploymentSettings(t *testing.T) {
	for _, v := range ConformanceVersions {
		t.Run(v, func(t *testing.T) {
			f := newFixture(t, Options{ServerVersion: v})
			p := newProject(t, f, "Portal")
			if !strings.HasSuffix(p.Links["DeploymentSettings"], "/projects/"+p.ID+"/deploymentsettings") {
				t.Fatalf("Links.DeploymentSettings = %q", p.Links["DeploymentSettings"])
			}
			ds, err := f.c.Deployments.GetDeploymentSettings(p, "")
			if err != nil {
				t.Fatal(err)
			}
			if ds.ProjectID != p.ID || ds.VersioningStrategy == nil || ds.VersioningStrategy.Template == "" {
				t.Errorf("deployment settings of a new project: %+v", ds)
			}
			body := map[string]any{"ReleaseNotesTemplate": "notes", "DefaultGuidedFailureMode": "On", "DefaultToSkipIfAlreadyInstalled": true,
				"ConnectivityPolicy": map[string]any{"AllowDeploymentsToNoTargets": true, "SkipMachineBehavior": "None", "TargetRoles": []any{}}}
			if r := f.raw(http.MethodPut, p.Links["DeploymentSettings"], testKey, body); r.status != http.StatusOK {
				t.Fatalf("PUT: %d %s", r.status, r.body)
			}
			ds, err = f.c.Deployments.GetDeploymentSettings(p, "")
			if err != nil || ds.ReleaseNotesTemplate != "notes" || ds.DefaultGuidedFailureMode != "On" || !ds.DefaultToSkipIfAlreadyInstalled ||
				ds.ConnectivityPolicy == nil || !ds.ConnectivityPolicy.AllowDeploymentsToNoTargets {
				t.Errorf("after PUT: %v %+v", err, ds)
			}
			// One storage: the project document mirrors the settings.
			got, err := projects.GetByID(f.c, "Spaces-1", p.ID)
			if err != nil || got.ReleaseNotesTemplate != "notes" || got.DefaultGuidedFailureMode != "On" || got.ConnectivityPolicy == nil || !got.ConnectivityPolicy.AllowDeploymentsToNoTargets {
				t.Errorf("project after the settings PUT: %v %+v", err, got)
			}
			bad := map[string]any{"VersioningStrategy": map[string]any{"DonorPackageStepId": "8c7a6f3e-0000-4000-8000-000000000000"}}
			if r := f.raw(http.MethodPut, p.Links["DeploymentSettings"], testKey, bad); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "DonorPackageStepId") {
				t.Errorf("a donor step that is not the project's: %d %s", r.status, r.body)
			}
		})
	}
}

func TestConformanceProjectTriggers(t *testing.T) {
	for _, v := range ConformanceVersions {
		t.Run(v, func(t *testing.T) {
			f := newFixture(t, Options{ServerVersion: v})
			env, err := environments.Add(f.c, environments.NewEnvironment("Production"))
			if err != nil {
				t.Fatal(err)
			}
			p := newProject(t, f, "Portal")
			machine := triggers.NewProjectTrigger("New web servers", "", false, p, actions.NewAutoDeployAction(false),
				filters.NewDeploymentTargetFilter([]string{env.ID}, nil, []string{"MachineAvailableForDeployment"}, []string{"web"}))
			machine.SpaceID = "Spaces-1"
			created, err := triggers.Add(f.c, machine)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(created.ID, "ProjectTriggers-") || created.ProjectID != p.ID {
				t.Errorf("created %+v", created)
			}
			got, err := triggers.GetById(f.c, "Spaces-1", created.ID)
			if err != nil {
				t.Fatal(err)
			}
			if ft, ok := got.Filter.(*filters.DeploymentTargetFilter); !ok || !slices.Equal(ft.Environments, []string{env.ID}) || got.Action.GetActionType() != actions.AutoDeploy {
				t.Errorf("read back %+v %+v", got.Filter, got.Action)
			}
			cron := triggers.NewProjectTrigger("Nightly", "", false, p, actions.NewAutoDeployAction(false), filters.NewCronScheduledTriggerFilter("0 0 2 * * *", "UTC"))
			cron.SpaceID = "Spaces-1"
			_, err = triggers.Add(f.c, cron)
			wantBadRequest(t, err, "cannot be used with a CronExpressionSchedule trigger")
			wrongEnv := triggers.NewProjectTrigger("Elsewhere", "", false, p, actions.NewAutoDeployAction(false),
				filters.NewDeploymentTargetFilter([]string{"Environments-404"}, nil, nil, nil))
			wrongEnv.SpaceID = "Spaces-1"
			_, err = triggers.Add(f.c, wrongEnv)
			wantBadRequest(t, err, "Environments-404")

			got.Description = "keeps new servers current"
			if _, err := triggers.Update(f.c, got); err != nil {
				t.Fatal(err)
			}
			// The project links its triggers; the list answers them.
			proj, err := projects.GetByID(f.c, "Spaces-1", p.ID)
			if err != nil {
				t.Fatal(err)
			}
			list := f.get(uriTemplatePart.ReplaceAllString(proj.Links["Triggers"], ""))
			items, _ := list["Items"].([]any)
			if len(items) != 1 || items[0].(map[string]any)["Description"] != "keeps new servers current" {
				t.Errorf("%s answered %v", proj.Links["Triggers"], list)
			}
			if err := triggers.DeleteById(f.c, "Spaces-1", created.ID); err != nil {
				t.Fatal(err)
			}
			_, err = triggers.GetById(f.c, "Spaces-1", created.ID)
			apiErr(t, err, http.StatusNotFound)
		})
	}
}

func TestConformanceProjectLogo(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR-not-a-real-image")
	upload := func(f *fixture, method, path string, data []byte, ctype string) rawResp {
		t.Helper()
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="fileToUpload"; filename="logo.png"`)
		if ctype != "" {
			h.Set("Content-Type", ctype)
		}
		part, _ := w.CreatePart(h)
		_, _ = part.Write(data)
		_ = w.Close()
		req, _ := http.NewRequest(method, f.base+path, &buf)
		req.Header.Set("X-Octopus-ApiKey", testKey)
		req.Header.Set("Content-Type", w.FormDataContentType())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return rawResp{status: resp.StatusCode, header: resp.Header, body: b}
	}
	for _, v := range ConformanceVersions {
		t.Run(v, func(t *testing.T) {
			f := newFixture(t, Options{ServerVersion: v})
			p := newProject(t, f, "Portal")
			link := p.Links["Logo"]
			if !strings.HasSuffix(link, "/projects/"+p.ID+"/logo") {
				t.Fatalf("Links.Logo = %q", link)
			}
			if r := f.raw(http.MethodGet, link, testKey, nil); r.status != http.StatusNotFound {
				t.Errorf("a project without a logo: %d", r.status)
			}
			// OctopusClients' SetLogo POSTs a FileUpload; a PUT works too.
			for _, method := range []string{http.MethodPost, http.MethodPut} {
				data := append(append([]byte(nil), png...), method...)
				if r := upload(f, method, link, data, "image/png"); r.status != http.StatusOK {
					t.Fatalf("%s: %d %s", method, r.status, r.body)
				}
				r := f.raw(http.MethodGet, link, testKey, nil)
				if r.status != http.StatusOK || !bytes.Equal(r.body, data) || r.header.Get("Content-Type") != "image/png" {
					t.Errorf("after %s: %d %q %q", method, r.status, r.header.Get("Content-Type"), r.body)
				}
			}
			// Without a part content type, the bytes tell it.
			if r := upload(f, http.MethodPost, link, png, ""); r.status != http.StatusOK {
				t.Fatalf("POST: %d %s", r.status, r.body)
			}
			if r := f.raw(http.MethodGet, link, testKey, nil); r.header.Get("Content-Type") != "image/png" {
				t.Errorf("sniffed content type %q", r.header.Get("Content-Type"))
			}
			if r := f.raw(http.MethodPost, link, testKey, map[string]any{"x": 1}); r.status != http.StatusBadRequest {
				t.Errorf("a JSON body: %d %s", r.status, r.body)
			}
			if r := upload(f, http.MethodPost, link, nil, "image/png"); r.status != http.StatusBadRequest {
				t.Errorf("an empty file: %d %s", r.status, r.body)
			}
			// Deleting the project deletes its logo.
			if _, ok := f.sim.Entity("Spaces-1", seedProjectLogos, p.ID); !ok {
				t.Fatal("the stored logo is not found")
			}
			if err := projects.DeleteByID(f.c, "Spaces-1", p.ID); err != nil {
				t.Fatal(err)
			}
			if _, ok := f.sim.Entity("Spaces-1", seedProjectLogos, p.ID); ok {
				t.Error("the logo outlived its project")
			}
		})
	}
}

// projectValueIDs maps each tenant project value's ID to its environments.
func projectValueIDs(r *variables.GetTenantProjectVariablesResponse) map[string]string {
	out := map[string]string{}
	for _, v := range r.Variables {
		envs := append([]string(nil), v.Scope.EnvironmentIds...)
		sort.Strings(envs)
		out[v.GetID()] = v.TemplateID + " " + strings.Join(envs, ",")
	}
	return out
}
