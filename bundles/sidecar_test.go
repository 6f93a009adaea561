package bundles

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/schema"
)

// putJSON puts the entity doc (JSON) of kind under names into b.
func putJSON(t *testing.T, b *Bundle, kind string, names []string, doc string) {
	t.Helper()
	d, err := Decode([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.PutEntity(schema.MustLookup(kind), names, d); err != nil {
		t.Fatal(err)
	}
}

// scriptBundle is a FormatV2 bundle whose process has scripts of several
// syntaxes and whose variable set has a multi-line value.
func scriptBundle(t *testing.T, script string) *Bundle {
	t.Helper()
	b := New(sampleManifest(testTime))
	put := func(kind string, names []string, doc string) { putJSON(t, b, kind, names, doc) }
	put(schema.Environment, []string{"Production"}, `{"Name":"Production"}`)
	put(schema.Project, []string{"OctoFX"}, `{"Name":"OctoFX"}`)
	put(schema.DeploymentProcess, []string{"OctoFX"}, `{"Steps":[
	  {"Name":"Deploy Web","Actions":[{"Name":"Deploy Web","ActionType":"Octopus.Script","Properties":{"Octopus.Action.Script.Syntax":"PowerShell","Octopus.Action.Script.ScriptBody":`+jsonString(script)+`}}]},
	  {"Name":"Notify","Actions":[{"Name":"Notify","ActionType":"Octopus.Script","Properties":{"Octopus.Action.Script.Syntax":"Bash","Octopus.Action.Script.ScriptBody":"curl -X POST https://hooks.example.com\r\necho done\r\n"}}]},
	  {"Name":"Package","Actions":[{"Name":"Package","ActionType":"Octopus.TentaclePackage","Properties":{}}]}]}`)
	put(schema.ProjectVariables, []string{"OctoFX"}, `{"Variables":[
	  {"Name":"Db","Value":"a","Scope":{"Environment":["Production"]}},
	  {"Name":"Config","Value":"line 1\nline 2\n","Scope":{"Environment":["Production"]}}]}`)
	if err := b.Seal(); err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonString(s string) string {
	data, _ := Canonical(s)
	return strings.TrimSuffix(string(data), "\n")
}

const webScript = "param($x)\nWrite-Host \"deploying\"\nStart-Service w3svc\nWrite-Host \"done\"\n"

func TestSidecarLayout(t *testing.T) {
	b := scriptBundle(t, webScript)
	dir := filepath.Join(t.TempDir(), "b")
	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	got := files(t, dir)
	want := map[string]string{
		"projects/OctoFX/deployment-process/Deploy Web.ps1":                      webScript,
		"projects/OctoFX/deployment-process/Notify.sh":                           "curl -X POST https://hooks.example.com\r\necho done\r\n",
		"projects/OctoFX/variables/Config Environment=Production.txt":            "line 1\nline 2\n",
		"projects/OctoFX/deployment-process.json:" + `"$file": "Deploy Web.ps1"`: "",
	}
	for p, content := range want {
		if path, needle, ok := strings.Cut(p, ":"); ok {
			if !bytes.Contains(got[path], []byte(needle)) {
				t.Errorf("%s lacks %s:\n%s", path, needle, got[path])
			}
			continue
		}
		if string(got[p]) != content {
			t.Errorf("%s = %q, want %q", p, got[p], content)
		}
	}
	// Name and Value lead, the rest sorted; a one-line value stays inline.
	if !bytes.Contains(got["projects/OctoFX/variables.json"], []byte("{\n      \"Name\": \"Db\",\n      \"Value\": \"a\",\n      \"Scope\": {")) {
		t.Errorf("variables.json:\n%s", got["projects/OctoFX/variables.json"])
	}
	r, err := Read(dir, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Digest() != b.Digest() || r.Manifest.Format != Format {
		t.Errorf("read back %s %s, wrote %s", r.Manifest.Format, r.Digest(), b.Digest())
	}
	doc, _ := r.Entity(schema.MustLookup(schema.DeploymentProcess), "OctoFX")
	orig, _ := b.Entity(schema.MustLookup(schema.DeploymentProcess), "OctoFX")
	if !Equal(doc, orig) {
		t.Error("the process read back differs (scripts not joined)")
	}
	// The archive form holds the same files.
	arc := filepath.Join(t.TempDir(), "b.tar.zst")
	if err := Pack(dir, arc); err != nil {
		t.Fatal(err)
	}
	if a, err := Read(arc, ReadOptions{}); err != nil || a.Digest() != b.Digest() {
		t.Fatalf("archive: %v", err)
	}
}

// TestSidecarOneLineChange: changing one line of a script changes one line
// of one sidecar file (and checksums.txt and the manifest), nothing else.
func TestSidecarOneLineChange(t *testing.T) {
	a := filepath.Join(t.TempDir(), "a")
	if err := scriptBundle(t, webScript).Write(a); err != nil {
		t.Fatal(err)
	}
	before := files(t, a)
	if err := scriptBundle(t, strings.Replace(webScript, "Start-Service w3svc", "Restart-Service w3svc", 1)).Write(a); err != nil {
		t.Fatal(err)
	}
	after := files(t, a)
	var changed []string
	for p := range after {
		if !bytes.Equal(before[p], after[p]) {
			changed = append(changed, p)
		}
	}
	if strings.Join(sortedStrings(changed), ",") != "checksums.txt,manifest.json,projects/OctoFX/deployment-process/Deploy Web.ps1" {
		t.Errorf("changed files: %v", changed)
	}
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestSidecarReadErrors: every way a FormatV2 bundle's sidecars can be
// wrong is an error naming the file.
func TestSidecarReadErrors(t *testing.T) {
	const proc = "projects/OctoFX/deployment-process.json"
	const side = "projects/OctoFX/deployment-process/Deploy Web.ps1"
	cases := []struct {
		name   string
		change func(files map[string][]byte)
		want   string
	}{
		{"missing sidecar", func(f map[string][]byte) { delete(f, side) }, "refers to the sidecar file " + side + ", which is missing"},
		{"sidecar nobody refers to", func(f map[string][]byte) {
			f["projects/OctoFX/deployment-process/Old Step.ps1"] = []byte("x\n")
		}, "Old Step.ps1: unknown file (a sidecar file no text field of " + proc + " refers to)"},
		{"script inline in a v2 file", func(f map[string][]byte) {
			f[proc] = bytes.Replace(f[proc], []byte(`{
              "$file": "Deploy Web.ps1"
            }`), []byte(jsonString(webScript)), 1)
			delete(f, side)
		}, proc + ": not in canonical form for octobundle/v2"},
		{"reference outside the folder", func(f map[string][]byte) {
			f[proc] = bytes.Replace(f[proc], []byte(`"Deploy Web.ps1"`), []byte(`"../x.ps1"`), 1)
		}, `names an invalid sidecar file "../x.ps1"`},
		{"invalid UTF-8", func(f map[string][]byte) { f[side] = []byte("\xff\xfe") }, side + ": not valid UTF-8"},
		{"keys sorted as in v1", func(f map[string][]byte) {
			d, _ := Decode(f["projects/OctoFX/variables.json"])
			f["projects/OctoFX/variables.json"], _ = Canonical(d)
		}, "projects/OctoFX/variables.json: not in canonical form for octobundle/v2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := scriptBundle(t, webScript)
			dir := filepath.Join(t.TempDir(), "b")
			if err := b.Write(dir); err != nil {
				t.Fatal(err)
			}
			f := files(t, dir)
			delete(f, GitAttributesFile)
			tc.change(f)
			reseal(t, f, true)
			_, err := parse(f)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("parse: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestV1StillRead: a FormatV1 bundle is read, and written back as FormatV1
// with the same bytes, so its digest (and any signature) stays valid.
func TestV1StillRead(t *testing.T) {
	src := filepath.Join("..", "testdata", "bundles", "good_dir")
	b, err := Read(src, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Manifest.Format != FormatV1 {
		t.Fatalf("good_dir is %s", b.Manifest.Format)
	}
	out := filepath.Join(t.TempDir(), "copy")
	if err := b.Write(out); err != nil {
		t.Fatal(err)
	}
	want, got := files(t, src), files(t, out)
	delete(got, GitAttributesFile)
	delete(want, GitAttributesFile)
	if len(got) != len(want) {
		t.Fatalf("%d files written, %d read", len(got), len(want))
	}
	for p := range want {
		if !bytes.Equal(want[p], got[p]) {
			t.Errorf("%s: changed on the way through", p)
		}
	}
}

// TestStaleSidecarRemoved: exporting into a folder removes the sidecar of
// an action the bundle no longer has, and nothing else.
func TestStaleSidecarRemoved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "b")
	if err := scriptBundle(t, webScript).Write(dir); err != nil {
		t.Fatal(err)
	}
	putFiles(t, dir, map[string]string{"projects/OctoFX/deployment-process/NOTES.md": "mine\n"})
	b := scriptBundle(t, webScript)
	doc, _ := b.Entity(schema.MustLookup(schema.DeploymentProcess), "OctoFX")
	d := schema.DeepCopy(doc).(map[string]any)
	d["Steps"] = d["Steps"].([]any)[:1]
	if _, err := b.PutEntity(schema.MustLookup(schema.DeploymentProcess), []string{"OctoFX"}, d); err != nil {
		t.Fatal(err)
	}
	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "projects/OctoFX/deployment-process/Notify.sh")); !os.IsNotExist(err) {
		t.Errorf("the sidecar of the removed step is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "projects/OctoFX/deployment-process/NOTES.md")); err != nil {
		t.Errorf("a file octobundle did not write was removed: %v", err)
	}
}

func TestFitName(t *testing.T) {
	long := strings.Repeat("é/", 200) // escapes to far more than 255 bytes
	cases := []struct{ base, suffix, ext string }{
		{"Deploy Web", "", ".ps1"},
		{long, "", ".ps1"},
		{long, " (2)", ".txt"},
		{strings.Repeat("a", 300), "", ".sh"},
	}
	for _, c := range cases {
		got := fitName(c.base, c.suffix, c.ext)
		if len(got) > MaxSegment || !strings.HasSuffix(got, c.suffix+c.ext) {
			t.Errorf("fitName(%.20q…, %q, %q) = %q (%d bytes)", c.base, c.suffix, c.ext, got, len(got))
		}
		if _, err := UnescapeName(strings.TrimSuffix(got, c.ext)); err != nil {
			t.Errorf("fitName gave a name that does not unescape: %v", err)
		}
	}
}
