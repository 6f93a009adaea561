package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/octobundle/octobundle/internal/jsonv"
)

// canonicalCases are documents whose packed form canonicalOf encodes: every
// escape bundles.Canonical writes, empty and nested containers, numbers as
// written, and secrets in and out of sensitive values.
var canonicalCases = []struct {
	name, json string
	secret     bool
}{
	{"empty object", `{}`, false},
	{"empty array", `[]`, false},
	{"flat", `{"Name":"Production","Id":"Environments-1","SortOrder":1.0}`, false},
	{"nested empties", `{"a":{},"b":[],"c":[{}],"d":{"e":[[]]}}`, false},
	{"escapes", `{"s":"quote \" backslash \\ nl \n tab \t cr \r bs \b ff \f ctl \u0001 html <>& ls \u2028 ps \u2029 é 日本"}`, false},
	{"keys sorted", `{"b":1,"a":{"z":true,"y":null,"x":false},"A":[3,2,1]}`, false},
	{"numbers", `{"n":[0,-1,1e10,1.50,-0.0,12345678901234567890]}`, false},
	{"colon and comma in strings", `{"a:b":"c,d","e":"{[\"x\":1]}"}`, false},
	{"unset secret", `{"Password":{"HasValue":true,"NewValue":null}}`, false},
	{"NewValue elsewhere", `{"Vars":[{"Name":"NewValue","NewValue":"x"}]}`, false},
	{"NewValue in a string", `{"a":"\"NewValue\":1","b":"NewValue"}`, false},
	{"NewValue in a key", `{"x\"NewValue":{"HasValue":true,"NewValue":null}}`, false},
	{"secret", `{"Password":{"HasValue":true,"NewValue":"hunter2"}}`, true},
	{"secret after an unset one", `{"A":{"HasValue":true,"NewValue":null},"B":{"HasValue":true,"NewValue":"s"}}`, true},
	{"nested secret", `{"Steps":[{"Properties":{"P":{"HasValue":true,"NewValue":"s"}}}]}`, true},
}

// TestCanonicalOfDoc: a packed document gives canonical's bytes for its
// value, and a secret in it is refused as in a decoded value.
func TestCanonicalOfDoc(t *testing.T) {
	const p = "environments/Production.json"
	for _, tc := range canonicalCases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := jsonv.Decode([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			want, werr := canonical(p, v)
			got, gerr := canonicalOf(p, jsonv.MustPack(v))
			if (werr != nil) != tc.secret || (gerr != nil) != tc.secret {
				t.Fatalf("errors: decoded %v, packed %v; want a refusal: %v", werr, gerr, tc.secret)
			}
			if tc.secret {
				if !strings.Contains(gerr.Error(), "secret") {
					t.Fatalf("packed: %v, want a secret refused", gerr)
				}
				return
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("packed document gives\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// FuzzCanonicalOf: for any document Decode accepts, the packed form gives
// exactly the decoded value's canonical bytes, or both refuse it.
func FuzzCanonicalOf(f *testing.F) {
	for _, tc := range canonicalCases {
		f.Add([]byte(tc.json))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := jsonv.Decode(data)
		if err != nil {
			return
		}
		d, err := jsonv.Pack(v)
		if err != nil {
			return
		}
		want, werr := canonical("a.json", v)
		got, gerr := canonicalOf("a.json", d)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("errors differ: decoded %v, packed %v", werr, gerr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("packed document gives\n%s\nwant\n%s", got, want)
		}
	})
}

// TestRecordPacked: recording packed documents leaves the same state as
// recording their values: the same base digest and written sums, a zero
// Doc as written recording nothing as written, and a packed secret
// refused.
func TestRecordPacked(t *testing.T) {
	env := map[string]any{"Name": "Production", "Description": "p <&> \u2028", "SortOrder": jsonNumber("1.0")}
	proj := map[string]any{"Name": "OctoFX", "Tags": []any{}, "Settings": map[string]any{}}
	type rec struct {
		path          string
		base, written any
	}
	record := func(t *testing.T, recs []rec) *Store {
		st, err := Open(t.TempDir(), Destination{Server: "https://octopus.example.com", Space: "Default"})
		if err != nil {
			t.Fatal(err)
		}
		// Finish commits the journal: a group commit's timer left running
		// would fsync during another test (TestGroupCommit counts them).
		t.Cleanup(func() {
			if err := st.Finish(Applied{Digest: "sha256:1"}, time.Now()); err != nil {
				t.Error(err)
			}
		})
		for _, r := range recs {
			if err := st.Record(r.path, r.base, r.written); err != nil {
				t.Fatal(err)
			}
		}
		return st
	}
	plain := record(t, []rec{{"environments/Production.json", env, env}, {"projects/OctoFX/project.json", proj, nil}})
	packed := record(t, []rec{{"environments/Production.json", jsonv.MustPack(env), jsonv.MustPack(env)}, {"projects/OctoFX/project.json", jsonv.MustPack(proj), jsonv.Doc{}}})
	_, want, err := plain.Base()
	if err != nil {
		t.Fatal(err)
	}
	if _, got, err := packed.Base(); err != nil || got != want {
		t.Fatalf("base digest %s (%v), want %s", got, err, want)
	}
	for _, tc := range []struct {
		path string
		doc  any
		want bool
	}{
		{"environments/Production.json", env, true},
		{"projects/OctoFX/project.json", proj, false},
	} {
		data, err := canonical(tc.path, tc.doc)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if got := packed.HasWritten(tc.path, sum[:]); got != tc.want {
			t.Errorf("%s: HasWritten %v, want %v", tc.path, got, tc.want)
		}
	}
	secretDoc := jsonv.MustPack(map[string]any{"Name": "A", "Password": map[string]any{"HasValue": true, "NewValue": "s"}})
	if err := packed.Record("accounts/A.json", secretDoc, nil); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Fatalf("a packed secret: %v", err)
	}
}

func jsonNumber(s string) any { return json.Number(s) }

// TestMayHoldSecret: only a NewValue key with a value other than null
// sends a packed document through the decoding check.
func TestMayHoldSecret(t *testing.T) {
	for _, tc := range []struct {
		json string
		want bool
	}{
		{`{"Name":"A"}`, false},
		{`{"P":{"HasValue":true,"NewValue":null}}`, false},
		{`{"a":"\"NewValue\":1"}`, false},
		{`{"P":{"HasValue":true,"NewValue":"s"}}`, true},
		{`{"A":{"NewValue":null},"B":{"NewValue":""}}`, true},
		{`{"x\"NewValue":1}`, true},
	} {
		if got := mayHoldSecret([]byte(tc.json)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.json, got, tc.want)
		}
	}
}
