package bundles

import (
	"os"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/schema"
)

// TestFormatDocKinds: the kind table of docs/bundle-format.md lists every
// kind that has files, with the registry's path template, and nothing else,
// so the specification another tool reads cannot drift from the code.
func TestFormatDocKinds(t *testing.T) {
	data, err := os.ReadFile("../docs/bundle-format.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) < 2 || !strings.HasPrefix(cells[1], "`") || !strings.Contains(cells[1], "{}") {
			continue
		}
		doc[strings.Trim(cells[0], "`")] = strings.Trim(cells[1], "`")
	}
	want := 0
	for _, k := range schema.Kinds() {
		if k.File == "" {
			continue
		}
		want++
		if got, ok := doc[k.Name]; !ok {
			t.Errorf("docs/bundle-format.md lacks kind %s (%s)", k.Name, k.File)
		} else if got != k.File {
			t.Errorf("docs/bundle-format.md: %s is %q, the registry says %q", k.Name, got, k.File)
		}
	}
	if len(doc) != want {
		t.Errorf("docs/bundle-format.md lists %d kinds, the registry has %d with files", len(doc), want)
	}
}
