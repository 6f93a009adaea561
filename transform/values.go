package transform

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/octobundle/octobundle/policy"
	"github.com/octobundle/octobundle/schema"
)

// newValueFields are the fields of a value object setValue creates, besides
// its name, value and scope, for kinds whose values are objects.
var newValueFields = map[string]any{"Description": nil, "IsEditable": true, "Prompt": nil, "Type": "String"}

// values applies setValue rules to the surviving documents.
func (e *engine) values(docs map[*ent]any) error {
	for _, r := range e.rules {
		sv := r.SetValue
		if sv == nil {
			continue
		}
		for _, x := range e.ents {
			doc, ok := docs[x]
			if !ok || x.kind.Name != sv.In || !policy.GlobMatch(sv.Owner, e.newNames(x)[0]) {
				continue
			}
			for _, vs := range x.kind.Values {
				n, err := setValue(doc, vs, sv)
				if err != nil {
					e.report.Errors = append(e.report.Errors, Message{Rule: r.Pos, Path: x.path, Text: err.Error()})
					e.used[r]++
					break
				}
				if n.changed+n.added > 0 {
					e.used[r]++
					act, detail := ActOverridden, fmt.Sprintf("%d value(s) of %q set", n.changed, sv.Name)
					if n.added > 0 {
						act, detail = ActAdded, fmt.Sprintf("value of %q added%s", sv.Name, scopeText(sv.Scope))
					}
					e.report.Changes = append(e.report.Changes, Change{Action: act, Kind: x.kind.Name, Path: x.path, Element: sv.Name, Detail: detail, Rule: r.Pos})
					break
				}
			}
		}
	}
	return nil
}

// selScope renders a selector's scope: any scope when it has none.
func selScope(sc map[string][]string) string {
	if sc == nil {
		return " (any scope)"
	}
	return scopeText(sc)
}

func scopeText(sc map[string][]string) string {
	if len(sc) == 0 {
		return " (unscoped)"
	}
	var parts []string
	for _, d := range slices.Sorted(maps.Keys(sc)) {
		parts = append(parts, d+"="+strings.Join(sc[d], ","))
	}
	return " (" + strings.Join(parts, " ") + ")"
}

type setCount struct{ changed, added int }

// setValue sets sv in doc following vs.
func setValue(doc any, vs schema.ValueSpec, sv *SetValue) (setCount, error) {
	var n setCount
	items := strings.Split(vs.Items, "/")
	m, _ := doc.(map[string]any)
	arr, _ := schema.At(doc, items).([]any)
	for _, el := range arr {
		vm, _ := el.(map[string]any)
		if name, _ := vm[vs.Name].(string); !strings.EqualFold(name, sv.Name) {
			continue
		}
		if sv.Scope != nil && !policy.SameScope(valueScope(vm, vs), sv.Scope) {
			continue
		}
		if vs.Sensitive != "" && vm[vs.Sensitive] == true {
			return n, fmt.Errorf("%q is sensitive: its value cannot be set by a rule (secrets never go in a bundle); mark it owned instead", sv.Name)
		}
		vm[vs.Value] = sv.Value
		n.changed++
	}
	if n.changed > 0 || len(vs.ScopeFields) > 0 {
		return n, nil
	}
	nv := map[string]any{vs.Name: sv.Name, vs.Value: sv.Value}
	for k, v := range newValueFields {
		nv[k] = v
	}
	if vs.Sensitive != "" {
		nv[vs.Sensitive] = false
	}
	if vs.Scope != "" {
		sc := map[string]any{}
		for _, d := range slices.Sorted(maps.Keys(sv.Scope)) {
			if len(sv.Scope[d]) == 0 {
				continue
			}
			l := make([]any, len(sv.Scope[d]))
			for i, s := range sv.Scope[d] {
				l[i] = s
			}
			sc[d] = l
		}
		nv[vs.Scope] = sc
	}
	if m != nil {
		setPath(m, items, append(arr, nv))
	}
	n.added++
	return n, nil
}

func setPath(m map[string]any, segs []string, v any) {
	for len(segs) > 1 {
		next, _ := m[segs[0]].(map[string]any)
		if next == nil {
			return
		}
		m, segs = next, segs[1:]
	}
	m[segs[0]] = v
}

// valueScope reads a value object's scope.
func valueScope(vm map[string]any, vs schema.ValueSpec) map[string][]string {
	out := map[string][]string{}
	if sc, ok := vm[vs.Scope].(map[string]any); ok {
		for d, v := range sc {
			out[d] = append(out[d], asStrings(v)...)
		}
	}
	for d, f := range vs.ScopeFields {
		out[d] = append(out[d], asStrings(schema.At(vm, strings.Split(f, "/")))...)
	}
	return out
}

func asStrings(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// compilePolicy turns the apply-time rules into the bundle's apply policy,
// appended to the input bundle's own.
func (e *engine) compilePolicy(p *policy.File, docs map[*ent]any) {
	for _, r := range e.rules {
		switch {
		case r.Owned != nil:
			o := r.Owned
			p.Owned = append(p.Owned, policy.ValueSelector{Kind: o.In, Owner: o.Owner, Name: o.Name, Scope: o.Scope, Rule: r.Pos})
			if e.anyValue(docs, o.In, o.Owner, o.Name) {
				e.used[r]++
			}
			e.report.Changes = append(e.report.Changes, Change{Action: ActPolicy, Path: policy.FileName, Detail: fmt.Sprintf("values owned by the destination: %s %s %s%s", orAny(o.In), orAny(o.Owner), orAny(o.Name), selScope(o.Scope)), Rule: r.Pos})
		case r.ScopeMismatch != nil:
			s := r.ScopeMismatch
			p.ScopeMismatch = append(p.ScopeMismatch, policy.ScopeRule{Dimension: s.Dimension, Mode: policy.ScopeMode(s.Mode),
				Select: policy.ValueSelector{Kind: s.In, Owner: s.Owner, Name: s.Name, Scope: s.Scope}, Rule: r.Pos})
			if e.anyValue(docs, s.In, s.Owner, s.Name) {
				e.used[r]++
			}
			e.report.Changes = append(e.report.Changes, Change{Action: ActPolicy, Path: policy.FileName, Detail: fmt.Sprintf("%s scope mismatch: %s for %s %s %s", s.Dimension, s.Mode, orAny(s.In), orAny(s.Owner), orAny(s.Name)), Rule: r.Pos})
		case r.ApplyPolicy != nil:
			if p.Kinds == nil {
				p.Kinds = map[string]schema.Policy{}
			}
			p.Kinds[r.ApplyPolicy.Kind] = schema.Policy(r.ApplyPolicy.Policy)
			e.used[r]++
			e.report.Changes = append(e.report.Changes, Change{Action: ActPolicy, Path: policy.FileName, Kind: r.ApplyPolicy.Kind, Detail: "apply policy " + r.ApplyPolicy.Policy, Rule: r.Pos})
		case r.OnConflict != nil:
			c := r.OnConflict
			p.Conflicts = append(p.Conflicts, policy.ConflictRule{Kind: c.Kind, Entity: c.Entity, Field: c.Field, Winner: c.Winner, Rule: r.Pos})
			e.used[r]++
			e.report.Changes = append(e.report.Changes, Change{Action: ActPolicy, Path: policy.FileName, Detail: fmt.Sprintf("merge conflicts in %s %s %s: the %s wins", c.Kind, orAny(c.Entity), orAny(c.Field), c.Winner), Rule: r.Pos})
		case r.Placeholder != nil:
			p.Placeholder = *r.Placeholder
			e.used[r]++
			e.report.Changes = append(e.report.Changes, Change{Action: ActPolicy, Path: policy.FileName, Detail: fmt.Sprintf("placeholder for new sensitive values %q", *r.Placeholder), Rule: r.Pos})
		case r.Destination != nil:
			for _, x := range e.ents {
				if f := e.fates[e.keyIf(x)]; f != nil && f.provided && f.rule == r.Pos {
					if p.Provided == nil {
						p.Provided = map[string][]string{}
					}
					// Under the name it has after a rename: the
					// references keep that name.
					p.Provided[x.kind.Name] = appendUnique(p.Provided[x.kind.Name], e.ownName(x))
				}
			}
		}
	}
}

func appendUnique(l []string, s string) []string {
	for _, v := range l {
		if v == s {
			return l
		}
	}
	l = append(l, s)
	sort.Strings(l)
	return l
}

func orAny(s string) string {
	if s == "" {
		return "*"
	}
	return s
}

// anyValue reports whether some surviving value matches (kind, owner, name).
func (e *engine) anyValue(docs map[*ent]any, kind, owner, name string) bool {
	for _, x := range e.ents {
		doc, ok := docs[x]
		if !ok || len(x.kind.Values) == 0 || (kind != "" && x.kind.Name != kind) || !policy.GlobMatch(owner, x.names[0]) {
			continue
		}
		if name == "" {
			return true
		}
		found := false
		for _, vs := range x.kind.Values {
			eachValueName(doc, vs, func(n string) {
				if policy.GlobMatch(name, n) {
					found = true
				}
			})
		}
		if found {
			return true
		}
	}
	return false
}

// eachValueName calls fn with the name of every value vs locates in doc.
func eachValueName(doc any, vs schema.ValueSpec, fn func(string)) {
	arr, _ := schema.At(doc, strings.Split(vs.Items, "/")).([]any)
	for _, el := range arr {
		if m, ok := el.(map[string]any); ok {
			if s, ok := m[vs.Name].(string); ok {
				fn(s)
			}
		}
	}
}
