package bundles

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/schema"
)

// manyProjects is a bundle of n projects, each with a deployment process
// of two scripts and a variable set with a multi-line value: six files
// per project, three of them sidecar files.
func manyProjects(t *testing.T, n int) *Bundle {
	t.Helper()
	b := New(sampleManifest(testTime))
	put := func(kind string, names []string, doc string) { putJSON(t, b, kind, names, doc) }
	put(schema.Environment, []string{"Production"}, `{"Name":"Production"}`)
	for i := range n {
		name := fmt.Sprintf("Project %04d", i)
		put(schema.Project, []string{name}, `{"Name":`+jsonString(name)+`}`)
		put(schema.DeploymentProcess, []string{name}, `{"Steps":[
		  {"Name":"Deploy","Actions":[{"Name":"Deploy","ActionType":"Octopus.Script","Properties":{"Octopus.Action.Script.Syntax":"PowerShell","Octopus.Action.Script.ScriptBody":`+jsonString(webScript+name)+`}}]},
		  {"Name":"Notify","Actions":[{"Name":"Notify","ActionType":"Octopus.Script","Properties":{"Octopus.Action.Script.Syntax":"Bash","Octopus.Action.Script.ScriptBody":"echo done\n"}}]}]}`)
		put(schema.ProjectVariables, []string{name}, `{"Variables":[
		  {"Name":"Db","Value":"a","Scope":{"Environment":["Production"]}},
		  {"Name":"Config","Value":"line 1\nline 2\n","Scope":{"Environment":["Production"]}}]}`)
	}
	if err := b.Seal(); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReadHoldsFewFiles proves that a bundle is checked and packed as it
// is read: at no time does the reader hold the bytes of more than a few
// files per worker, however many files the bundle has (it used to hold
// all of them until the last was read, then pack them: at N = 10,000,
// 530 MB of file bytes next to the packed documents).
func TestReadHoldsFewFiles(t *testing.T) {
	const projects = 200
	b := manyProjects(t, projects)
	dir := t.TempDir()
	// Each worker: an entity file with its two sidecar files in the
	// queue and as many being packed; a sidecar folder read before its
	// entity file; the manifest, checksums.txt and an entity file that
	// came before the manifest.
	bound := 6*runtime.GOMAXPROCS(0) + 8
	for _, form := range []string{"dir", "bundle" + ArchiveExt} {
		t.Run(form, func(t *testing.T) {
			p := filepath.Join(dir, form)
			if err := b.Write(p); err != nil {
				t.Fatal(err)
			}
			peak, files := -1, 0
			peakHook = func(p, n int) { peak, files = p, n }
			defer func() { peakHook = nil }()
			got, err := Read(p, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest() != b.Digest() || got.Len() != b.Len() {
				t.Fatalf("read %s (%d files), want %s (%d)", got.Digest(), got.Len(), b.Digest(), b.Len())
			}
			if files < 6*projects {
				t.Fatalf("the reader saw %d files, want at least %d", files, 6*projects)
			}
			t.Logf("held up to %d files' bytes at once, of %d", peak, files)
			if peak < 1 || peak > bound {
				t.Errorf("the reader held up to %d files' bytes at once (of %d), want at most %d", peak, files, bound)
			}
		})
	}
}

// TestReadAnyOrder checks that what the reader finds does not depend on
// the order the files come in (an archive may list them in any order):
// the same bundle from a good set of files, the same first error from a
// broken one.
func TestReadAnyOrder(t *testing.T) {
	good := bundleFiles(t, manyProjects(t, 3))
	const (
		proc   = "projects/Project 0001/deployment-process.json"
		script = "projects/Project 0001/deployment-process/Deploy.ps1"
	)
	breaks := []struct {
		name  string
		spoil func(files map[string][]byte)
		want  string // in the error; "" for none
	}{
		{"good", func(map[string][]byte) {}, ""},
		{"missing sidecar", func(f map[string][]byte) { delete(f, script) }, "listed in checksums.txt but missing"},
		{"changed sidecar", func(f map[string][]byte) { f[script] = []byte("x") }, script + ": checksum mismatch"},
		{"extra sidecar", func(f map[string][]byte) { f["projects/Project 0001/deployment-process/Extra.ps1"] = []byte("x") }, "not listed in checksums.txt"},
		{"changed entity", func(f map[string][]byte) { f[proc] = append(f[proc], ' ') }, proc + ": checksum mismatch"},
		{"no manifest", func(f map[string][]byte) { delete(f, ManifestFile) }, "missing manifest.json"},
		{"crlf", func(f map[string][]byte) {
			f[proc] = []byte(strings.ReplaceAll(string(f[proc]), "\n", "\r\n"))
		}, "CRLF"},
	}
	for _, tc := range breaks {
		t.Run(tc.name, func(t *testing.T) {
			files := maps.Clone(good)
			tc.spoil(files)
			sorted := slices.Sorted(maps.Keys(files))
			reverse := slices.Clone(sorted)
			slices.Reverse(reverse)
			orders := map[string][]string{"sorted": sorted, "reverse": reverse}
			// The manifest last, sidecar folders before their entity
			// files (a directory walk's order), and shuffled.
			last := slices.DeleteFunc(slices.Clone(sorted), func(p string) bool { return p == ManifestFile })
			if len(last) < len(sorted) {
				last = append(last, ManifestFile)
			}
			orders["manifest last"] = last
			walk := slices.Clone(sorted)
			slices.SortFunc(walk, func(a, b string) int {
				return strings.Compare(strings.TrimSuffix(a, ".json"), strings.TrimSuffix(b, ".json"))
			})
			orders["walk"] = walk
			for seed := range uint64(3) {
				s := slices.Clone(sorted)
				rand.New(rand.NewPCG(seed, 1)).Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
				orders[fmt.Sprintf("shuffled %d", seed)] = s
			}
			var first string
			for _, name := range slices.Sorted(maps.Keys(orders)) {
				l := newLoader()
				for _, p := range orders[name] {
					l.add(p, files[p])
				}
				got, err := l.finish()
				var desc string
				switch {
				case err != nil:
					desc = "error: " + err.Error()
					if tc.want == "" || !strings.Contains(desc, tc.want) {
						t.Errorf("%s: %v, want %q", name, err, tc.want)
					}
				case tc.want != "":
					t.Errorf("%s: no error, want %q", name, tc.want)
				default:
					desc = fmt.Sprintf("%s %d", got.Digest(), got.Len())
				}
				if first == "" {
					first = desc
				} else if desc != first {
					t.Errorf("%s: %s\nwant (as in another order) %s", name, desc, first)
				}
			}
		})
	}
}

// bundleFiles returns the files b is written as (path → bytes).
func bundleFiles(t *testing.T, b *Bundle) map[string][]byte {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "b")
	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	f := files(t, dir)
	delete(f, GitAttributesFile)
	return f
}
