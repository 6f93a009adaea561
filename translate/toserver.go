package translate

import (
	"fmt"
	"sort"
	"strings"

	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
)

// Names in a bundle are unique within a scope: the space (""), or the root
// owner of the entity holding the reference (a project, a library variable
// set), named in the bundle by the owner's name and on a server by its ID.
// This file turns bundle names into a server's IDs (IDs.ToServer), through
// one walk over the names a bundle document holds (EachName), which apply's
// reference check and change ordering share.

// NameRef is one reference of a bundle-form document, as EachName finds it.
type NameRef struct {
	// Ref is the registry's reference (schema.Kind.Refs).
	Ref schema.Ref
	// At is the path the reference was found at.
	At []string
	// To is the kind, or virtual kind (schema.Action …), the name is of:
	// Ref.To, or the "$ref" kind at a free-form (schema.AnyKind) position.
	To string
	// Name is the name the reference holds.
	Name string
	// Value is the value as found: Name, or the {"$ref"} object holding it.
	Value any

	kind  *schema.Kind // the kind of the entity holding the reference
	names []string     // that entity's names
	doc   any          // its document
}

// Scope returns the bundle namespace r's name lives in: "", or the name of
// the root owner or map key the registry scopes it by (see
// schema.CheckRefScope).
func (r NameRef) Scope() (string, error) {
	return schema.CheckRefScope(r.Ref, r.names, r.At, r.doc)
}

// EachName calls fn for every reference of doc, the bundle form of an
// entity of kind k named names, and puts the value fn returns in its place
// (schema.Drop removes it), as schema.Kind.Rewrite does; fn also returns a
// problem with the name, a sentence naming the field, or "". At a
// free-form (schema.AnyKind) position only a {"$ref"} object is a
// reference: any other value is an ordinary property value or a secret,
// and is left alone. A typed reference holding something other than a name
// is a problem of its own; fn is not called for it. EachName returns the
// problems in the order found; err is the walk's own failure.
func EachName(k *schema.Kind, names []string, doc any, fn func(r NameRef) (any, string)) (problems []string, err error) {
	err = k.Rewrite(doc, func(ref schema.Ref, at []string, v any) (any, error) {
		r, problem, ok := nameRef(k, names, doc, ref, at, v)
		if ok {
			v, problem = fn(r)
		}
		if problem != "" {
			problems = append(problems, problem)
		}
		return v, nil
	})
	return problems, err
}

// VisitNames is EachName that only reads doc: fn's references stay as
// they are, and a reference that holds no name is passed over.
func VisitNames(k *schema.Kind, names []string, doc any, fn func(r NameRef)) error {
	return k.VisitValues(doc, func(ref schema.Ref, at []string, v any) {
		if r, _, ok := nameRef(k, names, doc, ref, at, v); ok {
			fn(r)
		}
	})
}

// nameRef reads the reference ref, found at at in doc (of an entity of
// kind k named names) holding v: ok when it holds a name; a problem when a
// typed reference holds something else.
func nameRef(k *schema.Kind, names []string, doc any, ref schema.Ref, at []string, v any) (r NameRef, problem string, ok bool) {
	r = NameRef{Ref: ref, At: at, Value: v, kind: k, names: names, doc: doc}
	if ref.To == schema.AnyKind {
		r.To, r.Name, ok = schema.ParseRefValue(v)
		return r, "", ok
	}
	name, isName := v.(string)
	if !isName {
		return r, fmt.Sprintf("%s: a reference to %s holds %T, not a name", schema.Pointer(at), Title(ref.To), v), false
	}
	r.To, r.Name = ref.To, name
	return r, "", true
}

// IDs resolves bundle names to the IDs of one server, through a snapshot's
// index of it (which apply keeps current as it creates entities).
type IDs struct {
	// Snap is the server's snapshot.
	Snap *snapshot.Snapshot
}

// Lookup returns the ID of the entity of kind (or of a kind sharing its
// namespace, see Aliases) named name in scope (a server ID, "" for
// space-wide names).
func (d IDs) Lookup(kind, scope, name string) (string, bool) {
	for _, k := range Aliases(kind) {
		if id, ok := d.Snap.Index.ID(k, scope, name); ok {
			return id, true
		}
	}
	return "", false
}

// Scope returns the server scope (an ID, or "") of a reference ref found
// at path at of doc, held by an entity of kind k named names: the server
// ID of the root owner or map key that schema.CheckRefScope names.
func (d IDs) Scope(k *schema.Kind, ref schema.Ref, names, at []string, doc any) (string, error) {
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
	id, ok := d.Lookup(sk.Name, "", name)
	if !ok {
		return "", fmt.Errorf("%s %q does not exist on the destination", Title(sk.Name), name)
	}
	return id, nil
}

// ID returns the server ID r names, or a problem naming the field.
func (d IDs) ID(r NameRef) (string, error) {
	scope, err := d.Scope(r.kind, r.Ref, r.names, r.At, r.doc)
	if err != nil {
		return "", fmt.Errorf("%s: %s %q: %v", schema.Pointer(r.At), Title(r.To), r.Name, err)
	}
	id, ok := d.Lookup(r.To, scope, r.Name)
	if !ok {
		return "", fmt.Errorf("%s: %s %q does not exist on the destination", schema.Pointer(r.At), Title(r.To), r.Name)
	}
	return id, nil
}

// ToServer returns the server form of doc, the bundle form of an entity of
// kind k named names: a copy with every reference turned into the server's
// ID. Every name that does not resolve is reported, naming the field; the
// problems are sorted and joined by "; ".
func (d IDs) ToServer(k *schema.Kind, names []string, doc any) (any, error) {
	out := schema.DeepCopy(doc)
	problems, err := EachName(k, names, out, func(r NameRef) (any, string) {
		id, err := d.ID(r)
		if err != nil {
			return r.Value, err.Error()
		}
		return id, ""
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

// rootKind returns the top-level owner kind of k (k itself at top level):
// the kind whose entity scopes ScopeSelf and ScopeOwner names.
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

// Aliases returns the names of the kinds whose names share one namespace
// with kind's on the server, kind first (library variable sets and script
// modules are one collection; see schema.Kind.Aliases). A virtual kind is
// its own only alias.
func Aliases(kind string) []string {
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

// Title is a kind's (or a virtual kind's) singular human name, for
// messages ("worker pool").
func Title(kind string) string { return schema.Singular(kind) }
