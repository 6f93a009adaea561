package main

import (
	"fmt"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/sign"
	"github.com/urfave/cli/v2"
)

func signCommand() *cli.Command {
	return &cli.Command{
		Name:      "sign",
		Usage:     "sign a bundle (directory or .tar.zst) with a minisign key: writes checksums.txt.minisig into it",
		ArgsUsage: "BUNDLE",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "key", Usage: "the secret key `FILE` (NAME.key from octobundle keygen, or minisign -G)", Required: true},
			passwordFileFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("sign takes one BUNDLE (a directory or .tar.zst)")
			}
			path := c.Args().First()
			b, err := bundles.Read(path, bundles.ReadOptions{})
			if err != nil {
				return err
			}
			pw, err := password(c, false)
			if err != nil {
				return err
			}
			key, err := sign.LoadSecretKey(c.String("key"), pw)
			if err != nil {
				return err
			}
			if old, _ := sign.Check(b, nil); old.Signed {
				logger().Info("replacing the bundle's signature", "was", old.KeyID)
			}
			if err := sign.Sign(b, key); err != nil {
				return err
			}
			if err := b.Write(path); err != nil {
				return fmt.Errorf("writing the signature into %s: %w", path, err)
			}
			fmt.Fprintf(c.App.Writer, "signed %s key %s\n", b.Digest(), sign.KeyID(key.ID()))
			return nil
		},
	}
}

// pubkeyFlag is the repeatable --pubkey flag of verify, plan and apply.
func pubkeyFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "pubkey", Usage: "a trusted minisign public key `FILE` (repeatable: any one of them may have signed)"}
}

// checkSignature verifies b's signature against the --pubkey keys. With
// require set, an unsigned bundle is refused; without it, a signature is
// checked only when keys are given, and an unsigned bundle is accepted
// with a warning.
func checkSignature(c *cli.Context, b *bundles.Bundle, require bool) (sign.Result, error) {
	files := c.StringSlice("pubkey")
	if require && len(files) == 0 {
		return sign.Result{}, usageError("--require-signature needs at least one --pubkey FILE")
	}
	keys, err := sign.LoadPublicKeys(files)
	if err != nil {
		return sign.Result{}, usageError("--pubkey: %v", err)
	}
	if len(keys) > 0 && !require && b.Signature() == nil {
		logger().Warn("the bundle is not signed; --require-signature refuses unsigned bundles")
		return sign.Result{}, nil
	}
	res, err := sign.Check(b, keys)
	if err != nil {
		return res, fmt.Errorf("%s: signature check failed: %w", c.Args().First(), err)
	}
	return res, nil
}
