// Package planned holds what planning learns of each entity beyond the plan
// document (Change) and the index of the names the bundle's entities have
// and provide: what the planner (apply) hands the executor
// (apply/internal/execute), shared by both without either importing the
// other.
package planned

import (
	"strings"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/translate"
)

// Names in a bundle are unique within a scope: the space (""), or the root
// owner of the entity holding the reference (a project, a library variable
// set). This file indexes the names the bundle's changes have and provide,
// from which the plan checks that every name exists in the bundle or on the
// destination (translate turns them into destination IDs) and works out
// which changes depend on which.

// RootKind returns the top-level owner kind of k (k itself at top level).
func RootKind(k *schema.Kind) *schema.Kind { return k.Root() }

// Title is a kind's singular human name for messages ("worker pool"):
// translate.Title, which names kinds in the translator's messages too.
func Title(kind string) string { return translate.Title(kind) }

// Label names a change for messages: "DeploymentProcess OctoFX".
func Label(kind string, names []string) string { return plans.Label(kind, names) }

// Key identifies a change (or a bundle entity) by kind and names.
func Key(kind string, names []string) string {
	return kind + "\x00" + strings.Join(names, "\x00")
}

// NameKey identifies a name in the bundle's namespaces: kind (or virtual
// kind), bundle scope (a root name or ""), name.
type NameKey struct{ Kind, Scope, Name string }

// Names indexes the names the bundle's entities have and provide, and
// which change provides each.
type Names struct {
	Owner map[NameKey]int
}

// ProvidedNames lists the names the bundle document doc of ch's entity
// provides (actions, templates, process owners), in the bundle's
// namespaces.
func ProvidedNames(ch *Change, doc any) []NameKey {
	m, _ := doc.(map[string]any)
	k := schema.Lookup(ch.Kind)
	if m == nil || k == nil || len(ch.Names) == 0 {
		return nil
	}
	var out []NameKey
	for _, p := range k.Provided(m) {
		n := p.Name
		if p.Qualify {
			n = ch.Names[len(ch.Names)-1] + "/" + n
		}
		scope := ch.Names[0]
		if p.Within == schema.ScopeSpace {
			scope = ""
		}
		out = append(out, NameKey{p.Kind, scope, n})
	}
	return out
}

// IndexBundle records the names of the changes' entities (and the names
// their documents provide: actions, templates, process owners).
func IndexBundle(changes []*Change) Names {
	bn := Names{Owner: map[NameKey]int{}}
	for i, ch := range changes {
		k := schema.Lookup(ch.Kind)
		if k == nil {
			continue
		}
		if !k.IsSingleton() && k.Shape != schema.ShapeItems && len(ch.Names) > 0 {
			scope := ""
			if k.Parent != "" {
				scope = ch.Names[0]
			}
			bn.Owner[NameKey{k.Name, scope, ch.Names[len(ch.Names)-1]}] = i
		}
		for _, key := range ch.Provides {
			bn.Owner[key] = i
		}
	}
	return bn
}

// Find returns the change providing name of kind to in scope.
func (bn Names) Find(to, scope, name string) (int, bool) {
	for _, k := range translate.Aliases(to) {
		if i, ok := bn.Owner[NameKey{k, scope, name}]; ok {
			return i, true
		}
	}
	return 0, false
}

// IsVirtual reports whether to is a namespace provided by documents
// (actions, templates, process owners) rather than a kind.
func IsVirtual(to string) bool {
	k := schema.Lookup(to)
	return k == nil
}

// DeferredField reports whether a reference at path at lies in one of the
// kind's deferred fields.
func DeferredField(k *schema.Kind, at []string) bool {
	if len(at) == 0 {
		return false
	}
	for _, f := range k.Deferred {
		if at[0] == f {
			return true
		}
	}
	return false
}
