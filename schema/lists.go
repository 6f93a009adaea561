package schema

import (
	"slices"
	"strconv"
	"strings"
	"sync"
)

// List declares how the merge engine aligns one array of a kind's
// documents across the base, the source and the destination: the model of
// kubectl's patchMergeKey and patchStrategy. Every array of objects a kind
// holds has one (TestEveryListDeclared checks the sample bundles); arrays of
// strings are sets (Kind.Sets) unless a List says otherwise.
type List struct {
	// Path names the array, as in Ref.Path ("Steps", "Steps/*/Actions");
	// empty for a ShapeItems file, whose document is the array.
	Path string
	// Key lists the element fields that together identify an element
	// ("Name"; "Name" and "Scope"; "ProjectId", "TemplateId" and "Scope").
	// A "Scope" field compares as a scope map with its lists sorted and
	// empty lists left out. Empty for StrategyReplace.
	Key []string
	// Fold compares keys case-insensitively: the server refuses two
	// elements whose names differ only in case (steps, actions), so a
	// case-only change is the same element renamed. Without it, keys that
	// differ only in case are two elements (variables: the server keeps
	// CaseVar and casevar apart).
	Fold bool
	// Strategy is how the list merges.
	Strategy Strategy
	// DestOnly says what becomes of elements only the destination has and
	// the base never had (the destination's own).
	DestOnly DestOnly
	// Renames says a renamed element is recognised (see Kind.Renames): an
	// element the base has and the source does not, and one the source
	// has and the base does not, equal apart from their names, are one
	// element renamed; the destination's element keeps its ID.
	Renames bool
	// SameIf, for a list with Renames, is a nested list whose keys are
	// unique across the whole document (action names in a process): a
	// source-only and a destination-only element that share a key there
	// are one element renamed, even with other changes.
	SameIf string
	// Owner is the element field naming the project or library variable
	// set the element holds data for (a tenant's values): a partial
	// bundle speaks only for the owners it holds, so an element of
	// another owner is left exactly as the destination has it.
	Owner string
	// Supersede, for a keyed list, is a key field whose value an element
	// shares with a destination-only element it takes the place of (with
	// Key and the same owner, and overlapping environment scopes): a tenant
	// value the bundle re-scoped replaces the destination's old one, since
	// a server keeps one value per template and environment.
	Supersede string
}

// Strategy is how the merge engine merges a list (List.Strategy).
type Strategy string

// The list strategies.
const (
	// StrategyMerge aligns elements by key and merges each recursively;
	// the result has the source's elements in the source's order, each
	// destination-only element after the one it followed.
	StrategyMerge Strategy = "merge"
	// StrategyReplace treats the list as one value (elements with no
	// identity: channel version rules, trigger package filters).
	StrategyReplace Strategy = "replace"
)

// DestOnly is what becomes of destination-only elements (List.DestOnly).
type DestOnly string

// The destination-only policies.
const (
	// DestOnlyKeep keeps them always.
	DestOnlyKeep DestOnly = "keep"
	// DestOnlyRemovable keeps them unless apply is given
	// --remove-destination-only (the destination's own steps, variables,
	// tenant values).
	DestOnlyRemovable DestOnly = "removable"
)

// ListAt returns the list declared at the document path at (map keys and
// array indices, as in a JSON pointer), or nil.
func (k *Kind) ListAt(at []string) *List {
	for i := range k.Lists {
		if PathMatches(k.Lists[i].Path, at) {
			return &k.Lists[i]
		}
	}
	return nil
}

// List returns the list declared with path p, or nil.
func (k *Kind) List(p string) *List {
	for i := range k.Lists {
		if k.Lists[i].Path == p {
			return &k.Lists[i]
		}
	}
	return nil
}

// PathMatches reports whether the registry path pattern (slash-separated,
// "*" for any one segment, "" for the document itself) matches at.
func PathMatches(pattern string, at []string) bool {
	if pattern == "" {
		return len(at) == 0
	}
	n := strings.Count(pattern, "/") + 1
	if n != len(at) {
		return false
	}
	for i, s := range strings.Split(pattern, "/") {
		if s != "*" && s != at[i] {
			return false
		}
	}
	return true
}

// ElementKey is an element's identity in a list: Key matches it across
// documents, Label names it for people (inside brackets).
type ElementKey struct {
	// Key matches the element (folded to lower case for Fold lists).
	Key string
	// Exact is Key before folding: two elements of one document with the
	// same Key and different Exact differ only in case.
	Exact string
	// Label is `"OctoFX.Port"`, `"OctoFX.Port" Environment=Production`,
	// `"OctoFX"/"DB.Name" EnvironmentIds=Production`.
	Label string
}

// Identify returns el's identity in list l: its key fields, joined; ok is
// false when el is not an object or lacks one of them.
func (l *List) Identify(el any) (ElementKey, bool) {
	m, isObj := el.(map[string]any)
	if !isObj || len(l.Key) == 0 {
		return ElementKey{}, false
	}
	var key, lbl []string
	for _, f := range l.Key {
		v, has := m[f]
		if !has {
			return ElementKey{}, false
		}
		if f == "Scope" {
			k, sl := scopeKey(v)
			key = append(key, k)
			if sl != "" {
				lbl = append(lbl, sl)
			}
			continue
		}
		s, isStr := v.(string)
		if !isStr {
			return ElementKey{}, false
		}
		key = append(key, s)
		if len(lbl) > 0 && !strings.HasPrefix(lbl[len(lbl)-1], " ") {
			lbl[len(lbl)-1] += "/" + strconv.Quote(s)
		} else {
			lbl = append(lbl, strconv.Quote(s))
		}
	}
	exact := strings.Join(key, "\x00")
	k := exact
	if l.Fold {
		k = strings.ToLower(exact)
	}
	return ElementKey{Key: k, Exact: exact, Label: strings.Join(lbl, "")}, true
}

// scopeKey returns a scope map's matching key (dimensions sorted, each
// list sorted, empty lists left out) and its label part
// (" Environment=Production,Staging"), empty for no scope.
func scopeKey(sc any) (key, label string) {
	m, _ := sc.(map[string]any)
	dims := make([]string, 0, len(m))
	vals := map[string][]string{}
	for d, v := range m {
		arr, _ := v.([]any)
		var ss []string
		for _, x := range arr {
			if s, ok := x.(string); ok {
				ss = append(ss, s)
			}
		}
		if len(ss) == 0 {
			continue
		}
		slices.Sort(ss)
		vals[d] = ss
		dims = append(dims, d)
	}
	slices.Sort(dims)
	var kb, lb strings.Builder
	kb.WriteString("{")
	for i, d := range dims {
		if i > 0 {
			kb.WriteString(";")
		}
		kb.WriteString(strconv.Quote(d) + ":")
		q := make([]string, len(vals[d]))
		for j, s := range vals[d] {
			q[j] = strconv.Quote(s)
		}
		kb.WriteString(strings.Join(q, ","))
		lv := make([]string, len(vals[d]))
		for j, s := range vals[d] {
			lv[j] = labelValue(s)
		}
		lb.WriteString(" " + d + "=" + strings.Join(lv, ","))
	}
	kb.WriteString("}")
	return kb.String(), lb.String()
}

// labelValue quotes a scope value in a label when it is not a plain word.
func labelValue(s string) string {
	if s == "" || strings.ContainsAny(s, " \t,\"[]=") {
		return strconv.Quote(s)
	}
	return s
}

// keyShapes are the distinct keyed lists of every kind, longest key first:
// how an element is identified where its kind and place are not known
// (KindlessIdentify).
var (
	keyShapes     []*List
	keyShapesOnce sync.Once
)

// KindlessList returns the first declared keyed list (longest key first)
// whose key fields el has, or nil: the list an element belongs to where its
// kind and place are not known.
func KindlessList(el any) *List {
	keyShapesOnce.Do(collectKeyShapes)
	for _, l := range keyShapes {
		if _, ok := l.Identify(el); ok {
			return l
		}
	}
	return nil
}

// Supersedes reports whether element b (from a bundle) takes the place of
// element d (a destination's) in list l without being the same element:
// the list declares Supersede, both share its Owner and Supersede fields,
// and their scopes overlap in every dimension either has (or both are
// unscoped). A server keeps one tenant value per template and environment,
// so a value the bundle re-scoped replaces the destination's old one.
func (l *List) Supersedes(b, d any) bool {
	if l == nil || l.Supersede == "" {
		return false
	}
	bm, ok1 := b.(map[string]any)
	dm, ok2 := d.(map[string]any)
	if !ok1 || !ok2 {
		return false
	}
	if _, ok := l.Identify(bm); !ok {
		return false
	}
	if _, ok := l.Identify(dm); !ok {
		return false
	}
	for _, f := range []string{l.Owner, l.Supersede} {
		if f != "" && bm[f] != dm[f] {
			return false
		}
	}
	bs, ds := scopeLists(bm["Scope"]), scopeLists(dm["Scope"])
	if len(bs) == 0 || len(ds) == 0 {
		return len(bs) == len(ds)
	}
	for dim, bv := range bs {
		dv := ds[dim]
		if !slices.ContainsFunc(bv, func(s string) bool { return slices.Contains(dv, s) }) {
			return false
		}
	}
	for dim := range ds {
		if _, ok := bs[dim]; !ok {
			return false
		}
	}
	return true
}

// scopeLists returns a scope map's non-empty lists of strings.
func scopeLists(sc any) map[string][]string {
	m, _ := sc.(map[string]any)
	out := map[string][]string{}
	for d, v := range m {
		arr, _ := v.([]any)
		for _, x := range arr {
			if s, ok := x.(string); ok {
				out[d] = append(out[d], s)
			}
		}
	}
	return out
}

// KindlessIdentify identifies an array element by the first key shape any
// kind declares (longest first) whose fields it has: for places that do
// not know their kind (a plain diff of two documents). Where the kind and
// path are known, Kind.ListAt is exact.
func KindlessIdentify(el any) (ElementKey, bool) {
	keyShapesOnce.Do(collectKeyShapes)
	for _, l := range keyShapes {
		if id, ok := l.Identify(el); ok {
			return id, true
		}
	}
	return ElementKey{}, false
}

// collectKeyShapes fills keyShapes from the registered kinds.
func collectKeyShapes() {
	seen := map[string]bool{}
	keyShapes = nil
	for _, k := range ordered {
		for i := range k.Lists {
			l := &k.Lists[i]
			if len(l.Key) == 0 {
				continue
			}
			sig := strings.Join(l.Key, ",") + "/" + strconv.FormatBool(l.Fold)
			if seen[sig] {
				continue
			}
			seen[sig] = true
			keyShapes = append(keyShapes, l)
		}
	}
	slices.SortStableFunc(keyShapes, func(a, b *List) int { return len(b.Key) - len(a.Key) })
}
