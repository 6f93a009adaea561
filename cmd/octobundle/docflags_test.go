package main

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsUseCurrentFlagNames: no example in the README, docs/ or
// docs/examples/ runs a command with the old name of a flag (an alias the
// help calls the old name, such as diff --format for --output).
func TestDocsUseCurrentFlagNames(t *testing.T) {
	type old struct{ cmd, alias, name string }
	var olds []old
	for _, cmd := range newApp(io.Discard, io.Discard).Commands {
		for _, f := range cmd.Flags {
			names := f.Names()
			for _, a := range names[1:] {
				olds = append(olds, old{cmd.Name, a, names[0]})
			}
		}
	}
	if len(olds) == 0 {
		t.Skip("no command has a flag alias")
	}
	files := []string{"../../README.md"}
	err := filepath.WalkDir("../../docs", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".md") || strings.HasSuffix(p, ".sh") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, o := range olds {
				re := regexp.MustCompile(`octobundle ` + regexp.QuoteMeta(o.cmd) + `\b.*\s--` + regexp.QuoteMeta(o.alias) + `\b`)
				if re.MatchString(line) {
					t.Errorf("%s:%d: %s --%s is the old name of --%s: %s", f, i+1, o.cmd, o.alias, o.name, strings.TrimSpace(line))
				}
			}
			checked++
		}
	}
	t.Logf("%d lines of %d files checked for %d old flag names", checked, len(files), len(olds))
}
