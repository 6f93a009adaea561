package sign

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"aead.dev/minisign"
	"github.com/octobundle/octobundle/internal/limits"
)

// FileSignatureSuffix ends the name of a file's detached signature:
// FILE.minisig, as minisign -Sm FILE writes it.
const FileSignatureSuffix = ".minisig"

// FileComment is the trusted comment of the signature of a file (a rule
// file) named name with content data: its base name and sha256.
//
//	octobundle file="production.yaml" sha256=<hex>
//
// The name is informational: a reviewed rule file may be renamed or moved
// and its signature stays valid; the content may not change.
func FileComment(name string, data []byte) string {
	h := sha256.Sum256(data)
	return fmt.Sprintf("octobundle file=%s sha256=%s", strconv.Quote(filepath.Base(name)), hex.EncodeToString(h[:]))
}

// SignFile signs data (the content of the file name) with key and returns
// the text of its minisign signature file (name + FileSignatureSuffix),
// which `minisign -Vm NAME -p KEY.pub` accepts.
func SignFile(name string, data []byte, key minisign.PrivateKey) ([]byte, error) {
	tc := FileComment(name, data)
	if len(tc) > maxComment {
		return nil, fmt.Errorf("sign: %s: the trusted comment would be %d bytes, more than minisign's limit of %d (file name too long)", name, len(tc), maxComment)
	}
	r := minisign.NewReader(bytes.NewReader(data))
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, err
	}
	sig := r.SignWithComments(key, tc, "octobundle signature of "+filepath.Base(name)+" by key "+KeyID(key.ID()))
	if !bytes.HasSuffix(sig, []byte("\n")) {
		sig = append(sig, '\n')
	}
	return sig, nil
}

// ErrFileUnsigned is returned (wrapped) by CheckFile for a file without a
// signature file.
var ErrFileUnsigned = errors.New("not signed")

// CheckFile checks that data, the content of the file name, carries a
// valid signature by one of keys in name + FileSignatureSuffix (read here,
// up to 64 KiB). The signature must verify data and its trusted comment
// must name data's sha256. With no keys it only reads the signature: a
// missing one is ErrFileUnsigned (wrapped), and KeyID says who claims to
// have signed. Errors name the signature file.
func CheckFile(name string, data []byte, keys []PublicKey) (Result, error) {
	sigFile := name + FileSignatureSuffix
	raw, err := limits.ReadFile(sigFile, 64<<10, "signature file size")
	if errors.Is(err, os.ErrNotExist) {
		return Result{}, fmt.Errorf("%s: %w (no %s); sign it with: octobundle sign --key NAME.key %s", name, ErrFileUnsigned, sigFile, shellQuote(name))
	}
	if err != nil {
		return Result{}, err
	}
	res := Result{Signed: true}
	var sig minisign.Signature
	if err := sig.UnmarshalText(raw); err != nil {
		return res, fmt.Errorf("%s: not a valid minisign signature: %v", sigFile, err)
	}
	res.KeyID = KeyID(sig.KeyID)
	res.TrustedComment = sig.TrustedComment
	if len(keys) == 0 {
		return res, nil
	}
	key, err := trustedKey(sigFile, sig.KeyID, keys)
	if err != nil {
		return res, err
	}
	if !minisign.Verify(key.Key, data, raw) {
		return res, fmt.Errorf("%s: the signature by key %s (%s) does not verify %s: the file or its signature was changed after signing", sigFile, res.KeyID, key.File, name)
	}
	h := sha256.Sum256(data)
	if got, want := commentField(sig.TrustedComment, "sha256"), hex.EncodeToString(h[:]); got != want {
		return res, fmt.Errorf("%s: the signature by key %s is valid but its trusted comment %q does not name this content (sha256 %s): not an octobundle signature of a file", sigFile, res.KeyID, sig.TrustedComment, want)
	}
	res.Verified = true
	res.By = key
	return res, nil
}
