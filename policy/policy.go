// Package policy owns octobundle's apply-time policy: what apply does with
// an entity, a variable value or a merge conflict, and why. A decision is
// made from three layers, each over the one before:
//
//  1. the registry's defaults (schema: Kind.Policy, Kind.KeepDestination,
//     ScopeDimension.Mismatch);
//  2. the bundle's policy file (File, apply-policy.json), which transform
//     compiles from rule files and the bundle carries;
//  3. the command line's overrides (Flags: --on-conflict).
//
// Apply asks a Decider, made by New from the file and the flags, and
// writes the answers into its plan; bundles stores the file, transform
// compiles rules into it, the CLI passes its flags.
//
// Three things are called policy here, each by its own name: a kind
// policy (schema.Policy: exact, exist, sync, never, skip — how apply
// treats an entity of a kind), the policy file (File: the rules a bundle
// carries) and the effective policy (Decider: registry, file and flags
// together, the one thing apply asks).
package policy

import (
	"fmt"
	"strings"

	"github.com/octobundle/octobundle/schema"
)

// Winner names the side a merge conflict is decided for.
type Winner string

// The sides of a conflict, and --on-conflict fail.
const (
	// WinnerSource takes the bundle's value.
	WinnerSource Winner = "source"
	// WinnerDestination keeps the destination's value.
	WinnerDestination Winner = "destination"
	// WinnerFail makes the entity a plan error (--on-conflict fail).
	WinnerFail Winner = "fail"
)

// ParseWinner parses the value of --on-conflict: source, destination,
// fail, or "" for none; ok is false for anything else.
func ParseWinner(s string) (w Winner, ok bool) {
	switch w := Winner(s); w {
	case "", WinnerSource, WinnerDestination, WinnerFail:
		return w, true
	}
	return "", false
}

// Flags are the command line's overrides, over the policy file and the
// registry.
type Flags struct {
	// OnConflict, if set, decides every merge conflict (--on-conflict):
	// source, destination, or fail (the entity is a plan error).
	OnConflict Winner
}

// Layer is where a decision came from.
type Layer int

const (
	// LayerRegistry is the kind registry's default.
	LayerRegistry Layer = iota
	// LayerFile is a rule of the bundle's policy file.
	LayerFile
	// LayerFlags is a command-line flag.
	LayerFlags
)

// Origin is what made a decision: its layer and, for the policy file, the
// rule ("rules/prod.yaml:12", "" when the rule does not say).
type Origin struct {
	Layer Layer
	Rule  string
}

// String names the origin for plan notes: "registry default", "rule
// rules/prod.yaml:12", "rule of the bundle's apply policy".
func (o Origin) String() string {
	switch {
	case o.Layer == LayerRegistry:
		return "registry default"
	case o.Rule == "":
		return "rule of the bundle's apply policy"
	}
	return "rule " + o.Rule
}

// Decider is the effective policy of one plan: the registry's defaults,
// under the bundle's policy file, under the flags. A nil Decider, or one
// made from a nil file, decides by the registry (and the flags) alone.
type Decider struct {
	file  *File
	flags Flags
}

// New returns the effective policy of the policy file f (nil for none)
// under the flags.
func New(f *File, flags Flags) *Decider {
	return &Decider{file: f, flags: flags}
}

func (d *Decider) f() *File {
	if d == nil {
		return nil
	}
	return d.file
}

// KindPolicy returns kind k's effective kind policy and where it came
// from: the policy file's Kinds override, else the registry's Kind.Policy.
func (d *Decider) KindPolicy(k *schema.Kind) (schema.Policy, Layer) {
	if f := d.f(); f != nil {
		if p, ok := f.Kinds[k.Name]; ok {
			return p, LayerFile
		}
	}
	return k.Policy, LayerRegistry
}

// Placeholder is the text apply writes for a new sensitive value, "" for
// apply's default marked placeholder.
func (d *Decider) Placeholder() string {
	if f := d.f(); f != nil {
		return f.Placeholder
	}
	return ""
}

// Value identifies one variable value for the policy's selectors.
type Value struct {
	// Kind is the variable container kind (ProjectVariables,
	// LibraryVariables, TenantVariables).
	Kind string
	// Owner is the project, library variable set or tenant name.
	Owner string
	// Name is the variable (or tenant template) name.
	Name string
	// Scope is the value's scope, dimension → names, in bundle form.
	Scope map[string][]string
}

// ScopeMode returns what apply does when some entries of dimension dim of
// value v are not on the destination: the last policy-file rule matching
// the dimension and the value, else the registry's default for the
// dimension (ScopeDimension.Mismatch). ok is false when neither sets a
// mode (a free-text dimension, kept as it is).
func (d *Decider) ScopeMode(dim *schema.ScopeDimension, v Value) (mode ScopeMode, by Origin, ok bool) {
	if f := d.f(); f != nil {
		for _, r := range f.ScopeMismatch {
			if strings.EqualFold(r.Dimension, dim.Name) && r.Select.Matches(v) {
				mode, by, ok = r.Mode, Origin{Layer: LayerFile, Rule: r.Rule}, true
			}
		}
	}
	if ok {
		return mode, by, true
	}
	if dim.Mismatch == "" {
		return "", Origin{}, false
	}
	return ScopeMode(dim.Mismatch), Origin{Layer: LayerRegistry}, true
}

// Owns reports whether the destination owns value v (created when
// missing, never overwritten), and the policy-file rule that says so; the
// registry owns no values for the destination.
func (d *Decider) Owns(v Value) (by Origin, ok bool) {
	if f := d.f(); f != nil {
		for _, s := range f.Owned {
			if s.Matches(v) {
				return Origin{Layer: LayerFile, Rule: s.Rule}, true
			}
		}
	}
	return Origin{}, false
}

// Place is where in an entity a merge conflict is.
type Place struct {
	// Kind is the entity's kind.
	Kind *schema.Kind
	// Names are the entity's names (owner first).
	Names []string
	// At is the path inside the entity: map keys and array indices.
	At []string
	// Elements, if set, holds for each segment of At the Name of the array
	// element there ("" for a map key or an element without a name):
	// policy-file rules match elements by name.
	Elements []string
}

// element returns the name of the array element at segment i, or "".
func (p Place) element(i int) string {
	if i < len(p.Elements) {
		return p.Elements[i]
	}
	return ""
}

// Decision is how a merge conflict is decided.
type Decision struct {
	// Winner is the side that wins.
	Winner Winner
	// Rule says what decided it, for the plan (Conflict.Rule).
	Rule string
	// From is the layer that decided it.
	From Layer
}

// Decide decides a merge conflict (a place changed at the source and on
// the destination since the last apply, or, without a base, differing
// where Contested says so). In order: --on-conflict; a kind whose kind
// policy is exact takes the source; the last matching Conflicts rule of
// the policy file; the registry (Kind.KeepDestination: the destination
// keeps its variable values; everything else takes the source's).
func (d *Decider) Decide(p Place) Decision {
	if d != nil && d.flags.OnConflict != "" {
		return Decision{Winner: d.flags.OnConflict, Rule: "--on-conflict " + string(d.flags.OnConflict), From: LayerFlags}
	}
	if pol, from := d.KindPolicy(p.Kind); pol == schema.PolicyExact {
		return Decision{Winner: WinnerSource, Rule: p.Kind.Title + " must match exactly", From: from}
	}
	if dec, ok := d.fileDecision(p); ok {
		return dec
	}
	if keepsDestination(p) {
		return Decision{Winner: WinnerDestination, Rule: "registry default: the destination keeps its variable values", From: LayerRegistry}
	}
	return Decision{Winner: WinnerSource, Rule: "registry default: the source wins for " + p.Kind.Title + " content", From: LayerRegistry}
}

// Contested reports whether, without a base, a place where the source
// and the destination differ is a conflict for Decide (a flag, a policy
// file rule or the registry's KeepDestination decides it) rather than
// simply the source's: a two-way merge lets the source own every other
// field.
func (d *Decider) Contested(p Place) bool {
	if keepsDestination(p) || (d != nil && d.flags.OnConflict != "") {
		return true
	}
	_, ok := d.fileDecision(p)
	return ok
}

// DecideDeleted decides the conflict of an entity deleted at the source
// and changed on the destination since the last sync, which --prune
// would delete: kept, unless --on-conflict says otherwise (source deletes
// it, fail makes it a plan error). The policy file does not decide it.
func (d *Decider) DecideDeleted() Decision {
	if d != nil {
		switch w := d.flags.OnConflict; w {
		case WinnerSource, WinnerFail:
			return Decision{Winner: w, Rule: "--on-conflict " + string(w), From: LayerFlags}
		}
	}
	return Decision{Winner: WinnerDestination, Rule: "deleted at the source, changed on the destination: kept (--on-conflict source deletes it)", From: LayerRegistry}
}

// fileDecision returns the decision of the last Conflicts rule of the
// policy file matching p, if one does.
func (d *Decider) fileDecision(p Place) (Decision, bool) {
	f := d.f()
	if f == nil {
		return Decision{}, false
	}
	last := ""
	if len(p.Names) > 0 {
		last = p.Names[len(p.Names)-1]
	}
	index := -1
	for i, r := range f.Conflicts {
		if GlobMatch(r.Kind, p.Kind.Name) && GlobMatch(r.Entity, last) && fieldMatch(r.Field, p) {
			index = i
		}
	}
	if index < 0 {
		return Decision{}, false
	}
	r := f.Conflicts[index]
	if r.Winner == "" {
		return Decision{}, false
	}
	rule := fmt.Sprintf("%s Conflicts[%d]", FileName, index)
	if r.Rule != "" {
		rule += " (" + r.Rule + ")"
	}
	return Decision{Winner: Winner(r.Winner), Rule: rule, From: LayerFile}, true
}

// keepsDestination reports whether the registry decides conflicts at p for
// the destination (schema.Kind.KeepDestination).
func keepsDestination(p Place) bool {
	for _, pat := range p.Kind.KeepDestination {
		if schema.PathMatches(pat, p.At) {
			return true
		}
	}
	return false
}
