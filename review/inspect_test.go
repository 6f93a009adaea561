package review

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/sign"
)

func TestInspect(t *testing.T) {
	b, err := bundles.Read(filepath.Join("..", "testdata", "golden", "source"), bundles.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keys := map[string]sign.PublicKey{}
	secret := map[string]string{}
	for _, n := range []string{"ops", "other"} {
		base := filepath.Join(dir, n)
		if _, err := sign.WriteKeyPair(base, "pw", sign.Interactive); err != nil {
			t.Fatal(err)
		}
		k, err := sign.LoadPublicKey(base + sign.PublicKeySuffix)
		if err != nil {
			t.Fatal(err)
		}
		keys[n], secret[n] = k, base+sign.SecretKeySuffix
	}
	signed := b.Clone()
	sk, err := sign.LoadSecretKey(secret["ops"], "pw")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Sign(signed, sk); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		b     *bundles.Bundle
		keys  []sign.PublicKey
		state string
	}{
		{"unsigned", b, nil, Unsigned},
		{"unsigned with a key", b, []sign.PublicKey{keys["ops"]}, Unsigned},
		{"signed, no key", signed, nil, NotChecked},
		{"signed, trusted", signed, []sign.PublicKey{keys["other"], keys["ops"]}, Valid},
		{"signed, untrusted", signed, []sign.PublicKey{keys["other"]}, Invalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			info := Inspect("golden", tc.b, tc.keys)
			if info.Signature.State != tc.state {
				t.Fatalf("signature %+v, want %s", info.Signature, tc.state)
			}
			if tc.state == Invalid && !strings.Contains(info.Signature.Problem, "not a trusted key") {
				t.Errorf("problem: %q", info.Signature.Problem)
			}
			if info.Digest != b.Digest() || info.Source.Space != "Default" || len(info.Counts) == 0 {
				t.Errorf("info: %+v", info)
			}
			var octofx *ProjectInfo
			for i := range info.Projects {
				if info.Projects[i].Name == "OctoFX" {
					octofx = &info.Projects[i]
				}
			}
			if octofx == nil || *octofx != (ProjectInfo{Name: "OctoFX", Steps: 8, Variables: 31, Runbooks: 1, Channels: 2}) {
				t.Errorf("OctoFX: %+v", octofx)
			}
			var txt, js bytes.Buffer
			if err := info.WriteText(&txt); err != nil {
				t.Fatal(err)
			}
			if err := info.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(txt.String(), "digest        "+b.Digest()) || !strings.Contains(js.String(), `"state": "`+tc.state+`"`) {
				t.Errorf("output:\n%s\n%s", txt.String(), js.String())
			}
		})
	}
}

func TestTextColour(t *testing.T) {
	a := map[string]any{"Name": "x"}
	r := &Report{Summary: map[string]Count{"Environment": {Changed: 1}}, Changes: []EntityChange{
		{Op: Changed, Kind: "Environment", Names: []string{"x"}, Path: "environments/x.json", Fields: Fields(nil, a, map[string]any{"Name": "x", "Script": "a\nb\n"})},
	}}
	var plain, colour bytes.Buffer
	if err := r.WriteText(&plain, false); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteText(&colour, true); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\033[") {
		t.Errorf("colour without colour:\n%q", plain.String())
	}
	for _, want := range []string{ansiYellow + `~ Environment "x" (environments/x.json)` + ansiReset, ansiGreen + `+ Script: "a\nb\n"` + ansiReset} {
		if !strings.Contains(colour.String(), want) {
			t.Errorf("coloured output lacks %q:\n%q", want, colour.String())
		}
	}
}

// TestInspectRelease: inspect of a release bundle whose release cannot be
// read says why in its release section, as release plan would refuse it;
// other bundles have no release section. (A readable release bundle is
// inspected end to end in release_promote.txtar and jsonoutput's
// release.txtar.)
func TestInspectRelease(t *testing.T) {
	golden, err := bundles.Read(filepath.Join("..", "testdata", "golden", "source"), bundles.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		kind    string
		attach  map[string]string
		problem string // "": no release section
	}{
		{name: "configuration bundle", kind: "", problem: ""},
		{name: "no release document", kind: bundles.KindRelease, problem: "has no attached/release.json"},
		{name: "not JSON", kind: bundles.KindRelease, attach: map[string]string{"attached/release.json": "{"}, problem: "attached/release.json: unexpected EOF"},
		{name: "unknown field", kind: bundles.KindRelease, attach: map[string]string{"attached/release.json": `{"Format":"octobundle-release/v1","Bogus":1}`}, problem: `unknown field "Bogus"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := golden.Clone()
			b.Manifest.Kind = tc.kind
			for p, data := range tc.attach {
				if err := b.Attach(p, []byte(data)); err != nil {
					t.Fatal(err)
				}
			}
			info := Inspect("b", b, nil)
			var text strings.Builder
			if err := info.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if tc.problem == "" {
				if info.Release != nil || strings.Contains(text.String(), "\nrelease:") {
					t.Fatalf("a release section for a configuration bundle: %+v", info.Release)
				}
				return
			}
			if info.Release == nil || !strings.Contains(info.Release.Problem, tc.problem) {
				t.Fatalf("release %+v, want the problem %q", info.Release, tc.problem)
			}
			if want := "\nrelease:\n  cannot be read: " + info.Release.Problem + "\n"; !strings.HasSuffix(text.String(), want) {
				t.Errorf("text ends\n%s\nwant it to end\n%s", text.String()[max(0, text.Len()-300):], want)
			}
		})
	}
}
