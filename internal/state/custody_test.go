package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/octobundle/octobundle/bundles"
)

// TestBinding: a state folder is bound to one destination (installation,
// URL, space); Open refuses a folder whose state.json names another one,
// naming both and the fix (issue 18, item 4a).
func TestBinding(t *testing.T) {
	prod := Destination{Server: "https://prod.example.com", InstallationID: "inst-prod", Space: "Default"}
	for _, tc := range []struct {
		name  string
		other Destination
		want  []string // in the error; none: accepted
	}{
		{"the same destination", prod, nil},
		{"the same, URL and space cased otherwise", Destination{Server: "HTTPS://Prod.Example.com/", InstallationID: "inst-prod", Space: "default"}, nil},
		{"another installation and server", Destination{Server: "https://dr.example.com", InstallationID: "inst-dr", Space: "Default"},
			[]string{`it is the state of https://prod.example.com space "Default" (installation inst-prod), not of https://dr.example.com space "Default" (installation inst-dr)`, "--state", "remove"}},
		{"the same installation under another URL", Destination{Server: "https://octopus.internal", InstallationID: "inst-prod", Space: "Default"},
			[]string{"https://prod.example.com", "https://octopus.internal", `set "server" to "https://octopus.internal"`}},
		{"another server, no installation IDs", Destination{Server: "https://dr.example.com", Space: "Default"}, []string{"https://dr.example.com", "https://prod.example.com"}},
		{"another space", Destination{Server: "https://prod.example.com", InstallationID: "inst-prod", Space: "Other"}, []string{`space "Default"`, `space "Other"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			st, err := Open(root, prod)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Finish(Applied{Digest: "sha256:1"}, time.Now()); err != nil {
				t.Fatal(err)
			}
			// The folder where the other destination's state would be
			// holds prod's (copied, or moved there by hand).
			o := &Store{dir: filepath.Join(root, bundles.EscapeName(tc.other.Identity()), bundles.EscapeName(tc.other.Space))}
			if o.dir != st.dir {
				if err := os.MkdirAll(filepath.Dir(o.dir), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(st.dir, o.dir); err != nil {
					t.Fatal(err)
				}
			}
			_, err = Open(root, tc.other)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted another destination's state")
			}
			for _, w := range append(tc.want, filepath.Join(o.dir, ManifestFile)) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not say %q", err, w)
				}
			}
		})
	}
}

// TestRollbackRecord: the manifest records, per source, the export time of
// the last bundle applied; an older bundle from that source is a rollback,
// the same one or one from another source is not (issue 18, item 2).
func TestRollbackRecord(t *testing.T) {
	st, err := Open(t.TempDir(), Destination{Server: "https://prod", Space: "Default"})
	if err != nil {
		t.Fatal(err)
	}
	dev := bundles.Source{Server: "https://dev.example.com", Space: "Default"}
	test := bundles.Source{Server: "https://test.example.com", Space: "Default"}
	t1 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	t2 := t1.Add(24 * time.Hour)
	if err := st.Finish(Applied{Digest: "sha256:dev2", Source: dev, ExportedAt: t2}, t2); err != nil {
		t.Fatal(err)
	}
	if err := st.Finish(Applied{Digest: "sha256:test1", Source: test, ExportedAt: t1}, t2); err != nil {
		t.Fatal(err)
	}
	m, err := st.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Format != Format || len(m.Sources) != 2 || m.BundleDigest != "sha256:test1" {
		t.Fatalf("manifest %+v", m)
	}
	for _, tc := range []struct {
		name string
		src  bundles.Source
		at   time.Time
		want bool
	}{
		{"older, same source", dev, t1, true},
		{"older, same source written otherwise", bundles.Source{Server: "HTTPS://Dev.Example.com/", Space: "default"}, t1, true},
		{"the same export time", dev, t2, false},
		{"newer", dev, t2.Add(time.Second), false},
		{"older, another source", bundles.Source{Server: "https://dev.example.com", Space: "Other"}, t1, false},
		{"older than the other source's, but its own is", test, t1, false},
	} {
		has, got := m.Rollback(tc.src, "sha256:other", tc.at)
		if got != tc.want {
			t.Errorf("%s: rollback %v, want %v", tc.name, got, tc.want)
		}
		if got && !has.Equal(t2) {
			t.Errorf("%s: has %v", tc.name, has)
		}
	}
	// The same bundle again (its digest), even with an earlier export
	// time (a manifest the digest does not cover), is a replay.
	if _, rb := m.Rollback(dev, "sha256:dev2", t1); rb {
		t.Error("a replay of the same bundle is a rollback")
	}
	// An allowed rollback is what the destination has now.
	if err := st.Finish(Applied{Digest: "sha256:dev1", Source: dev, ExportedAt: t1}, t2); err != nil {
		t.Fatal(err)
	}
	m, _ = st.Manifest()
	if _, rb := m.Rollback(dev, "sha256:dev0", t1); rb || len(m.Sources) != 2 || m.Last(dev).BundleDigest != "sha256:dev1" {
		t.Errorf("after the rollback: %+v", m.Sources)
	}
}

// TestIDs: the server IDs apply records are journal records, written into
// the manifest by Finish; forgotten entities lose theirs.
func TestIDs(t *testing.T) {
	root := t.TempDir()
	d := Destination{Server: "https://prod", Space: "Default"}
	st, err := Open(root, d)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]any{"Name": "Production"}
	if err := st.Record("environments/Production.json", env, env); err != nil {
		t.Fatal(err)
	}
	for p, id := range map[string]string{"environments/Production.json": "Environments-1", "environments/Test.json": "Environments-2", "projects/OctoFX/project.json": "Projects-1"} {
		if err := st.RecordID(p, id); err != nil {
			t.Fatal(err)
		}
	}
	// Recording an ID writes no manifest: no fsync per entity.
	if _, err := os.Stat(filepath.Join(st.Dir(), ManifestFile)); !os.IsNotExist(err) {
		t.Errorf("RecordID wrote the manifest: %v", err)
	}
	if err := st.Forget("environments/Test.json"); err != nil {
		t.Fatal(err)
	}
	if err := st.Finish(Applied{Digest: "sha256:1"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	st2, err := Open(root, d)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := st2.IDs()
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids["environments/Production.json"] != "Environments-1" || ids["projects/OctoFX/project.json"] != "Projects-1" {
		t.Errorf("ids %v", ids)
	}
	// Forgotten in the next apply: gone from the manifest.
	if err := st2.Forget("projects/OctoFX/project.json"); err != nil {
		t.Fatal(err)
	}
	if err := st2.Finish(Applied{Digest: "sha256:2"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	m, _ := st2.Manifest()
	if len(m.IDs) != 1 {
		t.Errorf("ids after forgetting %v", m.IDs)
	}
}

// TestMigrateV1: a state.json of format v1 (no sources, no IDs) is read,
// and the next Finish writes it as the current format with them.
func TestMigrateV1(t *testing.T) {
	root := t.TempDir()
	d := Destination{Server: "https://prod", InstallationID: "inst", Space: "Default"}
	st, err := Open(root, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(st.Dir(), 0o700); err != nil {
		t.Fatal(err)
	}
	v1 := `{"format": "octobundle-state/v1", "destination": {"server": "https://prod", "installationId": "inst", "space": "Default"}, "bundleDigest": "sha256:old", "time": "2026-01-01T00:00:00Z"}`
	if err := os.WriteFile(filepath.Join(st.Dir(), ManifestFile), []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err = Open(root, d)
	if err != nil {
		t.Fatalf("a v1 state is refused: %v", err)
	}
	m, err := st.Manifest()
	if err != nil || m.Format != FormatV1 || m.Sources != nil || m.IDs != nil {
		t.Fatalf("v1 manifest %+v %v", m, err)
	}
	if _, rb := m.Rollback(bundles.Source{Server: "https://dev", Space: "Default"}, "sha256:x", time.Time{}); rb {
		t.Error("a v1 state knows no source, so nothing is a rollback")
	}
	if err := st.RecordID("environments/Production.json", "Environments-1"); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	if err := st.Finish(Applied{Digest: "sha256:new", Source: bundles.Source{Server: "https://dev", Space: "Default"}, ExportedAt: at}, at); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(st.Dir(), ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"format": "octobundle-state/v3"`, `"installationId": "inst"`, `"exportedAt": "2026-02-01T00:00:00Z"`, `"environments/Production.json": "Environments-1"`} {
		if !strings.Contains(string(data), w) {
			t.Errorf("migrated state.json lacks %s:\n%s", w, data)
		}
	}
}

// TestManifestFieldErrors: a bad field of state.json is named.
func TestManifestFieldErrors(t *testing.T) {
	head := `{"format":"octobundle-state/v2","destination":{"server":"s","space":"d"},`
	for _, tc := range []struct{ name, data, want string }{
		{"bad export time", head + `"sources":[{"server":"a","space":"b","exportedAt":"yesterday","bundleDigest":"x","appliedAt":"y"}]}`, "state.json: sources[0].exportedAt"},
		{"a source twice", head + `"sources":[{"server":"https://a","space":"b","exportedAt":"2026-01-01T00:00:00Z","bundleDigest":"x","appliedAt":""},{"server":"HTTPS://A/","space":"B","exportedAt":"2026-01-01T00:00:00Z","bundleDigest":"x","appliedAt":""}]}`, "state.json: sources[1]"},
		{"an ID of no entity path", head + `"ids":{"../x":"Environments-1"}}`, `state.json: ids["../x"]`},
		{"an empty ID", head + `"ids":{"environments/P.json":""}}`, `state.json: ids["environments/P.json"]: empty`},
	} {
		if _, err := ParseManifest([]byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}
