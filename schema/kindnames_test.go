package schema

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// kindNameExempt are the directories (relative to the module root) whose
// code may name kinds: the registry itself, the simulator, which plays an
// Octopus server kind by kind, and the generator of simulated instances.
// Test files and testdata are not scanned.
var kindNameExempt = []string{"schema", "tools/octosim", "tools/gen"}

// namespaceNames are the names a reference may point at that are not
// collection kinds (Action, ProcessOwner …): comparing with them is the
// same special case as comparing with a kind.
var namespaceNames = []string{Action, ProcessOwner, ProjectTemplate, LibraryTemplate, MachineRole, TenantTag}

// kindNames returns every name the scan treats as a kind name: the
// registered kinds and the namespaces references point at.
func kindNames() map[string]bool {
	out := map[string]bool{}
	for _, k := range Kinds() {
		out[k.Name] = true
	}
	for _, n := range namespaceNames {
		out[n] = true
	}
	return out
}

// TestNoKindNamesOutsideSchema enforces that code outside the registry
// (and the simulator and generator) never asks which kind it holds: no
// comparison (== or !=) and no switch case between an expression and a
// kind name, spelled as a schema constant (schema.Project) or a string
// literal ("Project"). What differs per kind is registry data (see Kind),
// which the code asks instead.
func TestNoKindNamesOutsideSchema(t *testing.T) {
	found, files, err := scanKindNames("..", kindNames())
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("scanned %d files; the module root is not where the test expects it", files)
	}
	for _, f := range found {
		t.Errorf("%s: kind name compared outside schema/ (make it registry data): %s", f.pos, f.expr)
	}
}

// TestScanKindNames checks the scanner itself on small sources: what it
// must flag and what it must leave alone.
func TestScanKindNames(t *testing.T) {
	const imp = "package p\nimport \"github.com/octobundle/octobundle/schema\"\n"
	names := map[string]bool{Project: true, Channel: true, Action: true}
	for _, tc := range []struct {
		name, src string
		want      int
	}{
		{"constant ==", imp + "func f(k *schema.Kind) bool { return k.Name == schema.Project }", 1},
		{"constant != on the left", imp + "func f(s string) bool { return schema.Channel != s }", 1},
		{"literal", imp + "func f(s string) bool { return s == \"Project\" }", 1},
		{"namespace name", imp + "func f(s string) bool { return s == schema.Action }", 1},
		{"switch case", imp + "func f(s string) int { switch s { case schema.Project, schema.Channel: return 1 }; return 0 }", 2},
		{"renamed import", "package p\nimport sc \"github.com/octobundle/octobundle/schema\"\nfunc f(s string) bool { return s == sc.Project }", 1},
		{"other constant", imp + "func f(r schema.Ref) bool { return r.To == schema.AnyKind || r.Within == schema.ScopeOwner }", 0},
		{"other literal", imp + "func f(s string) bool { return s == \"Variables\" }", 0},
		{"argument, not comparison", imp + "func f() *schema.Kind { return schema.MustLookup(schema.Project) }", 0},
		{"another package's constant", "package p\nimport \"x/schema\"\nfunc f(s string) bool { return s == schema.Project }", 0},
		{"type switch", imp + "func f(v any) int { switch v.(type) { case string: return 1 }; return 0 }", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fset := token.NewFileSet()
			file, err := parser.ParseFile(fset, "p.go", tc.src, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := scanFile(fset, file, names); len(got) != tc.want {
				t.Errorf("found %d (%v), want %d", len(got), got, tc.want)
			}
		})
	}
}

// kindNameUse is one comparison with a kind name.
type kindNameUse struct {
	pos  token.Position
	expr string
}

func (u kindNameUse) String() string { return fmt.Sprintf("%s: %s", u.pos, u.expr) }

// scanKindNames parses every non-test Go file below root, outside the
// exempt directories, and returns its comparisons with kind names and the
// number of files scanned.
func scanKindNames(root string, names map[string]bool) ([]kindNameUse, int, error) {
	fset := token.NewFileSet()
	var out []kindNameUse
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || slices.Contains(kindNameExempt, rel)) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		out = append(out, scanFile(fset, file, names)...)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, files, err
}

// scanFile returns the file's comparisons and switch cases whose operand
// is a kind name: a constant of the schema package or a string literal.
func scanFile(fset *token.FileSet, file *ast.File, names map[string]bool) []kindNameUse {
	local := ""
	for _, im := range file.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		if p != "github.com/octobundle/octobundle/schema" {
			continue
		}
		local = "schema"
		if im.Name != nil {
			local = im.Name.Name
		}
	}
	isKindName := func(e ast.Expr) bool {
		switch e := ast.Unparen(e).(type) {
		case *ast.BasicLit:
			s, err := strconv.Unquote(e.Value)
			return e.Kind == token.STRING && err == nil && names[s]
		case *ast.SelectorExpr:
			x, ok := e.X.(*ast.Ident)
			return ok && local != "" && x.Name == local && names[e.Sel.Name]
		}
		return false
	}
	var out []kindNameUse
	add := func(n ast.Node, what string) {
		out = append(out, kindNameUse{pos: fset.Position(n.Pos()), expr: what})
	}
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BinaryExpr:
			if (n.Op == token.EQL || n.Op == token.NEQ) && (isKindName(n.X) || isKindName(n.Y)) {
				add(n, exprString(fset, n))
			}
		case *ast.SwitchStmt:
			for _, c := range n.Body.List {
				for _, e := range c.(*ast.CaseClause).List {
					if isKindName(e) {
						add(e, "case "+exprString(fset, e))
					}
				}
			}
		}
		return true
	})
	return out
}

// exprString returns the source text of e, for messages.
func exprString(fset *token.FileSet, e ast.Node) string {
	var b strings.Builder
	if err := printer.Fprint(&b, fset, e); err != nil {
		return err.Error()
	}
	return b.String()
}
