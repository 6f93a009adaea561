package translate_test

import (
	"go/build"
	"path/filepath"
	"strings"
	"testing"
)

// module is the module path; the repository's root is "..".
const module = "github.com/octobundle/octobundle"

// deps returns the module's own packages pkg (a path inside the module)
// imports, directly or not, leaving tests out: what `go list -deps` lists
// of the module.
func deps(t *testing.T, pkg string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	var walk func(path string)
	walk = func(path string) {
		p, err := build.ImportDir(filepath.Join("..", filepath.FromSlash(path)), 0)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, imp := range p.Imports {
			rel, ok := strings.CutPrefix(imp, module+"/")
			if !ok || seen[rel] {
				continue
			}
			seen[rel] = true
			walk(rel)
		}
	}
	walk(pkg)
	return seen
}

// TestOneTranslator checks the layering translate exists for: export and
// apply both translate through it, and apply does not import export (nor
// anything that does).
func TestOneTranslator(t *testing.T) {
	tests := []struct {
		pkg     string
		imports []string // must be among pkg's dependencies
		not     []string // must not be
	}{
		{pkg: "apply", imports: []string{"translate"}, not: []string{"export"}},
		{pkg: "export", imports: []string{"translate"}, not: []string{"apply"}},
		{pkg: "translate", not: []string{"export", "apply"}},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			got := deps(t, tt.pkg)
			for _, p := range tt.imports {
				if !got[p] {
					t.Errorf("%s does not import %s", tt.pkg, p)
				}
			}
			for _, p := range tt.not {
				if got[p] {
					t.Errorf("%s imports %s, directly or not", tt.pkg, p)
				}
			}
		})
	}
}
