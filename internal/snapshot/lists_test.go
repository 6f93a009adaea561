package snapshot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/tools/gen"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/tools/octosim/simtest"
	"github.com/octobundle/octobundle/translate"
)

// listBatch is the batch size the tests read with: small, so a generated
// instance of tens of projects needs several list requests per kind.
const listBatch = 7

// listed are the kinds read in list requests by the IDs of their owners'
// singletons.
func listed() []*schema.Kind {
	var out []*schema.Kind
	for _, k := range schema.Kinds() {
		if k.ReadAll != "" && k.ReadAllBy != "" {
			out = append(out, k)
		}
	}
	return out
}

// genSim serves a generated instance of n projects (version as the seed's
// when empty) and connects to it: gen.Scale(n)'s shape, every kind and
// owner in it, but 2 steps and 6 variables a project instead of 12 and 60
// (the tests count requests per owner and compare documents; the big
// documents cost 25 of make test's CPU-seconds, issue 23).
func genSim(t *testing.T, n int, version string) (*octosim.Server, *octopus.Client) {
	t.Helper()
	o := gen.Scale(n)
	o.StepsPerProject, o.VariablesPerProject = 2, 6
	sim, base := simtest.Start(t, octosim.Options{Seed: gen.Generate(o), ServerVersion: version})
	c, err := octopus.Connect(context.Background(), octopus.Config{URL: base, APIKey: sim.APIKey()})
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

// listPath is the counters' key of a kind's list request.
func listPath(c *octopus.Client, k *schema.Kind) string {
	return "GET " + octosim.NormalizePath(c.SpacePath(k.ReadAll, false))
}

// ownerPath is the counters' key of the per-owner read of e's kind.
func ownerPath(t *testing.T, c *octopus.Client, e *snapshot.Entity) string {
	t.Helper()
	p, err := snapshot.Expand(e.Kind.Read, e.Owner.Object())
	if err != nil {
		t.Fatal(err)
	}
	return "GET " + octosim.NormalizePath(c.SpacePath(p, false))
}

// TestReadInLists reads a generated instance and checks, per kind with a
// list form, that its singletons came in list requests — one per batch of
// owners, none per owner — and that every owner has its singleton.
func TestReadInLists(t *testing.T) {
	sim, c := genSim(t, 40, "")
	s, err := snapshot.Read(context.Background(), c, snapshot.Options{ListBatch: listBatch})
	if err != nil {
		t.Fatal(err)
	}
	counts := sim.Counters()
	perPath := map[string]int{} // requests per owner path, summed over the kinds sharing it
	wantList := map[string]int{}
	for _, k := range listed() {
		owners := s.Entities(k.Parent)
		got := s.Entities(k.Name)
		if len(owners) == 0 || len(got) != len(owners) {
			t.Fatalf("%s: %d entities for %d owners", k.Name, len(got), len(owners))
		}
		wantList[listPath(c, k)] += (len(owners) + listBatch - 1) / listBatch
		perPath[ownerPath(t, c, got[0])] = 0
	}
	for path, want := range wantList {
		if got := counts[path]; got != want {
			t.Errorf("%s: %d requests, want %d (one per %d owners)", path, got, want, listBatch)
		}
	}
	for path := range perPath {
		if got := counts[path]; got != 0 {
			t.Errorf("%s: %d requests, want none (read in lists)", path, got)
		}
	}
}

// TestReadListFallback has every list form of the kinds read by IDs
// answer 404, as a server without them would: each singleton is then read
// per owner, and the snapshot is the one read in lists — same entities,
// same documents.
func TestReadListFallback(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version string
	}{
		{"legacy tenant variables", "2024.4.6000"},
		{"tenant variables in parts", "2025.4.1200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, c := genSim(t, 30, tc.version)
			lists, err := snapshot.Read(context.Background(), c, snapshot.Options{ListBatch: listBatch})
			if err != nil {
				t.Fatal(err)
			}
			before := sim.Counters()
			for _, k := range schema.Kinds() {
				if k.ReadAll != "" {
					sim.AddFaultRule(octosim.FaultRule{Method: http.MethodGet, Path: c.SpacePath(k.ReadAll, false), Times: -1, Status: http.StatusNotFound})
				}
			}
			each, err := snapshot.Read(context.Background(), c, snapshot.Options{ListBatch: listBatch})
			if err != nil {
				t.Fatal(err)
			}
			counts := sim.Counters()
			want := map[string]int{}
			for _, k := range listed() {
				for _, e := range each.Entities(k.Name) {
					want[ownerPath(t, c, e)]++
				}
			}
			for path, n := range want {
				if got := counts[path] - before[path]; got != n {
					t.Errorf("%s: %d requests, want %d (one per owner)", path, got, n)
				}
			}
			sameSnapshots(t, lists, each)
		})
	}
}

// TestReadOwned reads the singletons of some owners of every kind read
// per owner through Snapshot.ReadOwned, as apply does after creating
// them, and gets what Read got, in list requests where the kind has them.
func TestReadOwned(t *testing.T) {
	sim, c := genSim(t, 20, "")
	s, err := snapshot.Read(context.Background(), c, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const batch = 8
	for _, k := range schema.Kinds() {
		if k.Read == "" {
			continue
		}
		t.Run(k.Name, func(t *testing.T) {
			owners := s.Entities(k.Parent)
			if len(owners) > 9 {
				owners = owners[:9]
			}
			before := sim.Counters()
			got, err := s.ReadOwned(context.Background(), c, k, owners, snapshot.Options{ListBatch: batch})
			if err != nil {
				t.Fatal(err)
			}
			after := sim.Counters()
			for _, o := range owners {
				var want *snapshot.Entity
				if w := s.Children(o, k.Name); len(w) == 1 {
					want = w[0]
				}
				e := got[o]
				if (e == nil) != (want == nil) {
					t.Fatalf("%s: read %v, Read has %v", o.Label(), e, want)
				}
				if e != nil {
					if e.Owner != o || e.Name != o.Name {
						t.Errorf("%s: owner %v, name %q", o.Label(), e.Owner, e.Name)
					}
					sameEntity(t, s, want, s, e)
				}
			}
			path := listPath(c, k)
			n := after[path] - before[path]
			switch {
			case k.ReadAll == "" || s.Parts[k.Name]:
			case k.ReadAllIDs:
				if want := (len(owners) + batch - 1) / batch; n != want {
					t.Errorf("%s: %d list requests for %d owners, want %d", path, n, len(owners), want)
				}
			case k.ReadAllPaged:
				// The whole space's list, as far as the owners are found,
				// when it has fewer pages than there are owners.
				most := (len(s.Entities(k.Parent)) + batch - 1) / batch
				if most >= len(owners) {
					t.Fatalf("%d pages for %d owners: the test reads nothing in lists", most, len(owners))
				}
				if n < 1 || n > most {
					t.Errorf("%s: %d pages of %d for %d owners, want 1 to %d", path, n, batch, len(owners), most)
				}
			}
		})
	}
}

// sameSnapshots checks that two reads of one space hold the same
// entities, in the same order, with the same documents.
func sameSnapshots(t *testing.T, a, b *snapshot.Snapshot) {
	t.Helper()
	for _, k := range schema.Kinds() {
		ea, eb := a.Entities(k.Name), b.Entities(k.Name)
		if len(ea) != len(eb) {
			t.Errorf("%s: %d entities against %d", k.Name, len(ea), len(eb))
			continue
		}
		for i := range ea {
			sameEntity(t, a, ea[i], b, eb[i])
		}
	}
}

// sameEntity checks that two entities read from one server are the same:
// label, ID, and document — as the server sent it, but for top-level
// fields the kind's bundle drops (a variable set's ScopeValues, which a
// list item may lack), and as a bundle holds it.
func sameEntity(t *testing.T, sa *snapshot.Snapshot, a *snapshot.Entity, sb *snapshot.Snapshot, b *snapshot.Entity) {
	t.Helper()
	if a.Label() != b.Label() || a.ID != b.ID {
		t.Errorf("%s (%s) against %s (%s)", a.Label(), a.ID, b.Label(), b.ID)
		return
	}
	if a.Kind.Shape == schema.ShapeBinary {
		if string(a.Bytes()) != string(b.Bytes()) {
			t.Errorf("%s: the files differ", a.Label())
		}
		return
	}
	da, db := a.Doc(), b.Doc()
	if ma, ok := da.(map[string]any); ok {
		mb, _ := db.(map[string]any)
		for _, v := range a.Kind.Volatile {
			if !strings.Contains(v, "/") {
				delete(ma, v)
				delete(mb, v)
			}
		}
	}
	if !bundles.Equal(da, db) {
		ja, _ := bundles.Canonical(da)
		jb, _ := bundles.Canonical(db)
		t.Errorf("%s: the documents differ:\n%.600s\n%.600s", a.Label(), ja, jb)
	}
	ba, err := translate.ToBundle(sa, a)
	if err != nil {
		t.Fatalf("%s: %v", a.Label(), err)
	}
	bb, err := translate.ToBundle(sb, b)
	if err != nil {
		t.Fatalf("%s: %v", b.Label(), err)
	}
	if !bundles.Equal(ba, bb) {
		t.Errorf("%s: the bundle forms differ", a.Label())
	}
}

// TestReadOwnedFewOwners: a kind whose list takes no ids is read through
// the whole space's list only when that list has fewer pages than there
// are owners; for fewer owners each is read on its own.
func TestReadOwnedFewOwners(t *testing.T) {
	sim, c := genSim(t, 20, "")
	s, err := snapshot.Read(context.Background(), c, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range schema.Kinds() {
		if k.ReadAll == "" || k.ReadAllIDs || !k.ReadAllPaged {
			continue
		}
		t.Run(k.Name, func(t *testing.T) {
			const batch = 8
			pages := (len(s.Entities(k.Parent)) + batch - 1) / batch
			for _, n := range []int{1, pages, pages + 1} {
				owners := s.Entities(k.Parent)[:n]
				before := sim.Counters()
				got, err := s.ReadOwned(context.Background(), c, k, owners, snapshot.Options{ListBatch: batch})
				if err != nil {
					t.Fatal(err)
				}
				after := sim.Counters()
				if len(got) != n {
					t.Fatalf("%d owners: read %d", n, len(got))
				}
				lists := after[listPath(c, k)] - before[listPath(c, k)]
				var own int
				for key, v := range after {
					if strings.HasPrefix(key, listPath(c, k)+"/") {
						own += v - before[key]
					}
				}
				if n <= pages && (lists != 0 || own != n) {
					t.Errorf("%d owners, %d pages: %d list requests and %d on their own, want 0 and %d", n, pages, lists, own, n)
				}
				if n > pages && (lists == 0 || lists > pages || own != 0) {
					t.Errorf("%d owners, %d pages: %d list requests and %d on their own, want 1 to %d and 0", n, pages, lists, own, pages)
				}
			}
		})
	}
}

// TestReadOverlapsLists reads a generated instance with 10 ms latency per
// request, in fewer list requests than Concurrency, and checks from the
// simulator's request lines that the per-owner reads of kinds without a
// list form (deployment settings, logos, tenant parts) start in the free
// slots while the list requests are in flight, not after the last one is
// answered, and that never more requests than Concurrency are in flight,
// although a task gives back its slot as soon as it is answered.
func TestReadOverlapsLists(t *testing.T) {
	var lines bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&lines, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o := gen.Scale(40)
	o.StepsPerProject, o.VariablesPerProject = 2, 6
	sim, base := simtest.Start(t, octosim.Options{Seed: gen.Generate(o), Logger: log})
	c, err := octopus.Connect(context.Background(), octopus.Config{URL: base, APIKey: sim.APIKey()})
	if err != nil {
		t.Fatal(err)
	}
	sim.SetFaults(octosim.Faults{Latency: 10 * time.Millisecond})
	sim.ResetCounters()
	lines.Reset()
	const concurrency = 8
	if _, err := snapshot.Read(context.Background(), c, snapshot.Options{ListBatch: snapshot.ListBatch, Concurrency: concurrency}); err != nil {
		t.Fatal(err)
	}
	if most := sim.Occupancy().Max; most > concurrency {
		t.Errorf("%d requests in flight at once, concurrency %d", most, concurrency)
	}
	lists := map[string]bool{}
	owners := map[string]bool{}
	for _, k := range schema.Kinds() {
		switch {
		case k.ReadAll != "":
			lists["GET "+octosim.NormalizePath(c.SpacePath(k.ReadAll, false))] = true
		case k.Read != "":
			owners[k.Name] = true
		}
	}
	var lastList, firstOwner time.Time
	var nLists, nOwners int
	var lastPath, firstPath string
	for _, l := range strings.Split(strings.TrimSpace(lines.String()), "\n") {
		var r struct {
			Time     time.Time
			Msg      string
			Method   string
			Path     string
			Duration time.Duration
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("request line %q: %v", l, err)
		}
		if r.Msg != "request" {
			continue
		}
		path := r.Method + " " + octosim.NormalizePath(r.Path)
		switch {
		case lists[path]:
			nLists++
			if r.Time.After(lastList) {
				lastList, lastPath = r.Time, path
			}
		case strings.HasSuffix(path, "/deploymentsettings") || strings.HasSuffix(path, "/logo") || strings.HasSuffix(path, "variables") && strings.Contains(path, "/tenants/"):
			nOwners++
			if start := r.Time.Add(-r.Duration); firstOwner.IsZero() || start.Before(firstOwner) {
				firstOwner, firstPath = start, path
			}
		}
	}
	if nLists == 0 || nLists >= concurrency || nOwners < concurrency {
		t.Fatalf("%d list requests, %d per-owner reads: the test needs some list requests, fewer than %d, and more reads", nLists, nOwners, concurrency)
	}
	if !firstOwner.Before(lastList) {
		t.Errorf("the first per-owner read (%s) started %v after the last list request (%s) was answered: they do not overlap", firstPath, firstOwner.Sub(lastList), lastPath)
	}
}
