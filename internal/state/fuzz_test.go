package state

import (
	"errors"
	"slices"
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
// format (or the v1 or v2 it migrates) naming a destination.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"format":"octobundle-state/v1","destination":{"server":"s","space":"d"}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"format":"octobundle-state/v2","destination":{"server":"s","space":"d"},"sources":[{"server":"https://dev","space":"Default","exportedAt":"2026-01-01T00:00:00Z","bundleDigest":"sha256:1","appliedAt":"2026-01-02T00:00:00Z"}],"ids":{"environments/Production.json":"Environments-1"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		if (m.Format != Format && m.Format != FormatV2 && m.Format != FormatV1) || m.Destination.Space == "" {
			t.Fatalf("accepted %+v", m)
		}
	})
}

// FuzzReadJournal: any bytes either fail with a *JournalError or read as
// a valid prefix that reads again, alone, to its end with the same
// records; a record appended after that prefix is read too (what the
// writer does after cutting a torn tail).
func FuzzReadJournal(f *testing.F) {
	data, _ := sampleFrames()
	f.Add(data)
	f.Add(data[:len(data)-3])
	f.Add(append(data[:len(data):len(data)], 0, 0, 0, 0, 0, 0, 0, 0, 0))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, valid, err := readAll(data)
		if err != nil {
			var je *JournalError
			if !errors.As(err, &je) || je.Offset < 0 || je.Offset >= int64(len(data)) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if valid < 0 || valid > int64(len(data)) {
			t.Fatalf("valid %d of %d bytes", valid, len(data))
		}
		again, v2, err := readAll(data[:valid])
		if err != nil || v2 != valid || len(again) != len(got) {
			t.Fatalf("the valid prefix reads as %d records, %d bytes, %v; first %d, %d", len(again), v2, err, len(got), valid)
		}
		more := appendFrame(slices.Clone(data[:valid]), entry{op: opForget, path: "environments/X.json"})
		last, _, err := readAll(more)
		if err != nil || len(last) != len(got)+1 || last[len(last)-1].path != "environments/X.json" {
			t.Fatalf("a record appended after the valid prefix: %d records, %v", len(last), err)
		}
	})
}
