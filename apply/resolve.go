package apply

import (
	"fmt"
	"sort"
	"strings"

	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
)

// Names in a bundle are unique within a scope: the space (""), or the root
// owner of the entity holding the reference (a project, a library variable
// set), named in the bundle by the owner's name and on the destination by
// its server ID. This file turns bundle names into destination IDs, checks
// at plan time that every name exists in the bundle or on the destination,
// and works out which changes depend on which.

// rootKind returns the top-level owner kind of k (k itself at top level).
func rootKind(k *schema.Kind) *schema.Kind { return k.Root() }

// scopeKind returns the kind whose entities a ScopeKey reference to the
// virtual kind to is scoped by: the kind that provides to's names within
// itself (Project for ProjectTemplate, LibraryVariableSet for
// LibraryTemplate).
func scopeKind(to string) *schema.Kind {
	for _, k := range schema.Kinds() {
		for _, p := range k.Provides {
			if p.Kind == to && p.Within == schema.ScopeSelf && p.Path != "" {
				return k
			}
		}
	}
	return nil
}

// aliases are the kinds whose names share one namespace on the server
// (library variable sets and script modules are one collection).
func aliases(kind string) []string {
	k := schema.Lookup(kind)
	if k == nil {
		return []string{kind}
	}
	as := k.Aliases()
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Name
	}
	return out
}

// title is a kind's singular human name for messages ("worker pool").
func title(kind string) string { return schema.Singular(kind) }

// label names a change for messages: "DeploymentProcess OctoFX".
func label(kind string, names []string) string {
	if len(names) == 0 {
		return kind
	}
	return kind + " " + strings.Join(names, "/")
}

// destIDs resolves names to IDs on the destination, through the snapshot
// index, which apply keeps current as it creates entities.
type destIDs struct {
	snap *snapshot.Snapshot
}

// lookup returns the destination ID of the entity of kind (or a kind sharing
// its namespace) named name in scope (a destination ID, "" space-wide).
func (d destIDs) lookup(kind, scope, name string) (string, bool) {
	for _, k := range aliases(kind) {
		if id, ok := d.snap.Index.ID(k, scope, name); ok {
			return id, true
		}
	}
	return "", false
}

// scope returns the destination scope (an ID, or "") of a reference held by
// an entity of kind k named names: the destination ID of the root owner or
// map key that schema.CheckRefScope names.
func (d destIDs) scope(k *schema.Kind, ref schema.Ref, names, at []string, doc any) (string, error) {
	name, err := schema.CheckRefScope(ref, names, at, doc)
	if err != nil || ref.Within == schema.ScopeSpace {
		return name, err
	}
	sk := rootKind(k)
	if ref.Within != schema.ScopeSelf && ref.Within != schema.ScopeOwner {
		if sk = scopeKind(ref.To); sk == nil {
			return "", fmt.Errorf("no kind provides %s names", ref.To)
		}
	}
	id, ok := d.lookup(sk.Name, "", name)
	if !ok {
		return "", fmt.Errorf("%s %q does not exist on the destination", title(sk.Name), name)
	}
	return id, nil
}

// resolve returns a copy of doc (bundle form, an entity of kind k named
// names) with every reference turned into the destination's ID. Every name
// that does not resolve is reported, naming the field.
func (d destIDs) resolve(k *schema.Kind, names []string, doc any) (any, error) {
	out := schema.DeepCopy(doc)
	var problems []string
	err := k.Rewrite(out, func(ref schema.Ref, at []string, v any) (any, error) {
		to, name, skip, err := refName(ref, at, v)
		if skip {
			return v, nil
		}
		if err != nil {
			problems = append(problems, err.Error())
			return v, nil
		}
		scope, err := d.scope(k, ref, names, at, out)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %s %q: %v", schema.Pointer(at), title(to), name, err))
			return v, nil
		}
		id, ok := d.lookup(to, scope, name)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: %s %q does not exist on the destination", schema.Pointer(at), title(to), name))
			return v, nil
		}
		return id, nil
	})
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return out, nil
}

// refName returns the kind and the name a reference value v (of ref, at
// path at) points at. At an AnyKind position (free-form step properties) v
// is a reference only as a {"$ref"} object: anything else is an ordinary
// property value or a secret, and skip is set. A typed reference holding
// something other than a name is an error naming the field.
func refName(ref schema.Ref, at []string, v any) (to, name string, skip bool, err error) {
	if ref.To == schema.AnyKind {
		kind, n, ok := schema.ParseRefValue(v)
		return kind, n, !ok, nil
	}
	name, ok := v.(string)
	if !ok {
		return ref.To, "", false, fmt.Errorf("%s: a reference to %s holds %T, not a name", schema.Pointer(at), title(ref.To), v)
	}
	return ref.To, name, false, nil
}

// changeKey identifies a change (or a bundle entity) by kind and names.
func changeKey(kind string, names []string) string {
	return kind + "\x00" + strings.Join(names, "\x00")
}

// nameKey identifies a name in the bundle's namespaces: kind (or virtual
// kind), bundle scope (a root name or ""), name.
type nameKey struct{ kind, scope, name string }

// bundleNames indexes the names the bundle's entities have and provide, and
// which change provides each.
type bundleNames struct {
	owner map[nameKey]int
}

// providedNames lists the names the bundle document doc of ch's entity
// provides (actions, templates, process owners), in the bundle's
// namespaces.
func providedNames(ch *Change, doc any) []nameKey {
	m, _ := doc.(map[string]any)
	k := schema.Lookup(ch.Kind)
	if m == nil || k == nil || len(ch.Names) == 0 {
		return nil
	}
	var out []nameKey
	for _, p := range k.Provided(m) {
		n := p.Name
		if p.Qualify {
			n = ch.Names[len(ch.Names)-1] + "/" + n
		}
		scope := ch.Names[0]
		if p.Within == schema.ScopeSpace {
			scope = ""
		}
		out = append(out, nameKey{p.Kind, scope, n})
	}
	return out
}

// indexBundle records the names of the changes' entities (and the names
// their documents provide: actions, templates, process owners).
func indexBundle(changes []*Change) bundleNames {
	bn := bundleNames{owner: map[nameKey]int{}}
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
			bn.owner[nameKey{k.Name, scope, ch.Names[len(ch.Names)-1]}] = i
		}
		for _, key := range ch.provides {
			bn.owner[key] = i
		}
	}
	return bn
}

// find returns the change providing name of kind to in scope.
func (bn bundleNames) find(to, scope, name string) (int, bool) {
	for _, k := range aliases(to) {
		if i, ok := bn.owner[nameKey{k, scope, name}]; ok {
			return i, true
		}
	}
	return 0, false
}

// isVirtual reports whether to is a namespace provided by documents
// (actions, templates, process owners) rather than a kind.
func isVirtual(to string) bool {
	k := schema.Lookup(to)
	return k == nil
}

// deferredField reports whether a reference at path at lies in one of the
// kind's deferred fields.
func deferredField(k *schema.Kind, at []string) bool {
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
