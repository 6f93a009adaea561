package bundles

import (
	"testing"
	"time"

	"github.com/octobundle/octobundle/schema"
)

func TestSmoke(t *testing.T) {
	b := New(Manifest{ToolVersion: "dev", Source: Source{Server: "https://octo.example.com", ServerVersion: "2024.1", Space: "Default"}, ExportedAt: time.Now()})
	env := schema.MustLookup(schema.Environment)
	if _, err := b.PutEntity(env, []string{"Production"}, map[string]any{"Name": "Production", "Description": "<b>&"}); err != nil {
		t.Fatal(err)
	}
	lc := schema.MustLookup(schema.Lifecycle)
	if _, err := b.PutEntity(lc, []string{"Default"}, map[string]any{"Name": "Default", "Phases": []any{map[string]any{"Name": "P", "OptionalDeploymentTargets": []any{"Production"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PutEntity(lc, []string{"Bad"}, map[string]any{"Name": "Bad", "Phases": []any{map[string]any{"Name": "P", "OptionalDeploymentTargets": []any{"Environments-1"}}}}); err == nil {
		t.Fatal("ID accepted")
	} else {
		t.Log(err)
	}
	if _, err := b.PutEntity(env, []string{"production"}, map[string]any{"Name": "production"}); err == nil {
		t.Fatal("collision accepted")
	} else {
		t.Log(err)
	}
	dir := t.TempDir()
	for _, p := range []string{dir + "/b", dir + "/b.tar.zst"} {
		if err := b.Write(p); err != nil {
			t.Fatal(err)
		}
		r, err := Read(p, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Digest() != b.Digest() {
			t.Fatal("digest")
		}
	}
	raw, _ := b.Raw("manifest.json")
	t.Log(string(raw))
	raw, _ = b.Raw("checksums.txt")
	t.Log(string(raw))
}
