package apply

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/internal/parallel"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/translate"
)

// The plan predicts apply (issue 17): every refusal the server makes on a
// write that depends only on the document written and on the space's other
// entities is made by the plan, over each entity's planned document
// (Change.Desired: the merge result, in bundle form), with the message the
// server gives. A plan with no errors whose apply then gets a 400 is a bug.
//
// The checks, all driven by the kind registry:
//
//   - the name of a named kind is not blank, and every field of
//     schema.Kind.Required is set ("The LifecycleId field is required.");
//   - the fields of schema.Kind.Pairs hold values the server accepts
//     together (a trigger's action suits its filter);
//   - the element names of schema.Kind.Unique are unique in the document,
//     case-insensitively, as Octopus compares them ("Action names must be
//     unique: 'Smoke Test Web' is used more than once."): a merged process
//     that keeps a destination-only step next to the bundle's renamed one
//     can hold an action name twice;
//   - every reference names something that exists once the plan is
//     applied: not only in the bundle or on the destination (checkRefs
//     sees to that, before the merge), but in the planned documents of the
//     entities the plan creates and updates and, for what it leaves as it
//     is, on the destination — minus what its updates and deletions remove
//     (an action a process update drops, a channel --prune deletes), which
//     a destination-only variable kept by the merge may still be scoped to;
//   - a new entity's name is not taken by a kind sharing its collection
//     (script modules and library variable sets);
//   - the values of schema.ValueSpec.Linked are where their owner links
//     them (a tenant's values only for connected projects and their
//     environments, and for the library variable sets those include), and
//     those of ValueSpec.Exclusive are one per template and environment;
//   - a deletion (deletions run last) leaves nothing that still refers to
//     the entity ("This environment cannot be deleted because it is being
//     used by the following lifecycles: Hotfix.").
//
// The messages are the simulator's (tools/octosim/validate.go), which
// mimics the server's; the server names a reference by its ID where the
// plan can only name it by name. TestServerChecksAgreeWithSimulator forces
// each refused document through and checks that the simulator refuses it
// with the same message.

// nameSet holds the names of a namespace per the plan's outcome: which
// (kind or virtual kind, bundle scope, name) will exist once it is applied.
type nameSet interface {
	// has reports whether name, of kind or namespace to in the bundle
	// scope scope (a root owner's name, or "" space-wide), exists once the
	// plan is applied.
	has(to, scope, name string) bool
	// holds is has for the kind itself, not the kinds sharing its
	// namespace (a library variable set, not a script module).
	holds(kind, scope, name string) bool
	// doc returns the entity of kind named names as it will be once the
	// plan is applied (bundle form), and false when the plan does not
	// know it.
	doc(kind string, names []string) (map[string]any, bool)
	// legacy reports whether entities of kind (a kind with parts) are
	// written as the legacy document, whose refusals are worded otherwise.
	legacy(kind string) bool
}

// checkServer returns the refusals the server would answer a write of doc
// (bundle form) with, for an entity of kind k named names, given the names
// that exist once the plan is applied; create says the write creates the
// entity. Nil when the server would accept it.
func checkServer(k *schema.Kind, names []string, doc any, create bool, world nameSet) []string {
	m, _ := doc.(map[string]any)
	if m == nil {
		return nil // ShapeItems kinds' arrays and binary files: nothing to check
	}
	var errs []string
	if k.NameField != "" {
		n, _ := m[k.NameField].(string)
		if strings.TrimSpace(n) == "" {
			errs = append(errs, fmt.Sprintf("Please provide a %s for the %s.", strings.ToLower(k.NameField), planned.Title(k.Name)))
		} else if create && len(names) > 0 {
			errs = append(errs, nameTaken(k, names, world)...)
		}
	}
	for _, f := range k.Required {
		if blank(m[f]) {
			errs = append(errs, fmt.Sprintf("The %s field is required.", f))
		}
	}
	errs = append(errs, uniqueErrors(k, m)...)
	errs = append(errs, k.PairErrors(m)...)
	errs = append(errs, refErrors(k, names, m, world)...)
	errs = append(errs, linkErrors(k, names, m, world)...)
	errs = append(errs, exclusiveErrors(k, m, world)...)
	return errs
}

// exclusiveErrors checks the values of k's ValueSpecs with Exclusive: two
// values of one set and name may not share an entry of that dimension.
// The legacy document, keyed by environment, cannot say it twice.
func exclusiveErrors(k *schema.Kind, doc map[string]any, world nameSet) []string {
	if k.Shape == schema.ShapeParts && world.legacy(k.Name) {
		return nil
	}
	var errs []string
	for _, spec := range k.Values {
		d := schema.LookupDimension(spec.Exclusive)
		if d == nil {
			continue
		}
		seen := map[string]string{} // set, name, entry → index of the first value
		for _, v := range values(&schema.Kind{Values: []schema.ValueSpec{spec}}, "", doc) {
			i := v.at[len(v.at)-1]
			entries := v.scope[d.Name]
			if len(entries) == 0 {
				entries = []string{""}
			}
			for _, e := range entries {
				key := strings.ToLower(v.set + "\x00" + v.name + "\x00" + e)
				if j, dup := seen[key]; dup {
					what := "all " + schema.MustLookup(d.To).Title
					if e != "" {
						what = planned.Title(d.To) + " " + e
					}
					errs = append(errs, fmt.Sprintf("Variables[%s]: template %s of %s already has a value for %s in Variables[%s].", i, v.name, v.set, what, j))
					continue
				}
				seen[key] = i
			}
		}
	}
	return errs
}

// linkErrors checks the values of k's ValueSpecs with Linked against the
// links of their owner (the parent entity) once the plan is applied: a
// tenant's values only for the projects, and in the environments, the
// tenant is connected to them in, and its common values only for the
// library variable sets a connected project includes.
func linkErrors(k *schema.Kind, names []string, doc map[string]any, world nameSet) []string {
	if k.Parent == "" || len(names) == 0 {
		return nil
	}
	owner := schema.MustLookup(k.Parent)
	ownerNames := names
	if !k.IsSingleton() && k.Shape != schema.ShapeItems {
		ownerNames = names[:len(names)-1]
	}
	ownerDoc, ok := world.doc(owner.Name, ownerNames)
	if !ok {
		return nil
	}
	legacy := world.legacy(k.Name)
	var errs []string
	for _, spec := range k.Values {
		l := spec.Linked
		if l == nil {
			continue
		}
		links := map[string][]string{}
		m, _ := getPath(ownerDoc, strings.Split(l.Path, "/")).(map[string]any)
		for key, v := range m {
			links[key] = strings_(v)
		}
		// The set a value belongs to is the scope field that is no
		// dimension (a tenant value's project).
		var setDim, setField string
		for dim, f := range spec.ScopeFields {
			if schema.LookupDimension(dim) == nil {
				setDim, setField = dim, f
			}
		}
		// Through: the sets the linked entities list (the library
		// variable sets of the connected projects); unknown if one of
		// them is unknown.
		var through map[string]bool
		if l.Through != nil {
			through = map[string]bool{}
			for key := range links {
				td, ok := world.doc(l.Through.Kind, []string{key})
				if !ok {
					through = nil
					break
				}
				for _, n := range strings_(td[l.Through.Field]) {
					through[strings.ToLower(n)] = true
				}
			}
			if through == nil {
				continue
			}
		}
		d := schema.LookupDimension(l.Dimension)
		for _, v := range values(&schema.Kind{Values: []schema.ValueSpec{spec}}, "", doc) {
			if v.set == "" {
				continue
			}
			i := v.at[len(v.at)-1]
			if l.Through != nil {
				if !through[strings.ToLower(v.set)] {
					if legacy {
						errs = append(errs, fmt.Sprintf("%s refers to %s, which is not %s %s with templates included by this %s's %s.", l.Legacy, v.set, article(planned.Title(setDim)), planned.Title(setDim), planned.Title(owner.Name), schema.MustLookup(l.Through.Kind).Title))
					} else {
						errs = append(errs, fmt.Sprintf("Variables[%s]: %s %q is not %s %s included by a connected %s of this %s.", i, setField, v.set, article(planned.Title(setDim)), planned.Title(setDim), planned.Title(l.Through.Kind), planned.Title(owner.Name)))
					}
				}
				continue
			}
			entries, linked := lookupFold(links, v.set)
			if !linked {
				if legacy {
					errs = append(errs, fmt.Sprintf("%s refers to %s, which is not %s %s this %s is connected to.", l.Legacy, v.set, article(planned.Title(setDim)), planned.Title(setDim), planned.Title(owner.Name)))
				} else {
					errs = append(errs, fmt.Sprintf("Variables[%s]: %s %q is not a connected %s of this %s.", i, setField, v.set, planned.Title(setDim), planned.Title(owner.Name)))
				}
				continue
			}
			if d == nil {
				continue
			}
			dimField := strings.ReplaceAll(spec.ScopeFields[d.Name], "/", ".")
			for _, e := range v.scope[d.Name] {
				if slices.ContainsFunc(entries, func(x string) bool { return strings.EqualFold(x, e) }) {
					continue
				}
				if legacy {
					errs = append(errs, fmt.Sprintf("%s.%s.Variables refers to %s, which is not %s %s this %s is connected to for that %s.", l.Legacy, v.set, e, article(planned.Title(d.To)), planned.Title(d.To), planned.Title(owner.Name), planned.Title(setDim)))
				} else {
					errs = append(errs, fmt.Sprintf("Variables[%s]: %s: the %s is not connected to %s %s in %s %s.", i, dimField, planned.Title(owner.Name), planned.Title(setDim), v.set, planned.Title(d.To), e))
				}
			}
		}
	}
	return errs
}

// lookupFold returns m[key], matching the key case-insensitively when it is
// not there as it is.
func lookupFold(m map[string][]string, key string) ([]string, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// article is "a" or "an" for word.
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiouAEIOU", rune(word[0])) {
		return "an"
	}
	return "a"
}

// nameTaken returns the server's refusal of a new entity whose name an
// entity of another kind sharing its collection has (a script module named
// as a library variable set): the plan matches entities by kind and name,
// the server's names are unique per collection.
func nameTaken(k *schema.Kind, names []string, world nameSet) []string {
	as := k.Aliases()
	if len(as) < 2 {
		return nil
	}
	scope, name := k.EntityScope(names), names[len(names)-1]
	for _, a := range as[1:] {
		if a.Collection == k.Collection && world.holds(a.Name, scope, name) {
			// The server names the collection's item type: the kind
			// named after the collection.
			item := k
			for _, c := range as {
				if strings.EqualFold(c.Name+"s", c.Collection) {
					item = c
				}
			}
			where := "in this space"
			if k.Parent != "" {
				where = "in this project"
			}
			return []string{fmt.Sprintf("A %s with the name '%s' already exists %s. Please choose a different name.", planned.Title(item.Name), name, where)}
		}
	}
	return nil
}

// blank reports whether a required field's value counts as missing: absent,
// null, a blank string or an empty list.
func blank(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(t) == ""
	case []any:
		return len(t) == 0
	}
	return false
}

// uniqueErrors checks the kind's Unique lists of doc.
func uniqueErrors(k *schema.Kind, doc map[string]any) []string {
	var errs []string
	for _, u := range k.Unique {
		// The enclosing unique list, if any, names the element an unnamed
		// one belongs to ("Every action of step 'Deploy' must have a name.").
		var outer *schema.Unique
		for i := range k.Unique {
			if o := &k.Unique[i]; strings.HasPrefix(u.Path, o.Path+"/") {
				outer = o
			}
		}
		seen := map[string]int{}
		forElements(doc, strings.Split(u.Path, "/"), nil, func(at []string, el map[string]any) {
			name, _ := el[u.Field].(string)
			if strings.TrimSpace(name) == "" {
				if outer == nil {
					errs = append(errs, fmt.Sprintf("Every %s must have a %s.", strings.ToLower(u.Noun), strings.ToLower(u.Field)))
					return
				}
				owner, _ := schema.At(doc, at[:len(strings.Split(outer.Path, "/"))]).(map[string]any)
				errs = append(errs, fmt.Sprintf("Every %s of %s '%s' must have a %s.", strings.ToLower(u.Noun), strings.ToLower(outer.Noun), owner[outer.Field], strings.ToLower(u.Field)))
				return
			}
			// Named as the server names it: by its second use.
			key := strings.ToLower(name)
			if seen[key]++; seen[key] == 2 {
				errs = append(errs, fmt.Sprintf("%s names must be unique: '%s' is used more than once.", u.Noun, name))
			}
		})
	}
	return errs
}

// forElements calls fn with every object reached by segs ("*" steps into
// every array element), and its path.
func forElements(node any, segs, at []string, fn func(at []string, el map[string]any)) {
	if len(segs) == 0 {
		if m, ok := node.(map[string]any); ok {
			fn(at, m)
		}
		return
	}
	switch t := node.(type) {
	case map[string]any:
		if segs[0] != "*" {
			forElements(t[segs[0]], segs[1:], append(at[:len(at):len(at)], segs[0]), fn)
		}
	case []any:
		if segs[0] == "*" {
			for i, x := range t {
				forElements(x, segs[1:], append(at[:len(at):len(at)], strconv.Itoa(i)), fn)
			}
		}
	}
}

// refErrors checks that every reference of doc that the server checks
// names something that exists once the plan is applied.
func refErrors(k *schema.Kind, names []string, doc map[string]any, world nameSet) []string {
	if k.Shape == schema.ShapeParts {
		// Written as resources of their own (tenant variables), whose
		// values the server checks against the owner (see linkErrors).
		return nil
	}
	var errs []string
	_ = k.VisitValues(doc, func(ref schema.Ref, at []string, v any) {
		if ref.To == schema.AnyKind || ref.Accepts == schema.AcceptAny {
			return // free-form properties: the server does not check them
		}
		what := serverChecked(ref.To)
		if what == "" {
			return
		}
		name, ok := v.(string)
		if !ok {
			return // checkRefs reports a reference that holds no name
		}
		if ref.Accepts == schema.AcceptSlugOrExpression && schema.IsExpression(name) {
			return // resolved at deployment (a feed bound to a variable)
		}
		scope, err := schema.CheckRefScope(ref, names, at, doc)
		if err != nil || world.has(ref.To, scope, name) {
			return
		}
		errs = append(errs, fmt.Sprintf("%s refers to '%s', %s", fieldPath(at), name, what))
	})
	return errs
}

// serverChecked returns the end of the server's message for a reference to
// to that does not exist ("which is not one of the channels in this
// space."), or "" when the server does not check such references (tenant
// variable templates, roles and tags, which it checks elsewhere or not at
// all).
func serverChecked(to string) string {
	if ns := schema.LookupNamespace(to); ns != nil {
		return ns.Missing
	}
	k := schema.Lookup(to)
	if k == nil || k.Collection == "" || k.Policy == schema.PolicyNever {
		return ""
	}
	return fmt.Sprintf("which is not one of the %s in this space.", k.Title)
}

// fieldPath renders a path as the server names fields:
// Variables[3].Scope.Action[0].
func fieldPath(at []string) string {
	var b strings.Builder
	for _, a := range at {
		if _, err := strconv.Atoi(a); err == nil {
			b.WriteString("[" + a + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(a)
	}
	return b.String()
}

// planNames is the nameSet of a decided plan (see serverChecks).
type planNames struct {
	pl *planner
	// planned are the names (folded, see fold) the planned documents of creates and updates
	// provide (actions, process owners), and the names errored changes'
	// bundle documents provide: an error is reported once, at its entity,
	// not again at everything referring to what it would have provided.
	planned map[planned.NameKey]bool
	// lost are the names the destination's copies of updated or deleted
	// entities provide that their planned documents no longer do.
	lost map[planned.NameKey]bool
	// deleted are the entities the plan deletes.
	deleted map[string]bool
	// checked marks the changes whose planned documents are checked
	// (creates and updates of checkable kinds), by change.
	checked []bool
	// docs caches the planned documents other entities' checks read (see
	// doc), by change; a change's own check decodes its document afresh
	// and drops it, so a plan never holds every document decoded at once.
	docs map[int]map[string]any
	mu   sync.Mutex
	// forms caches the bundle forms of destination entities read by doc.
	forms map[*snapshot.Entity]map[string]any
}

// doc implements nameSet: the planned document of the entity if the plan
// creates or updates it, else its destination copy (also when the plan
// fails to write it). Not known when only the bundle has it and the plan
// does not write it.
func (w *planNames) doc(kind string, names []string) (map[string]any, bool) {
	k := schema.Lookup(kind)
	if k == nil || len(names) == 0 {
		return nil, false
	}
	if i, ok := w.pl.bn.Owner[planned.NameKey{Kind: kind, Scope: k.EntityScope(names), Name: names[len(names)-1]}]; ok && w.checked[i] {
		w.mu.Lock()
		m, seen := w.docs[i]
		w.mu.Unlock()
		if !seen {
			m, _ = w.pl.changes[i].Desired.Value().(map[string]any)
			w.mu.Lock()
			w.docs[i] = m
			w.mu.Unlock()
		}
		return m, m != nil
	}
	e := w.pl.snap.Find(kind, names...)
	if e == nil {
		return nil, false
	}
	w.mu.Lock()
	f, seen := w.forms[e]
	w.mu.Unlock()
	if !seen {
		if form, err := translate.ToBundle(w.pl.snap, e); err == nil {
			f, _ = form.(map[string]any)
		}
		w.mu.Lock()
		w.forms[e] = f
		w.mu.Unlock()
	}
	return f, f != nil
}

// legacy implements nameSet.
func (w *planNames) legacy(kind string) bool { return !w.pl.snap.Parts[kind] }

// has implements nameSet.
func (w *planNames) has(to, scope, name string) bool {
	for _, a := range translate.Aliases(to) {
		key := fold(planned.NameKey{Kind: a, Scope: scope, Name: name})
		if w.planned[key] {
			return true
		}
		if planned.IsVirtual(a) {
			if w.lost[key] {
				continue
			}
		} else {
			if w.pl.inBundle(a, scope, name) {
				return true
			}
			owner := []string{name}
			if scope != "" {
				owner = []string{scope, name}
			}
			if w.deleted[strings.ToLower(planned.Key(a, owner))] {
				continue
			}
		}
		if w.onDestination(a, scope, name) {
			return true
		}
	}
	return false
}

// holds implements nameSet: an entity of kind exactly, in the bundle (and
// written) or on the destination (and not deleted).
func (w *planNames) holds(kind, scope, name string) bool {
	if i, ok := w.pl.bn.Owner[planned.NameKey{Kind: kind, Scope: scope, Name: name}]; ok && !w.pl.skipped(i) {
		return true
	}
	owner := []string{name}
	if scope != "" {
		owner = []string{scope, name}
	}
	if w.deleted[strings.ToLower(planned.Key(kind, owner))] {
		return false
	}
	return w.pl.snap.Find(kind, owner...) != nil
}

// fold is key as the server compares names: case-insensitively.
func fold(key planned.NameKey) planned.NameKey {
	return planned.NameKey{Kind: key.Kind, Scope: strings.ToLower(key.Scope), Name: strings.ToLower(key.Name)}
}

// onDestination reports whether the destination has name (of kind or
// namespace to, in bundle scope scope) as it was read.
func (w *planNames) onDestination(to, scope, name string) bool {
	ds := ""
	if scope != "" {
		root := scopeRoot(to)
		if root == nil {
			return false
		}
		id, ok := w.pl.ids.Lookup(root.Name, "", scope)
		if !ok {
			return false
		}
		ds = id
	}
	_, ok := w.pl.ids.Lookup(to, ds, name)
	return ok
}

// scopeRoot returns the kind whose entities scope the names of to: the
// root owner of to, or of the kinds providing to's names.
func scopeRoot(to string) *schema.Kind {
	if k := schema.Lookup(to); k != nil {
		return planned.RootKind(k)
	}
	for _, k := range schema.Kinds() {
		for _, p := range k.Provides {
			if p.Kind == to && p.Within == schema.ScopeOwner {
				return planned.RootKind(k)
			}
		}
	}
	return nil
}

// checkable reports whether the server checks anything of a document of
// kind k that a bundle can get wrong: its required fields, unique names,
// field pairs, linked or exclusive values, references, its name against
// kinds sharing its collection, or the names it provides (which the
// checks of other documents need). Documents of other kinds (an
// environment, a tag set …) are not decoded again.
func checkable(k *schema.Kind) bool {
	if len(k.Required)+len(k.Unique)+len(k.Pairs)+len(k.Provides) > 0 || len(k.Aliases()) > 1 {
		return true
	}
	for _, v := range k.Values {
		if v.Linked != nil || v.Exclusive != "" {
			return true
		}
	}
	for _, r := range k.Refs {
		if serverChecked(r.To) != "" || r.To == schema.AnyKind {
			return true
		}
	}
	return false
}

// serverChecksOff turns the checks off, for tests that force a document the
// plan would refuse through to the server (tests of this package do not run
// in parallel).
var serverChecksOff bool

// serverChecks runs checkServer over the planned document of every create
// and update, once every entity is decided and the deletions are known,
// and makes each change the server would refuse a plan error.
func (pl *planner) serverChecks(deletes []*change) {
	if serverChecksOff {
		return
	}
	checked := make([]bool, len(pl.changes))
	w := &planNames{pl: pl, planned: map[planned.NameKey]bool{}, lost: map[planned.NameKey]bool{}, deleted: map[string]bool{}, checked: checked, docs: map[int]map[string]any{}, forms: map[*snapshot.Entity]map[string]any{}}
	// The names each planned document provides: a create's are its bundle
	// document's (collected when the plan began); an update's are
	// decoded, one document at a time.
	provided := make([][]planned.NameKey, len(pl.changes))
	parallel.Each(len(pl.changes), func(i int) {
		ch := pl.changes[i]
		if (ch.Action != plans.OpCreate && ch.Action != plans.OpUpdate) || ch.Desired.IsZero() {
			return
		}
		k := schema.MustLookup(ch.Kind)
		checked[i] = checkable(k)
		switch {
		case len(k.Provides) == 0:
		case ch.Action == plans.OpCreate && ch.ProvidesKnown:
			provided[i] = ch.Provides
		default:
			provided[i] = planned.ProvidedNames(ch.Change, ch.Desired.Value())
		}
	})
	for i, ch := range pl.changes {
		k := schema.MustLookup(ch.Kind)
		if len(k.Provides) == 0 && ch.Action != plans.OpError {
			continue
		}
		switch ch.Action {
		case plans.OpCreate, plans.OpUpdate:
			for _, key := range provided[i] {
				w.planned[fold(key)] = true
			}
			if ch.Action == plans.OpUpdate {
				pl.lose(w, ch)
			}
		case plans.OpError:
			for _, key := range ch.Provides {
				w.planned[fold(key)] = true
			}
		}
	}
	for _, d := range deletes {
		if d.Action != plans.OpDelete {
			continue
		}
		w.deleted[strings.ToLower(planned.Key(d.Kind, d.Names))] = true
		pl.lose(w, d)
		for _, c := range schema.Children(d.Kind) {
			if c.IsSingleton() {
				pl.lose(w, newChange(plans.Change{Kind: c.Name, Names: d.Names}))
			}
		}
	}
	// Names lost by one entity and provided by another's plan stay.
	for key := range w.lost {
		if w.planned[key] {
			delete(w.lost, key)
		}
	}
	pl.deleteErrors(deletes, w)
	parallel.Each(len(pl.changes), func(i int) {
		if !checked[i] {
			return
		}
		ch := pl.changes[i]
		k := schema.MustLookup(ch.Kind)
		errs := checkServer(k, ch.Names, ch.Desired.Value(), ch.Action == plans.OpCreate, w)
		if len(k.Unique) > 0 && ch.Action == plans.OpUpdate {
			// The bundle's own document too: a merge keyed by name may
			// fold its repeated names into one element, silently.
			if bdoc, ok := pl.b.Entity(k, ch.Names...); ok {
				if m, ok := bdoc.(map[string]any); ok {
					for _, e := range uniqueErrors(k, m) {
						if !slices.Contains(errs, e) {
							errs = append(errs, e)
						}
					}
				}
			}
		}
		if len(errs) == 0 {
			return
		}
		ch.Action, ch.Error = plans.OpError, ch.Label()+": the server would refuse it: "+strings.Join(errs, " ")
		if len(ch.Kept) > 0 {
			// The usual cause: what the merge kept of the destination's own.
			ch.Error += " The merge keeps the destination's own " + strings.Join(ch.Kept, ", ") + " (--remove-destination-only removes them)."
		}
		ch.Desired, ch.WriteMain, ch.WriteDeferred, ch.Prune, ch.RemoveKeys = jsonv.Doc{}, false, false, false, nil
		pl.cleanup[i] = nil
	})
}

// deleteErrors makes every deletion of the plan that the server would
// refuse a plan error: the entity is still used, once the plan's writes are
// done (deletions run last), by a planned document or by a destination
// entity the plan neither writes nor deletes (nor deletes with its owner).
// Soft references (a tenant's link to a project, its values for it) do not
// count: the server removes them with the entity.
func (pl *planner) deleteErrors(deletes []*change, w *planNames) {
	type target struct {
		ch    *change
		scope string
		users map[string]map[string]bool // user kind title → user names
	}
	var targets []*target
	byID := map[string]*target{}            // destination ID (lower case) → target
	byName := map[planned.NameKey]*target{} // bundle name → target
	gone := map[*snapshot.Entity]bool{}
	for _, d := range deletes {
		if d.Action != plans.OpDelete {
			continue
		}
		e := pl.snap.Find(d.Kind, d.Names...)
		if e == nil || e.ID == "" {
			continue
		}
		k := schema.MustLookup(d.Kind)
		t := &target{ch: d, scope: k.EntityScope(d.Names), users: map[string]map[string]bool{}}
		targets = append(targets, t)
		byID[strings.ToLower(e.ID)] = t
		byName[fold(planned.NameKey{Kind: d.Kind, Scope: t.scope, Name: d.Names[len(d.Names)-1]})] = t
		gone[e] = true
	}
	if len(byID) == 0 {
		return
	}
	use := func(t *target, k *schema.Kind, names []string) {
		if t.users[k.Title] == nil {
			t.users[k.Title] = map[string]bool{}
		}
		t.users[k.Title][names[len(names)-1]] = true
	}
	// The planned documents (bundle form: names).
	written := map[string]bool{}
	for i, ch := range pl.changes {
		if !w.checked[i] {
			continue
		}
		doc := ch.Desired.Value()
		k := schema.MustLookup(ch.Kind)
		if k.Shape != schema.ShapeItems { // an items change adds items; the destination's stay
			written[planned.Key(ch.Kind, ch.Names)] = true
		}
		_ = translate.VisitNames(k, ch.Names, doc, func(r translate.NameRef) {
			if r.Ref.Soft {
				return
			}
			scope, err := r.Scope()
			if err != nil {
				return
			}
			for _, a := range translate.Aliases(r.To) {
				if t := byName[fold(planned.NameKey{Kind: a, Scope: scope, Name: r.Name})]; t != nil {
					use(t, k, ch.Names)
				}
			}
		})
	}
	// The destination's entities the plan leaves as they are (IDs).
	for _, k := range schema.Kinds() {
		if len(k.Refs) == 0 || k.Policy == schema.PolicyNever {
			continue
		}
		for _, e := range pl.snap.Entities(k.Name) {
			names := e.Names()
			if len(names) == 0 || written[planned.Key(k.Name, names)] {
				continue
			}
			under := false
			for o := e; o != nil; o = o.Owner {
				under = under || gone[o]
			}
			if under {
				continue
			}
			_ = k.Visit(e.Doc(), func(ref schema.Ref, _ []string, v string) {
				if t := byID[strings.ToLower(v)]; t != nil && !ref.Soft && (ref.To == schema.AnyKind || slices.Contains(translate.Aliases(ref.To), t.ch.Kind)) {
					use(t, k, names)
				}
			})
		}
	}
	for _, t := range targets {
		if len(t.users) == 0 {
			continue
		}
		d := t.ch
		var errs []string
		for _, title_ := range slices.Sorted(maps.Keys(t.users)) {
			errs = append(errs, fmt.Sprintf("This %s cannot be deleted because it is being used by the following %s: %s.",
				planned.Title(d.Kind), title_, strings.Join(slices.Sorted(maps.Keys(t.users[title_])), ", ")))
		}
		d.Action, d.Error = plans.OpError, d.Label()+": the server would refuse to delete it: "+strings.Join(errs, " ")
		d.Forget = nil
	}
}

// lose records as lost the names the destination's copy of ch's entity
// provides (they are taken back by what the plan provides).
func (pl *planner) lose(w *planNames, ch *change) {
	k := schema.MustLookup(ch.Kind)
	if len(k.Provides) == 0 {
		return
	}
	e := pl.snap.Find(k.Name, ch.Names...)
	if e == nil {
		return
	}
	for _, key := range planned.ProvidedNames(ch.Change, e.Object()) {
		w.lost[fold(key)] = true
	}
}
