package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"aead.dev/minisign"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/limits"
	"github.com/octobundle/octobundle/sign"
	"github.com/octobundle/octobundle/transform"
	"github.com/urfave/cli/v2"
)

func signCommand() *cli.Command {
	return &cli.Command{
		Name:      "sign",
		Usage:     "sign a bundle (directory or .tar.zst: writes checksums.txt.minisig into it, in the current format) or a rule file (writes FILE.minisig) with a minisign key",
		ArgsUsage: "BUNDLE|RULEFILE",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "key", Usage: "the secret key `FILE` (NAME.key from octobundle keygen, or minisign -G)", Required: true},
			passwordFileFlag(),
			outputFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("sign takes one BUNDLE (a directory or .tar.zst) or one rule FILE")
			}
			if _, err := jsonOutput(c); err != nil {
				return err
			}
			path := c.Args().First()
			st, err := os.Stat(path)
			if err != nil {
				return err
			}
			if !st.IsDir() && !bundles.IsArchive(path) {
				return signRuleFile(c, path)
			}
			b, err := bundles.Read(path, bundles.ReadOptions{})
			if err != nil {
				return err
			}
			key, err := secretKey(c)
			if err != nil {
				return err
			}
			if old, _ := sign.Check(b, nil); old.Signed {
				logger().Info("replacing the bundle's signature", "was", old.KeyID)
			}
			digest := b.Digest()
			from, err := sign.Sign(b, key)
			if err != nil {
				return err
			}
			if from != "" {
				logger().Info("moved the bundle to the current format, so that the signature covers manifest.json",
					"from", from, "to", b.Manifest.Format, "digestWas", digest, "digest", b.Digest())
			}
			if err := b.Write(path); err != nil {
				return fmt.Errorf("writing the signature into %s: %w", path, err)
			}
			if c.String("output") == "json" {
				return writeJSON(c.App.Writer, signJSON{Signed: "bundle", Path: path, Digest: b.Digest(), Format: b.Manifest.Format, KeyID: sign.KeyID(key.ID())})
			}
			fmt.Fprintf(c.App.Writer, "signed %s key %s\n", b.Digest(), sign.KeyID(key.ID()))
			return nil
		},
	}
}

// secretKey asks for the password and loads --key.
func secretKey(c *cli.Context) (key minisign.PrivateKey, err error) {
	pw, err := password(c, false)
	if err != nil {
		return key, err
	}
	return sign.LoadSecretKey(c.String("key"), pw)
}

// signRuleFile checks that path is a valid rule file and writes its
// signature, path.minisig.
func signRuleFile(c *cli.Context, path string) error {
	data, err := limits.ReadFile(path, limits.RuleFileSize, "rule file size")
	if err != nil {
		return err
	}
	if _, err := transform.Parse(path, data); err != nil {
		return fmt.Errorf("%w\n(sign signs bundles — a directory or .tar.zst — and rule files; %s is neither)", err, path)
	}
	key, err := secretKey(c)
	if err != nil {
		return err
	}
	sig, err := sign.SignFile(path, data, key)
	if err != nil {
		return err
	}
	out := path + sign.FileSignatureSuffix
	if _, err := os.Lstat(out); err == nil {
		logger().Info("replacing the rule file's signature", "file", out)
	}
	if err := writeFileAtomic(out, func(w io.Writer) error { _, err := w.Write(sig); return err }); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	sum := sha256.Sum256(data)
	if c.String("output") == "json" {
		return writeJSON(c.App.Writer, signJSON{Signed: "rules", Path: path, Digest: "sha256:" + hex.EncodeToString(sum[:]), Signature: out, KeyID: sign.KeyID(key.ID())})
	}
	fmt.Fprintf(c.App.Writer, "signed %s sha256:%s key %s\n", path, hex.EncodeToString(sum[:]), sign.KeyID(key.ID()))
	return nil
}

// signJSON is sign --output json (docs/json-schemas/sign.schema.json).
type signJSON struct {
	// Signed is what was signed: "bundle" or "rules" (a rule file).
	Signed string `json:"signed"`
	// Path is the bundle or rule file as given.
	Path string `json:"path"`
	// Digest is the bundle's digest (after signing: a bundle of an older
	// format is moved to the current one), or the rule file's sha256.
	Digest string `json:"digest"`
	// Format is the bundle's format version (bundles only).
	Format string `json:"format,omitempty"`
	// Signature is the signature file written (rule files only: a
	// bundle's is inside it).
	Signature string `json:"signature,omitempty"`
	// KeyID is the signing key's ID.
	KeyID string `json:"keyId"`
}
