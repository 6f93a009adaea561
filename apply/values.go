package apply

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/policy"
	"github.com/octobundle/octobundle/schema"
)

// Apply asks the policy (policy.Decider: the bundle's policy file,
// policy.File, set by transform rules and carried in the bundle so a
// replay does the same thing, over the registry's defaults):
//
//   - the kind policy, which the file's Kinds override: "exist" leaves an
//     existing entity alone, "exact" and "sync" are as in the registry,
//     "skip" neither creates nor updates; a reference to an entity of a
//     skipped kind must resolve on the destination;
//   - the scope-mismatch mode, per scope dimension of every variable value
//     (project and library variables, tenant variables): what happens
//     when some of its entries exist neither in the bundle nor on the
//     destination; with no matching rule the registry's default applies
//     (schema.ScopeDimensions);
//   - owned values, created when missing and never overwritten;
//   - the placeholder, the text written for a new sensitive value.
//
// Every decision is a plan note naming the rule that caused it.

// kindPolicy returns kind k's effective kind policy and whether it came
// from the bundle's policy file (for plan reasons) rather than the
// registry.
func (pl *planner) kindPolicy(k *schema.Kind) (pol schema.Policy, fromBundle bool) {
	pol, from := pl.pol.KindPolicy(k)
	return pol, from == policy.LayerFile
}

// policyNote describes an effective kind policy that came from the
// bundle's policy file.
func policyNote(pol schema.Policy) string {
	return fmt.Sprintf("policy %s from the bundle's apply policy", pol)
}

// skipped reports whether change i (an entry of the bundle) will not be
// written because the bundle's policy skips its kind.
func (pl *planner) skipped(i int) bool {
	pol, _ := pl.kindPolicy(schema.MustLookup(pl.changes[i].Kind))
	return pol == schema.PolicySkip
}

// inBundle reports whether the bundle provides name (of kind or namespace
// to, in bundle scope scope) through an entity apply will write.
func (pl *planner) inBundle(to, scope, name string) bool {
	i, ok := pl.bn.Find(to, scope, name)
	return ok && !pl.skipped(i)
}

// value is one variable value found through a schema.ValueSpec.
type value struct {
	spec  schema.ValueSpec
	at    []string            // path of the value in the document
	owner string              // the variable set (project, library variable set or tenant)
	set   string              // the set within the entity (a tenant value's project or library variable set)
	name  string              // the variable (or template) name
	scope map[string][]string // dimension → entries, in bundle form
}

// group identifies the values of one variable: its set and name.
func (v value) group() string { return v.set + "\x00" + strings.ToLower(v.name) }

// label names the value for notes: `"Name" Environment=Production`.
func (v value) label() string {
	l := strconv.Quote(v.name)
	if v.set != "" {
		l = v.set + " " + l
	}
	for _, d := range slices.Sorted(maps.Keys(v.scope)) {
		if len(v.scope[d]) > 0 {
			l += " " + d + "=" + strings.Join(v.scope[d], ",")
		}
	}
	return l
}

// values lists the variable values of doc (an entity of kind k, bundle
// form) in document order. Every kind's values are Items-form (an array of
// value objects); the registry has no Template-form (keyed) values.
func values(k *schema.Kind, owner string, doc any) []value {
	var out []value
	for _, spec := range k.Values {
		if spec.Items == "" {
			continue
		}
		items := strings.Split(spec.Items, "/")
		arr, _ := getPath(doc, items).([]any)
		for j, el := range arr {
			at := append(items[:len(items):len(items)], strconv.Itoa(j))
			out = append(out, makeValue(spec, owner, at, el))
		}
	}
	return out
}

func makeValue(spec schema.ValueSpec, owner string, at []string, node any) value {
	v := value{spec: spec, at: at, owner: owner, scope: map[string][]string{}}
	m, _ := node.(map[string]any)
	v.name, _ = m[cmp.Or(spec.Name, "Name")].(string)
	if spec.Scope != "" {
		sc, _ := m[spec.Scope].(map[string]any)
		for dim, entries := range sc {
			v.scope[dim] = append(v.scope[dim], strings_(entries)...)
		}
	}
	// Further scope fields: a scope dimension held in its own field (a
	// tenant value's Scope/EnvironmentIds), or the set the value belongs to
	// within the entity (a tenant value's project or library variable set).
	for _, dim := range slices.Sorted(maps.Keys(spec.ScopeFields)) {
		got := strings_(getPath(m, strings.Split(spec.ScopeFields[dim], "/")))
		if schema.LookupDimension(dim) == nil {
			if len(got) > 0 {
				v.set = got[0]
			}
			continue
		}
		if len(got) > 0 {
			v.scope[dim] = got
		}
	}
	return v
}

// strings_ returns the strings of a string or an array of strings.
func strings_(x any) []string {
	switch t := x.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// setScope writes a value's new scope back into its element m: the Scope
// map (dimensions left empty are absent) and any dimension held in a field
// of its own (left as an empty list when emptied).
func setScope(spec schema.ValueSpec, m map[string]any, scope map[string][]string) {
	asList := func(entries []string) []any {
		l := make([]any, len(entries))
		for j, e := range entries {
			l[j] = e
		}
		return l
	}
	own := map[string]bool{}
	for dim, field := range spec.ScopeFields {
		if schema.LookupDimension(dim) == nil {
			continue
		}
		own[dim] = true
		segs := strings.Split(field, "/")
		parent := m
		for _, seg := range segs[:len(segs)-1] {
			next, _ := parent[seg].(map[string]any)
			if next == nil {
				next = map[string]any{}
				parent[seg] = next
			}
			parent = next
		}
		parent[segs[len(segs)-1]] = asList(scope[dim])
	}
	if spec.Scope == "" {
		return
	}
	sc := map[string]any{}
	for _, dim := range slices.Sorted(maps.Keys(scope)) {
		if entries := scope[dim]; len(entries) > 0 && !own[dim] {
			sc[dim] = asList(entries)
		}
	}
	m[spec.Scope] = sc
}

// destValue returns the destination's copy of a value (same name and
// scope identity, as merge matches them), or nil.
func destValue(v value, doc, destForm any) any {
	if destForm == nil {
		return nil
	}
	el := getPath(doc, v.at)
	arr, _ := getPath(destForm, v.at[:len(v.at)-1]).([]any)
	want, ok := bundles.Identity(el)
	if !ok {
		return nil
	}
	for _, d := range arr {
		if id, ok := bundles.Identity(d); ok && id == want {
			return d
		}
	}
	return nil
}

// destGroups returns the variables (set and name, see value.group) the
// destination's copy of an entity of kind k has, per value spec path.
func destGroups(k *schema.Kind, owner string, destForm any) map[string]bool {
	out := map[string]bool{}
	if destForm == nil {
		return out
	}
	for _, d := range values(k, owner, destForm) {
		out[d.spec.Items+"\x00"+d.group()] = true
	}
	return out
}

// missingEntries returns the entries of dimension dim of a value of the
// entity (kind k, names) that exist neither in the bundle (through an
// entity apply writes) nor on the destination.
func (pl *planner) missingEntries(k *schema.Kind, names []string, v value, d *schema.ScopeDimension) []string {
	ref := schema.Ref{Path: strings.Join(v.at, "/") + "/Scope/" + d.Name, To: d.To, Within: d.Within}
	var missing []string
	for _, e := range v.scope[d.Name] {
		if bs, err := schema.CheckRefScope(ref, names, v.at, nil); err == nil && pl.inBundle(d.To, bs, e) {
			continue
		}
		if ds, err := pl.ids.Scope(k, ref, names, v.at, nil); err == nil {
			if _, ok := pl.ids.Lookup(d.To, ds, e); ok {
				continue
			}
		}
		missing = append(missing, e)
	}
	return missing
}

// valueEdit is what the policy does to one value.
type valueEdit struct {
	drop  bool                // skip the value (its element goes)
	keep  any                 // replace the value by the destination's copy
	scope map[string][]string // the value's new scope (variables only), when rescoped
}

// decideValues checks every variable value of doc (an entity of kind
// k named names, bundle form, modified in place) against the destination
// (destForm, bundle form, nil when the entity is new) and the policy:
// scope entries that exist neither in the bundle nor on the destination
// are dealt with per dimension (exact, partial, ignore, ignore-new), and
// destination-owned values that exist are left as the destination has
// them. It returns the new document and one note per decision.
func (pl *planner) decideValues(k *schema.Kind, names []string, doc, destForm any) (any, []string) {
	if len(k.Values) == 0 || len(names) == 0 {
		return doc, nil
	}
	owner := names[0]
	vals := values(k, owner, doc)
	if len(vals) == 0 {
		return doc, nil
	}
	edits := make([]valueEdit, len(vals))
	var notes []string
	var existing map[string]bool      // the destination's variables, read when ignore-new needs them
	leaveAlone := map[string]string{} // group → the note's rule
	for i, v := range vals {
		newScope := map[string][]string{}
		for dim, entries := range v.scope {
			newScope[dim] = entries
		}
		rescoped := false
		for _, d := range schema.ScopeDimensions {
			if len(v.scope[d.Name]) == 0 {
				continue
			}
			missing := pl.missingEntries(k, names, v, &d)
			if len(missing) == 0 {
				continue
			}
			mode, origin, ok := pl.pol.ScopeMode(&d, policyValue(k, v))
			if !ok {
				continue // free text kept as it is (see schema.ScopeDimension)
			}
			why := fmt.Sprintf("%s %s not on the destination", d.Name, strings.Join(missing, ", "))
			by := fmt.Sprintf("%s: %s", mode, origin)
			kept := without(v.scope[d.Name], missing)
			if mode == policy.ScopeIgnoreNew {
				if existing == nil {
					existing = destGroups(k, owner, destForm)
				}
				if existing[v.spec.Items+"\x00"+v.group()] {
					if _, seen := leaveAlone[v.group()]; !seen {
						leaveAlone[v.group()] = fmt.Sprintf("%s left alone: the destination has the variable and %s not on the destination (%s)", quoteVar(v), d.Name+" "+strings.Join(missing, ", "), by)
					}
					continue
				}
				mode = policy.ScopeIgnore // new on the destination: ignore the mismatch
			}
			switch {
			case mode == policy.ScopeExact, mode == policy.ScopePartial && len(kept) == 0:
				edits[i].drop = true
				notes = append(notes, fmt.Sprintf("%s skipped: %s (%s)", v.label(), why, by))
			case mode == policy.ScopePartial:
				newScope[d.Name], rescoped = kept, true
				notes = append(notes, fmt.Sprintf("%s rescoped: partial match, %s dropped from its %s (%s)", v.label(), strings.Join(missing, ", "), d.Name, by))
			case mode == policy.ScopeIgnore && len(kept) == 0 && slices.Contains(v.spec.Required, d.Name):
				edits[i].drop = true
				notes = append(notes, fmt.Sprintf("%s skipped: %s, and it is never unscoped in %s (%s)", v.label(), why, d.Name, by))
			case mode == policy.ScopeIgnore:
				newScope[d.Name], rescoped = kept, true
				if len(kept) == 0 {
					notes = append(notes, fmt.Sprintf("%s rescoped: %s; unscoped in %s (%s)", v.label(), why, d.Name, by))
				} else {
					notes = append(notes, fmt.Sprintf("%s rescoped: %s dropped from its %s (%s)", v.label(), strings.Join(missing, ", "), d.Name, by))
				}
			default:
				edits[i].drop = true
				notes = append(notes, fmt.Sprintf("%s skipped: %s, and the mode %q is unknown (%s)", v.label(), why, mode, by))
			}
			if edits[i].drop {
				break
			}
		}
		if rescoped && !edits[i].drop {
			edits[i].scope = newScope
		}
	}
	// Apply the scope edits, then decide ownership on the values' final
	// identity.
	for i, v := range vals {
		if edits[i].drop || edits[i].scope == nil {
			continue
		}
		m, _ := getPath(doc, v.at).(map[string]any)
		if m == nil {
			continue
		}
		setScope(v.spec, m, edits[i].scope)
	}
	for i, v := range vals {
		if edits[i].drop {
			continue
		}
		if _, alone := leaveAlone[v.group()]; alone {
			edits[i].drop = true
			continue
		}
		origin, owned := pl.pol.Owns(policyValue(k, v))
		if !owned {
			continue
		}
		if d := destValue(v, doc, destForm); d != nil {
			edits[i].keep = schema.DeepCopy(d)
			notes = append(notes, fmt.Sprintf("%s left alone (owned by destination, %s)", v.label(), origin))
		} else {
			notes = append(notes, fmt.Sprintf("%s created: owned by the destination once it exists (%s)", v.label(), origin))
		}
	}
	for _, g := range slices.Sorted(maps.Keys(leaveAlone)) {
		notes = append(notes, leaveAlone[g])
	}
	// Values the policy leaves alone take the destination's copy: for a
	// variable array, the destination's values of a variable left alone
	// are put back, each into its own array (so an exact-policy kind does
	// not lose them either).
	restore := map[string][]any{} // value spec's Items → the destination's values put back
	for i, v := range vals {
		if edits[i].keep != nil {
			setPath(doc, v.at, edits[i].keep)
		}
	}
	if len(leaveAlone) > 0 && destForm != nil {
		for _, d := range values(k, owner, destForm) {
			if _, alone := leaveAlone[d.group()]; alone {
				restore[d.spec.Items] = append(restore[d.spec.Items], schema.DeepCopy(getPath(destForm, d.at)))
			}
		}
	}
	// Remove dropped values, last first so indices stay valid.
	var drops []value
	for i, v := range vals {
		if edits[i].drop {
			drops = append(drops, v)
		}
	}
	sort.SliceStable(drops, func(i, j int) bool { return lastIndex(drops[i].at) > lastIndex(drops[j].at) })
	for _, v := range drops {
		doc = removeAt(doc, v.at)
	}
	for _, spec := range k.Values {
		if put := restore[spec.Items]; len(put) > 0 {
			at := strings.Split(spec.Items, "/")
			if arr, ok := getPath(doc, at).([]any); ok {
				setPath(doc, at, append(arr, put...))
			}
		}
	}
	return doc, notes
}

// policyValue is v (a value of an entity of kind k) as the policy's
// selectors see it.
func policyValue(k *schema.Kind, v value) policy.Value {
	return policy.Value{Kind: k.Name, Owner: v.owner, Name: v.name, Scope: v.scope}
}

// quoteVar names a variable (and its set, for tenant values) for notes.
func quoteVar(v value) string {
	if v.set != "" {
		return v.set + " " + strconv.Quote(v.name)
	}
	return strconv.Quote(v.name)
}

// without returns list minus drop, order kept.
func without(list, drop []string) []string {
	var out []string
	for _, s := range list {
		if !slices.Contains(drop, s) {
			out = append(out, s)
		}
	}
	return out
}

// setPath sets the value at a decoded path whose parent exists.
func setPath(doc any, at []string, v any) {
	if len(at) == 0 {
		return
	}
	switch p := getPath(doc, at[:len(at)-1]).(type) {
	case map[string]any:
		p[at[len(at)-1]] = v
	case []any:
		if i := lastIndex(at); i >= 0 && i < len(p) {
			p[i] = v
		}
	}
}
