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
// plan is shown never reaches into how it is made or executed. The
// executor (apply/internal/execute) gets the plan from apply and imports
// neither apply nor anything of planning beyond the shared helpers, and in
// apply only the entry points (execute.go) call the executor: the planner
// does not.
func TestLayers(t *testing.T) {
	const mod = "github.com/octobundle/octobundle/"
	internal := func(names ...string) []string {
		out := []string{"apply/plans"}
		for _, n := range names {
			out = append(out, "apply/internal/"+n)
		}
		return out
	}
	for _, tc := range []struct {
		dir     string
		allowed []string // the apply packages dir may import
		// onlyIn names, per apply package, the one file of dir that may
		// import it.
		onlyIn map[string]string
	}{
		{dir: ".", allowed: nil},
		{dir: filepath.Join("..", "render"), allowed: []string{"apply/plans"}},
		{dir: filepath.Join("..", "internal", "planned"), allowed: internal()},
		{dir: filepath.Join("..", "internal", "scopes"), allowed: nil},
		{dir: filepath.Join("..", "internal", "secrets"), allowed: internal("planned")},
		{dir: filepath.Join("..", "internal", "writemerge"), allowed: internal("secrets")},
		{dir: filepath.Join("..", "internal", "execute"), allowed: internal("planned", "scopes", "secrets", "writemerge")},
		{
			dir:     "..",
			allowed: append(internal("planned", "scopes", "secrets", "writemerge", "execute"), "apply/render"),
			onlyIn:  map[string]string{"apply/internal/execute": "execute.go"},
		},
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
					t.Errorf("%s imports %s: not among %q", filepath.Join(tc.dir, name), p, tc.allowed)
				}
				if only, ok := tc.onlyIn[rel]; ok && name != only {
					t.Errorf("%s imports %s: only %s may (the planner does not call the executor)", filepath.Join(tc.dir, name), p, only)
				}
			}
		}
		if files == 0 {
			t.Errorf("%s: no Go files scanned", tc.dir)
		}
	}
}
