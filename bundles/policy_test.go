package bundles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/schema"
)

func TestApplyPolicyRoundTrip(t *testing.T) {
	b := New(Manifest{Source: Source{ServerVersion: "2025.2.1", Space: "Default"}})
	if _, err := b.PutEntity(schema.MustLookup(schema.Environment), []string{"Staging"}, map[string]any{"Name": "Staging"}); err != nil {
		t.Fatal(err)
	}
	pol := &ApplyPolicy{
		Kinds:         map[string]schema.Policy{schema.Account: schema.PolicyExist, schema.ActionTemplate: schema.PolicySkip},
		ScopeMismatch: []ScopeRule{{Dimension: "Machine", Mode: ScopePartial, Rule: "prod.yaml:3"}, {Dimension: "Environment", Mode: ScopeIgnoreNew, Select: ValueSelector{Owner: "Octo*"}, Rule: "prod.yaml:9"}},
		Owned:         []ValueSelector{{Kind: schema.ProjectVariables, Owner: "OctoFX", Name: "ConnectionString", Rule: "prod.yaml:14"}},
		Placeholder:   "Replace Me",
		Conflicts:     []ConflictRule{{Kind: "DeploymentProcess", Entity: "OctoFX", Field: "Steps/Deploy*/**", Winner: "destination", Rule: "prod.yaml:20"}},
	}
	if err := b.SetApplyPolicy(pol); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "b")
	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	sums, err := os.ReadFile(filepath.Join(dir, ChecksumsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(sums), "  "+PolicyFile+"\n") {
		t.Fatalf("checksums.txt does not cover %s:\n%s", PolicyFile, sums)
	}
	got, err := Read(dir, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := got.ApplyPolicy()
	if err != nil || p == nil {
		t.Fatalf("ApplyPolicy() = %v, %v", p, err)
	}
	tests := []struct {
		dim, kind, owner, name string
		want                   ScopeMode
		ok                     bool
	}{
		{"Machine", schema.ProjectVariables, "OctoFX", "X", ScopePartial, true},
		{"environment", schema.LibraryVariables, "octofx", "Y", ScopeIgnoreNew, true},
		{"Environment", schema.ProjectVariables, "Portal", "Y", "", false},
		{"Channel", schema.ProjectVariables, "OctoFX", "Y", "", false},
	}
	for _, tt := range tests {
		m, _, ok := p.ScopeModeFor(tt.dim, tt.kind, tt.owner, tt.name, nil)
		if m != tt.want || ok != tt.ok {
			t.Errorf("ScopeModeFor(%s, %s, %s) = %q, %v; want %q, %v", tt.dim, tt.kind, tt.owner, m, ok, tt.want, tt.ok)
		}
	}
	if r, ok := p.Owns(schema.ProjectVariables, "octofx", "connectionstring", map[string][]string{"Environment": {"Production"}}); !ok || r != "prod.yaml:14" {
		t.Errorf("Owns = %q, %v", r, ok)
	}
	if _, ok := p.Owns(schema.LibraryVariables, "OctoFX", "ConnectionString", nil); ok {
		t.Error("Owns matched the wrong container kind")
	}
	if got := p.KindPolicy(schema.MustLookup(schema.ActionTemplate)); got != schema.PolicySkip {
		t.Errorf("KindPolicy = %q", got)
	}
	if got := p.KindPolicy(schema.MustLookup(schema.Lifecycle)); got != schema.PolicyExist {
		t.Errorf("KindPolicy default = %q", got)
	}

	// Tampering with the policy breaks the checksum; an unknown field is refused.
	raw, _ := os.ReadFile(filepath.Join(dir, PolicyFile))
	if err := os.WriteFile(filepath.Join(dir, PolicyFile), []byte(strings.Replace(string(raw), "partial", "ignore", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir, ReadOptions{}); err == nil || !strings.Contains(err.Error(), PolicyFile) {
		t.Fatalf("tampered policy: err = %v", err)
	}
}

func TestApplyPolicyInvalid(t *testing.T) {
	tests := []struct {
		name string
		pol  ApplyPolicy
	}{
		{"bad mode", ApplyPolicy{ScopeMismatch: []ScopeRule{{Dimension: "Machine", Mode: "sometimes"}}}},
		{"bad dimension", ApplyPolicy{ScopeMismatch: []ScopeRule{{Dimension: "Planet", Mode: ScopeExact}}}},
		{"bad kind policy", ApplyPolicy{Kinds: map[string]schema.Policy{schema.Account: "maybe"}}},
	}
	for _, tt := range tests {
		b := New(Manifest{})
		if err := b.SetApplyPolicy(&tt.pol); err == nil {
			t.Errorf("%s: SetApplyPolicy accepted it", tt.name)
		}
	}
	b := New(Manifest{})
	if err := b.SetApplyPolicy(&ApplyPolicy{}); err != nil {
		t.Fatal(err)
	}
	if p, err := b.ApplyPolicy(); p != nil || err != nil {
		t.Errorf("zero policy stored: %v, %v", p, err)
	}
}

func TestConflictWinner(t *testing.T) {
	p := &ApplyPolicy{Conflicts: []ConflictRule{
		{Kind: "*Variables", Field: "Variables/*/Value", Winner: "source"},
		{Kind: "ProjectVariables", Entity: "OctoFX", Field: "Variables/Smtp.*/Value", Winner: "destination"},
		{Kind: "DeploymentProcess", Field: "Steps/Deploy Web/**", Winner: "destination"},
	}}
	names := map[string]string{"Variables/0": "Smtp.Host", "Variables/1": "Other", "Steps/0": "deploy web"}
	elementName := func(prefix []string) (string, bool) {
		n, ok := names[strings.Join(prefix, "/")]
		return n, ok
	}
	for _, tc := range []struct {
		kind   string
		names  []string
		at     string
		winner string
		index  int
	}{
		{"ProjectVariables", []string{"OctoFX"}, "Variables/0/Value", "destination", 1},
		{"ProjectVariables", []string{"octofx"}, "Variables/1/Value", "source", 0},
		{"LibraryVariables", []string{"Common"}, "Variables/0/Value", "source", 0},
		{"ProjectVariables", []string{"Portal"}, "Variables/0/Value", "source", 0},
		{"ProjectVariables", []string{"OctoFX"}, "Variables/0/Scope", "", -1},
		{"DeploymentProcess", []string{"OctoFX"}, "Steps/0/Properties/K", "destination", 2},
		{"DeploymentProcess", []string{"OctoFX"}, "Steps/0", "destination", 2},
		{"DeploymentProcess", []string{"OctoFX"}, "Description", "", -1},
	} {
		w, i := p.ConflictWinner(tc.kind, tc.names, strings.Split(tc.at, "/"), elementName)
		if w != tc.winner || i != tc.index {
			t.Errorf("%s %v %s: %q %d, want %q %d", tc.kind, tc.names, tc.at, w, i, tc.winner, tc.index)
		}
	}
	if w, i := (*ApplyPolicy)(nil).ConflictWinner("X", nil, nil, nil); w != "" || i != -1 {
		t.Errorf("nil policy: %q %d", w, i)
	}
}
