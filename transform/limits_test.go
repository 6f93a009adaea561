package transform

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/internal/limits"
)

// TestRuleFileLimits checks a rule file larger than limits.RuleFileSize or
// nested deeper than limits.YAMLDepth fails with a *limits.Error naming the
// file and the limit, and that one just inside the size limit is read.
func TestRuleFileLimits(t *testing.T) {
	valid := "apiVersion: octobundle/rules/v1\nrules:\n  - drop: {kind: Environment, name: [\"Dev\"]}\n"
	pad := func(n int) string { // a valid file of exactly n bytes
		return valid + "#" + strings.Repeat("x", n-len(valid)-2) + "\n"
	}
	deep := "apiVersion: octobundle/rules/v1\nrules: " + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "\n"
	tests := []struct {
		name      string
		content   string
		wantLimit string
		wantIn    string
	}{
		{name: "at the size limit", content: pad(limits.RuleFileSize)},
		{name: "one byte over the size limit", content: pad(limits.RuleFileSize + 1),
			wantLimit: "rule file size", wantIn: "rules.yaml: exceeds the rule file size limit of 4 MiB (4194304 bytes)"},
		{name: "nested too deeply", content: deep,
			wantLimit: "rule file nesting depth", wantIn: "rules.yaml:2: /rules/0/0/0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "rules.yaml")
			if err := os.WriteFile(p, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadRuleFile(p)
			if tt.wantLimit == "" {
				if err != nil {
					t.Fatalf("ReadRuleFile: %v", err)
				}
				return
			}
			var le *limits.Error
			if !errors.As(err, &le) || le.Limit != tt.wantLimit {
				t.Fatalf("want a %q limit error, got %v", tt.wantLimit, err)
			}
			if !strings.Contains(err.Error(), tt.wantIn) || !strings.Contains(err.Error(), p) {
				t.Fatalf("error %q does not name %q and the file", err, tt.wantIn)
			}
			// Parse on the bytes alone says the same, naming the file.
			if _, err := Parse("given.yaml", []byte(tt.content)); !errors.As(err, &le) || !strings.HasPrefix(err.Error(), "given.yaml") {
				t.Fatalf("Parse: %v", err)
			}
		})
	}
}
