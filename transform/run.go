package transform

import (
	"fmt"
	"os"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/limits"
)

// ReadRuleFile reads and parses the rule file at path; the manifest records
// it under the path as given.
func ReadRuleFile(path string) (*RuleFile, error) {
	data, err := limits.ReadFile(path, maxRuleFile, "rule file size")
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Run reads the bundle at in (a directory or .tar.zst), applies the rule
// files at rulePaths in order, and writes the result to out (a directory or
// .tar.zst, written to a temporary sibling and renamed into place, so out
// never holds a partial bundle). out must not exist: transform never
// replaces or deletes a file it did not write. Nothing is written when the
// transform fails; the report says why.
func Run(in, out string, rulePaths []string, opt Options) (*Report, error) {
	if _, err := os.Lstat(out); err == nil {
		return nil, fmt.Errorf("%s already exists; transform writes a new bundle and never replaces one (remove it or choose another --out)", out)
	}
	files := make([]*RuleFile, 0, len(rulePaths))
	for _, p := range rulePaths {
		f, err := ReadRuleFile(p)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	b, err := bundles.Read(in, bundles.ReadOptions{})
	if err != nil {
		return nil, err
	}
	if opt.CheckInput != nil {
		ok, err := opt.CheckInput(b)
		if err != nil {
			return nil, err
		}
		opt.InputVerified = ok
	}
	res, rep, err := Transform(b, files, opt)
	if err != nil {
		return rep, err
	}
	if err := res.Write(out); err != nil {
		return rep, fmt.Errorf("writing %s: %w", out, err)
	}
	return rep, nil
}
