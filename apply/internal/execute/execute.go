// Package execute performs a plan's writes on the destination: in the
// registry's dependency order, each entity's main and deferred passes,
// deletions last, parts and binaries, each write merged over the live
// document (apply/internal/writemerge) with placeholders for new secrets,
// and each entity recorded in the state once its writes succeeded. It gets
// the plan and what planning learnt of each change (Input) from apply,
// which makes the plan; it imports neither apply nor the planner's code.
package execute

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/apply/internal/scopes"
	"github.com/octobundle/octobundle/apply/internal/secrets"
	"github.com/octobundle/octobundle/apply/internal/writemerge"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/parallel"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/translate"
)

// Input is what executing a plan needs: the plan, what planning learnt of
// each of its changes, and the destination as the planner read it.
type Input struct {
	Plan *plans.Plan
	// Changes are the plan's changes as planned, Changes[i].Change being
	// &Plan.Changes[i].
	Changes []*planned.Change
	Client  *octopus.Client
	// Snap is the destination as the plan was made against it; the writes
	// keep it current.
	Snap   *snapshot.Snapshot
	Bundle *bundles.Bundle
	// Placeholder is the policy's text for new secrets ("" for the
	// default).
	Placeholder string
	// OnLostScope decides a live value whose scope names nothing any more.
	OnLostScope scopes.LostScope
	// State, if set, records each entity once its writes succeeded.
	State State
	// Concurrency bounds the writes in flight.
	Concurrency int
	Logger      *slog.Logger
	// Progress, if set, is called as the writes advance.
	Progress func(done, total int)
}

// State records what was applied, entity by entity (apply.StateRecorder).
// The documents Record gets may be jsonv.Doc values (the plan's packed
// documents), which internal/state records without decoding them.
type State interface {
	Record(path string, base, written any) error
	RecordID(path, id string) error
	Forget(path string) error
}

// Run performs in.Plan's writes and returns the result of each change, in
// the plan's order, and the first failure to record the state (the writes
// went on).
func Run(ctx context.Context, in Input) ([]plans.Result, error) {
	x := &executor{c: in.Client, snap: in.Snap, ids: translate.IDs{Snap: in.Snap}, log: in.Logger, plan: in.Plan, changes: in.Changes,
		b: in.Bundle, placeholder: in.Placeholder, onLostScope: in.OnLostScope, state: in.State, concurrency: in.Concurrency, onProgress: in.Progress}
	x.run(ctx)
	return x.results, x.stateErr
}

// recordedAs reports whether st records sum as path's written document
// (see apply.WrittenChecker).
func recordedAs(st State, path string, sum []byte) bool {
	w, ok := st.(interface {
		HasWritten(path string, sum []byte) bool
	})
	return ok && w.HasWritten(path, sum)
}

// task is one write pass of one change: its main fields at the kind's
// Order, or its deferred fields at DeferredOrder.
type task struct {
	ci       int
	deferred bool
	order    int
	deps     []*task
	done     chan struct{}
	// ran and ok (guarded by executor.mu) say whether the pass was
	// attempted and succeeded; a pass standing for a change that failed in
	// the plan has ran set and ok clear.
	ran, ok bool
}

// executor performs one plan's writes.
type executor struct {
	c    *octopus.Client
	snap *snapshot.Snapshot
	ids  translate.IDs
	log  *slog.Logger
	plan *plans.Plan
	// changes are the plan's changes as planned, changes[i].Change being
	// &plan.Changes[i].
	changes []*planned.Change
	b       *bundles.Bundle
	// placeholder is the policy's text for new secrets
	// ("" for the default).
	placeholder string
	onLostScope scopes.LostScope
	state       State
	concurrency int
	onProgress  func(done, total int)

	mu      sync.Mutex
	created map[string]bool // entities created in this run, by planned.Key
	// made holds, per kind and new owner, what the server made with the
	// owner (schema.Kind.MadeWithParent), listed once.
	made map[string]*madeList
	// readback holds, by change, the live singleton read in a list
	// request for its first write (see readWave).
	readback map[*planned.Change]*ownedRead
	// pending counts, per change, the write passes not yet succeeded; the
	// state records a change when its count reaches zero.
	pending []int
	// answers holds, by change, the server's answer to its last write
	// (see keepAnswer), for recordState to convert without decoding it
	// again.
	answers  map[*planned.Change]answer
	stateErr error
	results  []plans.Result
	done     int
	total    int
}

// run executes the plan's writes in sync order.
func (x *executor) run(ctx context.Context) {
	p := x.plan
	x.results = make([]plans.Result, len(p.Changes))
	for i, ch := range p.Changes {
		res := plans.Result{Kind: ch.Kind, Names: ch.Names}
		switch ch.Action {
		case plans.OpNoOp:
			res.Outcome = plans.OutcomeUnchanged
		case plans.OpLeftAlone:
			res.Outcome = plans.OutcomeLeftAlone
		case plans.OpError:
			res.Outcome, res.Error = plans.OutcomeFailed, ch.Error
		case plans.OpCreate:
			res.Outcome = plans.OutcomeCreated
		case plans.OpUpdate:
			res.Outcome = plans.OutcomeUpdated
		case plans.OpDelete:
			res.Outcome = plans.OutcomeDeleted
		case plans.OpKeep:
			res.Outcome, res.Note = plans.OutcomeLeftAlone, ch.Reason
		default:
			res.Outcome, res.Error = plans.OutcomeFailed, fmt.Sprintf("unknown plan action %q", ch.Action)
		}
		x.results[i] = res
	}
	tasks := x.tasks()
	x.total = len(tasks)
	x.pending = make([]int, len(p.Changes))
	for _, t := range tasks {
		x.pending[t.ci]++
	}
	// What needs no write is recorded now, on every core (a replay
	// records every entity here).
	parallel.Each(len(p.Changes), func(i int) {
		if x.pending[i] == 0 {
			x.recordState(i)
		}
	})
	groups := map[int][]*task{}
	var orders []int
	for _, t := range tasks {
		if _, ok := groups[t.order]; !ok {
			orders = append(orders, t.order)
		}
		groups[t.order] = append(groups[t.order], t)
	}
	sort.Ints(orders)
	sem := make(chan struct{}, x.taskSlots())
	for _, ord := range orders {
		var wg sync.WaitGroup
		x.readWave(ctx, groups[ord], sem, &wg)
		x.readMade(groups[ord])
		for _, t := range groups[ord] {
			wg.Add(1)
			go func(t *task) {
				defer wg.Done()
				defer close(t.done)
				for _, d := range t.deps {
					if d.order == t.order {
						<-d.done
					}
				}
				// The live singleton its first write merges over, read
				// with the others of its wave (no request slot is held
				// while waiting: the reads need them).
				if r := x.readbackOf(t.ci); r != nil {
					select {
					case <-r.done:
					case <-ctx.Done():
					}
				}
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
				}
				if ctx.Err() != nil {
					x.mu.Lock()
					t.ran = true
					x.mu.Unlock()
					x.fail(t, ctx.Err().Error(), true)
					return
				}
				record := x.runTask(ctx, t)
				// The slot is for requests: recording the state (files,
				// fsync) must not hold one.
				<-sem
				if record {
					x.recordState(t.ci)
				}
			}(t)
		}
		wg.Wait()
	}
}

// taskSlots is how many write passes run at once. A pass spends part of
// its time between requests (building and merging the body, decoding the
// answer); when the client itself keeps to Concurrency requests in flight,
// twice as many passes run, so that this time does not leave a request
// slot idle. Otherwise each pass holds one of Concurrency slots.
func (x *executor) taskSlots() int {
	if n := x.c.MaxInFlight(); n > 0 && n <= x.concurrency {
		return 2 * x.concurrency
	}
	return x.concurrency
}

// tasks builds the write passes of the plan and their dependencies: a pass
// depends on its owner's creation, on the creation of every entity it
// refers to, on the change that provides a scoped name it uses (the
// deployment process for an action name), and a deferred pass on its own
// main pass.
func (x *executor) tasks() []*task {
	p := x.plan
	// The names each change provides come from the bundle's documents
	// (a change that failed in the plan has no desired document, but the
	// changes that use its names must still wait for it, or be skipped).
	// A plan made in this process has them already; a saved one reads
	// each document once more.
	ptrs := make([]*planned.Change, len(x.changes))
	for i := range x.changes {
		c := *x.changes[i] // a copy: the plan's change is left as it is
		if x.b != nil && !c.ProvidesKnown {
			if doc, ok := x.b.Entity(schema.MustLookup(c.Kind), c.Names...); ok {
				c.Provides = planned.ProvidedNames(&c, doc)
			}
		}
		ptrs[i] = &c
	}
	bn := planned.IndexBundle(ptrs)
	byKey := map[string]int{}
	for i, ch := range p.Changes {
		byKey[planned.Key(ch.Kind, ch.Names)] = i
	}
	main := make([]*task, len(p.Changes))
	def := make([]*task, len(p.Changes))
	var all []*task
	for i, ch := range p.Changes {
		if ch.Action == plans.OpDelete {
			// Deletions run last, in reverse sync order: a project goes
			// before the lifecycle it used.
			main[i] = &task{ci: i, order: deleteOrder - schema.MustLookup(ch.Kind).Order, done: make(chan struct{})}
			all = append(all, main[i])
			continue
		}
		if ch.Action != plans.OpCreate && ch.Action != plans.OpUpdate {
			continue
		}
		k := schema.MustLookup(ch.Kind)
		if ch.WriteMain {
			main[i] = &task{ci: i, order: k.Order, done: make(chan struct{})}
			all = append(all, main[i])
		}
		if ch.WriteDeferred {
			ord := k.DeferredOrder
			if ord == 0 {
				ord = k.Order
			}
			def[i] = &task{ci: i, deferred: true, order: ord, done: make(chan struct{})}
			all = append(all, def[i])
		}
	}
	// writes reports whether change j will write (or failed in the plan);
	// creates whether it brings a new entity (or failed in the plan).
	creates := func(j int) bool {
		a := p.Changes[j].Action
		return a == plans.OpCreate || a == plans.OpError
	}
	writes := func(j int) bool {
		a := p.Changes[j].Action
		return a == plans.OpCreate || a == plans.OpUpdate || a == plans.OpError
	}
	depTask := func(j int) *task {
		if main[j] != nil {
			return main[j]
		}
		if def[j] != nil {
			return def[j]
		}
		// A change without writes that failed in the plan: a done task.
		t := &task{ci: j, order: -1, done: make(chan struct{}), ran: true}
		close(t.done)
		return t
	}
	// The writes below each top-level entity (a project), for the
	// deletions below it to wait on.
	rootKey := func(c plans.Change) string { return schema.MustLookup(c.Kind).Root().Name + "\x00" + c.Names[0] }
	rootWrites := map[string][]int{}
	for j, o := range p.Changes {
		if o.Action != plans.OpDelete && len(o.Names) > 0 && writes(j) {
			rootWrites[rootKey(o)] = append(rootWrites[rootKey(o)], j)
		}
	}
	// Each change's passes get their dependencies on every core: finding
	// them decodes the change's document, and a pass's dependencies are
	// its own (add changes main[i] and def[i] only).
	parallel.Each(len(p.Changes), func(i int) {
		ch := p.Changes[i]
		if main[i] == nil && def[i] == nil {
			return
		}
		k := schema.MustLookup(ch.Kind)
		add := func(t *task, d *task) {
			if t == nil || d == nil || d == t {
				return
			}
			for _, e := range t.deps {
				if e == d {
					return
				}
			}
			t.deps = append(t.deps, d)
		}
		// The owner.
		if k.Parent != "" {
			ownerNames := ch.Names
			if !k.IsSingleton() && k.Shape != schema.ShapeItems {
				ownerNames = ch.Names[:len(ch.Names)-1]
			}
			if j, ok := byKey[planned.Key(k.Parent, ownerNames)]; ok && creates(j) {
				add(main[i], depTask(j))
				add(def[i], depTask(j))
			}
		}
		add(def[i], main[i])
		if ch.Action == plans.OpDelete {
			// A deletion waits for every write of its project (which may
			// stop referring to the entity) and is skipped if one failed.
			for _, j := range rootWrites[rootKey(ch)] {
				add(main[i], depTask(j))
			}
			return
		}
		// References.
		_ = translate.VisitNames(k, ch.Names, ch.Desired.Value(), func(r translate.NameRef) {
			scope, err := r.Scope()
			if err != nil {
				return
			}
			j, ok := bn.Find(r.To, scope, r.Name)
			if !ok || j == i {
				return
			}
			if (planned.IsVirtual(r.To) && writes(j)) || (!planned.IsVirtual(r.To) && creates(j)) {
				t := main[i]
				if planned.DeferredField(k, r.At) {
					t = def[i]
				}
				add(t, depTask(j))
			}
		})
	})
	return all
}

// fail records a failed pass; retry says whether the failure was
// transient.
func (x *executor) fail(t *task, msg string, retry bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	r := &x.results[t.ci]
	if r.Outcome != plans.OutcomeFailed && r.Outcome != plans.OutcomeSkipped {
		r.Outcome, r.Error, r.Retry = plans.OutcomeFailed, msg, retry
	}
}

// runTask performs one pass unless something it depends on failed.
//
// It reports whether the change's last pass is done, so the caller records
// it in the state.
func (x *executor) runTask(ctx context.Context, t *task) (record bool) {
	ch := x.changes[t.ci]
	x.mu.Lock()
	res := x.results[t.ci]
	var blocked string
	var blockerRetry bool
	for _, d := range t.deps {
		if !d.ran || d.ok {
			continue
		}
		if d.ci == t.ci {
			blocked = "its first pass failed"
			break
		}
		o := x.results[d.ci].Outcome
		blocked = fmt.Sprintf("depends on %s, which %s", x.plan.Changes[d.ci].Label(), map[plans.Outcome]string{plans.OutcomeFailed: "failed", plans.OutcomeSkipped: "was skipped"}[o])
		blockerRetry = x.results[d.ci].Retry
		break
	}
	if blocked != "" && res.Outcome != plans.OutcomeFailed && res.Outcome != plans.OutcomeSkipped {
		x.results[t.ci].Outcome, x.results[t.ci].Error, x.results[t.ci].Retry = plans.OutcomeSkipped, blocked, blockerRetry
	}
	x.mu.Unlock()
	if res.Outcome == plans.OutcomeFailed || res.Outcome == plans.OutcomeSkipped || blocked != "" {
		x.mu.Lock()
		t.ran, t.ok = true, false
		x.mu.Unlock()
		if blocked != "" {
			x.log.Warn("skipped", "entity", ch.Label(), "reason", blocked)
		}
		x.progress()
		return false
	}
	start := time.Now()
	var (
		note string
		err  error
	)
	switch {
	case ch.Action == plans.OpDelete:
		err = x.deleteEntity(ctx, ch)
	case t.deferred:
		err = x.writeDeferred(ctx, ch)
	default:
		note, err = x.writeMain(ctx, ch)
	}
	x.mu.Lock()
	t.ran, t.ok = true, err == nil
	if note != "" {
		x.results[t.ci].Note = note
	}
	done := false
	if err == nil {
		x.pending[t.ci]--
		done = x.pending[t.ci] == 0
	}
	if !done {
		// Only the answer to a change's last pass is recorded: holding
		// the others until then would cost their decoded size.
		delete(x.answers, ch)
	}
	x.mu.Unlock()
	if err != nil {
		x.log.Warn("write failed", "entity", ch.Label(), "deferred", t.deferred, "error", err)
		x.fail(t, err.Error(), octopus.IsTransient(err))
	} else {
		x.log.Info("written", "entity", ch.Label(), "action", ch.Action, "deferred", t.deferred, "duration", time.Since(start).Round(time.Millisecond))
	}
	x.progress()
	return done
}

// recordState records change i in the state (Options.State) once all its
// writes succeeded, or at once when it needs none: the base the next
// merge starts from (the bundle's document as applied) and what the
// destination now holds (bundle form, for drift). A deleted entity, or
// one deleted at the source and gone from the destination, is forgotten.
// Entities in error, left alone, or kept after the source deleted them
// are not recorded (a kept one keeps its old record, so --prune can still
// delete it later).
func (x *executor) recordState(i int) {
	st := x.state
	if st == nil {
		return
	}
	ch := x.changes[i]
	// An answer kept for a change recorded without it (forgotten, or
	// not to be recorded) must not stay held until the run ends.
	defer x.takeAnswer(ch, nil)
	var err error
	switch {
	case ch.Action == plans.OpError || ch.Action == plans.OpLeftAlone || ch.Action == plans.OpKeep:
		return
	case ch.Forget != nil:
		for _, p := range ch.Forget {
			if e := st.Forget(p); e != nil && err == nil {
				err = e
			}
		}
	case ch.Applied.IsZero():
		return
	case ch.Action == plans.OpNoOp && ch.DestSum != nil && recordedAs(st, ch.Path, ch.DestSum):
		// Nothing written and the state already records the destination's
		// form (a replay): only the base may change.
		if !ch.BaseCurrent {
			err = st.Record(ch.Path, ch.Applied, nil)
		}
		err = errors.Join(err, x.recordID(ch))
	default:
		// What the destination holds now, as the server answered the
		// write (the planned document when it cannot be read back). The
		// packed documents go to the state as they are: it encodes them
		// without decoding them first.
		var written any = ch.Desired
		if ch.Desired.IsZero() {
			written = ch.Applied
		}
		if dest := x.snap.Find(ch.Kind, ch.Names...); dest != nil {
			o := translate.Options{Doc: x.takeAnswer(ch, dest)}
			if r, e := translate.ToBundleWith(x.snap, dest, o); e == nil {
				written = r.Doc
			}
		}
		err = errors.Join(st.Record(ch.Path, ch.Applied, written), x.recordID(ch))
	}
	if err != nil {
		x.log.Warn("recording the state", "entity", ch.Label(), "error", err)
		x.mu.Lock()
		if x.stateErr == nil {
			x.stateErr = fmt.Errorf("%s: recording the state: %w", ch.Label(), err)
		}
		x.mu.Unlock()
	}
}

// answer is the server's answer to a change's write, as decoded, and the
// entity it was packed into.
type answer struct {
	e      *snapshot.Entity
	packed jsonv.Doc
	doc    any
}

// keepAnswer keeps doc, the server's answer to a write of ch that was just
// set as e's document, for recordState; it must not be changed afterwards.
func (x *executor) keepAnswer(ch *planned.Change, e *snapshot.Entity, doc map[string]any) {
	if x.state == nil {
		return
	}
	a := answer{e: e, packed: e.Packed(), doc: doc}
	x.mu.Lock()
	if x.answers == nil {
		x.answers = map[*planned.Change]answer{}
	}
	x.answers[ch] = a
	x.mu.Unlock()
}

// takeAnswer returns the answer kept for ch if dest still holds exactly
// it (nil otherwise: the caller decodes dest), and forgets it.
func (x *executor) takeAnswer(ch *planned.Change, dest *snapshot.Entity) any {
	x.mu.Lock()
	a, ok := x.answers[ch]
	delete(x.answers, ch)
	x.mu.Unlock()
	if !ok || a.e != dest || a.packed != dest.Packed() {
		return nil
	}
	return a.doc
}

// recordID records the server ID the entity of change ch has on the
// destination now (after its writes), for the kinds Prune may delete: the
// proof that octobundle wrote it (see Base.IDs).
func (x *executor) recordID(ch *planned.Change) error {
	k := schema.MustLookup(ch.Kind)
	if !planned.Deletable(k) {
		return nil
	}
	dest := x.snap.Find(ch.Kind, ch.Names...)
	if dest == nil || dest.ID == "" {
		return nil
	}
	return x.state.RecordID(ch.Path, dest.ID)
}

func (x *executor) progress() {
	x.mu.Lock()
	x.done++
	d, n := x.done, x.total
	x.mu.Unlock()
	if x.onProgress != nil {
		x.onProgress(d, n)
	}
}

// writeMain writes a change's fields other than the deferred ones: a POST
// for a new entity (a PUT to the singleton the owner's creation made, for
// processes and variable sets), a PUT of the merged document otherwise, a
// POST per new item of a ShapeItems kind. The note says what was written when the
// outcome alone does not.
func (x *executor) writeMain(ctx context.Context, ch *planned.Change) (note string, err error) {
	k := schema.MustLookup(ch.Kind)
	if k.Shape == schema.ShapeBinary {
		return "", x.putBinary(ctx, k, ch)
	}
	desired := ch.Desired.Value()
	if k.Shape != schema.ShapeItems {
		desired = planned.WithoutDeferred(k, desired)
	}
	body, err := x.ids.ToServer(k, ch.Names, desired)
	if err != nil {
		return "", fmt.Errorf("%s: %w", ch.Label(), err)
	}
	switch {
	case k.Shape == schema.ShapeItems:
		return x.createMany(ctx, k, ch, body)
	case k.IsSingleton():
		return "", x.putSingleton(ctx, k, ch, body)
	}
	if dest := x.snap.Find(k.Name, ch.Names...); dest != nil {
		return "", x.put(ctx, k, ch, dest, body)
	}
	return "", x.create(ctx, k, ch, body)
}

// writeDeferred writes a change's deferred fields over the entity as it now
// is on the destination.
func (x *executor) writeDeferred(ctx context.Context, ch *planned.Change) error {
	k := schema.MustLookup(ch.Kind)
	body, err := x.ids.ToServer(k, ch.Names, planned.OnlyDeferred(k, ch.Desired.Value()))
	if err != nil {
		return fmt.Errorf("%s: %w", ch.Label(), err)
	}
	if k.IsSingleton() {
		return x.putSingleton(ctx, k, ch, body)
	}
	dest := x.snap.Find(k.Name, ch.Names...)
	if dest == nil {
		return fmt.Errorf("%s: not on the destination for its second pass (%s)", ch.Label(), strings.Join(k.Deferred, ", "))
	}
	return x.put(ctx, k, ch, dest, body)
}

func (x *executor) markCreated(kind string, names []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.created == nil {
		x.created = map[string]bool{}
	}
	x.created[planned.Key(kind, names)] = true
}

func (x *executor) wasCreated(kind string, names []string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.created[planned.Key(kind, names)]
}

// owner returns the destination entity owning a change's entity.
func (x *executor) owner(k *schema.Kind, ch *planned.Change) (*snapshot.Entity, error) {
	if k.Parent == "" {
		return nil, nil
	}
	names := ch.Names
	if !k.IsSingleton() && k.Shape != schema.ShapeItems {
		names = names[:len(names)-1]
	}
	o := x.snap.Find(k.Parent, names...)
	if o == nil {
		return nil, fmt.Errorf("%s: its %s %q does not exist on the destination", ch.Label(), planned.Title(k.Parent), strings.Join(names, "/"))
	}
	return o, nil
}

func (x *executor) collectionPath(k *schema.Kind) string {
	return x.c.SpacePath(k.Collection, k.ServerLevel)
}

// create POSTs a new entity; on an uncertain outcome the client looks it up
// by name (and owner) before trying again, so no duplicate is made.
func (x *executor) create(ctx context.Context, k *schema.Kind, ch *planned.Change, body any) error {
	owner, err := x.owner(k, ch)
	if err != nil {
		return err
	}
	body, _, err = secrets.Fill(k, ch.Names, body, nil, x.placeholder)
	if err != nil {
		return fmt.Errorf("%s: making placeholders: %w", ch.Label(), err)
	}
	m := body.(map[string]any)
	x.fillStamps(k, m)
	if owner != nil && k.ParentField != "" {
		m[k.ParentField] = owner.ID
	}
	name, _ := m[k.NameField].(string)
	path := x.collectionPath(k)
	find := func(ctx context.Context) (map[string]any, error) {
		q := url.Values{}
		for f, v := range k.Filter {
			q.Set(f, v)
		}
		q.Set("partialName", name)
		items, err := x.c.List(ctx, path, q)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if it[k.NameField] != name {
				continue
			}
			if owner != nil && k.ParentField != "" && it[k.ParentField] != owner.ID {
				continue
			}
			return it, nil
		}
		return nil, nil
	}
	if owner != nil && k.MadeWithParent && x.wasCreated(k.Parent, owner.Names()) {
		// Creating the owner made some children on the server (a new
		// project's Default channel): bring that one in line instead.
		got, err := x.madeWith(ctx, k, owner, name)
		if err != nil {
			return fmt.Errorf("%s: looking for a %s its %s's creation made: %w", ch.Label(), planned.Title(k.Name), planned.Title(k.Parent), err)
		}
		if got != nil {
			id, _ := got["Id"].(string)
			e := snapshot.NewEntity(k, id, name, owner, got)
			x.snap.Add(e)
			delete(m, k.ParentField)
			return x.put(ctx, k, ch, e, m)
		}
	}
	doc, err := x.c.Create(ctx, path, m, find)
	if err != nil {
		return fmt.Errorf("%s: creating: %w", ch.Label(), err)
	}
	x.markCreated(k.Name, ch.Names)
	id, _ := doc["Id"].(string)
	got, _ := doc[k.NameField].(string)
	e := snapshot.NewEntity(k, id, got, owner, doc)
	x.snap.Add(e)
	x.keepAnswer(ch, e, doc)
	return nil
}

// madeList is the list of one owner's entities of one kind, read once:
// on its own (projects/{id}/channels), or taken from its wave's read of
// the kind's whole collection (whole, see readMade).
type madeList struct {
	once  sync.Once
	items []map[string]any
	err   error
	whole *wholeList
}

// madeWith returns the entity of kind k named name that the server made
// with owner (nil if none), listing the owner's entities of that kind once:
// from the wave's read of the whole collection when there is one, else
// under the owner (projects/{id}/channels), one GET per new owner however
// many children it has.
func (x *executor) madeWith(ctx context.Context, k *schema.Kind, owner *snapshot.Entity, name string) (map[string]any, error) {
	key := k.Name + "\x00" + owner.ID
	x.mu.Lock()
	if x.made == nil {
		x.made = map[string]*madeList{}
	}
	l := x.made[key]
	if l == nil {
		l = &madeList{}
		x.made[key] = l
	}
	x.mu.Unlock()
	l.once.Do(func() {
		if l.whole != nil {
			var ok bool
			if l.items, ok = l.whole.take(ctx, x, owner.ID); ok {
				return
			}
		}
		pk := schema.MustLookup(k.Parent)
		path := x.collectionPath(pk) + "/" + url.PathEscape(owner.ID) + "/" + k.Collection
		l.items, l.err = x.c.List(ctx, path, nil)
	})
	if l.err != nil {
		return nil, l.err
	}
	for _, it := range l.items {
		if it[k.NameField] == name && (k.ParentField == "" || it[k.ParentField] == owner.ID) {
			return it, nil
		}
	}
	return nil, nil
}

// put writes body merged over the destination entity dest (keeping its
// IDs, version, links and secrets) and records the server's answer.
func (x *executor) put(ctx context.Context, k *schema.Kind, ch *planned.Change, dest *snapshot.Entity, body any) error {
	path := x.collectionPath(k) + "/" + url.PathEscape(dest.ID)
	doc, err := x.putMerged(ctx, k, ch, path, body, dest.Object())
	if err != nil {
		return err
	}
	x.snap.Replace(dest, doc)
	x.keepAnswer(ch, dest, doc)
	return nil
}

// putMerged PUTs body merged over live to path. A 409 Conflict (the
// document's Version moved: someone else wrote it, or a write of ours whose
// answer was lost was performed after all) is resolved by reading the
// document again and merging over the fresh copy; when that copy already
// holds everything, nothing more is written.
func (x *executor) putMerged(ctx context.Context, k *schema.Kind, ch *planned.Change, path string, body any, live map[string]any) (map[string]any, error) {
	merged, err := x.mergeForWrite(k, ch, body, live)
	if err != nil {
		return nil, err
	}
	doc, err := x.c.Put(ctx, path, merged)
	if err == nil {
		return doc, nil
	}
	if !octopus.IsStatus(err, http.StatusConflict) {
		return nil, fmt.Errorf("%s: updating: %w", ch.Label(), err)
	}
	x.log.Info("conflict: reading the document again", "entity", ch.Label(), "error", err)
	fresh, gerr := x.c.Get(ctx, path)
	if gerr != nil {
		return nil, fmt.Errorf("%s: updating: %w; reading it again: %v", ch.Label(), err, gerr)
	}
	merged, err = x.mergeForWrite(k, ch, body, fresh)
	if err != nil {
		return nil, err
	}
	if bundles.Equal(merged, fresh) {
		return fresh, nil
	}
	doc, err = x.c.Put(ctx, path, merged)
	if err != nil {
		return nil, fmt.Errorf("%s: updating: %w", ch.Label(), err)
	}
	return doc, nil
}

// putSingleton writes a process, variable set or tenant-variables document,
// which the server made with its owner.
func (x *executor) putSingleton(ctx context.Context, k *schema.Kind, ch *planned.Change, body any) error {
	if k.Shape == schema.ShapeParts {
		return x.putParts(ctx, k, ch, body)
	}
	owner, err := x.owner(k, ch)
	if err != nil {
		return err
	}
	rel, err := snapshot.Expand(k.Read, owner.Object())
	if err != nil {
		return fmt.Errorf("%s: %w", ch.Label(), err)
	}
	path := x.c.SpacePath(rel, false)
	dest := x.snap.Find(k.Name, ch.Names...)
	var live map[string]any
	if dest != nil {
		live = dest.Object()
	} else if live = x.takeReadback(ch); live != nil {
		// Read in its wave's list request.
	} else if live, err = x.c.Get(ctx, path); err != nil {
		return fmt.Errorf("%s: reading the destination's copy: %w", ch.Label(), err)
	}
	doc, err := x.putMerged(ctx, k, ch, path, body, live)
	if err != nil {
		return err
	}
	if dest != nil {
		x.snap.Replace(dest, doc)
	} else {
		id, _ := doc["Id"].(string)
		dest = snapshot.NewEntity(k, id, owner.Name, owner, doc)
		x.snap.Add(dest)
	}
	x.keepAnswer(ch, dest, doc)
	return nil
}

// mergeForWrite fills placeholders for new secrets, merges body over the
// destination's live document and checks that no existing secret or
// variable would be lost.
func (x *executor) mergeForWrite(k *schema.Kind, ch *planned.Change, body any, live map[string]any) (map[string]any, error) {
	var unscoped []any
	if scopes.HasScopedValues(k) {
		// Scope entries naming nothing go, as they went from what the
		// plan read; a value left with none is dropped or unscoped as
		// decided (see apply/internal/scopes).
		root := ""
		if e := x.snap.Find(k.Name, ch.Names...); e != nil {
			root = e.Root().ID
		}
		if alive := scopes.SnapAlive(x.snap); scopes.AnyDangling(k, live, root, alive) {
			live = schema.DeepCopy(live).(map[string]any)
			_, unscoped = scopes.CleanDangling(k, live, root, alive, x.onLostScope)
		}
	}
	body, _, err := secrets.Fill(k, ch.Names, body, live, x.placeholder)
	if err != nil {
		return nil, fmt.Errorf("%s: making placeholders: %w", ch.Label(), err)
	}
	merged, _ := writemerge.Doc(k, ch.Renames, body, live).(map[string]any)
	if merged == nil {
		return nil, fmt.Errorf("%s: the document to write is not an object", ch.Label())
	}
	scopes.KeepUnscoped(k, merged, unscoped)
	x.fillStamps(k, merged)
	if bm, ok := body.(map[string]any); ok {
		keepBodyMaps(k, ch, bm, merged)
		// Keys removed by the merge (deleted at the source), in the fields
		// this write sends.
		var paths []string
		for _, p := range ch.RemoveKeys {
			if at := writemerge.ParsePointer(p); len(at) > 0 {
				if _, sent := bm[at[0]]; sent {
					paths = append(paths, p)
				}
			}
		}
		writemerge.DeleteKeys(merged, paths)
	}
	pruned, err := x.prunedVariables(k, ch)
	if err != nil {
		return nil, err
	}
	if err := checkNothingLost(live, merged, pruned); err != nil {
		return nil, fmt.Errorf("%s: refusing to write: %w", ch.Label(), err)
	}
	return merged, nil
}

// checkNothingLost guards the sensitive-variable trap: a variable-set PUT
// replaces the whole set, and a sensitive variable sent without its Id
// loses its secret. Every variable of the destination must be in the body
// with its Id (nothing is deleted) unless its identity is in pruned (the
// variables a --prune plan removes), and a sensitive one with its value
// left unset.
func checkNothingLost(live, body map[string]any, pruned map[string]bool) error {
	lv, ok := live["Variables"].([]any)
	if !ok {
		return nil
	}
	bv, _ := body["Variables"].([]any)
	sent := map[string]map[string]any{}
	for _, v := range bv {
		if m, ok := v.(map[string]any); ok {
			if id, _ := m["Id"].(string); id != "" {
				sent[id] = m
			}
		}
	}
	for _, v := range lv {
		m, _ := v.(map[string]any)
		id, _ := m["Id"].(string)
		if id == "" {
			continue
		}
		got, ok := sent[id]
		name, _ := m["Name"].(string)
		if !ok {
			if key, named := bundles.Identity(m); named && pruned[key] {
				continue
			}
			return fmt.Errorf("the destination variable %q (%s) would be removed", name, id)
		}
		if sens, _ := schema.SensitiveFlag(m); sens {
			if s, _ := schema.SensitiveFlag(got); !s {
				return fmt.Errorf("the sensitive destination variable %q (%s) would lose its secret", name, id)
			}
			if v, isStr := got["Value"].(string); isStr && v != "" {
				return fmt.Errorf("the sensitive destination variable %q (%s) would be overwritten", name, id)
			}
		}
	}
	return nil
}

// createMany creates the new items of a ShapeItems kind (the user roles a team
// does not have yet; see items.go) one by one, each looked up before a retry
// after an uncertain outcome. The items created stay when a later one fails:
// the next run sees them on the destination and creates only the rest. The
// note names the roles given.
func (x *executor) createMany(ctx context.Context, k *schema.Kind, ch *planned.Change, body any) (string, error) {
	owner, err := x.owner(k, ch)
	if err != nil {
		return "", err
	}
	items, _ := body.([]any)
	named, _ := ch.Desired.Value().([]any) // bundle form, for messages
	path := x.collectionPath(k)
	var created, done []any
	note := func() string {
		if len(done) == 0 {
			return ""
		}
		return fmt.Sprintf("gave the team %s", planned.ItemLabels(done))
	}
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return note(), fmt.Errorf("%s: an item is not an object", ch.Label())
		}
		what := planned.Title(k.Name)
		if i < len(named) {
			what = fmt.Sprintf("%s %s", what, planned.ItemLabels(named[i:i+1]))
		}
		m[k.ParentField] = owner.ID
		if !k.ServerLevel {
			m["SpaceId"] = x.c.SpaceID
		}
		want := m
		find := func(ctx context.Context) (map[string]any, error) {
			all, err := x.c.List(ctx, path, nil)
			if err != nil {
				return nil, err
			}
			for _, got := range all {
				if sameItem(k, want, got) {
					return got, nil
				}
			}
			return nil, nil
		}
		doc, err := x.c.Create(ctx, path, m, find)
		if err != nil {
			err = fmt.Errorf("%s: creating %s: %w", ch.Label(), what, err)
			if len(done) > 0 {
				if octopus.IsTransient(err) {
					err = fmt.Errorf("%w (%s before the failure; run apply again to create the rest)", err, note())
				} else {
					err = fmt.Errorf("%w (%s before the failure)", err, note())
				}
			}
			x.addItems(k, owner, created)
			return note(), err
		}
		created = append(created, doc)
		if i < len(named) {
			done = append(done, named[i])
		}
	}
	x.addItems(k, owner, created)
	return note(), nil
}

// addItems records items created for owner in the snapshot.
func (x *executor) addItems(k *schema.Kind, owner *snapshot.Entity, created []any) {
	if len(created) == 0 {
		return
	}
	for _, e := range x.snap.Children(owner, k.Name) {
		prev, _ := e.Doc().([]any) // a fresh copy
		x.snap.Replace(e, append(prev, created...))
		return
	}
	x.snap.Add(snapshot.NewEntity(k, "", "", owner, created))
}

// sameItem reports whether got (from the server) is the item want (as sent):
// every field sent has the same value, sets compared sorted.
func sameItem(k *schema.Kind, want, got map[string]any) bool {
	w, g := []any{schema.DeepCopy(want)}, []any{schema.DeepCopy(got)}
	_ = k.SortSets(w)
	_ = k.SortSets(g)
	wm, gm := w[0].(map[string]any), g[0].(map[string]any)
	for f, v := range wm {
		if !bundles.Equal(v, gm[f]) {
			return false
		}
	}
	return true
}

// fillStamps fills the stamp fields the registry declares (schema.Stamp) that
// doc (server form, IDs) lacks, from the referred-to destination entity: a
// new action based on a step template gets the destination template's
// current Version; an existing one keeps the version merged from the live
// document.
func (x *executor) fillStamps(k *schema.Kind, doc any) {
	// The stamp always takes the referred-to entity's current value: a
	// step based on a step template references the destination template's
	// version as it is now, after the template was synced.
	// Each template is decoded once per document, not per step using it.
	objs := map[*snapshot.Entity]map[string]any{}
	_ = k.Stamp(doc, func(ref schema.Ref, holder map[string]any, id string) {
		name, ok := x.snap.Index.Name(ref.To, "", id)
		if !ok {
			return
		}
		if e := x.snap.Find(ref.To, name); e != nil {
			obj, seen := objs[e]
			if !seen {
				obj = e.Object()
				objs[e] = obj
			}
			if v, ok := obj[ref.Stamp.From]; ok && v != nil {
				holder[ref.Stamp.Field] = fmt.Sprint(v)
			}
		}
	})
}
