package sign

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"aead.dev/minisign"
	"github.com/octobundle/octobundle/bundles"
)

// legacySign signs b as octobundle did before format octobundle/v3: the
// trusted comment names the identity fields only.
func legacySign(t *testing.T, b *bundles.Bundle, key minisign.PrivateKey) {
	t.Helper()
	sums, _ := b.Raw(bundles.ChecksumsFile)
	r := minisign.NewReader(bytes.NewReader(sums))
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatal(err)
	}
	m := b.Manifest
	tc := fmt.Sprintf("octobundle digest=%s exported=%s space=%s source=%s",
		m.Digest, m.ExportedAt.UTC().Format(time.RFC3339), strconv.Quote(m.Source.Space), strconv.Quote(m.Source.Server))
	if err := b.SetSignature(r.SignWithComments(key, tc, "legacy")); err != nil {
		t.Fatal(err)
	}
}

// reread writes b to a new folder and reads it back, as a command would
// after someone edited it.
func reread(t *testing.T, b *bundles.Bundle, edit func(m *bundles.Manifest)) *bundles.Bundle {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "b")
	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		// Edit manifest.json in place, as an insider with file access
		// would, keeping checksums.txt and the signature.
		r, err := bundles.Read(dir, bundles.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sig := r.Signature()
		edit(&r.Manifest)
		if err := r.Seal(); err != nil {
			t.Fatal(err)
		}
		if err := r.SetSignature(sig); err != nil {
			t.Fatal(err)
		}
		if err := r.Write(dir); err != nil {
			t.Fatal(err)
		}
	}
	r, err := bundles.Read(dir, bundles.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSignatureCoversManifest: in format octobundle/v3 every manifest
// field is under the signature, without changing the digest; an older
// bundle's signature is valid but does not cover it, and Sign moves such a
// bundle to the current format.
func TestSignatureCoversManifest(t *testing.T) {
	dir := t.TempDir()
	sk, pk := keyPair(t, dir, "k")
	b := readGolden(t)
	if b.Manifest.Format != bundles.FormatV3 {
		t.Fatalf("golden bundle is %s", b.Manifest.Format)
	}
	digest := b.Digest()
	if from, err := Sign(b, sk); err != nil || from != "" {
		t.Fatalf("Sign: %q %v", from, err)
	}
	if !strings.Contains(TrustedComment(b), " manifest=sha256:") {
		t.Errorf("trusted comment %q does not bind the manifest", TrustedComment(b))
	}
	res, err := Check(reread(t, b, nil), []PublicKey{pk})
	if err != nil || !res.Verified || !res.CoversManifest {
		t.Fatalf("Check: %+v %v", res, err)
	}
	edits := map[string]func(m *bundles.Manifest){
		"Projects added":        func(m *bundles.Manifest) { m.Projects = append(m.Projects, "OctoFX") },
		"ServerVersion changed": func(m *bundles.Manifest) { m.Source.ServerVersion = "2019.1.0" },
		"Rules forged": func(m *bundles.Manifest) {
			m.Rules = append(m.Rules, bundles.RuleRef{Name: "reviewed.yaml", Digest: "sha256:" + strings.Repeat("0", 64)})
		},
		"ToolVersion changed": func(m *bundles.Manifest) { m.ToolVersion = "9.9.9" },
		"Input forged": func(m *bundles.Manifest) {
			m.Input = &bundles.InputRef{Digest: "sha256:" + strings.Repeat("1", 64), Format: bundles.FormatV3, KeyID: "ABCDEF"}
		},
		"Format downgraded": func(m *bundles.Manifest) { m.Format = bundles.FormatV2 },
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			r := reread(t, b, edit)
			if r.Digest() != digest {
				t.Fatalf("a manifest edit changed the digest: %s → %s", digest, r.Digest())
			}
			if _, err := Check(r, []PublicKey{pk}); err == nil || !strings.Contains(err.Error(), "manifest.json was changed after signing") {
				t.Fatalf("Check after %s: %v", name, err)
			}
		})
	}

	// A v3 bundle with a signature that does not bind its manifest.
	legacy := readGolden(t)
	legacySign(t, legacy, sk)
	if _, err := Check(legacy, []PublicKey{pk}); err == nil || !strings.Contains(err.Error(), "does not bind manifest.json") {
		t.Errorf("v3 with a legacy signature: %v", err)
	}

	// An octobundle/v2 bundle signed the old way: valid, not covering.
	old := readGolden(t)
	old.Manifest.Format = bundles.FormatV2
	if err := old.Seal(); err != nil {
		t.Fatal(err)
	}
	legacySign(t, old, sk)
	old = reread(t, old, nil)
	res, err = Check(old, []PublicKey{pk})
	if err != nil || !res.Verified || res.CoversManifest {
		t.Fatalf("v2 legacy signature: %+v %v", res, err)
	}
	if !strings.Contains(ResignCommand("my bundle"), "octobundle sign --key NAME.key 'my bundle'") {
		t.Errorf("ResignCommand: %s", ResignCommand("my bundle"))
	}
	from, err := Sign(old, sk)
	if err != nil || from != bundles.FormatV2 || old.Manifest.Format != bundles.Format {
		t.Fatalf("Sign of a v2 bundle: %q %v, format %s", from, err, old.Manifest.Format)
	}
	if old.Digest() != digest {
		t.Errorf("moving v2 to v3 changed the digest: %s → %s", digest, old.Digest())
	}
	res, err = Check(reread(t, old, nil), []PublicKey{pk})
	if err != nil || !res.CoversManifest {
		t.Fatalf("re-signed: %+v %v", res, err)
	}
}

// TestFileSignature: a rule file's signature, FILE.minisig.
func TestFileSignature(t *testing.T) {
	dir := t.TempDir()
	sk, pk := keyPair(t, dir, "k")
	_, other := keyPair(t, dir, "other")
	name := filepath.Join(dir, "rules.yaml")
	data := []byte("apiVersion: octobundle/rules/v1\nrules: []\n")
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckFile(name, data, []PublicKey{pk}); !errors.Is(err, ErrFileUnsigned) || !strings.Contains(err.Error(), "octobundle sign --key NAME.key") {
		t.Fatalf("unsigned: %v", err)
	}
	sig, err := SignFile(name, data, sk)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name+FileSignatureSuffix, sig, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := CheckFile(name, data, []PublicKey{other, pk})
	if err != nil || !res.Verified || res.KeyID != KeyID(pk.Key.ID()) {
		t.Fatalf("signed: %+v %v", res, err)
	}
	if _, err := CheckFile(name, data, []PublicKey{other}); err == nil || !strings.Contains(err.Error(), "not a trusted key") {
		t.Errorf("untrusted: %v", err)
	}
	changed := append(bytes.Clone(data), "# more\n"...)
	if _, err := CheckFile(name, changed, []PublicKey{pk}); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("changed: %v", err)
	}
	// A signature of other content with another comment (a bundle's
	// checksums.txt signature) is not a rule file signature.
	r := minisign.NewReader(bytes.NewReader(data))
	_, _ = io.Copy(io.Discard, r)
	if err := os.WriteFile(name+FileSignatureSuffix, r.SignWithComments(sk, "something else", ""), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckFile(name, data, []PublicKey{pk}); err == nil || !strings.Contains(err.Error(), "does not name this content") {
		t.Errorf("foreign comment: %v", err)
	}

	// The minisign program accepts octobundle's signature of a file.
	bin, err := exec.LookPath("minisign")
	if err != nil {
		t.Skip("the minisign program is not installed (apt-get install minisign): not checking file signatures with it")
	}
	if err := os.WriteFile(name+FileSignatureSuffix, sig, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-V", "-p", filepath.Join(dir, "k.pub"), "-m", name).CombinedOutput()
	if err != nil {
		t.Fatalf("minisign -Vm: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Trusted comment: "+FileComment(name, data)) {
		t.Errorf("minisign output lacks the trusted comment:\n%s", out)
	}
}
