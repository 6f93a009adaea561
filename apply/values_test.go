package apply

import (
	"strings"
	"testing"

	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/policy"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/translate"
)

// policyPlanner returns a planner over a destination that has project P
// (channel Default, action "Deploy"), the environments Staging and
// Production, a target web-01 with the role web and the tag Tier/Free; the
// bundle holds the environment Development and, through the lifecycle
// kind's entity, nothing else.
func policyPlanner(t *testing.T, pol *policy.File) *planner {
	t.Helper()
	snap := snapshot.New("http://dest", "2025.2.1", "Spaces-1", "Default")
	add := func(kind, scope, id, name string) { snap.Index.Add(kind, scope, id, name) }
	add(schema.Project, "", "Projects-1", "P")
	add(schema.Channel, "Projects-1", "Channels-1", "Default")
	add(schema.Action, "Projects-1", "a1", "Deploy")
	add(schema.ProcessOwner, "Projects-1", "Projects-1", "P")
	add(schema.Environment, "", "Environments-1", "Staging")
	add(schema.Environment, "", "Environments-2", "Production")
	add(schema.DeploymentTarget, "", "Machines-1", "web-01")
	add(schema.MachineRole, "", "web", "web")
	add(schema.TenantTag, "", "TagSets-1/Free", "Tier/Free")
	changes := []*change{newChange(plans.Change{Kind: schema.Environment, Names: []string{"Development"}})}
	return &planner{snap: snap, ids: translate.IDs{Snap: snap}, pol: policy.New(pol, policy.Flags{}), changes: changes, bn: planned.IndexBundle(plannedOf(changes))}
}

func TestDecideValues(t *testing.T) {
	pv := schema.MustLookup(schema.ProjectVariables)
	tv := schema.MustLookup(schema.TenantVariables)
	rule := func(dim string, mode policy.ScopeMode) *policy.File {
		return &policy.File{ScopeMismatch: []policy.ScopeRule{{Dimension: dim, Mode: mode, Rule: "r.yaml:2"}}}
	}
	for _, tc := range []struct {
		name     string
		kind     *schema.Kind
		pol      *policy.File
		doc      string
		dest     string // "" for a new entity
		want     string
		notes    []string
		skipKind string // a kind the policy skips
	}{
		{
			name: "no mismatch", kind: pv,
			doc:  `{"Variables":[{"Name":"A","Value":"1","Scope":{"Environment":["Production","Development"],"Channel":["Default"],"Role":["web"],"TenantTag":["Tier/Free"],"Action":["Deploy"],"ProcessOwner":["P"],"Machine":["web-01"]}}]}`,
			want: `{"Variables":[{"Name":"A","Value":"1","Scope":{"Environment":["Production","Development"],"Channel":["Default"],"Role":["web"],"TenantTag":["Tier/Free"],"Action":["Deploy"],"ProcessOwner":["P"],"Machine":["web-01"]}}]}`,
		},
		{
			name: "an entry only the bundle has exists, unless its kind is skipped", kind: pv, skipKind: schema.Environment,
			doc:   `{"Variables":[{"Name":"A","Value":"1","Scope":{"Environment":["Development"]}}]}`,
			want:  `{"Variables":[]}`,
			notes: []string{`"A" Environment=Development skipped: Environment Development not on the destination (partial: registry default)`},
		},
		{
			name: "default partial", kind: pv,
			doc:   `{"Variables":[{"Name":"A","Value":"1","Scope":{"Environment":["Production","Test"]}}]}`,
			want:  `{"Variables":[{"Name":"A","Value":"1","Scope":{"Environment":["Production"]}}]}`,
			notes: []string{`"A" Environment=Production,Test rescoped: partial match, Test dropped from its Environment (partial: registry default)`},
		},
		{
			name: "default exact for tenant tags", kind: pv,
			doc:   `{"Variables":[{"Name":"A","Value":"1","Scope":{"TenantTag":["Tier/Free","Region/Mars"]}}]}`,
			want:  `{"Variables":[]}`,
			notes: []string{`"A" TenantTag=Tier/Free,Region/Mars skipped: TenantTag Region/Mars not on the destination (exact: registry default)`},
		},
		{
			name: "exact rule", kind: pv, pol: rule("Role", policy.ScopeExact),
			doc:   `{"Variables":[{"Name":"A","Value":"1","Scope":{"Role":["web","db"]}},{"Name":"B","Value":"2","Scope":{}}]}`,
			want:  `{"Variables":[{"Name":"B","Value":"2","Scope":{}}]}`,
			notes: []string{`"A" Role=web,db skipped: Role db not on the destination (exact: rule r.yaml:2)`},
		},
		{
			name: "ignore unscopes only the dimension", kind: pv, pol: rule("Channel", policy.ScopeIgnore),
			doc:   `{"Variables":[{"Name":"A","Value":"1","Scope":{"Channel":["QA"],"Environment":["Staging"]}}]}`,
			want:  `{"Variables":[{"Name":"A","Value":"1","Scope":{"Environment":["Staging"]}}]}`,
			notes: []string{`"A" Channel=QA Environment=Staging rescoped: Channel QA not on the destination; unscoped in Channel (ignore: rule r.yaml:2)`},
		},
		{
			name: "ignore-new on a new variable ignores", kind: pv, pol: rule("Machine", policy.ScopeIgnoreNew),
			doc:   `{"Variables":[{"Name":"A","Value":"1","Scope":{"Machine":["gone"]}}]}`,
			dest:  `{"Variables":[{"Name":"B","Value":"x","Scope":{}}]}`,
			want:  `{"Variables":[{"Name":"A","Value":"1","Scope":{}}]}`,
			notes: []string{`"A" Machine=gone rescoped: Machine gone not on the destination; unscoped in Machine (ignore-new: rule r.yaml:2)`},
		},
		{
			name: "ignore-new on an existing variable leaves every value alone", kind: pv, pol: rule("Machine", policy.ScopeIgnoreNew),
			doc:   `{"Variables":[{"Name":"A","Value":"1","Scope":{"Machine":["gone"]}},{"Name":"A","Value":"new","Scope":{}},{"Name":"C","Value":"3","Scope":{}}]}`,
			dest:  `{"Variables":[{"Name":"a","Value":"dest","Scope":{}}]}`,
			want:  `{"Variables":[{"Name":"C","Value":"3","Scope":{}},{"Name":"a","Value":"dest","Scope":{}}]}`,
			notes: []string{`"A" left alone: the destination has the variable and Machine gone not on the destination (ignore-new: rule r.yaml:2)`},
		},
		{
			name: "owned: existing kept, missing created", kind: pv,
			pol:   &policy.File{Owned: []policy.ValueSelector{{Name: "O*", Rule: "o.yaml:1"}}},
			doc:   `{"Variables":[{"Name":"O1","Value":"bundle","Scope":{}},{"Name":"O2","Value":"bundle","Scope":{}}]}`,
			dest:  `{"Variables":[{"Name":"O1","Value":"dest","Scope":{}}]}`,
			want:  `{"Variables":[{"Name":"O1","Value":"dest","Scope":{}},{"Name":"O2","Value":"bundle","Scope":{}}]}`,
			notes: []string{`"O1" left alone (owned by destination, rule o.yaml:1)`, `"O2" created: owned by the destination once it exists (rule o.yaml:1)`},
		},
		{
			name: "owned, selected by scope", kind: pv,
			pol:   &policy.File{Owned: []policy.ValueSelector{{Kind: schema.ProjectVariables, Owner: "P", Name: "O", Scope: map[string][]string{"Environment": {"Production"}}}}},
			doc:   `{"Variables":[{"Name":"O","Value":"b1","Scope":{"Environment":["Production"]}},{"Name":"O","Value":"b2","Scope":{"Environment":["Staging"]}}]}`,
			dest:  `{"Variables":[{"Name":"O","Value":"d1","Scope":{"Environment":["Production"]}},{"Name":"O","Value":"d2","Scope":{"Environment":["Staging"]}}]}`,
			want:  `{"Variables":[{"Name":"O","Value":"d1","Scope":{"Environment":["Production"]}},{"Name":"O","Value":"b2","Scope":{"Environment":["Staging"]}}]}`,
			notes: []string{`"O" Environment=Production left alone (owned by destination, rule of the bundle's apply policy)`},
		},
		{
			name: "tenant values: partial narrows a value and skips one left with no environment", kind: tv, pol: rule("Environment", policy.ScopePartial),
			doc:  `{"ProjectVariables":[{"ProjectId":"P","TemplateId":"T","Scope":{"EnvironmentIds":["Production","Test"]},"Value":"y"},{"ProjectId":"P","TemplateId":"T","Scope":{"EnvironmentIds":["Test"]},"Value":"x"}]}`,
			want: `{"ProjectVariables":[{"ProjectId":"P","TemplateId":"T","Scope":{"EnvironmentIds":["Production"]},"Value":"y"}]}`,
			notes: []string{
				`P "T" Environment=Production,Test rescoped: partial match, Test dropped from its Environment (partial: rule r.yaml:2)`,
				`P "T" Environment=Test skipped: Environment Test not on the destination (partial: rule r.yaml:2)`,
			},
		},
		{
			name: "tenant values: ignore unscopes a common value but never a project value", kind: tv, pol: rule("Environment", policy.ScopeIgnore),
			doc:  `{"CommonVariables":[{"LibraryVariableSetId":"L","TemplateId":"C","Scope":{"EnvironmentIds":["Test"]},"Value":"c"}],"ProjectVariables":[{"ProjectId":"P","TemplateId":"T","Scope":{"EnvironmentIds":["Test"]},"Value":"x"}]}`,
			want: `{"CommonVariables":[{"LibraryVariableSetId":"L","TemplateId":"C","Scope":{"EnvironmentIds":[]},"Value":"c"}],"ProjectVariables":[]}`,
			notes: []string{
				`P "T" Environment=Test skipped: Environment Test not on the destination, and it is never unscoped in Environment (ignore: rule r.yaml:2)`,
				`L "C" Environment=Test rescoped: Environment Test not on the destination; unscoped in Environment (ignore: rule r.yaml:2)`,
			},
		},
		{
			name: "tenant values: ignore-new on a template the tenant has leaves its values alone", kind: tv, pol: rule("Environment", policy.ScopeIgnoreNew),
			doc:  `{"ProjectVariables":[{"ProjectId":"P","TemplateId":"T","Scope":{"EnvironmentIds":["Production","Test"]},"Value":"x"},{"ProjectId":"P","TemplateId":"U","Scope":{"EnvironmentIds":["Production","Test"]},"Value":"u"}]}`,
			dest: `{"ProjectVariables":[{"ProjectId":"P","TemplateId":"T","Scope":{"EnvironmentIds":["Production"]},"Value":"d"}]}`,
			want: `{"ProjectVariables":[{"ProjectId":"P","TemplateId":"U","Scope":{"EnvironmentIds":["Production"]},"Value":"u"},{"ProjectId":"P","TemplateId":"T","Scope":{"EnvironmentIds":["Production"]},"Value":"d"}]}`,
			notes: []string{
				`P "U" Environment=Production,Test rescoped: Test dropped from its Environment (ignore-new: rule r.yaml:2)`,
				`P "T" left alone: the destination has the variable and Environment Test not on the destination (ignore-new: rule r.yaml:2)`,
			},
		},
		{
			name: "tenant values: ignore-new leaves values alone in both arrays, each put back in its own", kind: tv, pol: rule("Environment", policy.ScopeIgnoreNew),
			doc:  `{"CommonVariables":[{"LibraryVariableSetId":"L","TemplateId":"C","Scope":{"EnvironmentIds":["Test"]},"Value":"c"}],"ProjectVariables":[{"ProjectId":"P","TemplateId":"T","Scope":{"EnvironmentIds":["Production","Test"]},"Value":"x"}]}`,
			dest: `{"CommonVariables":[{"LibraryVariableSetId":"L","TemplateId":"C","Scope":{"EnvironmentIds":[]},"Value":"dc"}],"ProjectVariables":[{"ProjectId":"P","TemplateId":"T","Scope":{"EnvironmentIds":["Production"]},"Value":"d"}]}`,
			want: `{"CommonVariables":[{"LibraryVariableSetId":"L","TemplateId":"C","Scope":{"EnvironmentIds":[]},"Value":"dc"}],"ProjectVariables":[{"ProjectId":"P","TemplateId":"T","Scope":{"EnvironmentIds":["Production"]},"Value":"d"}]}`,
			notes: []string{
				`L "C" left alone: the destination has the variable and Environment Test not on the destination (ignore-new: rule r.yaml:2)`,
				`P "T" left alone: the destination has the variable and Environment Test not on the destination (ignore-new: rule r.yaml:2)`,
			},
		},
		{
			name: "tenant values: owned", kind: tv,
			pol:   &policy.File{Owned: []policy.ValueSelector{{Kind: schema.TenantVariables, Name: "T"}}},
			doc:   `{"CommonVariables":[{"LibraryVariableSetId":"L","TemplateId":"T","Scope":{"EnvironmentIds":[]},"Value":"bundle"},{"LibraryVariableSetId":"L","TemplateId":"U","Scope":{"EnvironmentIds":[]},"Value":"bundle"}]}`,
			dest:  `{"CommonVariables":[{"LibraryVariableSetId":"L","TemplateId":"T","Scope":{"EnvironmentIds":[]},"Value":"dest"},{"LibraryVariableSetId":"L","TemplateId":"U","Scope":{"EnvironmentIds":[]},"Value":"dest"}]}`,
			want:  `{"CommonVariables":[{"LibraryVariableSetId":"L","TemplateId":"T","Scope":{"EnvironmentIds":[]},"Value":"dest"},{"LibraryVariableSetId":"L","TemplateId":"U","Scope":{"EnvironmentIds":[]},"Value":"bundle"}]}`,
			notes: []string{`L "T" left alone (owned by destination, rule of the bundle's apply policy)`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol := tc.pol
			if tc.skipKind != "" {
				if pol == nil {
					pol = &policy.File{}
				}
				pol.Kinds = map[string]schema.Policy{tc.skipKind: schema.PolicySkip}
			}
			pl := policyPlanner(t, pol)
			var dest any
			if tc.dest != "" {
				dest = js(t, tc.dest)
			}
			got, notes := pl.decideValues(tc.kind, []string{"P"}, js(t, tc.doc), dest)
			if canon(got) != canon(js(t, tc.want)) {
				t.Errorf("document\n got %s\nwant %s", canon(got), canon(js(t, tc.want)))
			}
			if strings.Join(notes, "\n") != strings.Join(tc.notes, "\n") {
				t.Errorf("notes\n got %q\nwant %q", notes, tc.notes)
			}
		})
	}
}

func TestResumable(t *testing.T) {
	for _, tc := range []struct {
		name    string
		results []plans.Result
		want    bool
	}{
		{"succeeded", []plans.Result{{Outcome: plans.OutcomeCreated}}, false},
		{"transient failure and its dependants", []plans.Result{{Outcome: plans.OutcomeFailed, Retry: true}, {Outcome: plans.OutcomeSkipped, Retry: true}, {Outcome: plans.OutcomeCreated}}, true},
		{"a 400 among transient ones", []plans.Result{{Outcome: plans.OutcomeFailed, Retry: true}, {Outcome: plans.OutcomeFailed}}, false},
		{"skipped after a plan error", []plans.Result{{Outcome: plans.OutcomeFailed}, {Outcome: plans.OutcomeSkipped}}, false},
	} {
		r := &plans.Receipt{Results: tc.results}
		if got := r.Resumable(); got != tc.want {
			t.Errorf("%s: Resumable %v, want %v", tc.name, got, tc.want)
		}
	}
}
