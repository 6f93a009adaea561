package bundles

import (
	"archive/tar"
	"bytes"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/octobundle/octobundle/schema"
)

// TestStageDir checks that a directory written while the bundle was filled
// (StageDir, then Write) holds exactly what writing the finished bundle at
// once holds, whatever happened between: entities put again with other
// content (and other sidecar files), put again unchanged, removed, added
// after the last put; and that nothing is left beside it.
func TestStageDir(t *testing.T) {
	script := func(names ...string) string {
		var steps []string
		for _, n := range names {
			steps = append(steps, `{"Name":"`+n+`","Actions":[{"Name":"`+n+`","ActionType":"Octopus.Script","Properties":{"Octopus.Action.Script.Syntax":"Bash","Octopus.Action.Script.ScriptBody":"echo `+n+`\nexit 0\n"}}]}`)
		}
		return `{"Steps":[` + strings.Join(steps, ",") + `]}`
	}
	type put struct {
		kind  string
		names []string
		doc   string // "" removes
	}
	for _, tc := range []struct {
		name string
		puts []put
	}{
		{"each entity once", []put{
			{schema.Environment, []string{"Production"}, `{"Name":"Production"}`},
			{schema.Project, []string{"OctoFX"}, `{"Name":"OctoFX"}`},
			{schema.DeploymentProcess, []string{"OctoFX"}, script("Build", "Deploy")},
		}},
		{"put again: other content, fewer sidecars", []put{
			{schema.Project, []string{"OctoFX"}, `{"Name":"OctoFX"}`},
			{schema.DeploymentProcess, []string{"OctoFX"}, script("Build", "Deploy", "Notify")},
			{schema.DeploymentProcess, []string{"OctoFX"}, script("Deploy")},
			{schema.Environment, []string{"Production"}, `{"Name":"Production","Description":"old"}`},
			{schema.Environment, []string{"Production"}, `{"Name":"Production","Description":"new"}`},
		}},
		{"put again unchanged", []put{
			{schema.Project, []string{"OctoFX"}, `{"Name":"OctoFX"}`},
			{schema.Project, []string{"OctoFX"}, `{"Name":"OctoFX"}`},
		}},
		{"removed, leaving empty directories", []put{
			{schema.Environment, []string{"Production"}, `{"Name":"Production"}`},
			{schema.Project, []string{"OctoFX"}, `{"Name":"OctoFX"}`},
			{schema.DeploymentProcess, []string{"OctoFX"}, script("Build")},
			{schema.Runbook, []string{"OctoFX", "Restart"}, `{"Name":"Restart"}`},
			{schema.Runbook, []string{"OctoFX", "Restart"}, ""},
			{schema.DeploymentProcess, []string{"OctoFX"}, ""},
			{schema.Project, []string{"OctoFX"}, ""},
		}},
		{"removed, then put in another case", []put{
			{schema.Environment, []string{"Production"}, `{"Name":"Production"}`},
			{schema.Environment, []string{"Production"}, ""},
			{schema.Environment, []string{"PRODUCTION"}, `{"Name":"PRODUCTION"}`},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fill := func(b *Bundle) {
				for _, p := range tc.puts {
					k := schema.MustLookup(p.kind)
					if p.doc == "" {
						esc := make([]string, len(p.names))
						for i, n := range p.names {
							esc[i] = EscapeName(n)
						}
						path, err := k.Path(esc...)
						if err != nil {
							t.Fatal(err)
						}
						if !b.Remove(path) {
							t.Fatalf("remove %s: not there", path)
						}
						continue
					}
					doc, err := Decode([]byte(p.doc))
					if err != nil {
						t.Fatal(err)
					}
					if _, err := b.PutEntity(k, p.names, doc); err != nil {
						t.Fatal(err)
					}
				}
			}
			dir := t.TempDir()
			// The reference is the archive form: another writer (tar), so
			// a fault of the directory writer does not hide in both.
			whole, staged := filepath.Join(dir, "whole.tar.zst"), filepath.Join(dir, "out", "staged")

			b := New(sampleManifest(testTime))
			fill(b)
			if err := b.Write(whole); err != nil {
				t.Fatal(err)
			}

			s := New(sampleManifest(testTime))
			ok, err := s.StageDir(staged)
			if err != nil || !ok {
				t.Fatalf("StageDir = %v, %v", ok, err)
			}
			fill(s)
			if _, err := os.Stat(staged); !os.IsNotExist(err) {
				t.Fatalf("%s exists before Write: %v", staged, err)
			}
			if err := s.Write(staged); err != nil {
				t.Fatal(err)
			}
			want := archiveFiles(t, whole)
			want[GitAttributesFile] = []byte(GitAttributes)
			if got := files(t, staged); !reflect.DeepEqual(got, want) {
				t.Errorf("staged directory differs from the archive:\n got %v\nwant %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
			}
			wantDirs := map[string]bool{}
			for p := range want {
				for d := path.Dir(p); d != "."; d = path.Dir(d) {
					wantDirs[d] = true
				}
			}
			if got, want := slices.Sorted(slices.Values(dirs(t, staged))), slices.Sorted(maps.Keys(wantDirs)); !reflect.DeepEqual(got, want) {
				t.Errorf("directories:\n got %v\nwant %v", got, want)
			}
			if left, _ := os.ReadDir(filepath.Dir(staged)); len(left) != 1 {
				t.Errorf("beside the bundle: %v", left)
			}
			if _, err := Read(staged, ReadOptions{}); err != nil {
				t.Errorf("reading the staged bundle: %v", err)
			}
		})
	}
}

// TestStageDirFallbacks checks what StageDir does not stage, and what
// happens to a stage that is not finished.
func TestStageDirFallbacks(t *testing.T) {
	dir := t.TempDir()
	b := sampleBundle(t, testTime)

	existing := filepath.Join(dir, "existing")
	if err := os.Mkdir(existing, 0o755); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.StageDir(filepath.Join(dir, "b.tar.zst")); ok || err != nil {
		t.Errorf("StageDir(archive) = %v, %v; want false, nil", ok, err)
	}
	// An existing directory is staged (and swapped by Write).
	if ok, err := b.StageDir(existing); !ok || err != nil {
		t.Errorf("StageDir(%s) = %v, %v; want true, nil", existing, ok, err)
	}
	b.DiscardStage()

	// Discarded: the temporary directory goes, nothing else.
	other := filepath.Join(dir, "sub")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(other, "keep.txt")
	if err := os.WriteFile(keep, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := New(sampleManifest(testTime))
	if ok, err := c.StageDir(filepath.Join(other, "bundle")); !ok || err != nil {
		t.Fatalf("StageDir = %v, %v", ok, err)
	}
	doc, _ := Decode([]byte(`{"Name":"Dev"}`))
	if _, err := c.PutEntity(schema.MustLookup(schema.Environment), []string{"Dev"}, doc); err != nil {
		t.Fatal(err)
	}
	c.DiscardStage()
	if left, _ := os.ReadDir(other); len(left) != 1 || left[0].Name() != "keep.txt" {
		t.Errorf("after DiscardStage: %v", left)
	}

	// Discarded, under folders that did not exist: they go too.
	f := New(sampleManifest(testTime))
	lone := filepath.Join(dir, "lone", "deeper", "bundle")
	if ok, err := f.StageDir(lone); !ok || err != nil {
		t.Fatalf("StageDir = %v, %v", ok, err)
	}
	f.DiscardStage()
	if _, err := os.Stat(filepath.Join(dir, "lone")); !os.IsNotExist(err) {
		t.Errorf("the folders StageDir made are left: %v", err)
	}

	// The target appeared after StageDir: Write swaps it, as any existing
	// directory, carrying its other files over.
	d := New(sampleManifest(testTime))
	late := filepath.Join(dir, "late")
	if ok, err := d.StageDir(late); !ok || err != nil {
		t.Fatalf("StageDir = %v, %v", ok, err)
	}
	if _, err := d.PutEntity(schema.MustLookup(schema.Environment), []string{"Dev"}, doc); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(late, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(late, ".git"), []byte("gitdir: elsewhere"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.Write(late); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(late, ".git")); err != nil || !bytes.Equal(data, []byte("gitdir: elsewhere")) {
		t.Errorf(".git: %q, %v", data, err)
	}
	if _, err := Read(late, ReadOptions{}); err != nil {
		t.Errorf("reading the bundle: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// dirs lists the directories below dir.
func dirs(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// archiveFiles returns the regular files of the archive at p (path →
// bytes), ignored files left out.
func archiveFiles(t *testing.T, p string) map[string][]byte {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag != tar.TypeReg || Ignored(hdr.Name) {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[hdr.Name] = data
	}
}
