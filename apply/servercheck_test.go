package apply

import (
	"slices"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/schema"
)

// fakeNames is a nameSet of "kind/scope/name" entries; fakeDocs are the
// planned documents by "kind/names", and legacyKinds are written as legacy
// documents.
type fakeNames map[string]bool

var (
	fakeDocs = map[string]map[string]any{
		"Tenant/Acme":     {"Name": "Acme", "ProjectEnvironments": map[string]any{"OctoFX": []any{"Production"}}},
		"Project/OctoFX":  {"Name": "OctoFX", "IncludedLibraryVariableSetIds": []any{"Common"}},
		"Project/Unknown": nil,
	}
	legacyKinds = map[string]bool{}
)

func (f fakeNames) has(to, scope, name string) bool   { return f[to+"/"+scope+"/"+name] }
func (f fakeNames) holds(to, scope, name string) bool { return f.has(to, scope, name) }
func (f fakeNames) doc(kind string, names []string) (map[string]any, bool) {
	d := fakeDocs[kind+"/"+strings.Join(names, "/")]
	return d, d != nil
}
func (f fakeNames) legacy(kind string) bool { return legacyKinds[kind] }

// TestCheckServer checks each refusal checkServer predicts, on bundle-form
// documents, against a fixed set of names that exist once applied.
func TestCheckServer(t *testing.T) {
	world := fakeNames{
		"Action/OctoFX/Deploy Web":      true,
		"Action/OctoFX/Restart/Recycle": true,
		"ProcessOwner/OctoFX/OctoFX":    true,
		"ProcessOwner/OctoFX/Restart":   true,
		"Channel/OctoFX/Default":        true,
		"Environment//Production":       true,
		"Lifecycle//Default Lifecycle":  true,
		"ProjectGroup//All Projects":    true,
		"WorkerPool//Default Pool":      true,
		"LibraryVariableSet//Shared":    true,
	}
	step := func(name string, actions ...string) any {
		var as []any
		for _, a := range actions {
			as = append(as, map[string]any{"Name": a, "ActionType": "Octopus.Script"})
		}
		return map[string]any{"Name": name, "Actions": as}
	}
	variable := func(scope map[string]any) any {
		return map[string]any{"Name": "V", "Value": "x", "Type": "String", "Scope": scope}
	}
	cases := []struct {
		name  string
		kind  string
		names []string
		doc   map[string]any
		// create: the write creates the entity; legacy: it is written as
		// the legacy document.
		create, legacy bool
		want           []string
	}{
		{
			name: "a good process", kind: schema.DeploymentProcess, names: []string{"OctoFX"},
			doc: map[string]any{"Steps": []any{step("Deploy Web", "Deploy Web"), step("Smoke", "Smoke Web", "Smoke API")}},
		},
		{
			name: "step names differ in case only", kind: schema.DeploymentProcess, names: []string{"OctoFX"},
			doc:  map[string]any{"Steps": []any{step("Smoke", "A"), step("SMOKE", "B")}},
			want: []string{"Step names must be unique: 'SMOKE' is used more than once."},
		},
		{
			name: "action names repeat across steps", kind: schema.DeploymentProcess, names: []string{"OctoFX"},
			doc:  map[string]any{"Steps": []any{step("Smoke Tests", "Smoke Test Web"), step("Verify", "smoke test web"), step("Again", "Smoke Test Web")}},
			want: []string{"Action names must be unique: 'smoke test web' is used more than once."},
		},
		{
			name: "unnamed step and action", kind: schema.RunbookProcess, names: []string{"OctoFX", "Restart"},
			doc:  map[string]any{"Steps": []any{step("", "A"), step("Recycle", "")}},
			want: []string{"Every step must have a name.", "Every action of step 'Recycle' must have a name."},
		},
		{
			name: "variable scopes", kind: schema.ProjectVariables, names: []string{"OctoFX"},
			doc: map[string]any{"Variables": []any{
				variable(map[string]any{"Action": []any{"Deploy Web", "Restart/Recycle"}, "Environment": []any{"Production"}, "Channel": []any{"Default"}, "ProcessOwner": []any{"OctoFX", "Restart"}}),
				variable(map[string]any{"Action": []any{"Smoke Test Web"}, "Role": []any{"web"}, "TenantTag": []any{"Tier/Gold"}}),
				variable(map[string]any{"Channel": []any{"Hotfix"}, "Environment": []any{"Production", "Test"}}),
				variable(map[string]any{"ProcessOwner": []any{"Gone Runbook"}}),
			}},
			want: []string{
				"Variables[1].Scope.Action[0] refers to 'Smoke Test Web', which is not a step or action of this project's processes.",
				"Variables[2].Scope.Channel[0] refers to 'Hotfix', which is not one of the channels in this space.",
				"Variables[2].Scope.Environment[1] refers to 'Test', which is not one of the environments in this space.",
				"Variables[3].Scope.ProcessOwner[0] refers to 'Gone Runbook', which is neither this project nor one of its runbooks.",
			},
		},
		{
			name: "a process's references", kind: schema.DeploymentProcess, names: []string{"OctoFX"},
			doc: map[string]any{"Steps": []any{map[string]any{"Name": "S", "Actions": []any{map[string]any{
				"Name": "S", "WorkerPoolId": "Windows Pool", "Environments": []any{"Production"},
				"Properties": map[string]any{"Octopus.Action.Azure.AccountId": map[string]any{"$ref": "Account", "name": "Azure"}},
			}}}}},
			want: []string{"Steps[0].Actions[0].WorkerPoolId refers to 'Windows Pool', which is not one of the worker pools in this space."},
		},
		{
			name: "required fields", kind: schema.Project, names: []string{"OctoFX"},
			doc:  map[string]any{"Name": "OctoFX", "LifecycleId": "Default Lifecycle", "ProjectGroupId": ""},
			want: []string{"The ProjectGroupId field is required."},
		},
		{
			name: "a blank name and an empty required list", kind: schema.DeploymentTarget, names: []string{"web01"},
			doc:  map[string]any{"Name": " ", "EnvironmentIds": []any{}},
			want: []string{"Please provide a name for the deployment target.", "The EnvironmentIds field is required."},
		},
		{
			name: "a project's deferred step reference", kind: schema.Project, names: []string{"OctoFX"},
			doc: map[string]any{"Name": "OctoFX", "LifecycleId": "Default Lifecycle", "ProjectGroupId": "All Projects",
				"ReleaseCreationStrategy": map[string]any{"ChannelId": "Default", "ReleaseCreationPackageStepId": "Deploy Api"}},
			want: []string{"ReleaseCreationStrategy.ReleaseCreationPackageStepId refers to 'Deploy Api', which is not a step or action of this project's processes."},
		},
		{
			name: "a new script module named as a library variable set", kind: schema.ScriptModule, names: []string{"Shared"},
			doc: map[string]any{"Name": "Shared"}, create: true,
			want: []string{"A library variable set with the name 'Shared' already exists in this space. Please choose a different name."},
		},
		{
			name: "an existing script module is not created", kind: schema.ScriptModule, names: []string{"Shared"},
			doc: map[string]any{"Name": "Shared"},
		},
		{
			name: "tenant values for unconnected projects and environments", kind: schema.TenantVariables, names: []string{"Acme"},
			doc: map[string]any{"CommonVariables": []any{}, "ProjectVariables": []any{
				map[string]any{"ProjectId": "OctoFX", "TemplateId": "Url", "Value": "x", "Scope": map[string]any{"EnvironmentIds": []any{"Production"}}},
				map[string]any{"ProjectId": "OctoFX", "TemplateId": "Url", "Value": "y", "Scope": map[string]any{"EnvironmentIds": []any{"Staging"}}},
				map[string]any{"ProjectId": "Portal", "TemplateId": "Url", "Value": "z", "Scope": map[string]any{"EnvironmentIds": []any{"Production"}}},
			}},
			want: []string{
				`Variables[1]: Scope.EnvironmentIds: the tenant is not connected to project OctoFX in environment Staging.`,
				`Variables[2]: ProjectId "Portal" is not a connected project of this tenant.`,
			},
		},
		{
			name: "tenant values, legacy document", kind: schema.TenantVariables, names: []string{"Acme"}, legacy: true,
			doc: map[string]any{"CommonVariables": []any{}, "ProjectVariables": []any{
				map[string]any{"ProjectId": "OctoFX", "TemplateId": "Url", "Value": "y", "Scope": map[string]any{"EnvironmentIds": []any{"Staging"}}},
				map[string]any{"ProjectId": "Portal", "TemplateId": "Url", "Value": "z", "Scope": map[string]any{"EnvironmentIds": []any{"Production"}}},
			}},
			want: []string{
				"ProjectVariables.OctoFX.Variables refers to Staging, which is not an environment this tenant is connected to for that project.",
				"ProjectVariables refers to Portal, which is not a project this tenant is connected to.",
			},
		},
		{
			name: "tenant common values for a set no connected project includes", kind: schema.TenantVariables, names: []string{"Acme"},
			doc: map[string]any{"ProjectVariables": []any{}, "CommonVariables": []any{
				map[string]any{"LibraryVariableSetId": "Common", "TemplateId": "Alias", "Value": "x", "Scope": map[string]any{"EnvironmentIds": []any{}}},
				map[string]any{"LibraryVariableSetId": "Billing", "TemplateId": "Code", "Value": "y", "Scope": map[string]any{"EnvironmentIds": []any{}}},
			}},
			want: []string{`Variables[1]: LibraryVariableSetId "Billing" is not a library variable set included by a connected project of this tenant.`},
		},
		{
			name: "tenant common values, legacy document", kind: schema.TenantVariables, names: []string{"Acme"}, legacy: true,
			doc: map[string]any{"ProjectVariables": []any{}, "CommonVariables": []any{
				map[string]any{"LibraryVariableSetId": "Billing", "TemplateId": "Code", "Value": "y", "Scope": map[string]any{"EnvironmentIds": []any{}}},
			}},
			want: []string{"LibraryVariables refers to Billing, which is not a library variable set with templates included by this tenant's projects."},
		},
		{
			name: "two tenant values for one environment", kind: schema.TenantVariables, names: []string{"Acme"},
			doc: map[string]any{"ProjectVariables": []any{}, "CommonVariables": []any{
				map[string]any{"LibraryVariableSetId": "Common", "TemplateId": "Alias", "Value": "x", "Scope": map[string]any{"EnvironmentIds": []any{"Production"}}},
				map[string]any{"LibraryVariableSetId": "Common", "TemplateId": "Alias", "Value": "y", "Scope": map[string]any{"EnvironmentIds": []any{"Staging", "Production"}}},
				map[string]any{"LibraryVariableSetId": "Common", "TemplateId": "Alias", "Value": "z", "Scope": map[string]any{"EnvironmentIds": []any{}}},
				map[string]any{"LibraryVariableSetId": "Common", "TemplateId": "Alias", "Value": "w", "Scope": map[string]any{"EnvironmentIds": []any{}}},
				map[string]any{"LibraryVariableSetId": "Common", "TemplateId": "Email", "Value": "v", "Scope": map[string]any{"EnvironmentIds": []any{"Production"}}},
			}},
			want: []string{
				"Variables[1]: template Alias of Common already has a value for environment Production in Variables[0].",
				"Variables[3]: template Alias of Common already has a value for all environments in Variables[2].",
			},
		},
		{
			name: "a trigger whose action does not suit its filter", kind: schema.ProjectTrigger, names: []string{"OctoFX", "Nightly"},
			doc: map[string]any{"Name": "Nightly",
				"Filter": map[string]any{"FilterType": "MachineFilter", "EnvironmentIds": []any{"Production"}},
				"Action": map[string]any{"ActionType": "RunRunbook"}},
			want: []string{`Action.ActionType "RunRunbook" cannot be used with a MachineFilter trigger.`},
		},
		{
			name: "a trigger of an unknown filter type", kind: schema.ProjectTrigger, names: []string{"OctoFX", "Nightly"},
			doc:  map[string]any{"Name": "Nightly", "Filter": map[string]any{"FilterType": "Hourly"}, "Action": map[string]any{"ActionType": "RunRunbook"}},
			want: []string{`Filter.FilterType "Hourly" is not a trigger filter type.`},
		},
		{
			name: "a trigger without an action", kind: schema.ProjectTrigger, names: []string{"OctoFX", "Nightly"},
			doc:  map[string]any{"Name": "Nightly", "Filter": map[string]any{"FilterType": "DailySchedule"}},
			want: []string{"A trigger needs a Filter and an Action."},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			legacyKinds[tc.kind] = tc.legacy
			got := checkServer(schema.MustLookup(tc.kind), tc.names, tc.doc, tc.create, world)
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
}

// TestUniqueDeclared checks that the registry declares the uniqueness the
// server enforces on processes, and nothing on kinds without element names.
func TestUniqueDeclared(t *testing.T) {
	for _, k := range schema.Kinds() {
		isProcess := k.Name == schema.DeploymentProcess || k.Name == schema.RunbookProcess
		if got := len(k.Unique) > 0; got != isProcess {
			t.Errorf("%s: Unique %v", k.Name, k.Unique)
		}
	}
}
