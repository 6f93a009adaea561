package release

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/schema"
)

// TestPackageDiffs: an existing release is compared with the bundle's by
// action and package reference name, case-insensitively, naming every
// difference.
func TestPackageDiffs(t *testing.T) {
	want := []Package{
		{StepName: "Deploy", ActionName: "Deploy", PackageID: "Web", Version: "1.0.0"},
		{StepName: "Deploy", ActionName: "Deploy", PackageReferenceName: "tool", PackageID: "Tool", Version: "2.0.0"},
	}
	sel := func(action, ref, version string) any {
		return map[string]any{"ActionName": action, "PackageReferenceName": ref, "Version": version}
	}
	for _, tc := range []struct {
		name string
		have []any
		want []string
	}{
		{"same", []any{sel("Deploy", "", "1.0.0"), sel("deploy", "TOOL", "2.0.0")}, nil},
		{"other version", []any{sel("Deploy", "", "0.9.0"), sel("Deploy", "tool", "2.0.0")},
			[]string{`step "Deploy": 0.9.0 there, 1.0.0 in the bundle`}},
		{"missing there", []any{sel("Deploy", "", "1.0.0")},
			[]string{`step "Deploy", package reference "tool": none there, 2.0.0 in the bundle`}},
		{"extra there", []any{sel("Deploy", "", "1.0.0"), sel("Deploy", "tool", "2.0.0"), sel("Other", "", "3.0.0")},
			[]string{`action "other", package reference "": 3.0.0 there, none in the bundle`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := packageDiffs(want, tc.have)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// sample is a release bundle of one project with one carried package.
func sample(t *testing.T, edit func(d *Doc, b *bundles.Bundle)) *bundles.Bundle {
	t.Helper()
	b := bundles.New(bundles.Manifest{Kind: bundles.KindRelease, ToolVersion: "test", ExportedAt: time.Unix(0, 0),
		Source: bundles.Source{Server: "https://dev.example.com", ServerVersion: "2024.1", Space: "Default"}})
	proc := map[string]any{"Steps": []any{}}
	if _, err := b.PutEntity(schema.MustLookup(schema.DeploymentProcess), []string{"OctoFX"}, proc); err != nil {
		t.Fatal(err)
	}
	cfg := bundles.New(bundles.Manifest{})
	if _, err := cfg.PutEntity(schema.MustLookup(schema.DeploymentProcess), []string{"OctoFX"}, proc); err != nil {
		t.Fatal(err)
	}
	files, err := ConfigFiles(cfg, "OctoFX")
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := ConfigDigest(cfg, files)
	data := []byte("zip bytes")
	d := Doc{Format: DocFormat, Project: "OctoFX", Version: "1.4.2", Channel: "Default",
		Packages: []Package{{StepName: "Deploy", ActionName: "Deploy", PackageID: "Web", Version: "1.4.2", Feed: "Octopus Server (built-in)",
			BuiltIn: true, File: PackageDir + "/Web.1.4.2.zip", SHA256: sum256(data), SHA1: sum1(data), Size: int64(len(data))}},
		Configuration: Configuration{Files: files, Digest: digest}}
	if err := b.Attach(PackageDir+"/Web.1.4.2.zip", data); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&d, b)
	}
	doc, err := bundles.Canonical(d)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Attach(DocFile, doc); err != nil {
		t.Fatal(err)
	}
	if err := b.Seal(); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOpen: a release bundle opens only when its document, its carried
// files and its configuration agree.
func TestOpen(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(d *Doc, b *bundles.Bundle)
		want string
	}{
		{"valid", nil, ""},
		{"no format", func(d *Doc, b *bundles.Bundle) { d.Format = "" }, "format"},
		{"no version", func(d *Doc, b *bundles.Bundle) { d.Version = "" }, "needs a Project, Version and Channel"},
		{"altered package", func(d *Doc, b *bundles.Bundle) { d.Packages[0].SHA256 = strings.Repeat("0", 64) }, "its sha256 is"},
		{"package outside packages/", func(d *Doc, b *bundles.Bundle) { d.Packages[0].File = "attached/Web.zip" }, "must be in attached/packages/"},
		{"missing package file", func(d *Doc, b *bundles.Bundle) { d.Packages[0].File = PackageDir + "/Other.1.0.zip" }, "which the bundle lacks"},
		{"unnamed attached file", func(d *Doc, b *bundles.Bundle) { _ = b.Attach(PackageDir+"/Extra.zip", []byte("x")) }, "does not name"},
		{"other configuration", func(d *Doc, b *bundles.Bundle) { d.Configuration.Digest = "sha256:" + strings.Repeat("0", 64) }, "configuration files' digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rb, err := Open(sample(t, tc.edit))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Open: %v", err)
			case tc.want == "":
				if rb.Doc.Version != "1.4.2" || rb.Config.Manifest.Kind != bundles.KindConfiguration || len(rb.Config.AttachedPaths()) != 0 {
					t.Errorf("Open: %+v, config kind %q", rb.Doc, rb.Config.Manifest.Kind)
				}
			case err == nil || !strings.Contains(err.Error(), tc.want):
				t.Errorf("Open: %v, want an error containing %q", err, tc.want)
			}
		})
	}
	cfg := bundles.New(bundles.Manifest{})
	if err := cfg.Seal(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(cfg); err == nil || !strings.Contains(err.Error(), "not a release bundle") {
		t.Errorf("Open of a configuration bundle: %v", err)
	}
}

// TestConfigDigest: the digest covers exactly the named files, by their
// content and path, and tells a missing file from any content.
func TestConfigDigest(t *testing.T) {
	files, err := ConfigFiles(bundles.New(bundles.Manifest{}), "OctoFX")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0] != "projects/OctoFX/deployment-process.json" || files[1] != "projects/OctoFX/variables.json" {
		t.Fatalf("ConfigFiles: %q", files)
	}
	mk := func(steps []any, env string) *bundles.Bundle {
		b := bundles.New(bundles.Manifest{})
		if steps != nil {
			if _, err := b.PutEntity(schema.MustLookup(schema.DeploymentProcess), []string{"OctoFX"}, map[string]any{"Steps": steps}); err != nil {
				t.Fatal(err)
			}
		}
		if env != "" {
			if _, err := b.PutEntity(schema.MustLookup(schema.Environment), []string{env}, map[string]any{"Name": env}); err != nil {
				t.Fatal(err)
			}
		}
		return b
	}
	digest := func(b *bundles.Bundle) string {
		d, err := ConfigDigest(b, files)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	empty := digest(mk([]any{}, ""))
	for _, tc := range []struct {
		name string
		b    *bundles.Bundle
		same bool
	}{
		{"same content", mk([]any{}, ""), true},
		{"another file outside the configuration", mk([]any{}, "Staging"), true},
		{"no process at all", mk(nil, ""), false},
		{"a step more", mk([]any{map[string]any{"Name": "Deploy", "Actions": []any{}}}, ""), false},
	} {
		if got := digest(tc.b) == empty; got != tc.same {
			t.Errorf("%s: same digest %v, want %v", tc.name, got, tc.same)
		}
	}
}

// TestNotes: the promoted release's notes keep the source's and end with
// the line naming the source instance, release and bundle.
func TestNotes(t *testing.T) {
	for _, tc := range []struct {
		notes, space, want string
	}{
		{"", "Default", "promoted from https://dev.example.com release 1.4.2, bundle sha256:"},
		{"Fixes.\n", "Default", "Fixes.\n\npromoted from https://dev.example.com release 1.4.2, bundle sha256:"},
		{"", "Team A", "promoted from https://dev.example.com (space Team A) release 1.4.2"},
	} {
		b := sample(t, func(d *Doc, b *bundles.Bundle) {
			d.ReleaseNotes = tc.notes
			b.Manifest.Source.Space = tc.space
		})
		rb, err := Open(b)
		if err != nil {
			t.Fatal(err)
		}
		if got := Notes(rb); !strings.HasPrefix(got, tc.want) || !strings.HasSuffix(got, b.Digest()) {
			t.Errorf("Notes = %q, want it to start %q and end with the digest", got, tc.want)
		}
	}
}

// TestConfigFiles: a release is compared by its project's process and
// variables and by the variables of each library variable set and
// script module the project includes, as the golden source holds them.
func TestConfigFiles(t *testing.T) {
	golden, err := bundles.Read(filepath.Join("..", "testdata", "golden", "source"), bundles.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		project string
		want    []string
	}{
		{"OctoFX", []string{
			"library-variable-sets/Common Variables/variables.json",
			"library-variable-sets/Notification Settings/variables.json",
			"projects/OctoFX/deployment-process.json",
			"projects/OctoFX/variables.json",
			"script-modules/Bash Utilities/variables.json",
			"script-modules/Logging Helpers/variables.json",
		}},
		{"Customer Portal", []string{
			"library-variable-sets/Common Variables/variables.json",
			"projects/Customer Portal/deployment-process.json",
			"projects/Customer Portal/variables.json",
		}},
		{"Release Notes Bot", []string{
			"projects/Release Notes Bot/deployment-process.json",
			"projects/Release Notes Bot/variables.json",
			"script-modules/Bash Utilities/variables.json",
		}},
		// Not in the bundle: its process and variables only.
		{"Elsewhere", []string{"projects/Elsewhere/deployment-process.json", "projects/Elsewhere/variables.json"}},
	} {
		t.Run(tc.project, func(t *testing.T) {
			got, err := ConfigFiles(golden, tc.project)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("ConfigFiles:\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}
