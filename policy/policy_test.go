package policy

import (
	"strings"
	"testing"

	"github.com/octobundle/octobundle/schema"
)

// The layers of every decision, lowest first: the registry's default, the
// bundle's policy file, the flags.
func TestDecidePrecedence(t *testing.T) {
	pv := schema.MustLookup(schema.ProjectVariables)
	dp := schema.MustLookup(schema.DeploymentProcess)
	st := schema.MustLookup(schema.ActionTemplate) // exact in the registry
	value := Place{Kind: pv, Names: []string{"OctoFX"}, At: []string{"Variables", "0", "Value"}, Elements: []string{"", "Smtp.Host", ""}}
	step := Place{Kind: dp, Names: []string{"OctoFX"}, At: []string{"Steps", "0", "Name"}, Elements: []string{"", "Deploy", ""}}
	template := Place{Kind: st, Names: []string{"Notify"}, At: []string{"Parameters", "0", "Label"}}
	toSource := &File{Conflicts: []ConflictRule{{Kind: "*Variables", Field: "Variables/Smtp.*/Value", Winner: "source", Rule: "r.yaml:1"}}}
	toDest := &File{Conflicts: []ConflictRule{{Kind: "*", Winner: "destination"}}}
	exactOff := &File{Kinds: map[string]schema.Policy{schema.ActionTemplate: schema.PolicySync}, Conflicts: toDest.Conflicts}
	exactOn := &File{Kinds: map[string]schema.Policy{schema.DeploymentProcess: schema.PolicyExact}, Conflicts: toDest.Conflicts}
	for _, tc := range []struct {
		name  string
		file  *File
		flags Flags
		at    Place
		want  Decision
	}{
		{"registry: the destination keeps its variable values", nil, Flags{}, value,
			Decision{WinnerDestination, "registry default: the destination keeps its variable values", LayerRegistry}},
		{"registry: the source wins for other content", nil, Flags{}, step,
			Decision{WinnerSource, "registry default: the source wins for deployment processes content", LayerRegistry}},
		{"registry: an exact kind takes the source", nil, Flags{}, template,
			Decision{WinnerSource, "step templates must match exactly", LayerRegistry}},
		{"file over registry: a rule gives a value to the source", toSource, Flags{}, value,
			Decision{WinnerSource, "apply-policy.json Conflicts[0] (r.yaml:1)", LayerFile}},
		{"file over registry: a rule without a name", toDest, Flags{}, step,
			Decision{WinnerDestination, "apply-policy.json Conflicts[0]", LayerFile}},
		{"file: a rule that does not match leaves the registry's", toSource, Flags{}, step,
			Decision{WinnerSource, "registry default: the source wins for deployment processes content", LayerRegistry}},
		{"registry exact over a file rule", toDest, Flags{}, template,
			Decision{WinnerSource, "step templates must match exactly", LayerRegistry}},
		{"file kind policy lifts exact, its rule decides", exactOff, Flags{}, template,
			Decision{WinnerDestination, "apply-policy.json Conflicts[0]", LayerFile}},
		{"file kind policy makes a kind exact", exactOn, Flags{}, step,
			Decision{WinnerSource, "deployment processes must match exactly", LayerFile}},
		{"flags over file", toSource, Flags{OnConflict: WinnerDestination}, value,
			Decision{WinnerDestination, "--on-conflict destination", LayerFlags}},
		{"flags over registry exact", nil, Flags{OnConflict: WinnerDestination}, template,
			Decision{WinnerDestination, "--on-conflict destination", LayerFlags}},
		{"flags: fail", toDest, Flags{OnConflict: WinnerFail}, step,
			Decision{WinnerFail, "--on-conflict fail", LayerFlags}},
	} {
		if got := New(tc.file, tc.flags).Decide(tc.at); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// Conflicts rules match kind and entity names or globs, and fields by map
// key, element name or glob; the last matching rule decides.
func TestDecideConflictRules(t *testing.T) {
	f := &File{Conflicts: []ConflictRule{
		{Kind: "*Variables", Field: "Variables/*/Value", Winner: "source"},
		{Kind: "ProjectVariables", Entity: "OctoFX", Field: "Variables/Smtp.*/Value", Winner: "destination"},
		{Kind: "DeploymentProcess", Field: "Steps/Deploy Web/**", Winner: "destination"},
	}}
	names := map[string]string{"Variables/0": "Smtp.Host", "Variables/1": "Other", "Steps/0": "deploy web"}
	for _, tc := range []struct {
		kind   string
		names  []string
		at     string
		winner Winner
		index  int // -1: no rule, the registry decides
	}{
		{"ProjectVariables", []string{"OctoFX"}, "Variables/0/Value", WinnerDestination, 1},
		{"ProjectVariables", []string{"octofx"}, "Variables/1/Value", WinnerSource, 0},
		{"LibraryVariables", []string{"Common"}, "Variables/0/Value", WinnerSource, 0},
		{"ProjectVariables", []string{"Portal"}, "Variables/0/Value", WinnerSource, 0},
		{"ProjectVariables", []string{"OctoFX"}, "Variables/0/Scope", WinnerSource, -1},
		{"DeploymentProcess", []string{"OctoFX"}, "Steps/0/Properties/K", WinnerDestination, 2},
		{"DeploymentProcess", []string{"OctoFX"}, "Steps/0", WinnerDestination, 2},
		{"DeploymentProcess", []string{"OctoFX"}, "Description", WinnerSource, -1},
	} {
		at := strings.Split(tc.at, "/")
		p := Place{Kind: schema.MustLookup(tc.kind), Names: tc.names, At: at, Elements: make([]string, len(at))}
		for i := range at {
			p.Elements[i] = names[strings.Join(at[:i+1], "/")]
		}
		got := New(f, Flags{}).Decide(p)
		want := "registry default"
		if tc.index >= 0 {
			want = "apply-policy.json Conflicts[" + string(rune('0'+tc.index)) + "]"
		}
		if got.Winner != tc.winner || !strings.HasPrefix(got.Rule, want) || (tc.index >= 0) != (got.From == LayerFile) {
			t.Errorf("%s %v %s: %+v, want %s by %q", tc.kind, tc.names, tc.at, got, tc.winner, want)
		}
	}
}

// Contested: without a base, what the flags, a file rule or the registry's
// KeepDestination decide is a conflict; any other difference is the
// source's.
func TestContested(t *testing.T) {
	pv := schema.MustLookup(schema.ProjectVariables)
	dp := schema.MustLookup(schema.DeploymentProcess)
	value := Place{Kind: pv, Names: []string{"P"}, At: []string{"Variables", "0", "Value"}}
	desc := Place{Kind: dp, Names: []string{"P"}, At: []string{"Description"}}
	rule := &File{Conflicts: []ConflictRule{{Kind: "DeploymentProcess", Field: "Description", Winner: "destination"}}}
	for _, tc := range []struct {
		name  string
		file  *File
		flags Flags
		at    Place
		want  bool
	}{
		{"registry keeps the destination's value", nil, Flags{}, value, true},
		{"registry: the source owns the field", nil, Flags{}, desc, false},
		{"a file rule decides it", rule, Flags{}, desc, true},
		{"a flag decides it", nil, Flags{OnConflict: WinnerSource}, desc, true},
	} {
		if got := New(tc.file, tc.flags).Contested(tc.at); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// An entity deleted at the source and changed on the destination is kept
// unless --on-conflict says otherwise; the policy file does not decide it.
func TestDecideDeleted(t *testing.T) {
	kept := Decision{WinnerDestination, "deleted at the source, changed on the destination: kept (--on-conflict source deletes it)", LayerRegistry}
	toSource := &File{Conflicts: []ConflictRule{{Kind: "*", Winner: "source"}}}
	for _, tc := range []struct {
		file  *File
		flags Flags
		want  Decision
	}{
		{nil, Flags{}, kept},
		{toSource, Flags{}, kept},
		{nil, Flags{OnConflict: WinnerDestination}, kept},
		{nil, Flags{OnConflict: WinnerSource}, Decision{WinnerSource, "--on-conflict source", LayerFlags}},
		{toSource, Flags{OnConflict: WinnerFail}, Decision{WinnerFail, "--on-conflict fail", LayerFlags}},
	} {
		if got := New(tc.file, tc.flags).DecideDeleted(); got != tc.want {
			t.Errorf("%+v %+v: %+v, want %+v", tc.file, tc.flags, got, tc.want)
		}
	}
}

func TestKindPolicy(t *testing.T) {
	f := &File{Kinds: map[string]schema.Policy{schema.ActionTemplate: schema.PolicySkip, schema.Lifecycle: schema.PolicyExact}}
	for _, tc := range []struct {
		file *File
		kind string
		want schema.Policy
		from Layer
	}{
		{nil, schema.ActionTemplate, schema.PolicyExact, LayerRegistry},
		{nil, schema.Lifecycle, schema.PolicyExist, LayerRegistry},
		{nil, schema.DeploymentProcess, schema.PolicySync, LayerRegistry},
		{f, schema.ActionTemplate, schema.PolicySkip, LayerFile},
		{f, schema.Lifecycle, schema.PolicyExact, LayerFile},
		{f, schema.DeploymentProcess, schema.PolicySync, LayerRegistry},
	} {
		if got, from := New(tc.file, Flags{}).KindPolicy(schema.MustLookup(tc.kind)); got != tc.want || from != tc.from {
			t.Errorf("%v %s: %s %v, want %s %v", tc.file != nil, tc.kind, got, from, tc.want, tc.from)
		}
	}
	var nilDecider *Decider
	if got, from := nilDecider.KindPolicy(schema.MustLookup(schema.Lifecycle)); got != schema.PolicyExist || from != LayerRegistry {
		t.Errorf("nil decider: %s %v", got, from)
	}
}

func TestScopeMode(t *testing.T) {
	f := &File{ScopeMismatch: []ScopeRule{
		{Dimension: "Machine", Mode: ScopeExact, Rule: "prod.yaml:3"},
		{Dimension: "Machine", Mode: ScopePartial, Select: ValueSelector{Name: "X"}, Rule: "prod.yaml:4"},
		{Dimension: "Environment", Mode: ScopeIgnoreNew, Select: ValueSelector{Owner: "Octo*"}, Rule: "prod.yaml:9"},
		{Dimension: "Role", Mode: ScopeIgnore, Select: ValueSelector{Kind: schema.LibraryVariables}},
	}}
	for _, tc := range []struct {
		file             *File
		dim, kind, owner string
		name             string
		want             ScopeMode
		by               string
		ok               bool
		from             Layer
	}{
		{f, "Machine", schema.ProjectVariables, "OctoFX", "X", ScopePartial, "rule prod.yaml:4", true, LayerFile},
		{f, "Machine", schema.ProjectVariables, "OctoFX", "Y", ScopeExact, "rule prod.yaml:3", true, LayerFile},
		{f, "Environment", schema.LibraryVariables, "octofx", "Y", ScopeIgnoreNew, "rule prod.yaml:9", true, LayerFile},
		{f, "Environment", schema.ProjectVariables, "Portal", "Y", ScopePartial, "registry default", true, LayerRegistry},
		{f, "Channel", schema.ProjectVariables, "OctoFX", "Y", ScopePartial, "registry default", true, LayerRegistry},
		{f, "Role", schema.LibraryVariables, "Common", "Y", ScopeIgnore, "rule of the bundle's apply policy", true, LayerFile},
		{f, "Role", schema.ProjectVariables, "OctoFX", "Y", "", "", false, LayerRegistry}, // free text: kept as it is
		{nil, "TenantTag", schema.TenantVariables, "T", "Y", ScopeExact, "registry default", true, LayerRegistry},
		{nil, "Machine", schema.ProjectVariables, "OctoFX", "X", ScopePartial, "registry default", true, LayerRegistry},
	} {
		dim := schema.LookupDimension(tc.dim)
		mode, by, ok := New(tc.file, Flags{}).ScopeMode(dim, Value{Kind: tc.kind, Owner: tc.owner, Name: tc.name})
		if mode != tc.want || ok != tc.ok || (ok && (by.String() != tc.by || by.Layer != tc.from)) {
			t.Errorf("%s %s %s %s: %q %q %v, want %q %q %v", tc.dim, tc.kind, tc.owner, tc.name, mode, by, ok, tc.want, tc.by, tc.ok)
		}
	}
}

func TestOwns(t *testing.T) {
	f := &File{Owned: []ValueSelector{
		{Kind: schema.ProjectVariables, Owner: "OctoFX", Name: "ConnectionString", Rule: "prod.yaml:14"},
		{Name: "Port", Scope: map[string][]string{"Environment": {"Production"}}},
	}}
	prod := map[string][]string{"Environment": {"production"}, "Role": {}}
	for _, tc := range []struct {
		v    Value
		by   string
		want bool
	}{
		{Value{schema.ProjectVariables, "octofx", "connectionstring", prod}, "rule prod.yaml:14", true},
		{Value{schema.LibraryVariables, "OctoFX", "ConnectionString", nil}, "", false},
		{Value{schema.TenantVariables, "T", "Port", prod}, "rule of the bundle's apply policy", true},
		{Value{schema.TenantVariables, "T", "Port", nil}, "", false},
	} {
		by, ok := New(f, Flags{}).Owns(tc.v)
		if ok != tc.want || (ok && by.String() != tc.by) {
			t.Errorf("%+v: %q %v, want %q %v", tc.v, by, ok, tc.by, tc.want)
		}
	}
	if _, ok := New(nil, Flags{}).Owns(Value{Name: "Port"}); ok {
		t.Error("the registry owns no value for the destination")
	}
}

func TestPlaceholderAndProvided(t *testing.T) {
	f := &File{Placeholder: "Replace Me", Kinds: map[string]schema.Policy{schema.Account: schema.PolicySkip},
		Provided: map[string][]string{schema.Environment: {"Dev*"}}}
	if got := New(f, Flags{}).Placeholder(); got != "Replace Me" {
		t.Errorf("Placeholder = %q", got)
	}
	if got := New(nil, Flags{}).Placeholder(); got != "" {
		t.Errorf("no file: Placeholder = %q", got)
	}
	for _, tc := range []struct {
		kind, name string
		want       bool
	}{
		{schema.Account, "anything", true},
		{schema.Environment, "development", true},
		{schema.Environment, "Production", false},
		{schema.Lifecycle, "Dev", false},
	} {
		if got := f.ProvidedBy(tc.kind, tc.name); got != tc.want {
			t.Errorf("ProvidedBy(%s, %s) = %v", tc.kind, tc.name, got)
		}
	}
	if (*File)(nil).ProvidedBy(schema.Account, "x") {
		t.Error("a nil file provides something")
	}
}

func TestParseWinner(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Winner
		ok   bool
	}{
		{"", "", true}, {"source", WinnerSource, true}, {"destination", WinnerDestination, true},
		{"fail", WinnerFail, true}, {"Source", "", false}, {"dest", "", false},
	} {
		if got, ok := ParseWinner(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("ParseWinner(%q) = %q, %v", tc.in, got, ok)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"", "anything", true}, {"OctoFX", "octofx", true}, {"Octo*", "OctoFX", true},
		{"*Variables", "ProjectVariables", true}, {"Octo?", "OctoFX", false}, {"[", "[", true}, {"[", "x", false},
	} {
		if got := GlobMatch(tc.pattern, tc.name); got != tc.want {
			t.Errorf("GlobMatch(%q, %q) = %v", tc.pattern, tc.name, got)
		}
	}
	for _, tc := range []struct {
		a, b map[string][]string
		want bool
	}{
		{nil, map[string][]string{"Role": {}}, true},
		{map[string][]string{"Environment": {"A", "b"}}, map[string][]string{"environment": nil, "Environment": {"B", "a"}}, true},
		{map[string][]string{"Environment": {"A"}}, map[string][]string{"Environment": {"A", "B"}}, false},
		{map[string][]string{"Environment": {"A"}}, map[string][]string{"Channel": {"A"}}, false},
	} {
		if got := SameScope(tc.a, tc.b); got != tc.want {
			t.Errorf("SameScope(%v, %v) = %v", tc.a, tc.b, got)
		}
	}
}
