// Package export reads one Octopus space through the API and turns it into a
// bundle: one canonical, ID-free file per entity, keyed by name.
//
// Run reads the space once (internal/snapshot), chooses what to export (the
// whole space, or some projects and everything they depend on), converts
// each entity with translate.ToBundle and seals the bundle; the caller
// writes it. The conversion is driven entirely by the kind registry in
// package schema: references are rewritten from IDs to names in the scope
// the registry gives them, volatile fields are dropped, secrets scrubbed
// and sets sorted.
//
// Never exported: releases, deployments, runbook runs and snapshots, users,
// server settings, audit and task history; deployment targets and workers
// only with Options.Optional; of teams only the space's own (not system
// teams); of user roles the custom ones plus the built-in roles that
// exported team permissions use.
package export

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/octobundle/octobundle/internal/parallel"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
)

// Options say what to export.
type Options struct {
	// Projects, when not empty, restricts the export to these projects (by
	// name) and everything they depend on, transitively: project groups,
	// lifecycles, environments, channels, feeds, accounts, certificates,
	// worker pools, step templates, script modules and library variable
	// sets they include, tag sets their tags come from, and the tenants
	// linked to them. Teams and user roles are not dependencies of a project
	// and are left out. Tenant links to (and tenant variables of) projects
	// and library variable sets outside the selection are dropped.
	Projects []string
	// Optional also exports deployment targets and workers (with Projects,
	// those the selection refers to, such as machines variables are scoped
	// to). Without it they are read only to name variable machine scopes.
	Optional bool
	// Concurrency bounds parallel API requests (default 8).
	Concurrency int
	// ToolVersion is recorded in the manifest.
	ToolVersion string
	// Now gives the export time recorded in the manifest (default time.Now).
	Now func() time.Time
	// Logger receives progress and warnings; nil discards.
	Logger *slog.Logger
	// Progress, if set, is called as reading the space advances.
	Progress func(done, total int)
	// Out, when it names a directory that does not exist yet, is where the
	// caller will write the bundle: the export writes each entity's files
	// into a temporary sibling of it as soon as the entity is converted,
	// while the rest of the space is read (bundles.StageDir), and the
	// caller's Bundle.Write(Out) finishes the directory. A caller that does
	// not write it calls Bundle.DiscardStage.
	Out string
}

// Result is a finished export.
type Result struct {
	// Bundle is the sealed bundle; the caller writes it.
	Bundle *bundles.Bundle
	// Stats are the API client's counters after the export.
	Stats octopus.Stats
	// Warnings are things the user should know that did not stop the export
	// (secrets the server returned and the export removed, team permissions
	// of system teams left out). They never contain secret values.
	Warnings []string
}

// Run reads the client's space, converts what o selects and returns the
// sealed bundle. Content problems (references to IDs that do not exist,
// names shared within one scope) are reported together as an *Error.
func Run(ctx context.Context, c *octopus.Client, o Options) (*Result, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	start := time.Now()
	b := newBundle(c.Server(), c.ServerVersion, c.SpaceName, o)
	if o.Out != "" {
		if _, err := b.StageDir(o.Out); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
	}
	res, err := run(ctx, c, o, b, log, now, start)
	if err != nil {
		b.DiscardStage()
	}
	return res, err
}

func run(ctx context.Context, c *octopus.Client, o Options, b *bundles.Bundle, log *slog.Logger, now func() time.Time, start time.Time) (*Result, error) {
	var pipe *pipeline
	ro := snapshot.Options{
		Optional:    o.Optional,
		Concurrency: o.Concurrency,
		Logger:      log,
		Progress:    o.Progress,
	}
	if len(o.Projects) == 0 {
		pipe = newPipeline(o, log, b)
		ro.Ready = pipe.ready
	}
	s, err := snapshot.Read(ctx, c, ro)
	if pipe != nil {
		pipe.finish()
	}
	if err != nil {
		return nil, fmt.Errorf("export: reading space %q: %w", c.SpaceName, err)
	}
	log.Info("read the space", "server", s.Server, "space", s.SpaceName, "requests", c.Stats().Requests, "duration", time.Since(start).Round(time.Millisecond))

	warnings, err := fill(b, s, o, log, pipe)
	if err != nil {
		return nil, err
	}
	b.Manifest.ExportedAt = now()
	if err := b.Seal(); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	log.Info("exported", "files", b.Len(), "digest", b.Digest(), "duration", time.Since(start).Round(time.Millisecond))
	return &Result{Bundle: b, Stats: c.Stats(), Warnings: warnings}, nil
}

// newBundle is the empty bundle an export of space on server fills.
func newBundle(server, version, space string, o Options) *bundles.Bundle {
	return bundles.New(bundles.Manifest{
		Format:      bundles.Format,
		ToolVersion: o.ToolVersion,
		Source:      bundles.Source{Server: server, ServerVersion: version, Space: space},
		Projects:    selectedProjects(o.Projects),
	})
}

// fill converts the entities of s that o selects into b, taking what pipe
// (nil for none) converted while s was read.
func fill(b *bundles.Bundle, s *snapshot.Snapshot, o Options, log *slog.Logger, pipe *pipeline) ([]string, error) {
	sel, warnings, err := choose(s, o)
	if err != nil {
		return nil, err
	}
	if len(o.Projects) > 0 {
		log.Info("selected projects and their dependencies", "projects", o.Projects, "entities", len(sel.list))
	}
	// Every problem is reported at once: names shared within a scope, then
	// references that cannot be resolved.
	problems := checkNames(s, sel.list)
	var keep keepFunc
	if len(o.Projects) > 0 {
		keep = func(k *schema.Kind, id string) bool { return sel.has(k.Name, id) }
	}

	// Each entity is decoded, converted and put into the bundle in one go,
	// on every core, so only the entities being converted are ever held
	// decoded.
	stamps := &stampValues{s: s, values: map[stampField]stampValue{}}
	scrubbed := make([][]string, len(sel.list))
	lagging := make([][]string, len(sel.list))
	errs := make([]error, len(sel.list))
	putErrs := make([]error, len(sel.list))
	parallel.Each(len(sel.list), func(i int) {
		e := sel.list[i]
		if r, ok := pipe.result(e); ok {
			scrubbed[i], lagging[i], errs[i], putErrs[i] = r.scrubbed, r.lagging, r.err, r.putErr
			return
		}
		r, err := convert(s, e, keep, stamps)
		if scrubbed[i], lagging[i], errs[i] = r.Scrubbed, r.Warnings, err; err != nil {
			return
		}
		p, err := b.PutEntity(e.Kind, e.Names(), r.Doc)
		if err != nil {
			putErrs[i] = err
			return
		}
		log.Debug("exported", "entity", e.Label(), "id", e.ID, "path", p)
	})

	for i, err := range errs {
		var ee *Error
		switch {
		case err == nil:
		case errors.As(err, &ee):
			problems = append(problems, ee.Problems...)
		default:
			return nil, err
		}
		if len(scrubbed[i]) > 0 {
			warnings = append(warnings, fmt.Sprintf("%s: the server returned secret values at %s; they were removed",
				sel.list[i].Label(), strings.Join(scrubbed[i], ", ")))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, &Error{Problems: problems}
	}
	for _, l := range lagging {
		warnings = append(warnings, l...)
	}
	for _, err := range putErrs {
		if err != nil {
			// Which of two colliding paths a message names first depends on
			// the order they were put in: put them again, in order.
			problems = putInOrder(s, sel.list, keep)
			break
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, &Error{Problems: problems}
	}
	sort.Strings(warnings)
	// Whatever the pipeline put that the selection does not hold (never
	// for a whole-space export: exported mirrors candidates) goes.
	if pipe != nil {
		chosen := make(map[*snapshot.Entity]bool, len(sel.list))
		for _, e := range sel.list {
			chosen[e] = true
		}
		for e, r := range pipe.results {
			if !chosen[e] && r.path != "" {
				b.Remove(r.path)
				log.Warn("export: an entity converted early is not in the selection; removed", "entity", e.Label())
			}
		}
	}
	return warnings, nil
}

// checkNames reports every exported entity, or a name one provides (an
// action, a tenant variable template) that shares its name with another in
// the same scope: a bundle keyed by name cannot hold both.
func checkNames(s *snapshot.Snapshot, list []*snapshot.Entity) []string {
	var problems []string
	seen := map[string]bool{}
	report := func(kind, scope, name, where string) {
		dup := s.Index.Ambiguous(kind, scope, name)
		key := kind + "\x00" + scope + "\x00" + name
		if len(dup) < 2 || seen[key] {
			return
		}
		seen[key] = true
		problems = append(problems, fmt.Sprintf("%s: %d %s share the name %q (%s); rename all but one on the source",
			where, len(dup), schema.Plural(kind), name, strings.Join(dup, ", ")))
	}
	for _, e := range list {
		k := e.Kind
		if !k.IsSingleton() && k.Shape != schema.ShapeItems {
			scope, where := "", "the space"
			if e.Owner != nil {
				scope, where = e.Root().ID, e.Root().Label()
			}
			report(k.Name, scope, e.Name, where)
		}
		for _, p := range snapshot.ProvidedNames(e) {
			if ns := schema.LookupNamespace(p.Kind); ns == nil || !ns.Repeats {
				report(p.Kind, p.Scope, p.Name, e.Label())
			}
		}
	}
	return problems
}

// selectedProjects is the manifest's record of a partial export: the
// projects asked for, sorted and without repeats; nil for the whole space.
func selectedProjects(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	out := append([]string(nil), names...)
	sort.Strings(out)
	return slices.Compact(out)
}

// putInOrder converts the entities of list and puts them, one after the
// other in list's order, into an empty bundle, returning the problems the
// bundle reports: the order makes messages about paths that collide
// reproducible.
func putInOrder(s *snapshot.Snapshot, list []*snapshot.Entity, keep keepFunc) []string {
	b := bundles.New(bundles.Manifest{Format: bundles.Format})
	var problems []string
	for _, e := range list {
		r, err := convert(s, e, keep, nil)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", e.Label(), err))
			continue
		}
		if _, err := b.PutEntity(e.Kind, e.Names(), r.Doc); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", e.Label(), err))
		}
	}
	return problems
}

// stampValues finds, once per target entity, the values stamps record
// (a step template's Version), for laggingStamps. It is safe for
// concurrent use.
type stampValues struct {
	s      *snapshot.Snapshot
	mu     sync.Mutex
	values map[stampField]stampValue
}

type stampField struct {
	target *snapshot.Entity
	field  string
}

type stampValue struct {
	v  any
	ok bool
}

// value returns field From of the entity of kind to named name, and
// whether there is one.
func (sv *stampValues) value(to, name, from string) (any, bool) {
	target := sv.s.Find(to, name)
	if target == nil {
		return nil, false
	}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	key := stampField{target, from}
	got, seen := sv.values[key]
	if !seen {
		got.v, got.ok = target.Object()[from]
		sv.values[key] = got
	}
	return got.v, got.ok
}

// laggingStamps warns about stamps of e (whose document as read is doc)
// that lag behind what they record: a step based on a step template that
// still uses an older version of it (the registry's schema.Stamp). The
// bundle holds no stamp, and apply gives every such step the destination
// template's current version, so a lagging source step changes on the
// destination; the source's owner should know.
func laggingStamps(s *snapshot.Snapshot, e *snapshot.Entity, doc any, stamps *stampValues) []string {
	if !slices.ContainsFunc(e.Kind.Refs, func(r schema.Ref) bool { return r.Stamp != nil }) {
		return nil
	}
	var out []string
	_ = e.Kind.Visit(doc, func(ref schema.Ref, at []string, id string) {
		if ref.Stamp == nil {
			return
		}
		holder, _ := schema.At(doc, at[:len(at)-1]).(map[string]any)
		name, ok := s.Index.Name(ref.To, "", id)
		if !ok || holder == nil {
			return
		}
		now, ok := stamps.value(ref.To, name, ref.Stamp.From)
		used, has := holder[ref.Stamp.Field]
		if !ok || now == nil || !has || used == nil || fmt.Sprint(used) == fmt.Sprint(now) {
			return
		}
		what := strings.TrimSuffix(schema.MustLookup(ref.To).Title, "s")
		out = append(out, fmt.Sprintf("%s: %s uses %s %q at %s %v, which is at %v now; apply gives the destination's steps its current %s, so the step changes there (update the step at the source to see it first)",
			e.Label(), bundles.LabelPath(doc, at[:len(at)-1]), what, name, ref.Stamp.From, used, now, ref.Stamp.From))
	})
	return out
}
