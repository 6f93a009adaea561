package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/urfave/cli/v2"
)

// planFlag is a flag of plan that decides what the plan holds, so a saved
// plan records it and apply --plan takes it from there.
type planFlag struct {
	name string
	// path: the values are files or folders, recorded absolute so apply
	// --plan finds them from another working directory.
	path bool
	// always: recorded with its effective value even when not given (the
	// state folder, whose default is relative to the working directory).
	always bool
}

// planFlags are the flags a saved plan carries. The signature flags
// (--pubkey, --require-signature) are not among them: trust is given on
// the command line of each run, never taken from a file.
var planFlags = []planFlag{
	{name: "prune"},
	{name: "remove-destination-only"},
	{name: "on-conflict"},
	{name: "on-lost-scope"},
	{name: "include-targets"},
	{name: "allow-version-skew"},
	{name: "allow-rollback"},
	{name: "allow-errors"},
	{name: "state", path: true, always: true},
	{name: "base", path: true},
	{name: "rules", path: true},
}

// planFlagValues returns a plan flag's values as the command line has them
// (paths made absolute); nil when it is not given and not always recorded.
func planFlagValues(c *cli.Context, f planFlag) []string {
	if !c.IsSet(f.name) && !f.always {
		return nil
	}
	var vals []string
	switch v := c.Value(f.name).(type) {
	case bool:
		vals = []string{strconv.FormatBool(v)}
	case cli.StringSlice:
		vals = slices.Clone(v.Value())
	case *cli.StringSlice:
		vals = slices.Clone(v.Value())
	default:
		vals = []string{c.String(f.name)}
	}
	if f.path {
		for i, p := range vals {
			if abs, err := filepath.Abs(p); err == nil {
				vals[i] = abs
			}
		}
	}
	return vals
}

// recordPlanFlags stores in p the plan flags c was given, and the digest
// of each rule file.
func recordPlanFlags(c *cli.Context, p *plans.Plan) error {
	p.Flags = map[string][]string{}
	for _, f := range planFlags {
		if vals := planFlagValues(c, f); vals != nil {
			p.Flags[f.name] = vals
		}
	}
	for _, r := range p.Flags["rules"] {
		d, err := fileDigest(r)
		if err != nil {
			return err
		}
		p.Flags["rules-sha256"] = append(p.Flags["rules-sha256"], d)
	}
	return nil
}

// adoptPlanFlags makes c use the flags the saved plan p was made with:
// each one the command line does not give is set from the plan (and
// logged); one given with another value, or given when the plan was made
// without it, is refused in one line naming it. A rule file that changed
// since the plan is refused too.
//
// A plan that records no flags (one written by an older octobundle, or
// by plan --destinations, whose destinations file holds them) is executed
// with the command line's flags, as before.
func adoptPlanFlags(c *cli.Context, p *plans.Plan, planFile string) error {
	if p.Flags == nil {
		return nil
	}
	for _, f := range planFlags {
		saved, inPlan := p.Flags[f.name]
		given := c.IsSet(f.name)
		switch {
		case !inPlan && given:
			return usageError("--%s: the plan %s was made without it, and apply --plan executes the plan as made: drop --%s, or make a new plan with it", f.name, planFile, f.name)
		case !inPlan:
			continue
		case given:
			if now := planFlagValues(c, f); !slices.Equal(now, saved) {
				return usageError("--%s: the plan %s was made with --%s=%s, and apply --plan executes the plan as made: drop --%s (the plan's is used), or make a new plan with --%s=%s",
					f.name, planFile, f.name, strings.Join(saved, ","), f.name, f.name, strings.Join(now, ","))
			}
			continue
		}
		for _, v := range saved {
			if err := c.Set(f.name, v); err != nil {
				return fmt.Errorf("--plan %s: the plan's --%s=%s: %w", planFile, f.name, v, err)
			}
		}
		logger().Info("using the saved plan's flag", "flag", "--"+f.name+"="+strings.Join(saved, ","), "plan", planFile)
	}
	for i, r := range p.Flags["rules"] {
		want := ""
		if ds := p.Flags["rules-sha256"]; i < len(ds) {
			want = ds[i]
		}
		got, err := fileDigest(r)
		if err != nil {
			return fmt.Errorf("--plan %s: its rule file: %w", planFile, err)
		}
		if got != want {
			return fmt.Errorf("--plan %s: the rule file %s changed since the plan was made (%s then, %s now); make a new plan", planFile, r, want, got)
		}
	}
	return nil
}

// fileDigest is "sha256:" and the hex SHA-256 of the file at path.
func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
