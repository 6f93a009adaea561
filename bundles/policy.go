package bundles

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/octobundle/octobundle/schema"
)

// PolicyFile is the bundle file that carries the apply-time policy set by
// transform rules. It is listed in checksums.txt like any entity file, so
// the digest (and a signature over it) covers it, and a bundle replayed
// months later is applied exactly as it was the first time, without the
// rule files.
const PolicyFile = "apply-policy.json"

// PolicySchema is the JSON Schema of PolicyFile.
const PolicySchema = "apply-policy.schema.json"

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

// ApplyPolicy is the content of PolicyFile. Names in selectors are literal
// names or path.Match globs, matched case-insensitively as Octopus matches
// names.
type ApplyPolicy struct {
	// Kinds overrides a kind's default apply policy (schema.Kind.Policy),
	// by kind name: "Account": "exist", "ActionTemplate": "skip".
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

// ConflictWinner returns the side the last Conflicts rule matching the
// place at (map keys and array indices) of the entity (kind, names) in doc
// gives, and that rule's index (-1 when none matches). Array indices match
// the element's Name found through elementName.
func (p *ApplyPolicy) ConflictWinner(kind string, names []string, at []string, elementName func(prefix []string) (string, bool)) (winner string, index int) {
	index = -1
	if p == nil {
		return "", -1
	}
	last := ""
	if len(names) > 0 {
		last = names[len(names)-1]
	}
	for i, r := range p.Conflicts {
		if !GlobMatch(r.Kind, kind) || !GlobMatch(r.Entity, last) || !fieldMatch(r.Field, at, elementName) {
			continue
		}
		winner, index = r.Winner, i
	}
	return winner, index
}

// fieldMatch matches a ConflictRule.Field against a place.
func fieldMatch(field string, at []string, elementName func(prefix []string) (string, bool)) bool {
	if field == "" {
		return true
	}
	segs := strings.Split(field, "/")
	for i, s := range segs {
		if s == "**" && i == len(segs)-1 {
			return true
		}
		if i >= len(at) {
			return false
		}
		seg := at[i]
		if GlobMatch(s, seg) {
			continue
		}
		if elementName != nil {
			if n, ok := elementName(at[:i+1]); ok && GlobMatch(s, n) {
				continue
			}
		}
		return false
	}
	return len(segs) == len(at)
}

// ProvidedBy reports whether the policy leaves the entity of kind kind
// named name to the destination: the kind's policy is skip, or Provided
// names it.
func (p *ApplyPolicy) ProvidedBy(kind, name string) bool {
	if p == nil {
		return false
	}
	if p.Kinds[kind] == schema.PolicySkip {
		return true
	}
	for _, pat := range p.Provided[kind] {
		if GlobMatch(pat, name) {
			return true
		}
	}
	return false
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

// Matches reports whether the selector picks the value of the given
// container kind, owner and name with the given scope.
func (s ValueSelector) Matches(kind, owner, name string, scope map[string][]string) bool {
	if s.Kind != "" && !strings.EqualFold(s.Kind, kind) {
		return false
	}
	if !GlobMatch(s.Owner, owner) || !GlobMatch(s.Name, name) {
		return false
	}
	if s.Scope == nil {
		return true
	}
	return SameScope(s.Scope, scope)
}

// GlobMatch matches name against a literal or path.Match pattern,
// case-insensitively as Octopus compares names; an empty pattern matches
// everything. Transform rules and the apply policy both match with it.
func GlobMatch(pattern, name string) bool {
	if pattern == "" {
		return true
	}
	p, n := strings.ToLower(pattern), strings.ToLower(name)
	if p == n {
		return true
	}
	ok, err := path.Match(p, n)
	return err == nil && ok
}

// SameScope reports whether two scopes (dimension → names) are equal,
// ignoring empty dimensions, order and case.
func SameScope(a, b map[string][]string) bool {
	nonEmpty := func(m map[string][]string) int {
		c := 0
		for _, v := range m {
			if len(v) > 0 {
				c++
			}
		}
		return c
	}
	if nonEmpty(a) != nonEmpty(b) {
		return false
	}
	for dim, want := range a {
		if len(want) == 0 {
			continue
		}
		got := b[dim]
		if len(got) != len(want) {
			return false
		}
		seen := map[string]bool{}
		for _, v := range got {
			seen[strings.ToLower(v)] = true
		}
		for _, v := range want {
			if !seen[strings.ToLower(v)] {
				return false
			}
		}
	}
	return true
}

// ScopeModeFor returns the mode the policy sets for dimension dim of the
// value (kind, owner, name, scope), and the rule that set it; ok is false
// when no rule matches (apply then uses the registry default).
func (p *ApplyPolicy) ScopeModeFor(dim, kind, owner, name string, scope map[string][]string) (mode ScopeMode, rule string, ok bool) {
	if p == nil {
		return "", "", false
	}
	for _, r := range p.ScopeMismatch {
		if strings.EqualFold(r.Dimension, dim) && r.Select.Matches(kind, owner, name, scope) {
			mode, rule, ok = r.Mode, r.Rule, true
		}
	}
	return mode, rule, ok
}

// Owns reports whether the destination owns the value, and which selector
// says so.
func (p *ApplyPolicy) Owns(kind, owner, name string, scope map[string][]string) (rule string, ok bool) {
	if p == nil {
		return "", false
	}
	for _, s := range p.Owned {
		if s.Matches(kind, owner, name, scope) {
			return s.Rule, true
		}
	}
	return "", false
}

// KindPolicy returns the apply policy of kind k: the policy's override if
// it has one, else the registry default.
func (p *ApplyPolicy) KindPolicy(k *schema.Kind) schema.Policy {
	if p != nil {
		if pol, ok := p.Kinds[k.Name]; ok {
			return pol
		}
	}
	return k.Policy
}

// IsZero reports whether the policy sets nothing.
func (p *ApplyPolicy) IsZero() bool {
	return p == nil || (len(p.Kinds) == 0 && len(p.ScopeMismatch) == 0 && len(p.Owned) == 0 && p.Placeholder == "" && len(p.Provided) == 0 && len(p.Conflicts) == 0)
}

// encodePolicy validates p and returns its canonical bytes.
func encodePolicy(p *ApplyPolicy) ([]byte, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	doc, err := Decode(raw)
	if err != nil {
		return nil, err
	}
	if err := schema.ValidateFile(PolicyFile, doc); err != nil {
		return nil, err
	}
	return Canonical(doc)
}

// decodePolicy parses and validates the bytes of PolicyFile.
func decodePolicy(data []byte) (*ApplyPolicy, error) {
	doc, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", PolicyFile, err)
	}
	if canon, _ := Canonical(doc); !bytes.Equal(canon, data) {
		return nil, fmt.Errorf("%s: not in canonical form", PolicyFile)
	}
	if err := schema.ValidateFile(PolicyFile, doc); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p ApplyPolicy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%s: %w", PolicyFile, err)
	}
	for name := range p.Kinds {
		if schema.Lookup(name) == nil {
			return nil, fmt.Errorf("%s: Kinds names an unknown kind %q", PolicyFile, name)
		}
	}
	for name := range p.Provided {
		if schema.Lookup(name) == nil {
			return nil, fmt.Errorf("%s: Provided names an unknown kind %q", PolicyFile, name)
		}
	}
	return &p, nil
}

// SetApplyPolicy records p as the bundle's apply-time policy; nil or a zero
// policy removes it. It unseals the bundle.
func (b *Bundle) SetApplyPolicy(p *ApplyPolicy) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.IsZero() {
		if b.policy != nil {
			b.policy = nil
			b.unseal()
		}
		return nil
	}
	data, err := encodePolicy(p)
	if err != nil {
		return fmt.Errorf("bundles: apply policy: %w", err)
	}
	if !bytes.Equal(data, b.policy) {
		b.policy = data
		b.unseal()
	}
	return nil
}

// ApplyPolicy returns a copy of the bundle's apply-time policy, or nil when
// it has none.
func (b *Bundle) ApplyPolicy() (*ApplyPolicy, error) {
	b.mu.RLock()
	data := b.policy
	b.mu.RUnlock()
	if data == nil {
		return nil, nil
	}
	p, err := decodePolicy(data)
	if err != nil {
		return nil, errors.Join(errors.New("bundles: apply policy"), err)
	}
	return p, nil
}
