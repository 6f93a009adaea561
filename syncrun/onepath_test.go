package syncrun_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// sequenceCalls are the calls that make up the sync sequence: outside
// apply, state and syncrun only syncrun may make them, so that the
// sequence is assembled in one place.
var sequenceCalls = map[string][]string{
	"github.com/octobundle/octobundle/apply":          {"MakePlan", "Execute", "Apply", "Drift", "Prefetch"},
	"github.com/octobundle/octobundle/internal/state": {"Open"},
}

// TestOnePath scans the module's non-test Go files and fails on a call of
// the sync sequence's steps made outside syncrun (and the packages that
// implement them).
func TestOnePath(t *testing.T) {
	root := filepath.Dir(testdata(t))
	allowed := map[string]bool{"apply": true, "syncrun": true, filepath.Join("internal", "state"): true}
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(root, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if de.IsDir() {
			if allowed[rel] || strings.HasPrefix(de.Name(), ".") || de.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		// The names this file gives the packages of the sequence.
		names := map[string]string{}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if _, ok := sequenceCalls[p]; !ok {
				continue
			}
			name := p[strings.LastIndex(p, "/")+1:]
			if imp.Name != nil {
				name = imp.Name.Name
			}
			names[name] = p
		}
		if len(names) == 0 {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			id, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			p, ok := names[id.Name]
			if !ok {
				return true
			}
			for _, fn := range sequenceCalls[p] {
				if sel.Sel.Name == fn {
					t.Errorf("%s: %s.%s: a step of the sync sequence outside syncrun; call syncrun instead", fset.Position(call.Pos()), id.Name, fn)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("scanned %d files under %s: the walk is blind", files, root)
	}
}
