package schema

import "strings"

// RefScope returns the namespace the name held by a reference lives in, for
// a reference of the entity whose (unescaped) names are names, found at
// path at: "" for space-wide names; the root owner's name for names unique
// within a project or library variable set (ScopeSelf, ScopeOwner); the map
// key at the given depth for ScopeKey references. Export, apply, transform
// and the reference check agree on it.
func RefScope(ref Ref, names, at []string, doc any) string {
	switch ref.Within {
	case ScopeSpace:
		return ""
	case ScopeSibling:
		v, _ := SiblingValue(doc, ref, at)
		return v
	case ScopeSelf, ScopeOwner:
		if len(names) == 0 {
			return ""
		}
		return names[0]
	}
	if n, ok := strings.CutPrefix(string(ref.Within), "key:"); ok && len(n) == 1 && n[0] >= '0' && n[0] <= '9' {
		if i := int(n[0] - '0'); i < len(at) {
			return at[i]
		}
	}
	return ""
}

// EntityScope returns the namespace an entity's own name lives in: "" for
// top-level kinds, the root owner's name for nested ones (a channel's
// project).
func (k *Kind) EntityScope(names []string) string {
	if k.Parent == "" || len(names) == 0 {
		return ""
	}
	return names[0]
}

// ScopedName is a name in a namespace of a reference target kind.
type ScopedName struct {
	// Kind is the target kind (a kind name or a virtual kind such as Action).
	Kind string
	// Scope is the namespace (see RefScope).
	Scope string
	// Name is the name, qualified as references spell it.
	Name string
}

// ProvidedNames returns the scoped names an entity of kind k (bundle form,
// with unescaped names) contributes, qualified as references spell them:
// the actions of a deployment process, "Runbook/Action" for the actions of
// a runbook process, a project's templates and process owner name …
func (k *Kind) ProvidedNames(doc map[string]any, names []string) []ScopedName {
	var out []ScopedName
	scope := ""
	if len(names) > 0 {
		scope = names[0]
	}
	for _, p := range k.Provided(doc) {
		name := p.Name
		if p.Path == "" && k.IsSingleton() && len(names) > 0 {
			name = names[len(names)-1]
		}
		if p.Qualify && len(names) > 1 {
			name = names[len(names)-1] + "/" + name
		}
		if name == "" {
			continue
		}
		out = append(out, ScopedName{Kind: p.Kind, Scope: scope, Name: name})
	}
	return out
}

// TargetKinds returns the kinds whose entities a reference to kind to may
// name: to itself and the kinds indexed as it (script modules for library
// variable sets).
func TargetKinds(to string) []string {
	out := []string{to}
	for _, k := range ordered {
		if k.IndexAs == to {
			out = append(out, k.Name)
		}
	}
	return out
}
