package repocheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the repository root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestHooks commits into a scratch repository that uses .githooks and
// checks what each hook lets through.
func TestHooks(t *testing.T) {
	for _, tool := range []string{"git", "gofmt"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not on PATH: the hooks cannot run here", tool)
		}
	}
	hooks := filepath.Join(repoRoot(t), ".githooks")
	const formatted = "package p\n\nfunc F() {}\n"
	const unformatted = "package p\nfunc   F( ) {  }\n"
	long := strings.Repeat("x", 73)
	tests := []struct {
		name      string
		files     map[string]string
		subject   string
		wantError string // empty: the commit succeeds
	}{
		{"formatted Go file", map[string]string{"p.go": formatted}, "add p", ""},
		{"unformatted Go file", map[string]string{"p.go": unformatted}, "add p", "gofmt would change the staged version of:\n  p.go"},
		{"unformatted file in a folder", map[string]string{"a/q.go": unformatted, "p.go": formatted}, "add q", "a/q.go"},
		{"not Go", map[string]string{"notes.txt": unformatted}, "add notes", ""},
		{"subject of 72", map[string]string{"p.go": formatted}, strings.Repeat("x", 72), ""},
		{"subject of 73", map[string]string{"p.go": formatted}, long, "the subject has 73 characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			git := func(args ...string) (string, error) {
				cmd := exec.Command("git", args...)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
					"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
				out, err := cmd.CombinedOutput()
				return string(out), err
			}
			for _, args := range [][]string{{"init", "-q"}, {"config", "core.hooksPath", hooks}} {
				if out, err := git(args...); err != nil {
					t.Fatalf("git %v: %v\n%s", args, err, out)
				}
			}
			for name, body := range tc.files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if out, err := git("add", "."); err != nil {
				t.Fatalf("git add: %v\n%s", err, out)
			}
			out, err := git("commit", "-q", "-m", tc.subject, "-m", "body")
			switch {
			case tc.wantError == "" && err != nil:
				t.Fatalf("commit refused: %v\n%s", err, out)
			case tc.wantError != "" && err == nil:
				t.Fatalf("commit accepted, want it refused with %q", tc.wantError)
			case tc.wantError != "" && !strings.Contains(out, tc.wantError):
				t.Fatalf("refusal says:\n%s\nwant it to contain %q", out, tc.wantError)
			}
			if tc.wantError != "" {
				if head, err := git("rev-parse", "-q", "--verify", "HEAD"); err == nil {
					t.Fatalf("a refused commit was recorded: %s", head)
				}
			}
		})
	}
}
