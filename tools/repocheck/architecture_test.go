package repocheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// packages returns the module's package folders (slash-separated, relative
// to root): every folder with a non-test Go file, outside testdata and
// hidden folders.
func packages(t *testing.T, root string) []string {
	t.Helper()
	var pkgs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), ".go") && !strings.HasSuffix(d.Name(), "_test.go") {
			rel, err := filepath.Rel(root, filepath.Dir(path))
			if err != nil {
				return err
			}
			if rel = filepath.ToSlash(rel); !slices.Contains(pkgs, rel) {
				pkgs = append(pkgs, rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// codeSpan matches a Markdown code span that may name a package or a file.
var codeSpan = regexp.MustCompile("`([a-z][a-z0-9_]*(?:/[a-zA-Z0-9_.]+)*)`")

// TestArchitectureNamesPackages: ARCHITECTURE.md names every package of the
// module, every package or file it names exists, and it stays under 200
// lines.
func TestArchitectureNamesPackages(t *testing.T) {
	root := repoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n >= 200 {
		t.Errorf("ARCHITECTURE.md has %d lines; keep it under 200", n)
	}
	pkgs := packages(t, root)
	if len(pkgs) < 20 {
		t.Fatalf("found %d packages under %s", len(pkgs), root)
	}
	tops := map[string]bool{}
	for _, p := range pkgs {
		tops[strings.SplitN(p, "/", 2)[0]] = true
	}
	named := map[string]bool{}
	for _, m := range codeSpan.FindAllStringSubmatch(string(data), -1) {
		name := m[1]
		if !tops[strings.SplitN(name, "/", 2)[0]] {
			continue // not a path in the module (a flag, a function, a word)
		}
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(name))); err != nil {
			t.Errorf("ARCHITECTURE.md names %s, which does not exist", name)
			continue
		}
		named[name] = true
	}
	for _, p := range pkgs {
		if !named[p] {
			t.Errorf("ARCHITECTURE.md does not name package %s", p)
		}
	}
}
