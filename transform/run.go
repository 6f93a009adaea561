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
// never holds a partial bundle). An existing out is updated as export
// updates one: a bundle folder (a git work tree, say) keeps its other
// files (.git, a README) and changes only bundle files; an archive is
// replaced only if it is a bundle archive; a folder holding files of the
// bundle layout but no manifest, and the input itself, are refused.
// Nothing is written when the transform fails; the report says why.
func Run(in, out string, rulePaths []string, opt Options) (*Report, error) {
	if err := checkOut(in, out); err != nil {
		return nil, err
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
	if _, err := res.StageDir(out); err != nil {
		return rep, err
	}
	if err := res.Write(out); err != nil {
		res.DiscardStage()
		return rep, fmt.Errorf("writing %s: %w", out, err)
	}
	return rep, nil
}

// checkOut refuses an output that is the input: the input is what the
// rules are applied to (the export), so transforming it in place would
// apply them again on the next sync.
func checkOut(in, out string) error {
	oi, err := os.Stat(out)
	if err != nil {
		return nil
	}
	if ii, err := os.Stat(in); err == nil && os.SameFile(ii, oi) {
		return fmt.Errorf("%s: --out is the input bundle; transform writes its result to another folder or archive (the input stays as exported, so the next sync transforms it afresh)", out)
	}
	return nil
}
