package state

import (
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/octobundle/octobundle/bundles"
)

func TestRecordBaseForget(t *testing.T) {
	root := t.TempDir()
	st, err := Open(root, Destination{Server: "https://Octopus.Example.com/", Space: "Default"})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, bundles.EscapeName("https://octopus.example.com"), "Default"); st.Dir() != want {
		t.Errorf("dir %s", st.Dir())
	}
	b, digest, err := st.Base()
	if err != nil || b != nil || digest != "" {
		t.Fatalf("empty state: %v %v %q", b, err, digest)
	}
	env := map[string]any{"Name": "Production", "Description": "p"}
	if err := st.Record("environments/Production.json", env, env); err != nil {
		t.Fatal(err)
	}
	proj := map[string]any{"Name": "OctoFX", "LifecycleId": "Default Lifecycle"}
	if err := st.Record("projects/OctoFX/project.json", proj, nil); err != nil {
		t.Fatal(err)
	}
	b, digest, err = st.Base()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(b.Paths(), ","); got != "environments/Production.json,projects/OctoFX/project.json" {
		t.Errorf("base paths %s", got)
	}
	if !strings.HasPrefix(digest, "sha256:") {
		t.Errorf("digest %q", digest)
	}
	w, err := st.Written()
	if err != nil || len(w.Paths()) != 1 {
		t.Fatalf("written: %v %v", w, err)
	}
	for _, tc := range []struct {
		name, path string
		doc        any
		want       bool
	}{
		{"the recorded document", "environments/Production.json", env, true},
		{"another document", "environments/Production.json", map[string]any{"Name": "Production"}, false},
		{"nothing recorded as written", "projects/OctoFX/project.json", proj, false},
		{"no such entity", "environments/Gone.json", env, false},
	} {
		data, err := bundles.Canonical(tc.doc)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if got := st.HasWritten(tc.path, sum[:]); got != tc.want {
			t.Errorf("HasWritten, %s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if err := st.Forget("environments/Production.json"); err != nil {
		t.Fatal(err)
	}
	if err := st.Forget("environments/Gone.json"); err != nil {
		t.Errorf("forgetting what is not there: %v", err)
	}
	b2, digest2, err := st.Base()
	if err != nil || len(b2.Paths()) != 1 || digest2 == digest {
		t.Errorf("after forget: %v %v %q", b2.Paths(), err, digest2)
	}
	if err := st.Finish(Applied{Digest: "sha256:" + strings.Repeat("a", 64)}, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	m, err := st.Manifest()
	if err != nil || m.Format != Format || m.Time != "2026-01-02T03:04:05Z" || m.Destination.Space != "Default" {
		t.Errorf("manifest %+v %v", m, err)
	}
	// No temporary file is left behind.
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if strings.HasPrefix(d.Name(), ".tmp-") {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

func TestIdentity(t *testing.T) {
	for _, tc := range []struct {
		d    Destination
		want string
	}{
		{Destination{Server: "https://x", InstallationID: "f68a99d2"}, "f68a99d2"},
		{Destination{Server: "HTTPS://Octopus.Example.COM/"}, "https://octopus.example.com"},
		{Destination{Server: "https://octopus.example.com/sub/"}, "https://octopus.example.com/sub"},
	} {
		if got := tc.d.Identity(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestRefusals(t *testing.T) {
	st, err := Open(t.TempDir(), Destination{Server: "https://x", Space: "Default"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		doc        any
		want       string
	}{
		{"a secret", "accounts/A.json", map[string]any{"Name": "A", "Password": map[string]any{"HasValue": true, "NewValue": "hunter2"}}, "secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := st.Record(tc.path, tc.doc, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %v", err)
			}
		})
	}
	for _, tc := range []struct {
		name, path, data, want string
	}{
		{"not JSON", "environments/P.json", "{", "environments/P.json"},
		{"not an entity path", "secrets/x.json", "{}", "not the path of an entity file"},
		{"not an object", "environments/P.json", "[1]", "not a JSON object"},
		{"a secret", "accounts/A.json", `{"Name":"A","Password":{"HasValue":true,"NewValue":"x"}}`, "holds a secret"},
	} {
		t.Run("parse "+tc.name, func(t *testing.T) {
			if _, err := ParseEntity(tc.path, []byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	for _, tc := range []struct{ name, data, want string }{
		{"wrong format", `{"format":"x","destination":{"server":"s","space":"d"}}`, "format"},
		{"unknown field", `{"format":"octobundle-state/v2","destination":{"server":"s","space":"d"},"extra":1}`, "unknown field"},
		{"no space", `{"format":"octobundle-state/v1","destination":{"server":"s"}}`, "no destination"},
	} {
		t.Run("manifest "+tc.name, func(t *testing.T) {
			if _, err := ParseManifest([]byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	// A state folder of another space is refused.
	root := t.TempDir()
	a, _ := Open(root, Destination{Server: "https://x", Space: "A"})
	if err := a.Finish(Applied{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(a.Dir(), filepath.Join(filepath.Dir(a.Dir()), "B")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(root, Destination{Server: "https://x", Space: "B"}); err == nil || !strings.Contains(err.Error(), `it is the state of https://x space "A", not of https://x space "B"`) {
		t.Errorf("error %v", err)
	}
}

func TestLock(t *testing.T) {
	st, err := Open(t.TempDir(), Destination{Server: "https://x", Space: "Default"})
	if err != nil {
		t.Fatal(err)
	}
	unlock, stale, err := st.Lock(false)
	if err != nil || stale != nil {
		t.Fatalf("lock: %v %v", err, stale)
	}
	// A second apply (this live process) is refused, naming the holder.
	if _, _, err := st.Lock(false); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid ") || !strings.Contains(err.Error(), LockFile) {
		t.Errorf("second lock: %v", err)
	}
	// --force-unlock takes it.
	unlock2, _, err := st.Lock(true)
	if err != nil {
		t.Fatal(err)
	}
	if err := unlock2(); err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Errorf("releasing a lock already gone: %v", err)
	}
	// A lock left by a dead process on this host is stale: taken over.
	host, _ := os.Hostname()
	if err := os.WriteFile(filepath.Join(st.Dir(), LockFile), []byte(`{"pid": 2147483646, "host": "`+host+`", "since": "2026-01-01T00:00:00Z"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	unlock3, stale, err := st.Lock(false)
	if err != nil || stale == nil || stale.PID != 2147483646 {
		t.Fatalf("stale lock: %v %+v", err, stale)
	}
	_ = unlock3()
	// An unreadable lock is refused.
	if err := os.WriteFile(filepath.Join(st.Dir(), LockFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Lock(false); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "unreadable") {
		t.Errorf("garbage lock: %v", err)
	}
}
