package octosim

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/actions"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/core"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/filters"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/tenants"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/triggers"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/variables"
)

// Issue 19, items 5 and 7: what a real server fills in and what it accepts
// that the simulator once refused, each through HTTP on every conformance
// version.

func TestConformanceTypedDefaults(t *testing.T) {
	for _, v := range ConformanceVersions {
		t.Run(v, func(t *testing.T) {
			f := newFixture(t, Options{ServerVersion: v})
			for feedType, want := range map[string][]any{
				"NuGet":  {"Server", "ExecutionTarget"},
				"Docker": {"ExecutionTarget", "NotAcquired"},
				"Helm":   {"ExecutionTarget", "NotAcquired"},
			} {
				got := f.post(sp1("feeds"), map[string]any{"Name": feedType + " feed", "FeedType": feedType, "FeedUri": "https://example.com/"})
				if !slices.Equal(asSlice(got["PackageAcquisitionLocationOptions"]), want) {
					t.Errorf("%s feed: PackageAcquisitionLocationOptions %v, want %v", feedType, got["PackageAcquisitionLocationOptions"], want)
				}
				// PUT replaces: an omitted field takes the default again.
				delete(got, "PackageAcquisitionLocationOptions")
				got = f.put(sp1("feeds/"+str(got["Id"])), got)
				if !slices.Equal(asSlice(got["PackageAcquisitionLocationOptions"]), want) {
					t.Errorf("%s feed after PUT: PackageAcquisitionLocationOptions %v, want %v", feedType, got["PackageAcquisitionLocationOptions"], want)
				}
			}
			kept := f.post(sp1("feeds"), map[string]any{"Name": "Server only", "FeedType": "NuGet", "FeedUri": "https://example.com/",
				"PackageAcquisitionLocationOptions": []any{"Server"}})
			if !slices.Equal(asSlice(kept["PackageAcquisitionLocationOptions"]), []any{"Server"}) {
				t.Errorf("a sent PackageAcquisitionLocationOptions became %v", kept["PackageAcquisitionLocationOptions"])
			}
			acct := f.post(sp1("accounts"), map[string]any{"Name": "Azure", "AccountType": "AzureOidc",
				"SubscriptionNumber": "3a6e4b4e-0000-0000-0000-000000000001", "TenantId": "3a6e4b4e-0000-0000-0000-000000000002",
				"ApplicationId": "3a6e4b4e-0000-0000-0000-000000000003"})
			if acct["Audience"] != "api://AzureADTokenExchange" {
				t.Errorf("Azure OIDC account Audience %v", acct["Audience"])
			}
			own := f.post(sp1("accounts"), map[string]any{"Name": "Azure 2", "AccountType": "AzureOidc", "Audience": "api://mine",
				"SubscriptionNumber": "3a6e4b4e-0000-0000-0000-000000000001", "TenantId": "3a6e4b4e-0000-0000-0000-000000000002",
				"ApplicationId": "3a6e4b4e-0000-0000-0000-000000000003"})
			if own["Audience"] != "api://mine" {
				t.Errorf("a sent Audience became %v", own["Audience"])
			}
			aws := f.post(sp1("accounts"), map[string]any{"Name": "AWS", "AccountType": "AmazonWebServicesAccount", "AccessKey": "AK"})
			if _, ok := aws["Audience"]; ok {
				t.Errorf("an AWS key account got an Audience: %v", aws["Audience"])
			}
		})
	}
}

// send POSTs or PUTs raw JSON and returns the status and the answer.
func (f *fixture) send(method, path string, body any) (int, map[string]any) {
	f.t.Helper()
	r := f.raw(method, path, testKey, body)
	return r.status, r.json(f.t)
}

func TestConformanceLenientReferences(t *testing.T) {
	for _, v := range ConformanceVersions {
		t.Run(v, func(t *testing.T) {
			f := newFixture(t, Options{ServerVersion: v})
			feed := f.post(sp1("feeds"), map[string]any{"Name": "NuGet Gallery", "FeedType": "NuGet", "FeedUri": "https://api.nuget.org/v3/index.json"})
			p := newProject(t, f, "Portal")
			procPath := sp1("deploymentprocesses/" + p.DeploymentProcessID)
			action := func(pkgFeed, propFeed string) map[string]any {
				proc := f.get(procPath)
				proc["Steps"] = []any{map[string]any{"Name": "Deploy", "Actions": []any{map[string]any{
					"Name": "Deploy", "ActionType": "Octopus.TentaclePackage",
					"Properties": map[string]any{"Octopus.Action.Package.FeedId": propFeed, "Octopus.Action.Package.PackageId": "Web"},
					"Packages":   []any{map[string]any{"Name": "", "PackageId": "Web", "FeedId": pkgFeed, "AcquisitionLocation": "Server"}},
				}}}}
				return proc
			}
			// go-octopusdeploy's TestDeploymentProcessUpdate: a property
			// naming no feed at all is stored as sent.
			for _, tc := range []struct{ pkg, prop string }{
				{str(feed["Id"]), "feeds-nugetfeed"},
				{str(feed["Slug"]), str(feed["Id"])},
				{"#{PackageFeed}", "#{PackageFeed}"},
				{"feeds-builtin", "feeds-builtin"},
			} {
				if status, body := f.send("PUT", procPath, action(tc.pkg, tc.prop)); status != 200 {
					t.Errorf("package feed %q, property %q: %d %v", tc.pkg, tc.prop, status, body)
				}
			}
			status, body := f.send("PUT", procPath, action("Feeds-404", "feeds-builtin"))
			if status != 400 || !strings.Contains(fmt.Sprint(body["Errors"]), "Feeds-404") {
				t.Errorf("a package of an unknown feed: %d %v", status, body)
			}

			// An account-type variable's value may be an expression or
			// name no account.
			vs := f.get(sp1("variables/" + p.VariableSetID))
			vs["Variables"] = []any{
				map[string]any{"Name": "Azure", "Type": "AzureAccount", "Value": "#{Shared.Azure}"},
				map[string]any{"Name": "Aws", "Type": "AmazonWebServicesAccount", "Value": "not-an-account"},
			}
			if status, body := f.send("PUT", sp1("variables/"+p.VariableSetID), vs); status != 200 {
				t.Errorf("account variables: %d %v", status, body)
			}

			// A cloud target's default worker pool may be another space's.
			sp := f.post("/api/spaces", map[string]any{"Name": "Second", "SpaceManagersTeamMembers": []any{"Users-1"}})
			pool := f.post("/api/"+str(sp["Id"])+"/workerpools", map[string]any{"Name": "Elsewhere", "WorkerPoolType": "StaticWorkerPool"})
			env := f.post(sp1("environments"), map[string]any{"Name": "Production"})
			target := func(pool string) map[string]any {
				return map[string]any{"Name": "Cloud " + pool, "EnvironmentIds": []any{env["Id"]}, "Roles": []any{"web"},
					"Endpoint": map[string]any{"CommunicationStyle": "None", "DefaultWorkerPoolId": pool}}
			}
			if status, body := f.send("POST", sp1("machines"), target(str(pool["Id"]))); status != 201 {
				t.Errorf("a target with another space's worker pool: %d %v", status, body)
			}
			if status, body := f.send("POST", sp1("machines"), target("WorkerPools-404")); status != 400 {
				t.Errorf("a target with an unknown worker pool: %d %v", status, body)
			}
		})
	}
}

func TestConformanceOnceDailyAutoDeploy(t *testing.T) {
	for _, v := range ConformanceVersions {
		t.Run(v, func(t *testing.T) {
			f := newFixture(t, Options{ServerVersion: v})
			p := newProject(t, f, "Portal")
			// go-octopusdeploy's TestProjectTriggerAddGetUpdateDelete.
			tr := triggers.NewProjectTrigger("Tuesdays", "", false, p, actions.NewAutoDeployAction(false),
				filters.NewOnceDailyScheduledTriggerFilter([]filters.Weekday{filters.Tuesday}, time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)))
			tr.SpaceID = "Spaces-1"
			if _, err := triggers.Add(f.c, tr); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestConformanceUnscopedTenantProjectValue(t *testing.T) {
	f := newFixture(t, Options{ServerVersion: "2025.4.3210"})
	tf := newTenantFixture(t, f)
	_, err := tenants.UpdateProjectVariables(f.c, "Spaces-1", tf.tenant.ID, &variables.ModifyTenantProjectVariablesCommand{Variables: []variables.TenantProjectVariablePayload{
		{ProjectID: tf.project.ID, TemplateID: tf.url, Value: core.NewPropertyValue("https://all", false), Scope: variables.TenantVariableScope{EnvironmentIds: []string{}}},
		{ProjectID: tf.project.ID, TemplateID: tf.apiKey, Value: core.NewPropertyValue("k", true), Scope: variables.TenantVariableScope{EnvironmentIds: []string{tf.staging}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := f.get(sp1("tenants/" + tf.tenant.ID + "/projectvariables?includeMissingVariables=true"))
	var unscoped int
	for _, v := range asSlice(got["Variables"]) {
		m := v.(map[string]any)
		if m["TemplateId"] == tf.url {
			unscoped++
			if envs := asSlice(m["Scope"].(map[string]any)["EnvironmentIds"]); len(envs) != 0 || m["Value"] != "https://all" {
				t.Errorf("the unscoped value reads back as %v", m)
			}
		}
	}
	if unscoped != 1 {
		t.Errorf("%d values of the Url template, want 1: %v", unscoped, got["Variables"])
	}
	for _, v := range asSlice(got["MissingVariables"]) {
		if v.(map[string]any)["TemplateId"] == tf.url {
			t.Errorf("an unscoped value covers every environment, yet %v is missing", v)
		}
	}
}
