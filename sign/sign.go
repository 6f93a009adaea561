// Package sign signs and verifies bundles and rule files with minisign
// (aead.dev/minisign), so that whoever carries a bundle across an air gap
// can prove where it came from, and whoever applies it that the rules that
// fit it to production were reviewed, with octobundle or with the standard
// minisign tool.
//
// A bundle's signature is a prehashed Ed25519 minisign signature of the
// bundle's checksums.txt (whose sha256 is the bundle digest), stored in the
// bundle as checksums.txt.minisig. Its trusted comment — signed too — binds
// the manifest: its identity fields, and (format octobundle/v3) the sha256
// of manifest.json, so no manifest field can be edited and a valid
// signature cannot be moved to another bundle, nor to a re-export of the
// same content from another server, space or time:
//
//	octobundle digest=sha256:<hex> exported=2024-05-01T10:00:00Z space="Default" source="https://octopus.example.com" manifest=sha256:<hex>
//
// An operator can check a bundle directory without octobundle:
//
//	minisign -Vm BUNDLE/checksums.txt -p KEY.pub
//
// which verifies checksums.txt and prints the trusted comment; then
// `sha256sum -c checksums.txt` in the folder checks every file, and the
// digest and `sha256sum manifest.json` must match the comment.
//
// A rule file FILE is signed as minisign signs any file: FILE.minisig,
// with the trusted comment `octobundle file="NAME" sha256=<hex>` (see
// SignFile, CheckFile); `minisign -Vm FILE -p KEY.pub` checks it.
//
// Key files are minisign's: NAME.pub (public key) and NAME.key (secret key,
// encrypted with a password through scrypt, as minisign -G writes it), so
// keys made by either tool work with the other.
package sign

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"aead.dev/minisign"
	"github.com/octobundle/octobundle/bundles"
	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/scrypt"
)

// KDFLimits are the scrypt cost parameters that protect a secret key file,
// in libsodium's terms (the numbers minisign records in the key file).
type KDFLimits struct {
	// Ops is the operations limit.
	Ops uint64
	// Mem is the memory limit in bytes.
	Mem uint64
}

var (
	// Sensitive are the limits minisign -G uses (1 GiB of memory; seconds
	// per use, tens of seconds on a busy machine): the default for keygen.
	Sensitive = KDFLimits{Ops: 33554432, Mem: 1073741824}
	// Interactive are libsodium's interactive limits (16 MiB): much faster,
	// and so weaker against guessing the password of a stolen key file.
	Interactive = KDFLimits{Ops: 524288, Mem: 16777216}
)

// Key file suffixes written by WriteKeyPair.
const (
	// PublicKeySuffix ends a public key file name.
	PublicKeySuffix = ".pub"
	// SecretKeySuffix ends a secret key file name.
	SecretKeySuffix = ".key"
)

// maxComment is the longest trusted comment minisign accepts (its
// COMMENTMAXBYTES is 1024, including the line's prefix and newline).
const maxComment = 900

// minisign's algorithm identifiers in key files.
const (
	algEd      = 0x6445 // "Ed"
	algScrypt  = 0x6353 // "Sc"
	algBlake2b = 0x3242 // "B2"
)

// GenerateKey makes a new key pair and returns the text of the public key
// file and of the secret key file, encrypted with password under limits.
func GenerateKey(password string, limits KDFLimits) (pub, secret []byte, err error) {
	if password == "" {
		return nil, nil, errors.New("the password is empty")
	}
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	var idb [8]byte
	if _, err := io.ReadFull(rand.Reader, idb[:]); err != nil {
		return nil, nil, err
	}
	id := binary.LittleEndian.Uint64(idb[:])

	// Public key: "Ed" || key ID || Ed25519 public key.
	pb := make([]byte, 0, 42)
	pb = binary.LittleEndian.AppendUint16(pb, algEd)
	pb = binary.LittleEndian.AppendUint64(pb, id)
	pb = append(pb, edPub...)
	pub = fmt.Appendf(nil, "untrusted comment: minisign public key %s\n%s\n", KeyID(id), base64.StdEncoding.EncodeToString(pb))

	// Secret key: "Ed" "Sc" "B2" || salt || ops || mem || encrypted
	// (key ID || Ed25519 private key || BLAKE2b-256 checksum), the stream
	// cipher being scrypt(password, salt) output XORed in.
	var salt [32]byte
	if _, err := io.ReadFull(rand.Reader, salt[:]); err != nil {
		return nil, nil, err
	}
	plain := make([]byte, 0, 104)
	plain = binary.LittleEndian.AppendUint64(plain, id)
	plain = append(plain, edPriv...)
	sumIn := binary.LittleEndian.AppendUint16(nil, algEd)
	sumIn = append(sumIn, plain...)
	sum := blake2b.Sum256(sumIn)
	plain = append(plain, sum[:]...)
	n, r, p := scryptParams(limits)
	stream, err := scrypt.Key([]byte(password), salt[:], n, r, p, len(plain))
	if err != nil {
		return nil, nil, err
	}
	for i := range plain {
		plain[i] ^= stream[i]
	}
	sb := make([]byte, 0, 158)
	sb = binary.LittleEndian.AppendUint16(sb, algEd)
	sb = binary.LittleEndian.AppendUint16(sb, algScrypt)
	sb = binary.LittleEndian.AppendUint16(sb, algBlake2b)
	sb = append(sb, salt[:]...)
	sb = binary.LittleEndian.AppendUint64(sb, limits.Ops)
	sb = binary.LittleEndian.AppendUint64(sb, limits.Mem)
	sb = append(sb, plain...)
	secret = fmt.Appendf(nil, "untrusted comment: minisign encrypted secret key\n%s\n", base64.StdEncoding.EncodeToString(sb))
	// (No decryption round trip here: with the Sensitive limits it would
	// double keygen's time and memory. Tests decrypt every generated key
	// with aead.dev/minisign and sign with it using the minisign program.)
	return pub, secret, nil
}

// scryptParams turns libsodium's limits into scrypt's N, r and p, as
// libsodium's crypto_pwhash_scryptsalsa208sha256 (and so minisign) does.
func scryptParams(l KDFLimits) (n, r, p int) {
	ops := max(l.Ops, 32768)
	r = 8
	var logN uint
	if ops < l.Mem/32 {
		p = 1
		maxN := ops / (4 * uint64(r))
		for logN = 1; logN < 63; logN++ {
			if uint64(1)<<logN > maxN/2 {
				break
			}
		}
	} else {
		maxN := l.Mem / (uint64(r) * 128)
		for logN = 1; logN < 63; logN++ {
			if uint64(1)<<logN > maxN/2 {
				break
			}
		}
		maxRP := min((ops/4)/(uint64(1)<<logN), 0x3fffffff)
		p = int(maxRP) / r
	}
	return 1 << logN, r, p
}

// KeyID formats a key ID as minisign prints it: 16 upper-case hex digits,
// leading zeros kept ("%016" PRIX64 in minisign's C source).
func KeyID(id uint64) string { return fmt.Sprintf("%016X", id) }

// WriteKeyPair generates a key pair and writes NAME.pub and NAME.key
// (mode 0600). It refuses to overwrite either file. It returns the public
// key.
func WriteKeyPair(name, password string, limits KDFLimits) (minisign.PublicKey, error) {
	pubPath, keyPath := name+PublicKeySuffix, name+SecretKeySuffix
	for _, p := range []string{pubPath, keyPath} {
		if _, err := os.Lstat(p); err == nil {
			return minisign.PublicKey{}, fmt.Errorf("%s already exists; refusing to overwrite a key (choose another --out)", p)
		}
	}
	pub, secret, err := GenerateKey(password, limits)
	if err != nil {
		return minisign.PublicKey{}, err
	}
	if err := writeNew(keyPath, secret, 0o600); err != nil {
		return minisign.PublicKey{}, err
	}
	if err := writeNew(pubPath, pub, 0o644); err != nil {
		os.Remove(keyPath)
		return minisign.PublicKey{}, err
	}
	var pk minisign.PublicKey
	if err := pk.UnmarshalText(pub); err != nil {
		return minisign.PublicKey{}, err
	}
	return pk, nil
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// LoadSecretKey reads and decrypts the minisign secret key file at path.
// A wrong password and a damaged file are the same error (minisign cannot
// tell them apart).
func LoadSecretKey(path, password string) (minisign.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return minisign.PrivateKey{}, err
	}
	if !bytes.HasPrefix(data, []byte("untrusted comment:")) {
		return minisign.PrivateKey{}, fmt.Errorf("%s: not a minisign secret key file", path)
	}
	if !minisign.IsEncrypted(data) {
		return minisign.PrivateKey{}, fmt.Errorf("%s: not a password-protected minisign secret key (octobundle keygen writes one)", path)
	}
	k, err := minisign.DecryptKey(password, data)
	if err != nil {
		return minisign.PrivateKey{}, fmt.Errorf("%s: wrong password, or not a minisign secret key", path)
	}
	return k, nil
}

// PublicKey is a trusted public key and the file it was read from.
type PublicKey struct {
	// Key is the minisign public key.
	Key minisign.PublicKey
	// File is where it was read from, for messages.
	File string
}

// LoadPublicKey reads the minisign public key file at path (as written by
// octobundle keygen or minisign -G).
func LoadPublicKey(path string) (PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return PublicKey{}, err
	}
	var k minisign.PublicKey
	if err := k.UnmarshalText(bytes.TrimSpace(data)); err != nil {
		return PublicKey{}, fmt.Errorf("%s: not a minisign public key: %w", path, err)
	}
	return PublicKey{Key: k, File: path}, nil
}

// LoadPublicKeys reads every path with LoadPublicKey.
func LoadPublicKeys(paths []string) ([]PublicKey, error) {
	keys := make([]PublicKey, 0, len(paths))
	for _, p := range paths {
		k, err := LoadPublicKey(p)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// TrustedComment is the trusted comment a signature of the sealed bundle b
// carries: the digest, export time, space and source server, and — for a
// bundle whose format signs its manifest (bundles.SignsManifest,
// octobundle/v3) — the sha256 of manifest.json, which puts every manifest
// field under the signature:
//
//	octobundle digest=sha256:<hex> exported=… space="…" source="…" manifest=sha256:<hex>
//
// checksums.txt does not list manifest.json (the manifest records the
// digest, the sha256 of checksums.txt), so the manifest is bound here.
func TrustedComment(b *bundles.Bundle) string {
	tc := legacyComment(b.Manifest)
	if bundles.SignsManifest(b.Manifest.Format) {
		tc += " manifest=" + manifestSum(b)
	}
	return tc
}

// legacyComment is the trusted comment of octobundle/v1 and v2 bundles: the
// manifest's identity fields only.
func legacyComment(m bundles.Manifest) string {
	return fmt.Sprintf("octobundle digest=%s exported=%s space=%s source=%s",
		m.Digest, m.ExportedAt.UTC().Format(time.RFC3339), strconv.Quote(m.Source.Space), strconv.Quote(m.Source.Server))
}

// manifestSum is "sha256:" plus the hex sha256 of b's manifest.json as
// sealed or read ("" when not sealed).
func manifestSum(b *bundles.Bundle) string {
	raw, ok := b.Raw(bundles.ManifestFile)
	if !ok {
		return ""
	}
	h := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(h[:])
}

// ResignCommand is the command that signs the bundle at path again in the
// current format (for messages).
func ResignCommand(path string) string {
	return "octobundle sign --key NAME.key " + shellQuote(path)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Upgrade moves the sealed bundle b to the current format (bundles.Format)
// so that a signature binds its manifest, and seals it again. It reports
// the format b had when it changed it (the caller writes b back: for an
// octobundle/v1 bundle the entity files change too, to sidecar files, and
// so does the digest; from octobundle/v2 only manifest.json changes).
func Upgrade(b *bundles.Bundle) (from string, err error) {
	if bundles.SignsManifest(b.Manifest.Format) {
		return "", nil
	}
	from = b.Manifest.Format
	b.Manifest.Format = bundles.Format
	if err := b.Seal(); err != nil {
		return "", err
	}
	return from, nil
}

// Sign signs the sealed bundle b with key: a minisign signature of its
// checksums.txt with TrustedComment, attached as checksums.txt.minisig
// (replacing any signature it had). A bundle in an older format is first
// moved to the current one (see Upgrade), so the signature binds its
// manifest; Sign reports the format it had then ("" when unchanged).
func Sign(b *bundles.Bundle, key minisign.PrivateKey) (upgradedFrom string, err error) {
	if _, ok := b.Raw(bundles.ChecksumsFile); !ok || b.Digest() == "" {
		return "", errors.New("sign: the bundle is not sealed")
	}
	if upgradedFrom, err = Upgrade(b); err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	sums, _ := b.Raw(bundles.ChecksumsFile)
	tc := TrustedComment(b)
	if len(tc) > maxComment {
		return "", fmt.Errorf("sign: the trusted comment would be %d bytes, more than minisign's limit of %d (server URL or space name too long)", len(tc), maxComment)
	}
	r := minisign.NewReader(bytes.NewReader(sums))
	if _, err := io.Copy(io.Discard, r); err != nil {
		return "", err
	}
	sig := r.SignWithComments(key, tc, "octobundle signature of checksums.txt by key "+KeyID(key.ID()))
	if !bytes.HasSuffix(sig, []byte("\n")) {
		sig = append(sig, '\n')
	}
	return upgradedFrom, b.SetSignature(sig)
}

// Result is what Check found about a bundle's signature.
type Result struct {
	// Signed reports whether the bundle has a signature file.
	Signed bool
	// KeyID is the ID of the key the signature claims (upper-case hex).
	KeyID string
	// TrustedComment is the signature's trusted comment (authentic only
	// when Verified).
	TrustedComment string
	// Verified reports that one of the trusted keys verified the signature
	// and that its trusted comment matches the bundle's manifest.
	Verified bool
	// CoversManifest reports that the verified signature binds the whole
	// of manifest.json (an octobundle/v3 signature). A Verified signature
	// of an older bundle covers its identity fields only: Projects,
	// Source.ServerVersion, Rules and the rest of its manifest can be
	// edited without breaking it.
	CoversManifest bool
	// By is the trusted key that verified it.
	By *PublicKey
}

// ErrUnsigned is returned by Check for a bundle without a signature.
var ErrUnsigned = errors.New("the bundle is not signed (no " + bundles.SignatureFile + "); sign it with: octobundle sign --key NAME.key BUNDLE")

// Check examines b's signature. With no trusted keys it only reads the
// signature (Verified stays false; a missing or unreadable signature is
// not an error). With keys, it returns an error unless the bundle is
// signed by one of them, the signature matches checksums.txt, and the
// trusted comment matches the manifest (for octobundle/v3, the sha256 of
// manifest.json too); each error says which of these failed. A valid
// signature of an octobundle/v1 or v2 bundle is Verified without
// CoversManifest: whether that is enough is the caller's decision.
func Check(b *bundles.Bundle, keys []PublicKey) (Result, error) {
	raw := b.Signature()
	if raw == nil {
		if len(keys) == 0 {
			return Result{}, nil
		}
		return Result{}, ErrUnsigned
	}
	res := Result{Signed: true}
	var sig minisign.Signature
	if err := sig.UnmarshalText(raw); err != nil {
		if len(keys) == 0 {
			return res, nil
		}
		return res, fmt.Errorf("%s: not a valid minisign signature: %v", bundles.SignatureFile, err)
	}
	res.KeyID = KeyID(sig.KeyID)
	res.TrustedComment = sig.TrustedComment
	if len(keys) == 0 {
		return res, nil
	}
	key, err := trustedKey(bundles.SignatureFile, sig.KeyID, keys)
	if err != nil {
		return res, err
	}
	sums, _ := b.Raw(bundles.ChecksumsFile)
	r := minisign.NewReader(bytes.NewReader(sums))
	if _, err := io.Copy(io.Discard, r); err != nil {
		return res, err
	}
	if !r.Verify(key.Key, raw) {
		if d := commentField(sig.TrustedComment, "digest"); d != "" && d != b.Manifest.Digest {
			return res, fmt.Errorf("%s: the signature does not match this bundle: it claims to sign the bundle with digest %s, this bundle's digest is %s (a signature of another bundle, or the bundle was changed after signing)",
				bundles.SignatureFile, d, b.Manifest.Digest)
		}
		return res, fmt.Errorf("%s: the signature by key %s (%s) does not verify: checksums.txt or the signature was changed after signing", bundles.SignatureFile, res.KeyID, key.File)
	}
	// The signature is authentic: its trusted comment says what it signs,
	// first the bundle's identity, then (octobundle/v3) its manifest.
	tc := sig.TrustedComment
	signed := commentField(tc, "manifest")
	if signed != "" {
		tc = strings.TrimSuffix(tc, " manifest="+signed)
	}
	if want := legacyComment(b.Manifest); tc != want {
		return res, fmt.Errorf("%s: the signature by key %s is valid but was made for another bundle: it names %s, this bundle's manifest says %s (a signature moved from another bundle with the same content)",
			bundles.SignatureFile, res.KeyID, describeComment(tc), describeComment(want))
	}
	switch got := manifestSum(b); {
	case signed != "" && signed != got:
		return res, fmt.Errorf("%s: manifest.json was changed after signing: the signature by key %s binds manifest.json with %s, this one's is %s (its Projects, Source, Rules or another field was edited)",
			bundles.SignatureFile, res.KeyID, signed, got)
	case signed == "" && bundles.SignsManifest(b.Manifest.Format):
		return res, fmt.Errorf("%s: the signature by key %s does not bind manifest.json, which the signature of a %s bundle must (a signature made for an older format, or manifest.json's Format was changed after signing)",
			bundles.SignatureFile, res.KeyID, b.Manifest.Format)
	}
	res.Verified = true
	res.CoversManifest = signed != ""
	res.By = key
	return res, nil
}

// trustedKey returns the key of keys with ID id, or an error naming file
// (the signature file) and the trusted keys.
func trustedKey(file string, id uint64, keys []PublicKey) (*PublicKey, error) {
	var trusted []string
	for i := range keys {
		if keys[i].Key.ID() == id {
			return &keys[i], nil
		}
		trusted = append(trusted, fmt.Sprintf("%s (%s)", KeyID(keys[i].Key.ID()), keys[i].File))
	}
	return nil, fmt.Errorf("%s: signed by key %s, which is not a trusted key (trusted: %s)", file, KeyID(id), strings.Join(trusted, ", "))
}

// commentField returns the value of field name in an octobundle trusted
// comment ("" when absent), unquoting quoted values.
func commentField(tc, name string) string {
	i := strings.Index(tc, " "+name+"=")
	if i < 0 {
		return ""
	}
	rest := tc[i+len(name)+2:]
	if strings.HasPrefix(rest, `"`) {
		if q, err := strconv.QuotedPrefix(rest); err == nil {
			s, _ := strconv.Unquote(q)
			return s
		}
		return ""
	}
	v, _, _ := strings.Cut(rest, " ")
	return v
}

// describeComment renders the identity fields of a trusted comment for an
// error message.
func describeComment(tc string) string {
	if !strings.HasPrefix(tc, "octobundle ") {
		return strconv.Quote(tc)
	}
	return fmt.Sprintf("digest %s, exported %s, space %q, source %q",
		commentField(tc, "digest"), commentField(tc, "exported"), commentField(tc, "space"), commentField(tc, "source"))
}
