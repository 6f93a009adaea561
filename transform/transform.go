package transform

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/policy"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/sign"
)

// Options tune a transform.
type Options struct {
	// Strict turns the warnings that can hide a mistake (StrictKinds: a
	// rule that matches nothing and is not a guard) into errors.
	Strict bool
	// Progress, if set, is called after each entity of each cascade
	// round with the entities done and the round's total (a round that
	// drops more starts another).
	Progress func(done, total int)
	// InputVerified says the caller checked the input's signature against
	// a trusted key; the output's manifest records it (Input.Verified).
	InputVerified bool
	// CheckInput, if set, is called by Run with the input bundle before it
	// is transformed: an error stops the run; true sets InputVerified.
	CheckInput func(*bundles.Bundle) (verified bool, err error)
}

// ErrFailed is returned (wrapped) when the report has errors.
var ErrFailed = errors.New("transform failed")

// fate is what the rules decided for one entity.
type fate struct {
	drop     bool   // dropped (with provided: left to the destination)
	provided bool   // references stay; the destination provides it
	to       string // renamed or merged into
	merge    bool
	into     *ent   // for a merge: the entity merged into (its name may change later)
	rule     string // rule position ("default" for the built-in policy)
	why      string // for cascaded drops: what caused it
	origin   string // for cascaded drops: the user rule that started it
	// renamed is the name a rename rule gave the entity, kept when a
	// later rule or the cascade drops, merges or leaves it to the
	// destination; renameRule is that rule's position and renameAt its
	// index in engine.rules.
	renamed    string
	renameRule string
	renameAt   int
}

// source returns the user rule behind a fate: its own, or the one that
// started the cascade that led to it.
func (f *fate) source() string {
	if f.origin != "" {
		return f.origin
	}
	return f.rule
}

// ent is one input entity.
type ent struct {
	kind  *schema.Kind
	names []string // unescaped, owners first
	path  string
	doc   any
	chain []*schema.Kind // the kind of each name
}

func (e *ent) key() schema.ScopedName {
	return schema.ScopedName{Kind: e.kind.Name, Scope: e.kind.EntityScope(e.names), Name: e.names[len(e.names)-1]}
}

func (e *ent) named() bool { return !e.kind.IsSingleton() && e.kind.Shape != schema.ShapeItems }

// engine holds one transform run.
type engine struct {
	files  []*RuleFile
	rules  []*Rule
	ents   []*ent
	byKey  map[schema.ScopedName]*ent
	fates  map[schema.ScopedName]*fate
	vdrops map[schema.ScopedName]*fate // virtual names (actions, process owners) removed
	used   map[*Rule]int
	// hints say why a rule that matched nothing did (a rename before it).
	hints   map[*Rule]string
	report  *Report
	errs    []Message
	changes []Change
	// progress reports each round's progress (Options.Progress).
	progress func(done, total int)
}

// Transform applies the rule files, in order, to in and returns the new
// bundle (sealed) and the report. in is not changed. When the report has
// errors (or, with Strict, warnings) the bundle is nil and the error wraps
// ErrFailed.
func Transform(in *bundles.Bundle, files []*RuleFile, opt Options) (*bundles.Bundle, *Report, error) {
	if in.Manifest.Kind != bundles.KindConfiguration {
		return nil, nil, fmt.Errorf("the bundle is a %s bundle, not a configuration bundle: release plan and release apply transform its configuration in memory with --rules", in.Manifest.Kind)
	}
	e := &engine{
		progress: opt.Progress,
		files:    files,
		byKey:    map[schema.ScopedName]*ent{},
		fates:    map[schema.ScopedName]*fate{},
		vdrops:   map[schema.ScopedName]*fate{},
		used:     map[*Rule]int{},
		hints:    map[*Rule]string{},
		report:   &Report{},
	}
	for _, f := range files {
		e.report.Rules = append(e.report.Rules, f.Name)
		for i := range f.Rules {
			e.rules = append(e.rules, &f.Rules[i])
		}
	}
	for _, en := range in.Entries() {
		x := &ent{kind: en.Kind, names: en.Names, path: en.Path, doc: en.Doc, chain: kindChain(en.Kind)}
		e.ents = append(e.ents, x)
		if x.named() {
			e.byKey[x.key()] = x
		}
	}
	out, err := e.run(in, opt)
	rep := e.report
	if len(in.Signature()) > 0 {
		// A signature covers the digest; the output has another, so it
		// is unsigned until whoever transformed it signs it.
		rep.Notes = append(rep.Notes, Message{Text: fmt.Sprintf("the input bundle (%s) was signed; the output is a different bundle and is not: sign it (octobundle sign --key KEY OUT), or carry the signed input and signed rule files and use plan/apply --rules (docs/bundles-in-git.md)", in.Digest())})
	}
	if err != nil {
		rep.Errors = append(rep.Errors, Message{Text: err.Error()})
	}
	for _, r := range e.rules {
		if e.used[r] == 0 && !r.Guard {
			text := r.Verb + " matched nothing"
			if h := e.hints[r]; h != "" {
				text += ": " + h
			} else {
				text += " (a rule meant to match nothing says guard: true)"
			}
			rep.Warnings = append(rep.Warnings, Message{Kind: WarnUnmatched, Rule: r.Pos, Text: text})
		}
	}
	rep.count()
	strict := 0
	for _, w := range rep.Warnings {
		if StrictKinds[w.Kind] {
			strict++
		}
	}
	if len(rep.Errors) > 0 || (opt.Strict && strict > 0) {
		what := fmt.Sprintf("%d error(s)", len(rep.Errors))
		if len(rep.Errors) == 0 {
			what = fmt.Sprintf("%d warning(s) with --strict", strict)
		}
		return nil, rep, fmt.Errorf("%w: %s", ErrFailed, what)
	}
	rep.Digest = out.Manifest.Digest
	return out, rep, nil
}

// kindChain returns the kinds of an entity's names, owners first.
func kindChain(k *schema.Kind) []*schema.Kind {
	var chain []*schema.Kind
	for c := k; c != nil; {
		chain = append([]*schema.Kind{c}, chain...)
		if c.Parent == "" {
			break
		}
		c = schema.MustLookup(c.Parent)
	}
	if k.IsSingleton() || k.Shape == schema.ShapeItems {
		chain = chain[:len(chain)-1]
	}
	return chain
}

func (e *engine) run(in *bundles.Bundle, opt Options) (*bundles.Bundle, error) {
	if err := e.selectEntities(); err != nil {
		return nil, err
	}
	// The cascade: rewrite every entity from its input form with the fates
	// known so far; new entity drops (a channel whose lifecycle went, an
	// account whose every environment went) and removed actions feed the
	// next round, until nothing new is dropped.
	var docs map[*ent]any
	for round := 0; ; round++ {
		if round > 50 {
			return nil, errors.New("the cascade did not settle after 50 rounds")
		}
		e.changes, e.errs = nil, nil
		var grew bool
		docs, grew = e.pass()
		if !grew {
			break
		}
	}
	e.report.Changes = append(e.report.Changes, e.changes...)
	e.report.Errors = append(e.report.Errors, e.errs...)
	pf, err := in.ApplyPolicy()
	if err != nil {
		return nil, err
	}
	if pf == nil {
		pf = &policy.File{}
	}
	if err := e.values(docs); err != nil {
		return nil, err
	}
	e.compilePolicy(pf, docs)
	if len(e.report.Errors) > 0 {
		return nil, nil
	}
	m := in.Manifest
	m.Counts, m.Digest = nil, ""
	if bundles.HasSidecars(m.Format) {
		m.Format = bundles.Format // the output is a new bundle
	}
	// The output records what it was made from: the input's digest and
	// the key its signature names (the signature itself does not carry
	// over: it signs the input's digest).
	m.Input = nil
	if d := in.Digest(); d != "" {
		sig, _ := sign.Check(in, nil)
		m.Input = &bundles.InputRef{Digest: d, Format: in.Manifest.Format, KeyID: sig.KeyID, Verified: opt.InputVerified && sig.KeyID != ""}
	}
	m.Rules = append([]bundles.RuleRef(nil), m.Rules...)
	for _, f := range e.files {
		m.Rules = append(m.Rules, f.Ref())
	}
	out := bundles.New(m)
	for _, x := range e.ents {
		doc, ok := docs[x]
		if !ok {
			continue
		}
		names := e.newNames(x)
		if x.named() {
			if m, ok := doc.(map[string]any); ok && x.kind.NameField != "" {
				m[x.kind.NameField] = names[len(names)-1]
			}
		}
		if _, err := out.PutEntity(x.kind, names, doc); err != nil {
			e.report.Errors = append(e.report.Errors, Message{Path: x.path, Text: err.Error()})
		}
	}
	if err := out.SetApplyPolicy(pf); err != nil {
		return nil, err
	}
	if len(e.report.Errors) > 0 {
		return nil, nil
	}
	// Every kind the input carried is carried: a reference to the
	// dropped last entity of a kind dangles, in a partial bundle too.
	problems, err := out.CheckReferencesCarried(e.carried())
	if err != nil {
		return nil, err
	}
	for _, p := range problems {
		e.report.Errors = append(e.report.Errors, Message{Path: p.Path, Field: p.Field,
			Text: fmt.Sprintf("refers to %s %q, which is not in the output bundle and not left to the destination", p.To, p.Name)})
	}
	if len(e.report.Errors) > 0 {
		return nil, nil
	}
	if err := out.Seal(); err != nil {
		return nil, err
	}
	return out, nil
}

// carried returns the names of the kinds the input bundle holds.
func (e *engine) carried() []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range e.ents {
		if !seen[x.kind.Name] {
			seen[x.kind.Name] = true
			out = append(out, x.kind.Name)
		}
	}
	return out
}

// matchSelector reports whether entity x, called names (owners first:
// its names after the renames of the rules before s), matches s.
func matchSelector(s *Selector, x *ent, names []string) bool {
	if x.kind.Name != s.Kind || !x.named() {
		return false
	}
	if !s.Name.Match(names[len(names)-1]) {
		return false
	}
	if len(s.Owner) > 0 && (len(names) < 2 || !s.Owner.Match(strings.Join(names[:len(names)-1], "/"))) {
		return false
	}
	for _, kind := range slices.Sorted(maps.Keys(s.RefersTo)) {
		pats := s.RefersTo[kind]
		found := false
		_ = x.kind.Visit(x.doc, func(ref schema.Ref, _ []string, v string) {
			for _, t := range schema.TargetKinds(ref.To) {
				if t == kind && pats.Match(v) {
					found = true
				}
			}
		})
		if !found {
			return false
		}
	}
	if len(s.Tag) > 0 {
		found := false
		tk := x.kind.TagKind()
		_ = tk.Visit(x.doc, func(_ schema.Ref, _ []string, v string) {
			if s.Tag.Match(v) {
				found = true
			}
		})
		if !found {
			return false
		}
	}
	return true
}

// selectEntities applies drop, keep, destination, rename and merge rules,
// in order, to the input entities.
//
// Rules apply in order, and a rename is seen by the rules after it: they
// select the entity (and what it owns) by its new name, as the output
// bundle and its apply policy name it. A rule that names it by its old
// name after the rename, or by its new name before it, matches nothing
// and its warning says so (hintRenames).
func (e *engine) selectEntities() error {
	var errs []error
	for i, r := range e.rules {
		switch {
		case r.Drop != nil, r.Destination != nil:
			s := r.Drop
			if s == nil {
				s = r.Destination
			}
			for _, x := range e.ents {
				if matchSelector(s, x, e.newNames(x)) {
					e.setFate(x, &fate{drop: true, provided: r.Destination != nil, rule: r.Pos})
					e.used[r]++
				}
			}
		case r.Keep != nil:
			for _, x := range e.ents {
				if x.kind.Name != r.Keep.Kind || !x.named() {
					continue
				}
				names := e.newNames(x)
				if len(r.Keep.Owner) > 0 && (len(names) < 2 || !r.Keep.Owner.Match(strings.Join(names[:len(names)-1], "/"))) {
					continue
				}
				if matchSelector(r.Keep, x, names) {
					e.used[r]++
					continue
				}
				e.setFate(x, &fate{drop: true, rule: r.Pos, why: "not kept"})
			}
		case r.Rename != nil:
			rn := r.Rename
			var hits []*ent
			for _, x := range e.ents {
				if renameMatches(rn, x, e.newNames(x)) {
					hits = append(hits, x)
				}
			}
			if len(hits) > 1 {
				errs = append(errs, fmt.Errorf("%s: rename matches %d %s; rename one, or merge them", r.Pos, len(hits), schema.MustLookup(rn.Kind).Title))
				continue
			}
			for _, x := range hits {
				k := x.key()
				cur := e.newNames(x)
				if t := e.named(x, rn.To); t != nil {
					errs = append(errs, fmt.Errorf("%s: rename %s %q to %q: that name exists; use merge", r.Pos, rn.Kind, cur[len(cur)-1], rn.To))
					continue
				}
				e.fates[k] = &fate{to: rn.To, rule: r.Pos, renamed: rn.To, renameRule: r.Pos, renameAt: i}
				e.used[r]++
				// Names the entity provides under its own name (a
				// project as a process owner) are renamed with it.
				if m, ok := x.doc.(map[string]any); ok {
					for _, p := range x.kind.ProvidedNames(m, x.names) {
						if p.Name == k.Name {
							e.vdrops[p] = &fate{to: rn.To, rule: r.Pos, renamed: rn.To, renameRule: r.Pos, renameAt: i}
						}
					}
				}
			}
		case r.Merge != nil:
			mg := r.Merge
			var into *ent
			for _, x := range e.ents {
				names := e.newNames(x)
				if x.kind.Name == mg.Kind && x.named() && strings.EqualFold(names[len(names)-1], mg.Into) &&
					(mg.Owner == "" || (len(names) > 1 && policy.GlobMatch(mg.Owner, names[0]))) {
					into = x
				}
			}
			if into == nil {
				errs = append(errs, fmt.Errorf("%s: merge into %s %q: the bundle has no such %s (rename instead)", r.Pos, mg.Kind, mg.Into, schema.MustLookup(mg.Kind).Title))
				continue
			}
			for _, x := range e.ents {
				if x == into || x.kind.Name != mg.Kind || !x.named() {
					continue
				}
				if names := e.newNames(x); !mg.Name.Match(names[len(names)-1]) {
					continue
				}
				if x.kind.EntityScope(x.names) != into.kind.EntityScope(into.names) {
					continue
				}
				e.setFate(x, &fate{to: e.ownName(into), merge: true, into: into, rule: r.Pos})
				e.used[r]++
			}
		}
	}
	e.hintRenames()
	return errors.Join(errs...)
}

// renameMatches reports whether rename rule rn selects x, called names.
func renameMatches(rn *Rename, x *ent, names []string) bool {
	return x.kind.Name == rn.Kind && x.named() && policy.GlobMatch(rn.Name, names[len(names)-1]) &&
		(rn.Owner == "" || (len(names) > 1 && policy.GlobMatch(rn.Owner, names[0])))
}

// setFate records f for x, keeping what an earlier rename did to it.
func (e *engine) setFate(x *ent, f *fate) {
	k := x.key()
	if old := e.fates[k]; old != nil && old.renamed != "" && f.renamed == "" {
		f.renamed, f.renameRule, f.renameAt = old.renamed, old.renameRule, old.renameAt
	}
	e.fates[k] = f
}

// ownName returns x's own name after the renames known so far.
func (e *engine) ownName(x *ent) string {
	names := e.newNames(x)
	return names[len(names)-1]
}

// named returns the entity other than x, of x's kind and scope and not
// dropped or merged, that is now called name; nil if there is none.
func (e *engine) named(x *ent, name string) *ent {
	scope := x.kind.EntityScope(x.names)
	for _, t := range e.ents {
		if t == x || t.kind != x.kind || !t.named() || t.kind.EntityScope(t.names) != scope {
			continue
		}
		if f := e.fates[t.key()]; f != nil && (f.drop || f.merge) {
			continue
		}
		if strings.EqualFold(e.ownName(t), name) {
			return t
		}
	}
	return nil
}

// ruleSelects reports whether the entity-selecting rule r would select x
// if x were called names.
func ruleSelects(r *Rule, x *ent, names []string) bool {
	switch {
	case r.Drop != nil:
		return matchSelector(r.Drop, x, names)
	case r.Destination != nil:
		return matchSelector(r.Destination, x, names)
	case r.Keep != nil:
		return matchSelector(r.Keep, x, names)
	case r.Rename != nil:
		return renameMatches(r.Rename, x, names)
	case r.Merge != nil:
		last := names[len(names)-1]
		return x.kind.Name == r.Merge.Kind && x.named() && (r.Merge.Name.Match(last) || strings.EqualFold(last, r.Merge.Into))
	}
	return false
}

// hintRenames explains the entity rules that matched nothing because of
// a rename: they name an entity by its old name after the rule that
// renamed it, or by its new name before that rule.
func (e *engine) hintRenames() {
	for i, r := range e.rules {
		if e.used[r] > 0 || e.hints[r] != "" {
			continue
		}
		for _, x := range e.ents {
			f := e.fates[e.keyIf(x)]
			if f == nil || f.renamed == "" {
				continue
			}
			old := x.names[len(x.names)-1]
			if i > f.renameAt && ruleSelects(r, x, x.names) {
				e.hints[r] = fmt.Sprintf("%s %q was renamed to %q by %s; name the new name", x.kind.Name, old, f.renamed, f.renameRule)
				break
			}
			if i < f.renameAt {
				names := append(append([]string(nil), x.names[:len(x.names)-1]...), f.renamed)
				if ruleSelects(r, x, names) {
					e.hints[r] = fmt.Sprintf("%s %q is renamed to %q only later, by %s (rules apply in order); name %q or move the rule after the rename", x.kind.Name, old, f.renamed, f.renameRule, old)
					break
				}
			}
		}
	}
}

// ownFate returns the fate of x or of the nearest dropped/merged owner.
func (e *engine) ownFate(x *ent) (f *fate, owner bool) {
	for i, k := range x.chain {
		if i >= len(x.names) {
			break
		}
		key := schema.ScopedName{Kind: k.Name, Scope: k.EntityScope(x.names[:i+1]), Name: x.names[i]}
		if ft := e.fates[key]; ft != nil && (ft.drop || ft.merge) {
			return ft, !(i == len(x.names)-1 && x.named())
		}
	}
	return nil, false
}

// newNames returns x's names after renames of it and its owners.
func (e *engine) newNames(x *ent) []string {
	out := append([]string(nil), x.names...)
	for i, k := range x.chain {
		if i >= len(x.names) {
			break
		}
		key := schema.ScopedName{Kind: k.Name, Scope: k.EntityScope(x.names[:i+1]), Name: x.names[i]}
		if ft := e.fates[key]; ft != nil && ft.renamed != "" {
			out[i] = ft.renamed
		}
	}
	return out
}

// lookup returns the fate of a reference target.
func (e *engine) lookup(to, scope, name string) (*fate, string) {
	if k := schema.Lookup(to); k == nil || k.IsVirtual() {
		if f := e.vdrops[schema.ScopedName{Kind: to, Scope: scope, Name: name}]; f != nil {
			return f, to
		}
	}
	for _, k := range schema.TargetKinds(to) {
		if f := e.fates[schema.ScopedName{Kind: k, Scope: scope, Name: name}]; f != nil {
			return f, k
		}
	}
	return nil, ""
}

// pass rewrites every surviving entity from its input form. It returns the
// new documents and whether new entities or names were dropped.
func (e *engine) pass() (map[*ent]any, bool) {
	docs := map[*ent]any{}
	grew := false
	for i, x := range e.ents {
		if e.progress != nil {
			e.progress(i+1, len(e.ents))
		}
		if f, byOwner := e.ownFate(x); f != nil {
			e.entityChange(x, f, byOwner)
			if !f.provided && e.dropProvided(x, f) {
				grew = true
			}
			continue
		}
		if f := e.fates[e.keyIf(x)]; f != nil && f.renamed != "" {
			e.changes = append(e.changes, Change{Action: ActRenamed, Kind: x.kind.Name, Path: x.path, Detail: fmt.Sprintf("to %q", f.renamed), Rule: f.renameRule})
		}
		res := e.rewrite(x)
		if res.dropEntity != nil && x.named() {
			// A renamed entity has a fate already (its rename); the
			// drop replaces it and keeps the rename for the report.
			if f := e.fates[x.key()]; f == nil || (!f.drop && !f.merge) {
				e.setFate(x, res.dropEntity)
				grew = true
			}
			continue
		}
		if res.doc == nil {
			continue
		}
		docs[x] = res.doc
		// Names the entity no longer provides (removed actions) are gone.
		before := map[schema.ScopedName]bool{}
		if m, ok := x.doc.(map[string]any); ok {
			for _, p := range x.kind.ProvidedNames(m, x.names) {
				before[p] = true
			}
		}
		if m, ok := res.doc.(map[string]any); ok {
			for _, p := range x.kind.ProvidedNames(m, x.names) {
				delete(before, p)
			}
		}
		for p := range before {
			if cur := e.vdrops[p]; cur == nil || !cur.drop {
				e.vdrops[p] = &fate{drop: true, rule: res.cause, why: fmt.Sprintf("%s %q removed", p.Kind, p.Name)}
				grew = true
			}
		}
	}
	return docs, grew
}

// dropProvided records the scoped names a dropped entity provided (its
// actions, its process-owner name) as removed; it reports whether any was new.
func (e *engine) dropProvided(x *ent, f *fate) bool {
	m, ok := x.doc.(map[string]any)
	if !ok {
		return false
	}
	grew := false
	for _, p := range x.kind.ProvidedNames(m, x.names) {
		if cur := e.vdrops[p]; cur == nil || !cur.drop {
			e.vdrops[p] = &fate{drop: true, rule: f.source(), why: fmt.Sprintf("%s %q removed", p.Kind, p.Name)}
			grew = true
		}
	}
	return grew
}

func (e *engine) keyIf(x *ent) schema.ScopedName {
	if !x.named() {
		return schema.ScopedName{}
	}
	return x.key()
}

// entityChange reports an entity dropped, merged or left to the destination.
func (e *engine) entityChange(x *ent, f *fate, byOwner bool) {
	c := Change{Kind: x.kind.Name, Path: x.path, Rule: f.rule}
	switch {
	case byOwner:
		c.Action, c.Detail = ActDropped, "its owner is dropped or merged"
		if f.provided {
			c.Action = ActDest
		}
	case f.merge:
		c.Action, c.Detail = ActMerged, fmt.Sprintf("into %q", e.mergeTarget(f))
	case f.provided:
		c.Action, c.Detail = ActDest, "references to it stay"
	default:
		c.Action, c.Detail = ActDropped, f.why
	}
	if !byOwner && f.renamed != "" {
		c.Renamed = &Renamed{From: x.names[len(x.names)-1], To: f.renamed, Rule: f.renameRule, Path: e.newPath(x)}
	}
	e.changes = append(e.changes, c)
}

// mergeTarget returns the name of the entity a merge fate merges into,
// after any rename of it.
func (e *engine) mergeTarget(f *fate) string {
	if f.into != nil {
		return e.ownName(f.into)
	}
	return f.to
}

// newPath returns x's bundle path after the renames of it and its owners.
func (e *engine) newPath(x *ent) string {
	names := e.newNames(x)
	esc := make([]string, len(names))
	for i, n := range names {
		esc[i] = bundles.EscapeName(n)
	}
	p, err := x.kind.Path(esc...)
	if err != nil {
		return x.path
	}
	return p
}

// positions returns the rule position list of a lost-scope decision.
func (e *engine) lostScopeRule(x *ent, holderName string) *Rule {
	var found *Rule
	for _, r := range e.rules {
		ls := r.OnLostScope
		if ls == nil {
			continue
		}
		if ls.Kind != "" && ls.Kind != x.kind.Name {
			continue
		}
		names := e.newNames(x)
		if len(ls.Owner) > 0 && !ls.Owner.Match(names[0]) && !ls.Owner.Match(strings.Join(names, "/")) {
			continue
		}
		if len(ls.Name) > 0 && !ls.Name.Match(holderName) {
			continue
		}
		found = r
	}
	return found
}

func (e *engine) onEmptyRule(x *ent) *Rule {
	var found *Rule
	for _, r := range e.rules {
		if r.OnEmpty != nil && r.OnEmpty.Kind == x.kind.Name && (x.IsUnnamed() || r.OnEmpty.Name.Match(e.ownName(x))) {
			found = r
		}
	}
	return found
}

// IsUnnamed reports whether the entity has no name of its own.
func (x *ent) IsUnnamed() bool { return !x.named() }

// errorf records an error about an entity field.
func (e *engine) errorf(x *ent, at []string, format string, a ...any) {
	field := ""
	if at != nil {
		field = schema.Pointer(at)
	}
	e.errs = append(e.errs, Message{Path: x.path, Field: field, Text: fmt.Sprintf(format, a...)})
}
