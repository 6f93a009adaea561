package plans_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLayers checks the layering of apply's packages by scanning their
// non-test imports: the documents (apply/plans) import no other apply
// package, and the views (apply/render) only the documents, so that how a
// plan is shown never reaches into how it is made or executed.
func TestLayers(t *testing.T) {
	const mod = "github.com/octobundle/octobundle/"
	for _, tc := range []struct {
		dir     string
		allowed []string // the apply packages dir may import
	}{
		{dir: ".", allowed: nil},
		{dir: filepath.Join("..", "render"), allowed: []string{"apply/plans"}},
	} {
		entries, err := os.ReadDir(tc.dir)
		if err != nil {
			t.Fatal(err)
		}
		files := 0
		for _, e := range entries {
			name := e.Name()
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(tc.dir, name), nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			files++
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				rel, ok := strings.CutPrefix(p, mod)
				if !ok || (rel != "apply" && !strings.HasPrefix(rel, "apply/")) {
					continue
				}
				ok = false
				for _, a := range tc.allowed {
					ok = ok || rel == a
				}
				if !ok {
					t.Errorf("%s imports %s: apply/plans imports no apply package, apply/render only apply/plans", filepath.Join(tc.dir, name), p)
				}
			}
		}
		if files == 0 {
			t.Errorf("%s: no Go files scanned", tc.dir)
		}
	}
}
