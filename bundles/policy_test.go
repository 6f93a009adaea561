package bundles

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/policy"
	"github.com/octobundle/octobundle/schema"
)

func TestApplyPolicyRoundTrip(t *testing.T) {
	b := New(Manifest{Source: Source{ServerVersion: "2025.2.1", Space: "Default"}})
	if _, err := b.PutEntity(schema.MustLookup(schema.Environment), []string{"Staging"}, map[string]any{"Name": "Staging"}); err != nil {
		t.Fatal(err)
	}
	pol := &policy.File{
		Kinds:         map[string]schema.Policy{schema.Account: schema.PolicyExist, schema.ActionTemplate: schema.PolicySkip},
		ScopeMismatch: []policy.ScopeRule{{Dimension: "Machine", Mode: policy.ScopePartial, Rule: "prod.yaml:3"}, {Dimension: "Environment", Mode: policy.ScopeIgnoreNew, Select: policy.ValueSelector{Owner: "Octo*"}, Rule: "prod.yaml:9"}},
		Owned:         []policy.ValueSelector{{Kind: schema.ProjectVariables, Owner: "OctoFX", Name: "ConnectionString", Rule: "prod.yaml:14"}},
		Placeholder:   "Replace Me",
		Conflicts:     []policy.ConflictRule{{Kind: "DeploymentProcess", Entity: "OctoFX", Field: "Steps/Deploy*/**", Winner: "destination", Rule: "prod.yaml:20"}},
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
	// The file reads back as written; what it decides is tested in
	// package policy.
	if !reflect.DeepEqual(p, pol) {
		t.Errorf("ApplyPolicy() = %+v, want %+v", p, pol)
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
		pol  policy.File
	}{
		{"bad mode", policy.File{ScopeMismatch: []policy.ScopeRule{{Dimension: "Machine", Mode: "sometimes"}}}},
		{"bad dimension", policy.File{ScopeMismatch: []policy.ScopeRule{{Dimension: "Planet", Mode: policy.ScopeExact}}}},
		{"bad kind policy", policy.File{Kinds: map[string]schema.Policy{schema.Account: "maybe"}}},
	}
	for _, tt := range tests {
		b := New(Manifest{})
		if err := b.SetApplyPolicy(&tt.pol); err == nil {
			t.Errorf("%s: SetApplyPolicy accepted it", tt.name)
		}
	}
	b := New(Manifest{})
	if err := b.SetApplyPolicy(&policy.File{}); err != nil {
		t.Fatal(err)
	}
	if p, err := b.ApplyPolicy(); p != nil || err != nil {
		t.Errorf("zero policy stored: %v, %v", p, err)
	}
}
