package main

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/limits"
	"github.com/octobundle/octobundle/sign"
	"github.com/octobundle/octobundle/transform"
	"github.com/urfave/cli/v2"
)

// pubkeyFlag is the repeatable --pubkey flag of verify, inspect, transform,
// plan and apply.
func pubkeyFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "pubkey", Usage: "a trusted minisign public key `FILE` (repeatable: any one of them may have signed); with it an unsigned or badly signed bundle fails"}
}

// rulesFlag is plan's and apply's --rules: the bundle is transformed in
// memory, as fan-out does, so what is verified is the exporter's bundle.
func rulesFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "rules", Usage: "transform the bundle in memory with rule `FILE` first (YAML or JSON; repeatable, applied in order; as transform does); under --require-signature each needs a FILE.minisig by a --pubkey key (octobundle sign FILE)"}
}

// trustedKeys loads the --pubkey keys; with require (--require-signature)
// at least one is needed.
func trustedKeys(c *cli.Context, require bool) ([]sign.PublicKey, error) {
	files := c.StringSlice("pubkey")
	if require && len(files) == 0 {
		return nil, usageError("--require-signature needs at least one --pubkey FILE")
	}
	keys, err := sign.LoadPublicKeys(files)
	if err != nil {
		return nil, usageError("--pubkey: %v", err)
	}
	return keys, nil
}

// checkSignature verifies the signature of b, read from path, against the
// --pubkey keys. Without keys it only reads the signature. With keys a
// check is wanted: an unsigned or badly signed bundle is an error, with
// or without require. A valid signature of an octobundle/v1 or v2 bundle
// does not cover its manifest.json: require (--require-signature) refuses
// it, naming the command that signs it again; otherwise it is a warning.
func checkSignature(c *cli.Context, b *bundles.Bundle, path string, require bool) (sign.Result, error) {
	keys, err := trustedKeys(c, require)
	if err != nil {
		return sign.Result{}, err
	}
	res, err := sign.Check(b, keys)
	if len(keys) == 0 {
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("%s: signature check failed: %w", path, err)
	}
	if !res.CoversManifest {
		msg := fmt.Sprintf("%s: the signature by key %s is valid, but this is an %s bundle: its signature covers checksums.txt only, not manifest.json (Projects, Source, Rules and the other manifest fields could have been edited)",
			path, res.KeyID, b.Manifest.Format)
		if require {
			return res, fmt.Errorf("%s; --require-signature refuses it. Sign it again in the current format (%s) with: %s", msg, bundles.Format, sign.ResignCommand(path))
		}
		logger().Warn(msg+"; --require-signature refuses it", "resign", sign.ResignCommand(path))
	}
	return res, nil
}

// bases are the --base bundles read and checked, by path: checkedBundle
// checks the base before the destination is read, and the merge uses the
// very bundle checked.
var bases sync.Map

// readBase reads the --base bundle at path and checks its signature (see
// checkBase), once per path.
func readBase(c *cli.Context, path string) (*bundles.Bundle, error) {
	if b, ok := bases.Load(path); ok {
		return b.(*bundles.Bundle), nil
	}
	b, err := bundles.Read(path, bundles.ReadOptions{})
	if err != nil {
		return nil, fmt.Errorf("--base: %w", err)
	}
	if err := checkBase(c, b, path); err != nil {
		return nil, err
	}
	bases.Store(path, b)
	return b, nil
}

// checkBase checks the signature of the --base bundle b, read from path:
// under --require-signature it must be validly signed, in the current
// format, by a --pubkey key, as the bundle itself; with --pubkey alone a
// signature it carries must be valid, and an unsigned one is a warning.
func checkBase(c *cli.Context, b *bundles.Bundle, path string) error {
	require := c.Bool("require-signature")
	if !require && len(c.StringSlice("pubkey")) > 0 && b.Signature() == nil {
		logger().Warn("the --base bundle is not signed; --require-signature refuses it", "base", path)
		return nil
	}
	if _, err := checkSignature(c, b, path, require); err != nil {
		return cli.Exit("--base "+err.Error()+"\nrefused before reading the destination", exitFailed)
	}
	return nil
}

// loadRules reads, checks the signature of and parses each rule file of
// paths. Under --require-signature each must carry a valid signature
// (FILE.minisig) by a --pubkey key; with --pubkey alone a signature a file
// carries must be valid, and an unsigned one is a warning. The bytes
// checked are the bytes parsed.
func loadRules(c *cli.Context, paths []string) ([]*transform.RuleFile, error) {
	require := c.Bool("require-signature")
	keys, err := trustedKeys(c, require)
	if err != nil {
		return nil, err
	}
	files := make([]*transform.RuleFile, 0, len(paths))
	for _, p := range paths {
		data, err := limits.ReadFile(p, limits.RuleFileSize, "rule file size")
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		if len(keys) > 0 {
			res, err := sign.CheckFile(p, data, keys)
			switch {
			case errors.Is(err, sign.ErrFileUnsigned) && !require:
				logger().Warn("the rule file is not signed; --require-signature refuses it", "rules", p)
			case err != nil:
				return nil, cli.Exit(fmt.Sprintf("rules: signature check failed: %v\nrefused before reading the destination", err), exitFailed)
			default:
				logger().Info("rule file signature ok", "rules", p, "key", res.KeyID, "pubkey", res.By.File)
			}
		}
		f, err := transform.Parse(p, data)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// fitRules transforms b in memory with the rule files (see transform.Transform);
// verified says b's signature was checked. The one in-memory transform of
// plan/apply --rules and of fan-out's per-destination rules.
func fitRules(b *bundles.Bundle, files []*transform.RuleFile, verified bool) (*bundles.Bundle, *transform.Report, error) {
	return transform.Transform(b, files, transform.Options{InputVerified: verified})
}

// withRules applies plan's or apply's --rules to b (checked: verified
// says its signature was), logging the transform's report on stderr.
func withRules(c *cli.Context, b *bundles.Bundle, verified bool) (*bundles.Bundle, error) {
	paths := c.StringSlice("rules")
	if len(paths) == 0 {
		return b, nil
	}
	files, err := loadRules(c, paths)
	if err != nil {
		return nil, err
	}
	fitted, rep, err := fitRules(b, files, verified)
	if err != nil {
		if rep != nil {
			_ = rep.WriteText(c.App.ErrWriter)
		}
		return nil, cli.Exit(fmt.Sprintf("--rules %s: %v; refused before reading the destination", strings.Join(paths, ", "), err), exitFailed)
	}
	for _, w := range rep.Warnings {
		logger().Warn("rules: "+w.String(), "rules", strings.Join(paths, ", "))
	}
	logger().Info("transformed in memory", "rules", strings.Join(paths, ", "), "input", b.Digest(), "digest", fitted.Digest(), "changes", len(rep.Changes))
	return fitted, nil
}
