package bundles

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/schema"
)

// putFiles creates the files (path → content) below dir.
func putFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWriteIntoExistingFolder: writing a bundle into a folder replaces
// files of the bundle layout only.
func TestWriteIntoExistingFolder(t *testing.T) {
	foreign := map[string]string{
		"README.md":                  "# our bundles\n",
		".git/HEAD":                  "ref: refs/heads/main\n",
		".github/workflows/diff.yml": "on: pull_request\n",
		"notes/todo.txt":             "x\n",
		"environments/README.md":     "not a layout file\n",
	}
	cases := []struct {
		name     string
		before   map[string]string // extra files before the write (besides foreign ones)
		previous bool              // a previous bundle (with an extra environment) is there
		gone     []string          // layout files that must be removed
	}{
		{name: "empty folder"},
		{name: "folder with foreign files only", before: foreign},
		{name: "previous bundle and foreign files", before: foreign, previous: true, gone: []string{"environments/Gone.json"}},
		{name: "own gitattributes kept", before: map[string]string{".gitattributes": "*.json -text\n"}},
		{name: "leftover of an interrupted write removed", previous: true, gone: []string{"environments/Gone.json", "environments/.Production.json.octobundle-tmp"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "b")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if tc.previous {
				old := sampleBundle(t, testTime)
				if _, err := old.PutEntity(schema.MustLookup(schema.Environment), []string{"Gone"}, map[string]any{"Name": "Gone"}); err != nil {
					t.Fatal(err)
				}
				if err := old.Write(dir); err != nil {
					t.Fatal(err)
				}
			}
			putFiles(t, dir, tc.before)
			if tc.previous {
				putFiles(t, dir, map[string]string{"environments/.Production.json.octobundle-tmp": "{"})
			}
			b := sampleBundle(t, testTime)
			if err := b.Write(dir); err != nil {
				t.Fatal(err)
			}
			for p, c := range tc.before {
				got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
				if err != nil || string(got) != c {
					t.Errorf("%s was changed or removed: %q %v", p, got, err)
				}
			}
			for _, p := range tc.gone {
				if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p))); !os.IsNotExist(err) {
					t.Errorf("%s (no longer in the bundle) was not removed: %v", p, err)
				}
			}
			if _, ok := tc.before[GitAttributesFile]; !ok {
				if got, err := os.ReadFile(filepath.Join(dir, GitAttributesFile)); err != nil || string(got) != GitAttributes {
					t.Errorf(".gitattributes not written: %q %v", got, err)
				}
			}
			r, err := Read(dir, ReadOptions{})
			if err != nil && !strings.Contains(err.Error(), "unknown file") {
				t.Fatal(err)
			}
			if err == nil && r.Digest() != b.Digest() {
				t.Errorf("read back digest %s, wrote %s", r.Digest(), b.Digest())
			}
		})
	}
}

func TestWriteUnchangedFilesKeepTheirTime(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "b")
	b := sampleBundle(t, testTime)
	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "environments", "Production.json")
	st0, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, testTime, testTime); err != nil {
		t.Fatal(err)
	}
	if err := sampleBundle(t, testTime.Add(3600e9)).Write(dir); err != nil {
		t.Fatal(err)
	}
	st1, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !st1.ModTime().Equal(testTime) || st1.Size() != st0.Size() {
		t.Errorf("an unchanged entity file was rewritten (mtime %v)", st1.ModTime())
	}
}

// TestReadIgnoresWellKnownFiles: git, macOS and Windows files are skipped;
// other unknown files still fail.
func TestReadIgnoresWellKnownFiles(t *testing.T) {
	cases := []struct {
		name  string
		extra map[string]string
		want  string // error substring, "" for success
	}{
		{"DS_Store everywhere", map[string]string{".DS_Store": "\x00\x01", "projects/.DS_Store": "x", "projects/OctoFX/.DS_Store": "x"}, ""},
		{"git directory and attributes", map[string]string{".git/config": "[core]\n", ".git/objects/ab/cd": "x", ".gitattributes": "* -text\n"}, ""},
		{"git file (worktree)", map[string]string{".git": "gitdir: ../x\n"}, ""},
		{"Windows files", map[string]string{"Thumbs.db": "x", "environments/desktop.ini": "x", "THUMBS.DB": ""}, ""},
		{"README is unknown", map[string]string{"README.md": "x"}, "README.md: unknown file"},
		{"stray JSON is unknown", map[string]string{"environments/Prod.json.bak": "x"}, "environments/Prod.json.bak: unknown file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "b")
			b := sampleBundle(t, testTime)
			if err := b.Write(dir); err != nil {
				t.Fatal(err)
			}
			putFiles(t, dir, tc.extra)
			_, err := Read(dir, ReadOptions{})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Read: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Read: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestReadNamesCRLF(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "b")
	if err := sampleBundle(t, testTime).Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{ManifestFile, ChecksumsFile, "environments/Production.json"} {
		full := filepath.Join(dir, filepath.FromSlash(p))
		data, err := os.ReadFile(full)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(strings.ReplaceAll(string(data), "\n", "\r\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Read(dir, ReadOptions{})
	if err == nil {
		t.Fatal("a bundle with CRLF line endings was accepted")
	}
	for _, want := range []string{"checksums.txt and 2 other files: CRLF (Windows) line endings", "core.autocrlf", `"* -text"`, ".gitattributes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// git runs git in dir and fails the test on error.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestGitRoundTrip commits a bundle to a real git repository (a README and
// CI file beside it, .DS_Store files inside), re-exports into the work tree,
// and checks it out as Windows does (core.autocrlf=true): with the
// .gitattributes export writes, verify passes; without it, verify names
// CRLF and the fix, and the fix works.
func TestGitRoundTrip(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: the git round trip is not tested")
	}
	golden := filepath.Join("..", "testdata", "golden", "source")
	gb, err := Read(golden, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, withAttrs := range []bool{true, false} {
		name := map[bool]string{true: "with .gitattributes", false: "without .gitattributes"}[withAttrs]
		t.Run(name, func(t *testing.T) {
			tmp := t.TempDir()
			repo := filepath.Join(tmp, "repo")
			if err := os.MkdirAll(repo, 0o755); err != nil {
				t.Fatal(err)
			}
			git(t, repo, "init", "-q", "-b", "main")
			putFiles(t, repo, map[string]string{"README.md": "# bundles\n", ".gitlab-ci.yml": "diff: {}\n"})
			// The bundle folder is a git work tree of its own (.git inside)
			// in the repository: export into it twice.
			bdir := filepath.Join(repo, "prod")
			if err := os.MkdirAll(bdir, 0o755); err != nil {
				t.Fatal(err)
			}
			git(t, bdir, "init", "-q", "-b", "main")
			if err := gb.Write(bdir); err != nil {
				t.Fatal(err)
			}
			again := gb.Clone()
			again.Manifest.ExportedAt = again.Manifest.ExportedAt.Add(3600e9)
			if err := again.Write(bdir); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(bdir, ".git", "HEAD")); err != nil {
				t.Fatalf("export into the git work tree removed .git: %v", err)
			}
			if err := os.RemoveAll(filepath.Join(bdir, ".git")); err != nil {
				t.Fatal(err)
			}
			if !withAttrs {
				if err := os.Remove(filepath.Join(bdir, GitAttributesFile)); err != nil {
					t.Fatal(err)
				}
			}
			putFiles(t, bdir, map[string]string{".DS_Store": "\x00Bud1", "projects/OctoFX/.DS_Store": "\x00Bud1"})
			if _, err := Read(bdir, ReadOptions{}); err != nil {
				t.Fatalf("verify in the work tree: %v", err)
			}
			git(t, repo, "add", "-A")
			git(t, repo, "commit", "-q", "-m", "bundle")

			clone := filepath.Join(tmp, "windows")
			git(t, tmp, "-c", "core.autocrlf=true", "clone", "-q", "repo", "windows")
			git(t, clone, "config", "core.autocrlf", "true")
			win := filepath.Join(clone, "prod")
			putFiles(t, win, map[string]string{"Thumbs.db": "x", "desktop.ini": "[.ShellClassInfo]\r\n"})
			_, err := Read(win, ReadOptions{})
			if withAttrs {
				if err != nil {
					t.Fatalf("verify of a core.autocrlf=true checkout: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "CRLF") || !strings.Contains(err.Error(), "* -text") {
				t.Fatalf("verify of a converted checkout: %v, want the CRLF error with its fix", err)
			}
			// The fix the error gives.
			putFiles(t, win, map[string]string{GitAttributesFile: GitAttributes})
			git(t, clone, "add", "prod/"+GitAttributesFile)
			git(t, clone, "commit", "-q", "-m", "keep line endings")
			if err := os.RemoveAll(win); err != nil {
				t.Fatal(err)
			}
			git(t, clone, "checkout", "HEAD", "--", "prod")
			if _, err := Read(win, ReadOptions{}); err != nil {
				t.Fatalf("verify after the fix: %v", err)
			}
		})
	}
}
