package transform

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// Every ```yaml block in docs/rules.md is a complete rule file: it parses,
// validates and transforms the golden bundle without error.
func TestDocsExamples(t *testing.T) {
	data, err := os.ReadFile("../docs/rules.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	n := 0
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```yaml" {
			continue
		}
		start := i + 1
		var block []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			block = append(block, lines[i])
		}
		n++
		name := fmt.Sprintf("docs/rules.md:%d", start)
		t.Run(name, func(t *testing.T) {
			f, err := Parse(name, []byte(strings.Join(block, "\n")+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			out, rep, err := Transform(golden(t), []*RuleFile{f}, Options{})
			if err != nil {
				var b strings.Builder
				_ = rep.WriteText(&b)
				t.Fatalf("%v\n%s", err, b.String())
			}
			if out.Digest() == "" {
				t.Fatal("no output digest")
			}
		})
	}
	if n < 15 {
		t.Errorf("found %d yaml examples in docs/rules.md; every option has one", n)
	}
}
