package schema

import (
	"fmt"
	"strconv"
	"strings"
)

// RefScope returns the namespace the name held by a reference lives in, for
// a reference of the entity whose (unescaped) names are names, found at
// path at: "" for space-wide names; the root owner's name for names unique
// within a project or library variable set (ScopeSelf, ScopeOwner); the map
// key at the given depth for ScopeKey references. Export, apply, transform
// and the reference check agree on it.
func RefScope(ref Ref, names, at []string, doc any) string {
	s, _ := CheckRefScope(ref, names, at, doc)
	return s
}

// CheckRefScope is RefScope, with an error when the scope cannot be told (a
// ScopeSibling reference whose sibling field is missing, an owner-scoped
// reference held by an unnamed entity, a key depth beyond the path).
func CheckRefScope(ref Ref, names, at []string, doc any) (string, error) {
	switch ref.Within {
	case ScopeSpace:
		return "", nil
	case ScopeSibling:
		if v, ok := SiblingValue(doc, ref, at); ok {
			return v, nil
		}
		return "", fmt.Errorf("a reference to %s needs its %s", ref.To, ref.Sibling)
	case ScopeSelf, ScopeOwner:
		if len(names) == 0 {
			return "", fmt.Errorf("a reference to %s needs an owner", ref.To)
		}
		return names[0], nil
	}
	if n, ok := strings.CutPrefix(string(ref.Within), "key:"); ok {
		if i, err := strconv.Atoi(n); err == nil && i >= 0 && i < len(at) {
			return at[i], nil
		}
	}
	return "", fmt.Errorf("cannot tell the scope %q of a reference to %s", ref.Within, ref.To)
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

// Namespace describes a name references point at that is not a collection
// kind (Action, ProcessOwner …): its names are provided by the entities
// that hold them (see Provide) and it has no API collection, so what a
// kind's Title and Collection say for a kind, its entry says for it.
type Namespace struct {
	// Name is the name references use in Ref.To (Action).
	Name string
	// Title is the singular human name for messages ("step action");
	// empty means messages use Name.
	Title string
	// Plural names several in messages ("step actions"); empty means Name
	// and "s".
	Plural string
	// Missing ends the server's message refusing a reference to a name
	// that does not exist ("which is not a step or action of this
	// project's processes."); empty when the server does not check such
	// references.
	Missing string
	// Repeats says one scope may provide a name more than once without a
	// bundle losing anything (a runbook named like its project is both
	// process owners): export does not report such names as duplicates.
	Repeats bool
}

// namespaces are the reference targets that are not collection kinds.
var namespaces = []Namespace{
	{Name: Action, Title: "step action", Plural: "step actions", Missing: "which is not a step or action of this project's processes."},
	{Name: ProcessOwner, Title: "process (project or runbook)", Missing: "which is neither this project nor one of its runbooks.", Repeats: true},
	{Name: ProjectTemplate, Title: "project tenant variable template", Plural: "variable templates"},
	{Name: LibraryTemplate, Title: "library tenant variable template", Plural: "variable templates"},
	{Name: MachineRole},
	{Name: TenantTag},
}

// LookupNamespace returns the namespace named name, or nil (for kinds and
// unknown names).
func LookupNamespace(name string) *Namespace {
	for i := range namespaces {
		if namespaces[i].Name == name {
			return &namespaces[i]
		}
	}
	return nil
}

// Singular returns the singular human name of a kind or namespace, for
// messages: "worker pool" (from the kind's Title "worker pools"), "step
// action"; the name itself for anything else.
func Singular(name string) string {
	k := Lookup(name)
	if k == nil {
		if ns := LookupNamespace(name); ns != nil && ns.Title != "" {
			return ns.Title
		}
		return name
	}
	t := k.Title
	switch {
	case strings.HasSuffix(t, "ies"):
		return strings.TrimSuffix(t, "ies") + "y"
	case strings.HasSuffix(t, "sses"):
		return strings.TrimSuffix(t, "es")
	case strings.HasSuffix(t, "s"):
		return strings.TrimSuffix(t, "s")
	}
	return t
}

// Plural returns the plural human name of a kind or namespace, for
// messages: the kind's Title, the namespace's Plural, else name and "s".
func Plural(name string) string {
	if k := Lookup(name); k != nil {
		return k.Title
	}
	if ns := LookupNamespace(name); ns != nil && ns.Plural != "" {
		return ns.Plural
	}
	return name + "s"
}
