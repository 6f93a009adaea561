package bundles

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/octobundle/octobundle/schema"
)

var testTime = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

type entity struct {
	kind  string
	names []string
	doc   string
}

// sampleEntities is a small space touching the main file shapes.
var sampleEntities = []entity{
	{schema.Environment, []string{"Dev"}, `{"Name":"Dev","SortOrder":1,"UseGuidedFailure":false,"Description":"<dev> & test"}`},
	{schema.Environment, []string{"Production"}, `{"Name":"Production","SortOrder":2,"UseGuidedFailure":true,"Weight":1.0}`},
	{schema.Environment, []string{"Test: A/B"}, `{"Name":"Test: A/B","SortOrder":3}`},
	{schema.Lifecycle, []string{"Default"}, `{"Name":"Default","Phases":[{"Name":"Dev","AutomaticDeploymentTargets":["Dev"],"OptionalDeploymentTargets":[]},{"Name":"Production","AutomaticDeploymentTargets":[],"OptionalDeploymentTargets":["Production"]}]}`},
	{schema.ProjectGroup, []string{"All"}, `{"Name":"All","EnvironmentIds":[]}`},
	{schema.Project, []string{"OctoFX"}, `{"Name":"OctoFX","LifecycleId":"Default","ProjectGroupId":"All","IncludedLibraryVariableSetIds":[],"Unmodelled":{"Keep":[3,2,1]}}`},
	{schema.DeploymentProcess, []string{"OctoFX"}, `{"Steps":[{"Name":"Deploy","Actions":[{"Name":"Deploy","ActionType":"Octopus.Script","Environments":["Production"],"Properties":{"Octopus.Action.Script.ScriptBody":"echo <hi> && exit 0"}}]}]}`},
	{schema.ProjectVariables, []string{"OctoFX"}, `{"Variables":[{"Name":"ConnectionString","Value":"Server=.","Type":"String","IsSensitive":false,"Scope":{"Environment":["Dev"]}},{"Name":"Password","Value":null,"Type":"Sensitive","IsSensitive":true,"Scope":{}}]}`},
	{schema.Runbook, []string{"OctoFX", "Restart IIS"}, `{"Name":"Restart IIS","Environments":["Production"]}`},
	{schema.RunbookProcess, []string{"OctoFX", "Restart IIS"}, `{"Steps":[{"Name":"Restart","Actions":[{"Name":"Restart","ActionType":"Octopus.Script"}]}]}`},
	{schema.Tenant, []string{"Internal"}, `{"Name":"Internal","TenantTags":[],"ProjectEnvironments":{"OctoFX":["Dev","Production"]}}`},
	{schema.UserRole, []string{"Project deployer"}, `{"Name":"Project deployer","CanBeDeleted":false,"GrantedSpacePermissions":[],"GrantedSystemPermissions":[],"SupportedRestrictions":[]}`},
	{schema.Team, []string{"Ops"}, `{"Name":"Ops"}`},
	{schema.ScopedUserRole, []string{"Ops"}, `[{"UserRoleId":"Project deployer","EnvironmentIds":["Production"],"ProjectIds":[],"ProjectGroupIds":[],"TenantIds":[]}]`},
}

func sampleManifest(at time.Time) Manifest {
	return Manifest{
		ToolVersion: "test",
		Source:      Source{Server: "https://octopus.example.com", ServerVersion: "2024.1.1", Space: "Default"},
		ExportedAt:  at,
	}
}

func sampleBundle(t testing.TB, at time.Time) *Bundle {
	t.Helper()
	b := New(sampleManifest(at))
	for _, e := range sampleEntities {
		doc, err := Decode([]byte(e.doc))
		if err != nil {
			t.Fatalf("%s %v: %v", e.kind, e.names, err)
		}
		if _, err := b.PutEntity(schema.MustLookup(e.kind), e.names, doc); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Seal(); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPutEntity(t *testing.T) {
	b := sampleBundle(t, testTime)
	env := schema.MustLookup(schema.Environment)
	cases := []struct {
		name  string
		kind  string
		names []string
		doc   string
		want  string // error substring, "" for success; or the path on success
	}{
		{"escaped path", schema.Environment, []string{"QA/UAT"}, `{"Name":"QA/UAT"}`, "environments/QA%2FUAT.json"},
		{"runbook path", schema.RunbookProcess, []string{"OctoFX", "Restart IIS"}, `{"Steps":[]}`, "projects/OctoFX/runbooks/Restart IIS/process.json"},
		{"case collision", schema.Environment, []string{"production"}, `{"Name":"production"}`, `Environment "production" (environments/production.json) collides with Environment "Production" (environments/Production.json)`},
		{"owner case collision", schema.Channel, []string{"octofx", "Default"}, `{"Name":"Default"}`, `collides with`},
		{"name mismatch", schema.Environment, []string{"Staging"}, `{"Name":"Stage"}`, `environments/Staging.json: Name is "Stage" but the file name says "Staging"`},
		{"schema", schema.Environment, []string{"X"}, `{"Name":"X","Id":"Environments-9"}`, "environments/X.json: does not match environment.schema.json; at /Id"},
		{"id in reference", schema.Project, []string{"P"}, `{"Name":"P","LifecycleId":"Lifecycles-1"}`, `projects/P/project.json: not ID-free: /LifecycleId`},
		{"empty name", schema.Environment, []string{""}, `{"Name":""}`, "empty name"},
		{"wrong name count", schema.Runbook, []string{"OctoFX"}, `{"Name":"OctoFX"}`, "needs 2 names"},
		{"long name", schema.Environment, []string{strings.Repeat("x", 251)}, `{"Name":"` + strings.Repeat("x", 251) + `"}`, "environments/" + strings.Repeat("x", 160) + "%~" + "90d738c31c5ee1241cbcd2ff3d4aa125.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc, err := Decode([]byte(c.doc))
			if err != nil {
				t.Fatal(err)
			}
			p, err := b.PutEntity(schema.MustLookup(c.kind), c.names, doc)
			if strings.HasSuffix(c.want, ".json") {
				if err != nil || p != c.want {
					t.Fatalf("got %q, %v; want %q", p, err, c.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got error %v; want one containing %q", err, c.want)
			}
		})
	}
	if d, ok := b.Entity(env, "QA/UAT"); !ok || d.(map[string]any)["Name"] != "QA/UAT" {
		t.Errorf("Entity(QA/UAT) = %v, %v", d, ok)
	}
	if b.Digest() != "" {
		t.Error("a changed bundle still reports a digest")
	}
}

func TestEntriesOrder(t *testing.T) {
	b := sampleBundle(t, testTime)
	es := b.Entries()
	if len(es) != len(sampleEntities) {
		t.Fatalf("%d entries", len(es))
	}
	for i := 1; i < len(es); i++ {
		a, c := es[i-1], es[i]
		if a.Kind.Order > c.Kind.Order || (a.Kind.Order == c.Kind.Order && a.Kind.Name == c.Kind.Name && a.Path >= c.Path) {
			t.Errorf("entries out of order: %s (%d) before %s (%d)", a.Path, a.Kind.Order, c.Path, c.Kind.Order)
		}
	}
	for _, e := range es {
		if e.Path == "environments/Test%3A A%2FB.json" && !reflect.DeepEqual(e.Names, []string{"Test: A/B"}) {
			t.Errorf("names of %s = %q", e.Path, e.Names)
		}
	}
	paths := b.Paths()
	// One sidecar file: the sample process's inline script.
	if !sort.StringsAreSorted(paths) || paths[0] != ChecksumsFile || len(paths) != len(sampleEntities)+3 ||
		!slices.Contains(paths, "projects/OctoFX/deployment-process/Deploy.txt") {
		t.Errorf("Paths() = %v", paths)
	}
}

func TestChecksumsAndDigest(t *testing.T) {
	b := sampleBundle(t, testTime)
	sums, _ := b.Raw(ChecksumsFile)
	lines := strings.Split(strings.TrimSuffix(string(sums), "\n"), "\n")
	if len(lines) != len(sampleEntities)+1 { // and the sidecar file
		t.Fatalf("%d lines", len(lines))
	}
	written, err := b.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	asWritten := map[string][]byte{}
	for _, f := range written {
		if asWritten[f.path], err = f.bytes(); err != nil {
			t.Fatal(err)
		}
	}
	var paths []string
	for _, l := range lines {
		sum, p, ok := strings.Cut(l, "  ")
		if !ok || len(sum) != 64 {
			t.Fatalf("bad line %q", l)
		}
		raw := asWritten[p]
		h := sha256.Sum256(raw)
		if hex.EncodeToString(h[:]) != sum {
			t.Errorf("%s: wrong sum", p)
		}
		paths = append(paths, p)
	}
	if !sort.StringsAreSorted(paths) {
		t.Errorf("checksums.txt not sorted: %v", paths)
	}
	h := sha256.Sum256(sums)
	if b.Digest() != "sha256:"+hex.EncodeToString(h[:]) || b.Manifest.Digest != b.Digest() {
		t.Errorf("digest %s is not sha256 of checksums.txt", b.Digest())
	}
	// Insertion order does not matter.
	r := New(sampleManifest(testTime))
	for i := len(sampleEntities) - 1; i >= 0; i-- {
		e := sampleEntities[i]
		doc, _ := Decode([]byte(e.doc))
		if _, err := r.PutEntity(schema.MustLookup(e.kind), e.names, doc); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Seal(); err != nil {
		t.Fatal(err)
	}
	sums2, _ := r.Raw(ChecksumsFile)
	m1, _ := b.Raw(ManifestFile)
	m2, _ := r.Raw(ManifestFile)
	if !bytes.Equal(sums, sums2) || !bytes.Equal(m1, m2) {
		t.Error("checksums.txt or manifest depends on insertion order")
	}
	var m map[string]any
	_ = json.Unmarshal(m1, &m)
	if m["Counts"].(map[string]any)["Environment"].(float64) != 3 {
		t.Errorf("Counts = %v", m["Counts"])
	}
}

func TestExportTimeDoesNotChangeChecksums(t *testing.T) {
	a := sampleBundle(t, testTime)
	b := sampleBundle(t, testTime.Add(90*24*time.Hour+123*time.Millisecond))
	sa, _ := a.Raw(ChecksumsFile)
	sb, _ := b.Raw(ChecksumsFile)
	if !bytes.Equal(sa, sb) || a.Digest() != b.Digest() {
		t.Error("checksums.txt/digest changed with the export time")
	}
	ma, _ := a.Raw(ManifestFile)
	mb, _ := b.Raw(ManifestFile)
	if bytes.Equal(ma, mb) {
		t.Error("manifests are equal although export times differ")
	}
	if !strings.Contains(string(mb), `"ExportedAt": "2024-07-30T10:00:00Z"`) {
		t.Errorf("ExportedAt not normalised to UTC seconds:\n%s", mb)
	}
}

func TestSealRejectsCredentials(t *testing.T) {
	for _, u := range []string{"https://user:pass@octo.example.com", "https://octo.example.com/?apikey=API-123"} {
		m := sampleManifest(testTime)
		m.Source.Server = u
		if err := New(m).Seal(); err == nil || strings.Contains(err.Error(), "pass") || strings.Contains(err.Error(), "API-123") {
			t.Errorf("Seal with %s: %v", u, err)
		}
	}
	m := sampleManifest(testTime)
	m.Format = "octobundle/v4"
	if err := New(m).Seal(); err == nil {
		t.Error("Seal wrote format v4")
	}
}

// files returns every file under dir (slash paths → bytes).
func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWriteReadRoundTrip(t *testing.T) {
	b := sampleBundle(t, testTime)
	tmp := t.TempDir()
	dir, arc := filepath.Join(tmp, "bundle"), filepath.Join(tmp, "bundle.tar.zst")
	for _, p := range []string{dir, arc} {
		if err := b.Write(p); err != nil {
			t.Fatal(err)
		}
		r, err := Read(p, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Digest() != b.Digest() || !reflect.DeepEqual(r.Paths(), b.Paths()) {
			t.Fatalf("%s: read back differs", p)
		}
		for _, q := range b.Paths() {
			x, _ := b.Raw(q)
			y, _ := r.Raw(q)
			if !bytes.Equal(x, y) {
				t.Errorf("%s: %s differs", p, q)
			}
		}
		if !reflect.DeepEqual(r.Entries(), b.Entries()) {
			t.Errorf("%s: entries differ", p)
		}
		if !reflect.DeepEqual(r.Manifest, b.Manifest) {
			t.Errorf("%s: manifest differs:\n%+v\n%+v", p, r.Manifest, b.Manifest)
		}
		rep, err := Verify(p)
		if err != nil || rep.Digest != b.Digest() || rep.Files != len(sampleEntities) || rep.Counts["Environment"] != 3 || rep.Format != Format {
			t.Errorf("Verify(%s) = %+v, %v", p, rep, err)
		}
	}
	// Numbers survive exactly.
	got := files(t, dir)
	if !bytes.Contains(got["environments/Production.json"], []byte(`"Weight": 1.0`)) {
		t.Errorf("1.0 not kept:\n%s", got["environments/Production.json"])
	}
	if st, _ := os.Stat(filepath.Join(dir, "environments", "Dev.json")); st.Mode().Perm() != 0o644 {
		t.Errorf("file mode %v", st.Mode())
	}
	// No temporary siblings are left behind.
	ents, _ := os.ReadDir(tmp)
	if len(ents) != 2 {
		t.Errorf("left in %s: %v", tmp, ents)
	}
	// Unpack gives the same directory.
	out := filepath.Join(tmp, "unpacked")
	if err := Unpack(arc, out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(files(t, out), got) {
		t.Error("Unpack(archive) differs from the written directory")
	}
}

func TestPackReproducible(t *testing.T) {
	b := sampleBundle(t, testTime)
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "bundle")
	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	var packs [][]byte
	for _, name := range []string{"one.tar.zst", "two.tar.zst"} {
		p := filepath.Join(tmp, name)
		if err := Pack(dir, p); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(p)
		packs = append(packs, data)
	}
	direct := filepath.Join(tmp, "direct.tar.zst")
	if err := b.Write(direct); err != nil {
		t.Fatal(err)
	}
	d, _ := os.ReadFile(direct)
	packs = append(packs, d)
	var buf bytes.Buffer
	if err := b.WriteArchive(&buf); err != nil {
		t.Fatal(err)
	}
	packs = append(packs, buf.Bytes())
	// A copy of the directory with other mtimes and modes packs the same.
	cp := filepath.Join(tmp, "copy")
	for p, data := range files(t, dir) {
		full := filepath.Join(cp, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o700)
		os.WriteFile(full, data, 0o600)
		os.Chtimes(full, time.Now(), time.Now().Add(-time.Hour))
	}
	cpArc := filepath.Join(tmp, "copy.tar.zst")
	if err := Pack(cp, cpArc); err != nil {
		t.Fatal(err)
	}
	c, _ := os.ReadFile(cpArc)
	packs = append(packs, c)
	for i := 1; i < len(packs); i++ {
		if !bytes.Equal(packs[0], packs[i]) {
			t.Errorf("pack %d differs from pack 0", i)
		}
	}
	if len(packs[0]) == 0 || len(packs[0]) > 8<<10 {
		t.Errorf("archive is %d bytes", len(packs[0]))
	}
}

func TestWriteRefuses(t *testing.T) {
	b := sampleBundle(t, testTime)
	tmp := t.TempDir()
	// A directory holding files of the bundle layout but no manifest is
	// someone else's: refused, and left alone.
	other := filepath.Join(tmp, "home")
	os.MkdirAll(filepath.Join(other, "environments"), 0o755)
	os.WriteFile(filepath.Join(other, "environments", "Old.json"), []byte("x"), 0o644)
	if err := b.Write(other); err == nil || !strings.Contains(err.Error(), "no manifest.json") {
		t.Errorf("Write over a non-bundle directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, "environments", "Old.json")); err != nil {
		t.Error("environments/Old.json is gone")
	}
	// A file where a directory should go.
	f := filepath.Join(tmp, "file")
	os.WriteFile(f, []byte("x"), 0o644)
	if err := b.Write(f); err == nil {
		t.Error("Write over a file")
	}
	// A directory where an archive should go.
	d := filepath.Join(tmp, "d.tar.zst")
	os.MkdirAll(d, 0o755)
	if err := b.Write(d); err == nil {
		t.Error("Write archive over a directory")
	}
	// An existing bundle (and an empty directory) is replaced.
	dir := filepath.Join(tmp, "bundle")
	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	if !b.Remove("environments/Dev.json") || b.Remove("environments/Dev.json") {
		t.Fatal("Remove")
	}
	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "environments", "Dev.json")); !os.IsNotExist(err) {
		t.Error("replaced bundle still has Dev.json")
	}
	if _, err := Read(dir, ReadOptions{}); err != nil {
		t.Error(err)
	}
	empty := filepath.Join(tmp, "empty")
	os.MkdirAll(empty, 0o755)
	if err := b.Write(empty); err != nil {
		t.Error(err)
	}
	// Pack/Unpack refuse the wrong forms.
	if err := Unpack(filepath.Join(tmp, "missing.tar.zst"), filepath.Join(tmp, "x")); err == nil {
		t.Error("Unpack of a missing archive")
	}
}

func TestClone(t *testing.T) {
	b := sampleBundle(t, testTime)
	c := b.Clone()
	if c.Digest() != b.Digest() {
		t.Fatal("clone digest")
	}
	doc, _ := c.Entity(schema.MustLookup(schema.Environment), "Dev")
	doc.(map[string]any)["Description"] = "changed"
	orig, _ := b.Entity(schema.MustLookup(schema.Environment), "Dev")
	if orig.(map[string]any)["Description"] == "changed" {
		t.Error("clone shares documents")
	}
	c.Remove("environments/Dev.json")
	if _, ok := b.Entity(schema.MustLookup(schema.Environment), "Dev"); !ok {
		t.Error("clone shares files")
	}
}

func TestManifestChangeReseals(t *testing.T) {
	b := sampleBundle(t, testTime)
	if err := b.SetSignature([]byte("sig")); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	if err := b.Write(filepath.Join(tmp, "a")); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(tmp, "a", SignatureFile)); err != nil || string(data) != "sig" {
		t.Errorf("signature not written: %q %v", data, err)
	}
	r, err := Read(filepath.Join(tmp, "a"), ReadOptions{})
	if err != nil || string(r.Signature()) != "sig" {
		t.Fatalf("signature not read: %v", err)
	}
	b.Manifest.ToolVersion = "changed"
	if err := b.Write(filepath.Join(tmp, "b")); err != nil {
		t.Fatal(err)
	}
	m, _ := os.ReadFile(filepath.Join(tmp, "b", ManifestFile))
	if !strings.Contains(string(m), `"ToolVersion": "changed"`) {
		t.Error("manifest change not written")
	}
	if _, err := os.Stat(filepath.Join(tmp, "b", SignatureFile)); !os.IsNotExist(err) {
		t.Error("stale signature written with a changed manifest")
	}
}

func TestConcurrentPut(t *testing.T) {
	b := New(sampleManifest(testTime))
	env := schema.MustLookup(schema.Environment)
	done := make(chan error)
	for i := 0; i < 8; i++ {
		go func(i int) {
			var err error
			for j := 0; j < 20 && err == nil; j++ {
				name := fmt.Sprintf("Env %d-%d", i, j)
				_, err = b.PutEntity(env, []string{name}, map[string]any{"Name": name})
				b.Entries()
			}
			done <- err
		}(i)
	}
	for i := 0; i < 8; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Seal(); err != nil || b.Manifest.Counts["Environment"] != 160 {
		t.Fatalf("Seal: %v, counts %v", err, b.Manifest.Counts)
	}
}
