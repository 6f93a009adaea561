package sign

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"aead.dev/minisign"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/schema"
)

const golden = "../testdata/golden/source"

// keyPair writes a key pair named name in dir with the fast limits and
// returns the secret key and the trusted public key.
func keyPair(t *testing.T, dir, name string) (minisign.PrivateKey, PublicKey) {
	t.Helper()
	base := filepath.Join(dir, name)
	if _, err := WriteKeyPair(base, "correct horse", Interactive); err != nil {
		t.Fatal(err)
	}
	sk, err := LoadSecretKey(base+SecretKeySuffix, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	pk, err := LoadPublicKey(base + PublicKeySuffix)
	if err != nil {
		t.Fatal(err)
	}
	return sk, pk
}

func readGolden(t *testing.T) *bundles.Bundle {
	t.Helper()
	b, err := bundles.Read(golden, bundles.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// changed returns a copy of b with one environment's description changed,
// sealed.
func changed(t *testing.T, b *bundles.Bundle) *bundles.Bundle {
	t.Helper()
	c := b.Clone()
	env := schema.MustLookup(schema.Environment)
	e := c.Entries()
	for _, x := range e {
		if x.Kind == env {
			doc := schema.DeepCopy(x.Doc).(map[string]any)
			doc["Description"] = "tampered"
			if _, err := c.PutEntity(env, x.Names, doc); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if err := c.Seal(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	sk1, pk1 := keyPair(t, dir, "one")
	sk2, pk2 := keyPair(t, dir, "two")
	base := readGolden(t)
	signed := base.Clone()
	if _, err := Sign(signed, sk1); err != nil {
		t.Fatal(err)
	}
	sig := signed.Signature()

	withSig := func(b *bundles.Bundle, s []byte) *bundles.Bundle {
		c := b.Clone()
		if err := c.SetSignature(s); err != nil {
			t.Fatal(err)
		}
		return c
	}
	reexport := base.Clone()
	reexport.Manifest.ExportedAt = reexport.Manifest.ExportedAt.Add(24 * time.Hour)
	if err := reexport.Seal(); err != nil {
		t.Fatal(err)
	}
	if reexport.Digest() != base.Digest() {
		t.Fatal("a re-export of the same content should have the same digest")
	}
	otherSpace := base.Clone()
	otherSpace.Manifest.Source.Space = "Other"
	if err := otherSpace.Seal(); err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(sig)
	lines := bytes.Split(flipped, []byte("\n"))
	// A character of the base64 signature line (inside the signature
	// bytes) replaced by another base64 character: flipping a bit instead
	// could make it no base64 at all ('z'^1 is '{'), a different error,
	// for a random key now and then.
	if lines[1][20] == 'A' {
		lines[1][20] = 'B'
	} else {
		lines[1][20] = 'A'
	}
	flipped = bytes.Join(lines, []byte("\n"))
	bySk2 := base.Clone()
	if _, err := Sign(bySk2, sk2); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		b    *bundles.Bundle
		keys []PublicKey
		want string // error substring; "" verifies
	}{
		{"signed, one trusted key", signed, []PublicKey{pk1}, ""},
		{"signed, any of several keys", signed, []PublicKey{pk2, pk1}, ""},
		{"no keys: read only", signed, nil, ""},
		{"unsigned", base, []PublicKey{pk1}, "the bundle is not signed"},
		{"another key", bySk2, []PublicKey{pk1}, "which is not a trusted key (trusted: " + KeyID(pk1.Key.ID())},
		{"tampered and resealed", withSig(changed(t, base), sig), []PublicKey{pk1}, "it claims to sign the bundle with digest " + base.Digest()},
		{"swapped signature (of another bundle)", withSig(base, func() []byte {
			o := changed(t, base)
			if _, err := Sign(o, sk1); err != nil {
				t.Fatal(err)
			}
			return o.Signature()
		}()), []PublicKey{pk1}, "does not match this bundle"},
		{"moved to a re-export of the same content", withSig(reexport, sig), []PublicKey{pk1}, "valid but was made for another bundle"},
		{"moved to another space", withSig(otherSpace, sig), []PublicKey{pk1}, `space "Other"`},
		{"corrupted signature", withSig(base, flipped), []PublicKey{pk1}, "does not verify"},
		{"not a signature", withSig(base, []byte("hello\n")), []PublicKey{pk1}, "not a valid minisign signature"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Check(tc.b, tc.keys)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Check: %v, want an error containing %q", err, tc.want)
			case tc.want == "" && len(tc.keys) > 0 && (!res.Verified || res.By == nil || res.KeyID != KeyID(pk1.Key.ID())):
				t.Fatalf("Check: %+v, want verified by %s", res, KeyID(pk1.Key.ID()))
			case tc.want == "" && len(tc.keys) == 0 && (res.Verified || !res.Signed):
				t.Fatalf("Check without keys: %+v", res)
			}
		})
	}
	if _, err := Check(base, []PublicKey{pk1}); !errors.Is(err, ErrUnsigned) {
		t.Errorf("unsigned: %v, want ErrUnsigned", err)
	}
}

// TestSignatureTravels: the signature survives writing, packing and
// unpacking, and is dropped by any change to the bundle.
func TestSignatureTravels(t *testing.T) {
	dir := t.TempDir()
	sk, pk := keyPair(t, dir, "k")
	b := readGolden(t)
	if _, err := Sign(b, sk); err != nil {
		t.Fatal(err)
	}
	d, arc, un := filepath.Join(dir, "b"), filepath.Join(dir, "b.tar.zst"), filepath.Join(dir, "u")
	if err := b.Write(d); err != nil {
		t.Fatal(err)
	}
	if err := bundles.Pack(d, arc); err != nil {
		t.Fatal(err)
	}
	if err := bundles.Unpack(arc, un); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{d, arc, un} {
		r, err := bundles.Read(p, bundles.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Check(r, []PublicKey{pk}); err != nil {
			t.Errorf("%s: %v", filepath.Base(p), err)
		}
	}

	c := b.Clone()
	if _, err := c.PutEntity(schema.MustLookup(schema.Environment), []string{"New"}, map[string]any{"Name": "New"}); err != nil {
		t.Fatal(err)
	}
	if c.Signature() != nil {
		t.Error("a changed entity kept the signature")
	}
	m := b.Clone()
	m.Manifest.Rules = append(m.Manifest.Rules, bundles.RuleRef{Name: "r.yaml", Digest: "sha256:" + strings.Repeat("0", 64)})
	if err := m.Seal(); err != nil {
		t.Fatal(err)
	}
	if m.Signature() != nil {
		t.Error("a changed manifest kept the signature after Seal")
	}
	x := b.Clone()
	if !x.DropSignature() || x.Signature() != nil || x.DropSignature() {
		t.Error("DropSignature")
	}
}

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	keyPair(t, dir, "k")
	base := filepath.Join(dir, "k")
	if _, err := WriteKeyPair(base, "pw", Interactive); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("overwrite: %v", err)
	}
	if st, err := os.Stat(base + SecretKeySuffix); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("secret key mode: %v %v", st, err)
	}
	if _, err := LoadSecretKey(base+SecretKeySuffix, "wrong"); err == nil || !strings.Contains(err.Error(), "wrong password") {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := LoadSecretKey(base+PublicKeySuffix, "pw"); err == nil {
		t.Error("a public key loaded as a secret key")
	}
	if _, err := LoadPublicKey(base + SecretKeySuffix); err == nil || !strings.Contains(err.Error(), "not a minisign public key") {
		t.Errorf("secret key as public key: %v", err)
	}
	if _, _, err := GenerateKey("", Interactive); err == nil {
		t.Error("empty password accepted")
	}
	// The default limits are minisign's own.
	if n, r, p := scryptParams(Sensitive); n != 1<<20 || r != 8 || p != 1 {
		t.Errorf("sensitive scrypt parameters N=%d r=%d p=%d", n, r, p)
	}
}

// TestMinisignTool verifies a bundle signed by octobundle with the minisign
// program (Debian's package), as an operator without octobundle would.
func TestMinisignTool(t *testing.T) {
	bin, err := exec.LookPath("minisign")
	if err != nil {
		t.Skip("the minisign program is not installed (apt-get install minisign): not checking octobundle signatures with it")
	}
	dir := t.TempDir()
	sk, _ := keyPair(t, dir, "k")
	b := readGolden(t)
	if _, err := Sign(b, sk); err != nil {
		t.Fatal(err)
	}
	bd := filepath.Join(dir, "bundle")
	if err := b.Write(bd); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-V", "-p", filepath.Join(dir, "k.pub"), "-m", filepath.Join(bd, bundles.ChecksumsFile)).CombinedOutput()
	if err != nil {
		t.Fatalf("minisign -V: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Trusted comment: "+TrustedComment(b)) {
		t.Errorf("minisign output lacks the trusted comment:\n%s", out)
	}
	// A changed checksums.txt fails minisign too.
	sums := filepath.Join(bd, bundles.ChecksumsFile)
	data, err := os.ReadFile(sums)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sums, append(data, data[:65]...), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-V", "-p", filepath.Join(dir, "k.pub"), "-m", sums).CombinedOutput(); err == nil {
		t.Errorf("minisign accepted a changed checksums.txt:\n%s", out)
	}
}

// TestMinisignToolSigns: the minisign program signs with a key octobundle
// generated (key files are compatible), and octobundle verifies the result.
func TestMinisignToolSigns(t *testing.T) {
	bin, err := exec.LookPath("minisign")
	if err != nil {
		t.Skip("the minisign program is not installed (apt-get install minisign): not checking key compatibility with it")
	}
	dir := t.TempDir()
	_, pk := keyPair(t, dir, "k")
	b := readGolden(t)
	bd := filepath.Join(dir, "bundle")
	if err := b.Write(bd); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-S", "-s", filepath.Join(dir, "k.key"), "-m", filepath.Join(bd, bundles.ChecksumsFile), "-t", TrustedComment(b))
	cmd.Stdin = strings.NewReader("correct horse\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("minisign -S: %v\n%s", err, out)
	}
	r, err := bundles.Read(bd, bundles.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := Check(r, []PublicKey{pk}); err != nil || !res.Verified {
		t.Fatalf("a minisign signature with octobundle's key: %+v %v", res, err)
	}
}

// TestKeyID: key IDs print as minisign prints them, 16 upper-case hex
// digits with leading zeros kept (a key whose ID starts with a zero digit
// printed 15 digits before, and matched no minisign output).
func TestKeyID(t *testing.T) {
	for _, tc := range []struct {
		id   uint64
		want string
	}{
		{0x7C94F9538F5455B, "07C94F9538F5455B"},
		{0xC0FFEE, "0000000000C0FFEE"},
		{0xFEDCBA9876543210, "FEDCBA9876543210"},
	} {
		if got := KeyID(tc.id); got != tc.want {
			t.Errorf("KeyID(%#x) = %q, want %q", tc.id, got, tc.want)
		}
	}
}
