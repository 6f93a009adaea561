package bundles

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// deadPID is a process id no process has.
const deadPID = 2147483646

func writeTextFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, data := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRewriteKeepsForeignFiles: writing a bundle over an existing bundle
// folder swaps in a new directory that still has every file octobundle
// did not write (a .git directory with an empty folder and a symbolic
// link, Thumbs.db and desktop.ini, the user's .gitattributes), and drops the old bundle's
// files the new one does not have.
func TestRewriteKeepsForeignFiles(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "b")
	old := sampleBundle(t, testTime)
	if err := old.Write(target); err != nil {
		t.Fatal(err)
	}
	foreign := map[string]string{".git/HEAD": "ref: refs/heads/main\n", ".git/objects/ab/cdef": "blob", "Thumbs.db": "thumbs", ".gitattributes": "* -text\n", "projects/desktop.ini": "ini"}
	writeTextFiles(t, target, foreign)
	if err := os.MkdirAll(filepath.Join(target, ".git", "refs", "tags"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("HEAD", filepath.Join(target, ".git", "LINK")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "environments", "Gone.json"), []byte("{\n  \"Name\": \"Gone\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	headBefore, _ := os.Stat(filepath.Join(target, ".git", "HEAD"))

	b := sampleBundle(t, testTime.Add(1))
	if ok, err := b.StageDir(target); !ok || err != nil {
		t.Fatalf("StageDir = %v, %v", ok, err)
	}
	if err := b.Write(target); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(target); err != nil {
		t.Fatalf("verify: %v", err)
	}
	for p, want := range foreign {
		if got, err := os.ReadFile(filepath.Join(target, filepath.FromSlash(p))); err != nil || string(got) != want {
			t.Errorf("%s: %q, %v", p, got, err)
		}
	}
	if st, err := os.Stat(filepath.Join(target, ".git", "refs", "tags")); err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
		t.Errorf("empty .git/refs/tags: %v, %v", st, err)
	}
	if to, err := os.Readlink(filepath.Join(target, ".git", "LINK")); err != nil || to != "HEAD" {
		t.Errorf("LINK: %q, %v", to, err)
	}
	if headAfter, _ := os.Stat(filepath.Join(target, ".git", "HEAD")); !os.SameFile(headBefore, headAfter) {
		t.Error(".git/HEAD is not the same file")
	}
	if _, err := os.Stat(filepath.Join(target, "environments", "Gone.json")); !os.IsNotExist(err) {
		t.Errorf("the old bundle's extra file is still there: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("left beside the bundle: %v", ents)
	}
}

// TestCleanStaleSiblings: a write to a path removes what writers of that
// path that died left beside it, and nothing else: an archive's temporary
// file, a stage holding the new bundle's files and links of the folder's
// own files, an old bundle set aside while the folder was missing
// (restored), and a stage holding a file that is no one's but the user's
// (moved back into the folder). Siblings of live processes, of other
// hosts, of other paths and without the marker are left alone.
func TestCleanStaleSiblings(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "b")
	b := sampleBundle(t, testTime)
	if err := b.Write(target); err != nil {
		t.Fatal(err)
	}
	writeTextFiles(t, target, map[string]string{".git/HEAD": "ref: refs/heads/main\n"})
	mark := hostMark()
	dead := "." + "b" + tmpInfix + mark + "-" + strconv.Itoa(deadPID) + "-"
	// A dead writer's stage: the new bundle's files, a link of .git/HEAD,
	// and a file the user put there meanwhile.
	stage := filepath.Join(dir, dead+"1")
	if err := b.Write(filepath.Join(dir, "scratch")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "scratch"), stage); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(stage, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(target, ".git", "HEAD"), filepath.Join(stage, ".git", "HEAD")); err != nil {
		t.Fatal(err)
	}
	writeTextFiles(t, stage, map[string]string{".git/new-object": "user's"})
	// A dead writer's archive temporary file (10 MB in the issue).
	arcTmp := filepath.Join(dir, ".b.tar.zst"+tmpInfix+mark+"-"+strconv.Itoa(deadPID)+"-2")
	if err := os.WriteFile(arcTmp, bytes.Repeat([]byte("x"), 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	// Not ours to touch.
	keep := []string{
		"." + "b" + tmpInfix + mark + "-" + strconv.Itoa(os.Getppid()) + "-3", // a live process
		"." + "b" + tmpInfix + "00000000-" + strconv.Itoa(deadPID) + "-4",     // another host
		".b.tmp-123456", // no marker (an older octobundle)
		".c" + tmpInfix + mark + "-" + strconv.Itoa(deadPID) + "-5", // another path
	}
	for _, k := range keep {
		writeTextFiles(t, filepath.Join(dir, k), map[string]string{"manifest.json": "{}"})
	}

	c := sampleBundle(t, testTime.Add(1))
	if err := c.Write(target); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stage); !os.IsNotExist(err) {
		t.Errorf("the dead writer's stage is left: %v", err)
	}
	if got, err := os.ReadFile(filepath.Join(target, ".git", "new-object")); err != nil || string(got) != "user's" {
		t.Errorf("the user's file in the stage was not moved into the bundle folder: %q, %v", got, err)
	}
	if got, err := os.ReadFile(filepath.Join(target, ".git", "HEAD")); err != nil || !strings.HasPrefix(string(got), "ref:") {
		t.Errorf(".git/HEAD: %q, %v", got, err)
	}
	for _, k := range keep {
		if _, err := os.Stat(filepath.Join(dir, k, "manifest.json")); err != nil {
			t.Errorf("%s was touched: %v", k, err)
		}
	}
	if err := c.Write(filepath.Join(dir, "b.tar.zst")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(arcTmp); !os.IsNotExist(err) {
		t.Errorf("the dead writer's archive temporary file is left: %v", err)
	}

	// The folder was set aside by a writer that died before the new one
	// was renamed in: the next write puts it back first, then replaces it.
	aside := filepath.Join(dir, ".b"+oldInfix+mark+"-"+strconv.Itoa(deadPID)+"-6")
	if err := os.Rename(target, aside); err != nil {
		t.Fatal(err)
	}
	cleanStale(target)
	if _, err := os.Stat(aside); !os.IsNotExist(err) {
		t.Errorf("the set-aside bundle is still aside: %v", err)
	}
	if _, err := Verify(target); err != nil {
		t.Errorf("the restored bundle: %v", err)
	}
	if _, err := os.Stat(filepath.Join(target, ".git", "HEAD")); err != nil {
		t.Errorf("the restored folder lost .git: %v", err)
	}
}
