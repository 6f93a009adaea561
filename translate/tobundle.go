package translate

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
)

// Error is a translation that failed on the content of the source:
// references to IDs that do not exist, names that collide within one scope.
// Problems holds one line per problem, sorted, each naming the entity, the
// JSON path and the ID or name involved. Its message starts "export:", the
// command that meets it (export also reports its own content problems as
// an Error).
type Error struct {
	// Problems are the individual problems, one sentence each.
	Problems []string
}

// Error lists the problems, one per line.
func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "export: " + e.Problems[0]
	}
	return fmt.Sprintf("export: %d problems:\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// ToBundle returns the bundle form of one entity of s: a deep copy of the
// server's JSON with every reference rewritten from an ID to a name (in the
// scope the kind registry gives it; free-form step properties holding an ID
// become {"$ref": KIND, "name": NAME}), volatile fields dropped, secrets
// scrubbed and set-like arrays sorted. It does not modify e and depends only
// on s, so the same snapshot always gives the same value; export puts it in
// the bundle, apply compares a destination entity with a bundle through it.
//
// A reference to an ID that does not exist in s is no error: a server can
// hold one (a step deleted while variables are still scoped to it); the
// entry is dropped or its holder left out, never widening a restriction
// (see ToBundleWarnings, which also says what was done, and dangling.go). A
// reference to a name that two entities share in the same scope is an
// *Error listing every such problem.
func ToBundle(s *snapshot.Snapshot, e *snapshot.Entity) (any, error) {
	r, err := ToBundleWith(s, e, Options{})
	return r.Doc, err
}

// ToBundleWarnings is ToBundle that also returns a warning, naming the
// entity and the field, for each reference to an ID s does not have and
// what the bundle form holds instead.
func ToBundleWarnings(s *snapshot.Snapshot, e *snapshot.Entity) (any, []string, error) {
	r, err := ToBundleWith(s, e, Options{})
	return r.Doc, r.Warnings, err
}

// Options adjusts ToBundleWith to an export. The zero value translates as
// ToBundle does.
type Options struct {
	// Keep decides whether a soft reference (schema.Ref.Soft: a map key
	// naming a project or library variable set that the entity holds data
	// for) to the entity id of kind target stays in the bundle form; a
	// partial export drops those to entities it leaves out. nil keeps
	// every reference.
	Keep func(target *schema.Kind, id string) bool
	// Inspect, when not nil, is called once with the entity's document as
	// read, before any reference is rewritten (it must not change it); the
	// warnings it returns come first in Result.Warnings. Export warns of
	// lagging step-template stamps through it, so that each entity is
	// decoded once.
	Inspect func(doc any) []string
	// Doc, when not nil, is the entity's document already decoded: a
	// value equal to what e.Doc() returns, the translation's own (it is
	// changed). Apply passes the server's answer it has just packed
	// into the snapshot, so that it is not decoded again.
	Doc any
}

// Result is the bundle form of an entity and what translating it found.
type Result struct {
	// Doc is the bundle form (the bytes, for a binary kind).
	Doc any
	// Scrubbed are the paths of secret values the server sent and Scrub
	// removed (it should not have sent them).
	Scrubbed []string
	// Warnings are Inspect's warnings, then one per reference to an ID
	// the snapshot does not have (see ToBundleWarnings).
	Warnings []string
}

// ToBundleWith is ToBundle adjusted by o, with everything it found.
func ToBundleWith(s *snapshot.Snapshot, e *snapshot.Entity, o Options) (Result, error) {
	doc, scrubbed, warnings, err := toBundle(s, e, o)
	if err != nil {
		return Result{}, err
	}
	return Result{Doc: doc, Scrubbed: scrubbed, Warnings: warnings}, nil
}

// toBundle is ToBundleWith's work: the bundle form, the paths Scrub
// changed and the warnings.
func toBundle(s *snapshot.Snapshot, e *snapshot.Entity, o Options) (any, []string, []string, error) {
	k := e.Kind
	if k.Shape == schema.ShapeBinary {
		// A binary file (a logo) is its bytes: no references, nothing to drop.
		return bytes.Clone(e.Bytes()), nil, nil, nil
	}
	// A fresh copy, this translation's own, dropped after it. Inspect
	// reads it before Rewrite changes it; sibling scopes are read from it
	// as Rewrite goes (it visits a sibling-scoped reference before the
	// sibling's own reference).
	doc := o.Doc
	if doc == nil {
		doc = e.Doc()
	}
	var warnings []string
	if o.Inspect != nil {
		warnings = o.Inspect(doc)
	}
	var problems []string
	var dropElems [][]string
	var fixes []danglingFix
	// dangle records a reference to an ID s does not have and returns
	// what the bundle form holds in its place (see dangling.go).
	dangle := func(ref schema.Ref, at []string, target, id string) any {
		d := danglingFix{ref: ref, at: at, target: target, id: id, list: isListEntry(k, ref, at)}
		tk := schema.Lookup(ref.To)
		if tk == nil {
			tk = &schema.Kind{Name: ref.To, Title: ref.To}
		}
		v := danglingValue(k, doc, d, func(id string) bool {
			scope, err := scopeOf(e, doc, ref, at)
			if err != nil {
				return true
			}
			_, _, _, missing := resolve(s, tk, scope, id)
			return !missing
		})
		if mark, ok := v.(string); ok {
			d.emptied = true
			v = mark + MissingName(target, id)
		}
		fixes = append(fixes, d)
		return v
	}
	err := k.Rewrite(doc, func(ref schema.Ref, at []string, v any) (any, error) {
		scope, err := scopeOf(e, doc, ref, at)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %s: %v", e.Label(), schema.Pointer(at), err))
			return v, nil
		}
		id, isString := v.(string)
		if ref.To == schema.AnyKind {
			if !isString {
				return v, nil // a sensitive value object or a nested structure
			}
			target := schema.KindForID(id)
			if target == nil {
				return v, nil // an ordinary property value
			}
			tk, name, perr, missing := resolve(s, target, scope, id)
			if missing {
				return dangle(ref, at, target.Name, id), nil
			}
			if perr != "" {
				problems = append(problems, fmt.Sprintf("%s: %s: %s", e.Label(), schema.Pointer(at), perr))
				return v, nil
			}
			return schema.RefValue(tk.Name, name), nil
		}
		if !isString {
			problems = append(problems, fmt.Sprintf("%s: %s: a reference to %s holds %T, not an ID", e.Label(), schema.Pointer(at), ref.To, v))
			return v, nil
		}
		target := schema.Lookup(ref.To)
		if target == nil {
			target = &schema.Kind{Name: ref.To, Title: ref.To}
		}
		tk, name, perr, missing := resolve(s, target, scope, id)
		if missing {
			return dangle(ref, at, target.Name, id), nil
		}
		if perr != "" {
			problems = append(problems, fmt.Sprintf("%s: %s: %s", e.Label(), schema.Pointer(at), perr))
			return v, nil
		}
		if o.Keep != nil && ref.Soft && !o.Keep(tk, id) {
			if strings.HasSuffix(ref.Path, "~") || len(at) < 2 {
				return schema.Drop, nil
			}
			dropElems = append(dropElems, at[:len(at)-1])
			return name, nil
		}
		return name, nil
	})
	removeElements(doc, dropElems)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("export: %s: %w", e.Label(), err)
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, nil, nil, &Error{Problems: problems}
	}
	if len(fixes) > 0 {
		warnings = append(warnings, fixDangling(k, doc, fixes, e.Label())...)
	}
	if err := k.Strip(doc); err != nil {
		return nil, nil, nil, fmt.Errorf("export: %s: %w", e.Label(), err)
	}
	scrubbed, err := k.Scrub(doc)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("export: %s: %w", e.Label(), err)
	}
	if err := k.SortSets(doc); err != nil {
		return nil, nil, nil, fmt.Errorf("export: %s: %w", e.Label(), err)
	}
	return doc, scrubbed, warnings, nil
}

// removeElements removes the array elements at the given paths (array
// indices as read) from doc.
func removeElements(doc any, paths [][]string) {
	byArray := map[string][]int{}
	arrays := map[string][]string{}
	for _, p := range paths {
		i, err := strconv.Atoi(p[len(p)-1])
		if err != nil {
			continue
		}
		key := strings.Join(p[:len(p)-1], "\x00")
		byArray[key] = append(byArray[key], i)
		arrays[key] = p[:len(p)-1]
	}
	for key, idx := range byArray {
		parentPath := arrays[key]
		node := doc
		for _, seg := range parentPath[:len(parentPath)-1] {
			switch n := node.(type) {
			case map[string]any:
				node = n[seg]
			case []any:
				j, _ := strconv.Atoi(seg)
				if j >= 0 && j < len(n) {
					node = n[j]
				}
			}
		}
		holder, ok := node.(map[string]any)
		if !ok {
			continue
		}
		field := parentPath[len(parentPath)-1]
		arr, _ := holder[field].([]any)
		drop := map[int]bool{}
		for _, i := range idx {
			drop[i] = true
		}
		out := make([]any, 0, len(arr))
		for i, el := range arr {
			if !drop[i] {
				out = append(out, el)
			}
		}
		holder[field] = out
	}
}

// scopeOf returns the index scope a reference's name is unique in; doc is
// e's document being rewritten (see schema.SiblingValue).
func scopeOf(e *snapshot.Entity, doc any, ref schema.Ref, at []string) (string, error) {
	switch ref.Within {
	case schema.ScopeSpace:
		return "", nil
	case schema.ScopeSelf:
		return e.ID, nil
	case schema.ScopeOwner:
		return e.Root().ID, nil
	case schema.ScopeSibling:
		if v, ok := schema.SiblingValue(doc, ref, at); ok {
			return v, nil
		}
		return "", fmt.Errorf("a reference to %s needs its %s", ref.To, ref.Sibling)
	}
	if n, ok := strings.CutPrefix(string(ref.Within), "key:"); ok {
		i, err := strconv.Atoi(n)
		if err == nil && i >= 0 && i < len(at) {
			return at[i], nil
		}
	}
	return "", fmt.Errorf("cannot tell the scope %q of a reference to %s", ref.Within, ref.To)
}

// resolve finds the name of id (of kind target or one of its aliases) in
// scope. It returns the kind the ID belongs to and its name, or a problem;
// missing reports that the problem is an ID s does not have (a dangling
// reference, see dangling.go), not a name shared in its scope.
func resolve(s *snapshot.Snapshot, target *schema.Kind, scope, id string) (_ *schema.Kind, name, problem string, missing bool) {
	for _, k := range target.Aliases() {
		name, ok := s.Index.Name(k.Name, scope, id)
		if !ok {
			continue
		}
		if dup := s.Index.Ambiguous(k.Name, scope, name); len(dup) > 1 {
			return nil, "", fmt.Sprintf("refers to %s %q, a name shared by %s in the same scope", k.Name, name, strings.Join(dup, " and ")), false
		}
		return k, name, "", false
	}
	return nil, "", fmt.Sprintf("refers to %s %s, which does not exist", target.Name, id), true
}
