package bundles

import (
	"fmt"
	"iter"
	"sort"
	"strings"

	"github.com/octobundle/octobundle/policy"
	"github.com/octobundle/octobundle/schema"
)

// RefProblem is a reference that resolves to nothing: the bundle does not
// hold the entity it names and the destination is not said to provide it.
type RefProblem struct {
	// Path is the bundle path of the entity holding the reference.
	Path string
	// Field is the JSON pointer of the reference in the entity.
	Field string
	// To is the referred-to kind (or virtual kind such as Action).
	To string
	// Name is the name the reference holds.
	Name string
}

// String renders the problem as "PATH: FIELD: KIND NAME does not exist".
func (p RefProblem) String() string {
	return fmt.Sprintf("%s: %s: %s %q is not in the bundle and not left to the destination", p.Path, p.Field, p.To, p.Name)
}

// refIndex holds what a bundle's references may resolve to.
type refIndex struct {
	names    map[schema.ScopedName]bool
	carried  map[string]bool // kinds with at least one entity in the bundle
	tags     map[string]map[string]bool
	tagKinds map[string]bool // kinds holding tags (tag sets)
	policy   *policy.File
	partial  bool // a partial export (Manifest.Projects)
}

func indexBundle(entries iter.Seq[Entry], pf *policy.File) *refIndex {
	ix := &refIndex{names: map[schema.ScopedName]bool{}, carried: map[string]bool{}, tags: map[string]map[string]bool{}, tagKinds: map[string]bool{}, policy: pf}
	for e := range entries {
		k := e.Kind
		ix.carried[k.Name] = true
		if !k.IsSingleton() && k.Shape != schema.ShapeItems && len(e.Names) > 0 {
			name := e.Names[len(e.Names)-1]
			ix.names[schema.ScopedName{Kind: k.Name, Scope: k.EntityScope(e.Names), Name: name}] = true
			if k.IndexAs != "" {
				ix.carried[k.IndexAs] = true
				ix.names[schema.ScopedName{Kind: k.IndexAs, Scope: k.EntityScope(e.Names), Name: name}] = true
			}
		}
		if doc, ok := e.Doc.(map[string]any); ok {
			for _, p := range k.ProvidedNames(doc, e.Names) {
				ix.names[p] = true
			}
			if k.TagNames != "" {
				ix.addTags(k.Name, e.Names[len(e.Names)-1], k.TagNames, doc)
			}
		}
	}
	return ix
}

// addTags records the tags of a tag set ("Set/Tag" canonical names).
func (ix *refIndex) addTags(kind, set, namesPath string, doc map[string]any) {
	m := map[string]bool{}
	k := &schema.Kind{Name: kind, Refs: []schema.Ref{{Path: namesPath}}}
	_ = k.Visit(doc, func(_ schema.Ref, _ []string, v string) { m[strings.ToLower(v)] = true })
	ix.tags[strings.ToLower(set)] = m
	ix.tagKinds[kind] = true
}

// resolves reports whether a reference to (to, scope, name) resolves in the
// bundle or is left to the destination.
func (ix *refIndex) resolves(to, scope, name string) bool {
	for _, k := range schema.TargetKinds(to) {
		if ix.names[schema.ScopedName{Kind: k, Scope: scope, Name: name}] || ix.policy.ProvidedBy(k, name) {
			return true
		}
	}
	if kind := schema.Lookup(to); kind != nil && !kind.IsVirtual() {
		// A kind the bundle does not carry at all is the destination's
		// when it is optional (schema.Kind.Optional: deployment targets
		// and workers, exported only when asked) or the bundle is a
		// partial export (Manifest.Projects), which leaves out what a
		// project does not depend on (teams, user roles). A whole-space
		// bundle holds every other kind it refers to, so one without
		// any (a transform dropped the last) leaves the reference
		// dangling.
		for _, k := range schema.TargetKinds(to) {
			if ix.carried[k] {
				return false
			}
			if tk := schema.Lookup(k); !ix.partial && (tk == nil || !tk.Optional) {
				return false
			}
		}
		return true
	}
	return false
}

// resolvesTag reports whether a canonical tag name resolves.
func (ix *refIndex) resolvesTag(tag string) bool {
	set, name, ok := strings.Cut(tag, "/")
	if !ok {
		return false
	}
	if len(ix.tagKinds) == 0 {
		return true // the bundle carries no tag sets: the destination's
	}
	for k := range ix.tagKinds {
		if ix.policy.ProvidedBy(k, set) {
			return true
		}
	}
	tags, ok := ix.tags[strings.ToLower(set)]
	return ok && tags[strings.ToLower(name)]
}

// CheckReferences reports every reference in the bundle that resolves to
// nothing: each must name an entity the bundle holds (or a step, template,
// channel or process owner inside one), or an entity its apply policy
// leaves to the destination (policy.File.Provided, kinds with policy
// skip), or an entity of a kind the bundle does not carry at all when
// that kind is optional (schema.Kind.Optional: deployment targets when not
// exported) or the bundle is a partial export (Manifest.Projects: teams
// and user roles are not a project's dependencies). Tenant tag references
// ("Set/Tag") must name a tag of a tag set the bundle holds. Problems are
// sorted by path and field. It decodes each document twice (once to index
// what the bundle provides, once to check its references), one at a time.
func (b *Bundle) CheckReferences() ([]RefProblem, error) {
	return b.checkReferences(nil)
}

// CheckReferencesCarried is CheckReferences for a bundle made from another
// (transform's output): each kind named in carried counts as carried even
// when the bundle no longer holds an entity of it, so a reference to the
// dropped last entity of a kind dangles in a partial bundle too.
func (b *Bundle) CheckReferencesCarried(carried []string) ([]RefProblem, error) {
	return b.checkReferences(carried)
}

func (b *Bundle) checkReferences(carried []string) ([]RefProblem, error) {
	pf, err := b.ApplyPolicy()
	if err != nil {
		return nil, err
	}
	ix := indexBundle(b.All(), pf)
	ix.partial = len(b.Manifest.Projects) > 0
	for _, name := range carried {
		ix.carried[name] = true
		if k := schema.Lookup(name); k != nil && k.IndexAs != "" {
			ix.carried[k.IndexAs] = true
		}
	}
	var out []RefProblem
	for e := range b.All() {
		k := e.Kind
		err := k.VisitValues(e.Doc, func(ref schema.Ref, at []string, v any) {
			to, name := ref.To, ""
			switch t := v.(type) {
			case string:
				if ref.To == schema.AnyKind {
					return // a plain property value
				}
				name = t
			default:
				kind, n, ok := schema.ParseRefValue(v)
				if !ok {
					return
				}
				to, name = kind, n
			}
			if !ix.resolves(to, schema.RefScope(ref, e.Names, at, e.Doc), name) {
				out = append(out, RefProblem{Path: e.Path, Field: schema.Pointer(at), To: to, Name: name})
			}
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Path, err)
		}
		tk := k.TagKind()
		err = tk.Visit(e.Doc, func(ref schema.Ref, at []string, v string) {
			if !ix.resolvesTag(v) {
				out = append(out, RefProblem{Path: e.Path, Field: schema.Pointer(at), To: "tenant tag", Name: v})
			}
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Path, err)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Field < out[j].Field
	})
	return out, nil
}
