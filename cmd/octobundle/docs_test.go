package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// docsHosts are the example servers the docs name, and the simulators that
// stand in for them when TestDocsExamples runs the examples.
var docsHosts = map[string]string{
	"https://dev.example.com":  "$DEV_URL",  // the sample source instance
	"https://prod.example.com": "$PROD_URL", // the sample destination instance
	"https://dc2.example.com":  "$DC2_URL",  // a second destination (fan-out)
}

// TestDocsExamples runs every ```sh block of docs/*.md, in order, one shell
// script per block (sh -e: a failing command fails the test), one
// testscript per page, so a page's later blocks see what its earlier ones
// wrote. The page's servers are simulators: https://dev.example.com is the
// sample source instance, https://prod.example.com and
// https://dc2.example.com copies of the sample destination; dev.key,
// prod.key and dc2.key hold their API key, and the sample rule file is
// staging-production.yaml in the working directory. A block preceded by a
// line "<!-- not run: REASON -->" is skipped (and the reason is logged).
func TestDocsExamples(t *testing.T) {
	t.Parallel()
	pages, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	blocks := 0
	for _, page := range pages {
		data, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		script, n := docsScript(t, filepath.Base(page), string(data))
		if n == 0 {
			continue
		}
		blocks += n
		name := strings.TrimSuffix(filepath.Base(page), ".md") + ".txtar"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if blocks < 1 {
		t.Fatalf("found %d runnable sh blocks in docs/*.md; the quick start, concepts, exit codes and troubleshooting pages have more", blocks)
	}
	testscript.Run(t, scriptParams(t, dir))
}

// verbatimMark marks a page whose blocks run exactly as printed, as one
// shell script, start to end (docs/quickstart.md): no simulators are
// started for it and no URL is replaced — the page starts what it needs —
// and it runs in a folder that holds the repository's testdata, as a
// clone's root does.
const verbatimMark = "<!-- docs-test: verbatim -->"

// docsScript turns the ```sh blocks of one page into a testscript, and
// returns it with the number of blocks it runs.
func docsScript(t *testing.T, page, text string) (string, int) {
	if strings.Contains(text, verbatimMark) {
		return verbatimScript(t, page, text)
	}
	var head, files strings.Builder
	head.WriteString("# The sh examples of docs/" + page + ".\n")
	head.WriteString("sim DEV testdata/instances/source.json\n")
	head.WriteString("sim PROD testdata/instances/destination.json\n")
	head.WriteString("sim DC2 testdata/instances/destination.json\n")
	head.WriteString("exec sh -c 'for k in dev prod dc2; do echo \"$OCTOPUS_API_KEY\" > $k.key; done; cp \"$REPO/testdata/rules/staging-production.yaml\" .'\n")
	head.WriteString("env OCTOPUS_API_KEY=\n")
	blocks, lines := shBlocks(t, page, text)
	for n, body := range blocks {
		for host, v := range docsHosts {
			body = strings.ReplaceAll(body, host, v)
		}
		name := fmt.Sprintf("block%d.sh", n+1)
		fmt.Fprintf(&head, "# docs/%s:%d\nexec sh -e %s\n", page, lines[n], name)
		fmt.Fprintf(&files, "-- %s --\n%s\n", name, body)
	}
	n := len(blocks)
	return head.String() + "\n" + files.String(), n
}

// shBlocks returns the ```sh blocks of a page that run, each with its
// first line number, and logs the skipped ones.
func shBlocks(t *testing.T, page, text string) (blocks []string, lines []int) {
	all := strings.Split(text, "\n")
	for i := 0; i < len(all); i++ {
		if strings.TrimSpace(all[i]) != "```sh" {
			continue
		}
		start := i + 1
		skip := ""
		if i > 0 {
			if r, ok := strings.CutPrefix(strings.TrimSpace(all[i-1]), "<!-- not run:"); ok {
				skip = strings.TrimSpace(strings.TrimSuffix(r, "-->"))
			}
		}
		var block []string
		for i++; i < len(all) && strings.TrimSpace(all[i]) != "```"; i++ {
			block = append(block, all[i])
		}
		if skip != "" {
			t.Logf("docs/%s:%d not run: %s", page, start, skip)
			continue
		}
		blocks = append(blocks, strings.Join(block, "\n"))
		lines = append(lines, start)
	}
	return blocks, lines
}

// verbatimScript is docsScript for a page marked verbatimMark: its blocks,
// unchanged, as one sh -e script. The harness adds only a trap that stops
// what the page left running in the background if it fails half way.
func verbatimScript(t *testing.T, page, text string) (string, int) {
	blocks, lines := shBlocks(t, page, text)
	var b strings.Builder
	b.WriteString("trap 'rc=$?; for p in $(jobs -p); do kill \"$p\" 2>/dev/null; done; exit $rc' EXIT\n")
	for i, blk := range blocks {
		fmt.Fprintf(&b, "# docs/%s:%d\n%s\n", page, lines[i], blk)
	}
	script := "# The sh examples of docs/" + page + ", verbatim, as one script.\n" +
		"symlink testdata -> $REPO/testdata\n" +
		"env OCTOPUS_API_KEY=\n" +
		"exec sh -e page.sh\n\n-- page.sh --\n" + b.String()
	return script, len(blocks)
}

// TestSecurityTableNamesTests: every test the attack table of
// docs/security.md names exists (a Go test function somewhere in the
// repository, or a script in testdata/script), so the table cannot point
// at a test that was renamed or removed.
func TestSecurityTableNamesTests(t *testing.T) {
	data, err := os.ReadFile("../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "## Every attack tried")
	if start < 0 {
		t.Fatal("docs/security.md has no attack table")
	}
	table := text[start:]
	if end := strings.Index(table[2:], "\n## "); end >= 0 {
		table = table[:end+2]
	}
	funcs := map[string]bool{}
	err = filepath.WalkDir("../..", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return err
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(src), "\n") {
			if name, ok := strings.CutPrefix(line, "func Test"); ok {
				funcs["Test"+name[:strings.IndexAny(name, "(")]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, named := 0, 0
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| attack") {
			continue
		}
		rows++
		cells := strings.Split(line, "|")
		last := cells[len(cells)-2]
		for _, part := range strings.Split(last, "`")[1:] {
			switch name, _, _ := strings.Cut(part, " "); {
			case strings.HasSuffix(name, ".txtar"):
				named++
				if _, err := os.Stat(filepath.Join("testdata", "script", name)); err != nil {
					t.Errorf("docs/security.md names %s, which is not a script", name)
				}
			case strings.HasPrefix(name, "Test"):
				named++
				if !funcs[name] {
					t.Errorf("docs/security.md names %s, which is no test", name)
				}
			}
		}
	}
	if rows < 20 || named < rows {
		t.Errorf("the attack table has %d rows naming %d tests", rows, named)
	}
}
