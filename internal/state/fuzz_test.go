package state

import (
	"testing"

	"github.com/octobundle/octobundle/bundles"
)

// FuzzParseEntity: any bytes under any path either fail with an error or
// give a document that re-encodes canonically and holds no secret.
func FuzzParseEntity(f *testing.F) {
	f.Add("environments/Production.json", []byte(`{"Name":"Production"}`))
	f.Add("accounts/A.json", []byte(`{"Name":"A","Password":{"HasValue":true,"NewValue":null}}`))
	f.Add("teams/T/scoped-user-roles.json", []byte(`[{"UserRoleId":"r"}]`))
	f.Add("../x.json", []byte(`{}`))
	f.Fuzz(func(t *testing.T, p string, data []byte) {
		doc, err := ParseEntity(p, data)
		if err != nil {
			return
		}
		if secret(doc) {
			t.Fatal("a secret passed")
		}
		if _, err := bundles.Canonical(doc); err != nil {
			t.Fatalf("a parsed document does not re-encode: %v", err)
		}
	})
}

// FuzzParseManifest: any bytes either fail or give a manifest of this
// format (or the v1 it migrates) naming a destination.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"format":"octobundle-state/v1","destination":{"server":"s","space":"d"}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"format":"octobundle-state/v2","destination":{"server":"s","space":"d"},"sources":[{"server":"https://dev","space":"Default","exportedAt":"2026-01-01T00:00:00Z","bundleDigest":"sha256:1","appliedAt":"2026-01-02T00:00:00Z"}],"ids":{"environments/Production.json":"Environments-1"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		if (m.Format != Format && m.Format != FormatV1) || m.Destination.Space == "" {
			t.Fatalf("accepted %+v", m)
		}
	})
}
