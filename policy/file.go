package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/schema"
)

// FileName is the bundle file that carries the policy file: the apply-time
// policy set by transform rules. The bundle lists it in checksums.txt like
// any entity file, so the digest (and a signature over it) covers it, and a
// bundle replayed months later is applied exactly as it was the first
// time, without the rule files.
const FileName = "apply-policy.json"

// SchemaName is the JSON Schema of FileName.
const SchemaName = "apply-policy.schema.json"

// ScopeMode is what apply does with a variable value whose scope, in one
// dimension, names entities the destination does not have (the seed's
// "variable scoping mismatch" options).
type ScopeMode string

const (
	// ScopeExact skips the value unless every scope entry of the dimension
	// exists on the destination.
	ScopeExact ScopeMode = "exact"
	// ScopePartial keeps the value, scoped to the entries that exist, when
	// at least one exists; otherwise the value is skipped.
	ScopePartial ScopeMode = "partial"
	// ScopeIgnore keeps the value whatever the mismatch: missing entries are
	// removed from the scope (a dimension left empty is unscoped).
	ScopeIgnore ScopeMode = "ignore"
	// ScopeIgnoreNew ignores the mismatch for a variable the destination
	// does not have yet and leaves an existing one alone.
	ScopeIgnoreNew ScopeMode = "ignore-new"
)

// ScopeModes lists the valid modes, in documentation order.
var ScopeModes = []ScopeMode{ScopeExact, ScopePartial, ScopeIgnore, ScopeIgnoreNew}

// File is the policy file: the content of FileName, the rules transform
// compiled for apply. Names in selectors are literal names or path.Match
// globs, matched case-insensitively as Octopus matches names. Its JSON is
// the bundle format's (apply-policy.schema.json): field names and meaning
// are a user-facing contract.
type File struct {
	// Kinds overrides a kind's kind policy (the registry's
	// schema.Kind.Policy), by kind name: "Account": "exist",
	// "ActionTemplate": "skip".
	Kinds map[string]schema.Policy `json:",omitempty"`
	// ScopeMismatch rules, in order; for a value the last rule that matches
	// its dimension and selector decides.
	ScopeMismatch []ScopeRule `json:",omitempty"`
	// Owned are variable values the destination owns: created when
	// missing, never overwritten once they exist.
	Owned []ValueSelector `json:",omitempty"`
	// Placeholder is the text written for a new sensitive value; empty
	// means apply's default marked placeholder.
	Placeholder string `json:",omitempty"`
	// Provided are entities the destination provides, by kind name, as
	// names or globs: the bundle does not carry them (a rule removed
	// them), but references to them stay and must resolve on the
	// destination (the reference check accepts them).
	Provided map[string][]string `json:",omitempty"`
	// Conflicts decide apply's three-way merge conflicts (a place changed
	// at the source and on the destination since the last apply) for the
	// places they match, over the registry's defaults; the last matching
	// rule decides. apply --on-conflict overrides them all.
	Conflicts []ConflictRule `json:",omitempty"`
}

// ConflictRule decides the merge conflicts of the places it matches.
type ConflictRule struct {
	// Kind is a kind name or glob ("DeploymentProcess", "*Variables").
	Kind string
	// Entity matches the entity's own (last) name; empty matches any.
	Entity string `json:",omitempty"`
	// Field matches the place inside the entity: a slash path whose
	// segments are map keys, array element names (the element's Name,
	// case-insensitively) or globs ("Variables/Smtp.*/Value",
	// "Steps/*/Properties/*"); a trailing "/**" matches anything below.
	// Empty matches every place.
	Field string `json:",omitempty"`
	// Winner is the side that wins: "source" or "destination".
	Winner string
	// Rule names the rule in plans.
	Rule string `json:",omitempty"`
}

// ScopeRule sets the mismatch mode of one scope dimension for the values a
// selector matches.
type ScopeRule struct {
	// Dimension is a variable scope key: Environment, Channel, Machine,
	// Role, Action, TenantTag or ProcessOwner.
	Dimension string
	// Mode is what apply does on a mismatch.
	Mode ScopeMode
	// Select narrows the rule to some values; empty matches every value.
	Select ValueSelector `json:",omitempty"`
	// Rule is where the rule came from ("rules/prod.yaml:12"), for reports.
	Rule string `json:",omitempty"`
}

// ValueSelector picks variable values.
type ValueSelector struct {
	// Kind is the variable container kind (ProjectVariables,
	// LibraryVariables, TenantVariables); empty matches any.
	Kind string `json:",omitempty"`
	// Owner is the project, library variable set or tenant name; empty
	// matches any.
	Owner string `json:",omitempty"`
	// Name is the variable (or tenant template) name; empty matches any.
	Name string `json:",omitempty"`
	// Scope, if set, must equal the value's scope (dimension → names, as in
	// the bundle); nil matches every value of the name.
	Scope map[string][]string `json:",omitempty"`
	// Rule is where the selector came from, for reports.
	Rule string `json:",omitempty"`
}

// Matches reports whether the selector picks the value v.
func (s ValueSelector) Matches(v Value) bool {
	if s.Kind != "" && !strings.EqualFold(s.Kind, v.Kind) {
		return false
	}
	if !GlobMatch(s.Owner, v.Owner) || !GlobMatch(s.Name, v.Name) {
		return false
	}
	if s.Scope == nil {
		return true
	}
	return SameScope(s.Scope, v.Scope)
}

// ProvidedBy reports whether the file leaves the entity of kind kind named
// name to the destination: its kind policy is skip, or Provided names it.
func (f *File) ProvidedBy(kind, name string) bool {
	if f == nil {
		return false
	}
	if f.Kinds[kind] == schema.PolicySkip {
		return true
	}
	for _, pat := range f.Provided[kind] {
		if GlobMatch(pat, name) {
			return true
		}
	}
	return false
}

// IsZero reports whether the file sets nothing.
func (f *File) IsZero() bool {
	return f == nil || (len(f.Kinds) == 0 && len(f.ScopeMismatch) == 0 && len(f.Owned) == 0 && f.Placeholder == "" && len(f.Provided) == 0 && len(f.Conflicts) == 0)
}

// Encode validates f against the file's schema and returns it as a decoded
// JSON document (numbers as json.Number), for the bundle to write in its
// canonical form.
func Encode(f *File) (any, error) {
	raw, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	doc, err := jsonv.Decode(raw)
	if err != nil {
		return nil, err
	}
	if err := schema.ValidateFile(FileName, doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// Parse parses and validates the bytes of FileName: valid JSON, valid
// against the file's schema, no unknown field, and every kind it names
// known to the registry. The bundle checks the canonical form.
func Parse(data []byte) (*File, error) {
	doc, err := jsonv.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", FileName, err)
	}
	if err := schema.ValidateFile(FileName, doc); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", FileName, err)
	}
	for name := range f.Kinds {
		if schema.Lookup(name) == nil {
			return nil, fmt.Errorf("%s: Kinds names an unknown kind %q", FileName, name)
		}
	}
	for name := range f.Provided {
		if schema.Lookup(name) == nil {
			return nil, fmt.Errorf("%s: Provided names an unknown kind %q", FileName, name)
		}
	}
	return &f, nil
}
