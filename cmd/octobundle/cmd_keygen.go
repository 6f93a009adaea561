package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/octobundle/octobundle/sign"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

func keygenCommand() *cli.Command {
	return &cli.Command{
		Name:      "keygen",
		Usage:     "make a minisign key pair for signing bundles: NAME.key (secret, password-protected) and NAME.pub (give it to whoever verifies)",
		ArgsUsage: " ",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "write `NAME`.key and NAME.pub (never overwritten)", Required: true},
			passwordFileFlag(),
			outputFlag(),
			&cli.StringFlag{Name: "kdf", Value: "sensitive", Usage: "password hashing cost of the secret key: sensitive (minisign's default: 1 GiB of memory and seconds, or tens of seconds on a busy machine, for keygen and each sign) or interactive (16 MiB, about a second: weaker if the key file is stolen)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError("keygen takes no arguments; use --out NAME")
			}
			limits := sign.Sensitive
			switch c.String("kdf") {
			case "sensitive":
			case "interactive":
				limits = sign.Interactive
			default:
				return usageError("--kdf must be sensitive or interactive, not %q", c.String("kdf"))
			}
			asJSON, err := jsonOutput(c)
			if err != nil {
				return err
			}
			pw, err := password(c, true)
			if err != nil {
				return err
			}
			pk, err := sign.WriteKeyPair(c.String("out"), pw, limits)
			if err != nil {
				return err
			}
			secret, public := c.String("out")+sign.SecretKeySuffix, c.String("out")+sign.PublicKeySuffix
			logger().Info("key pair written", "secret", secret, "public", public, "key", sign.KeyID(pk.ID()))
			if asJSON {
				return writeJSON(c.App.Writer, keygenJSON{PublicKey: pk.String(), KeyID: sign.KeyID(pk.ID()), SecretKeyFile: secret, PublicKeyFile: public})
			}
			fmt.Fprintln(c.App.Writer, pk.String())
			return nil
		},
	}
}

// keygenJSON is keygen --output json (docs/json-schemas/keygen.schema.json).
type keygenJSON struct {
	// PublicKey is the public key, as the text output prints it and as
	// NAME.pub holds it (base64).
	PublicKey string `json:"publicKey"`
	// KeyID is the key's ID (upper-case hex), as signatures name it.
	KeyID string `json:"keyId"`
	// SecretKeyFile and PublicKeyFile are the files written.
	SecretKeyFile string `json:"secretKeyFile"`
	PublicKeyFile string `json:"publicKeyFile"`
}

func passwordFileFlag() cli.Flag {
	return &cli.StringFlag{Name: "password-file", Usage: "read the key's password from the first line of `FILE` (default: ask on the terminal)"}
}

// password returns the key password from --password-file, or asks for it
// on the terminal (twice when confirm is set). Without a terminal and
// without --password-file it is an error, never an empty password.
func password(c *cli.Context, confirm bool) (string, error) {
	if f := c.String("password-file"); f != "" {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", usageError("--password-file: %v", err)
		}
		line, _, _ := strings.Cut(string(data), "\n")
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			return "", usageError("--password-file %s: the first line (the password) is empty", f)
		}
		return line, nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", usageError("no terminal to ask for the key's password: use --password-file FILE")
	}
	ask := func(prompt string) ([]byte, error) {
		fmt.Fprint(c.App.ErrWriter, prompt)
		pw, err := term.ReadPassword(fd)
		fmt.Fprintln(c.App.ErrWriter)
		return pw, err
	}
	pw, err := ask("Password: ")
	if err != nil {
		return "", err
	}
	if len(pw) == 0 {
		return "", errors.New("the password is empty")
	}
	if confirm {
		again, err := ask("Password (again): ")
		if err != nil {
			return "", err
		}
		if !bytes.Equal(pw, again) {
			return "", errors.New("the passwords do not match")
		}
	}
	return string(pw), nil
}
