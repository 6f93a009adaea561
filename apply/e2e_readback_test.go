package apply

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/tools/gen"
	"github.com/octobundle/octobundle/tools/octosim"
)

// statusSim is a simulator behind a handler that can act before a
// request reaches it (before); the answers are counted by the simulator
// itself (Counters, ErrorResponses).
type statusSim struct {
	*sim
	mu     sync.Mutex
	before func(r *http.Request)
}

func startStatusSim(t *testing.T, opts octosim.Options) *statusSim {
	t.Helper()
	srv, err := octosim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	s := &statusSim{}
	h := srv.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		before := s.before
		s.mu.Unlock()
		if before != nil {
			before(r)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	s.sim = &sim{srv: srv, url: ts.URL, c: connect(t, srv, ts.URL)}
	return s
}

// count returns how many answers to method on the normalized path had
// status: 0 any, http.StatusOK the ones that were not errors.
func (s *statusSim) count(status int, method, path string) int {
	key := method + " " + path
	errs := s.srv.ErrorResponses()
	switch status {
	case 0:
		return s.srv.Counters()[key]
	case http.StatusOK:
		n := s.srv.Counters()[key]
		for k, v := range errs {
			if _, rest, _ := strings.Cut(k, " "); rest == key {
				n -= v
			}
		}
		return n
	}
	return errs[fmt.Sprint(status)+" "+key]
}

// conflicts returns the 409 answers by method and path.
func (s *statusSim) conflicts() map[string]int {
	out := map[string]int{}
	for k, v := range s.srv.ErrorResponses() {
		if rest, ok := strings.CutPrefix(k, "409 "); ok {
			out[rest] += v
		}
	}
	return out
}

// TestApplyReadsNewSingletonsInLists applies a generated instance to an
// empty destination and checks, with the destination's own answers, that
// the singletons the new owners brought (processes, variable sets) were
// read in list requests rather than one GET each before their PUT, that
// no write of apply's conflicted with another of its own (no 409), and
// that a replay writes nothing (no PUT wiped a field). Six projects (12
// until issue 23) bring 18 singletons of three kinds: one GET or one list
// request each would be 18 requests, well past the 6 allowed.
func TestApplyReadsNewSingletonsInLists(t *testing.T) {
	const projects = 6
	src := startSim(t, "", octosim.Options{Seed: gen.Generate(gen.Scale(projects))})
	b := exportBundle(t, src, false)
	for _, tc := range []struct {
		name        string
		concurrency int
	}{{"one at a time", 1}, {"concurrent", 8}} {
		t.Run(tc.name, func(t *testing.T) {
			dst := startStatusSim(t, octosim.Options{IDOffset: 100000})
			_, r, err := Apply(context.Background(), dst.c, b, Options{Concurrency: tc.concurrency})
			if err != nil || r.Status() != plans.Succeeded {
				t.Fatalf("apply: %v %v", err, r.Summary)
			}
			if c := dst.conflicts(); len(c) > 0 {
				t.Errorf("apply conflicted with itself: %v", c)
			}
			for _, p := range []string{"/api/{id}/deploymentprocesses/{id}", "/api/{id}/runbookProcesses/{id}", "/api/{id}/variables/{id}"} {
				if n := dst.count(0, http.MethodGet, p); n > 0 {
					t.Errorf("GET %s: %d requests, want none (read in list requests)", p, n)
				}
				if n := dst.count(http.StatusOK, http.MethodPut, p); n == 0 {
					t.Errorf("PUT %s: none", p)
				}
			}
			lists := 0
			for _, p := range []string{"/api/{id}/deploymentprocesses", "/api/{id}/runbookProcesses", "/api/{id}/variables", "/api/{id}/variables/all"} {
				lists += dst.count(http.StatusOK, http.MethodGet, p)
			}
			if lists == 0 || lists > 6 {
				t.Errorf("%d list requests for %d projects' singletons, want 1 to 6", lists, projects)
			}
			dst.srv.ResetCounters()
			if _, r, err := Apply(context.Background(), dst.c, b, Options{Concurrency: tc.concurrency}); err != nil || r.Status() != plans.Succeeded || dst.srv.Writes() != 0 {
				t.Fatalf("replay: %v %v, %d writes", err, r.Summary, dst.srv.Writes())
			}
		})
	}
}

// TestApplyAdoptsMadeChannelsFromOneList applies a generated instance to
// an empty destination: each new project comes with a Default channel the
// server made, which apply must find and bring in line rather than create
// a second one. It finds them in one read of the space's channels
// (pages of octopus.PageSize), not one list per project; when that read
// fails, it lists each project's channels instead. Either way every
// project ends with the source's channels, and a replay writes nothing.
func TestApplyAdoptsMadeChannelsFromOneList(t *testing.T) {
	const projects = 6
	src := startSim(t, "", octosim.Options{Seed: gen.Generate(gen.Scale(projects))})
	b := exportBundle(t, src, false)
	for _, tc := range []struct {
		name      string
		fail      bool // the read of the whole collection answers 400
		perOwner  int  // GET projects/{id}/channels
		wholeMost int  // GET channels, after the destination's read
	}{
		{name: "one read of the space's channels", perOwner: 0, wholeMost: 1},
		{name: "that read fails", fail: true, perOwner: projects, wholeMost: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := startStatusSim(t, octosim.Options{IDOffset: 100000})
			rule := -1
			if tc.fail {
				// The destination's read before the plan goes through.
				rule = dst.srv.AddFaultRule(octosim.FaultRule{Method: http.MethodGet, Path: "/api/Spaces-1/channels", Skip: 1, Times: -1, Status: http.StatusBadRequest})
			}
			_, r, err := Apply(context.Background(), dst.c, b, Options{Concurrency: 8})
			if err != nil || r.Status() != plans.Succeeded {
				t.Fatalf("apply: %v %v", err, r.Summary)
			}
			if n := dst.count(0, http.MethodGet, "/api/{id}/projects/{id}/channels"); n != tc.perOwner {
				t.Errorf("GET projects/{id}/channels: %d requests, want %d", n, tc.perOwner)
			}
			if n := dst.count(0, http.MethodGet, "/api/{id}/channels") - 1; n < 1 || n > tc.wholeMost {
				t.Errorf("GET channels: %d requests after the destination's read, want 1 to %d", n, tc.wholeMost)
			}
			want := projectChannels(t, src)
			if len(want) != projects {
				t.Fatalf("the source has %d projects, want %d", len(want), projects)
			}
			if got := projectChannels(t, dst.sim); !maps.Equal(got, want) {
				t.Errorf("channels by project %v, want the source's %v", got, want)
			}
			if rule >= 0 {
				dst.srv.RemoveFaultRule(rule)
			}
			dst.srv.ResetCounters()
			if _, r, err := Apply(context.Background(), dst.c, b, Options{Concurrency: 8}); err != nil {
				t.Fatalf("replay: %v", err)
			} else if r.Status() != plans.Succeeded || dst.srv.Writes() != 0 {
				t.Fatalf("replay: %v, %d writes", r.Summary, dst.srv.Writes())
			}
		})
	}
}

// projectChannels returns each project's channel names, sorted and joined.
func projectChannels(t *testing.T, s *sim) map[string]string {
	t.Helper()
	ctx := context.Background()
	ps, err := s.c.List(ctx, s.c.SpacePath("projects", false), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range ps {
		chs, err := s.c.List(ctx, s.c.SpacePath("projects/"+p["Id"].(string)+"/channels", false), nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, ch := range chs {
			names = append(names, ch["Name"].(string))
		}
		slices.Sort(names)
		out[p["Name"].(string)] = strings.Join(names, ",")
	}
	return out
}

// TestApplyConflictWithAnotherWriter has a person add a step to a
// deployment process between apply's read of it (in a list request) and
// apply's PUT: the PUT answers 409 (the Version moved), apply reads the
// process again, merges over it and writes once more: the conflict is
// detected and resolved as before the list reads, by putMerged.
func TestApplyConflictWithAnotherWriter(t *testing.T) {
	src := startSim(t, "", octosim.Options{Seed: gen.Generate(gen.Scale(3))})
	b := exportBundle(t, src, false)
	dst := startStatusSim(t, octosim.Options{IDOffset: 100000})
	h := dst.srv.Handler()
	call := func(method, path string, body any) map[string]any {
		var rd *bytes.Reader
		if body != nil {
			data, _ := json.Marshal(body)
			rd = bytes.NewReader(data)
		} else {
			rd = bytes.NewReader(nil)
		}
		req := httptest.NewRequest(method, path, rd)
		req.Header.Set("X-Octopus-ApiKey", dst.srv.APIKey())
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Errorf("the person's %s %s: %d %s", method, path, rec.Code, rec.Body)
			return nil
		}
		var m map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &m)
		return m
	}
	var once sync.Once
	var edited string
	dst.before = func(r *http.Request) {
		if r.Method != http.MethodPut || octosim.NormalizePath(r.URL.Path) != "/api/{id}/deploymentprocesses/{id}" {
			return
		}
		once.Do(func() {
			edited = r.URL.Path
			doc := call(http.MethodGet, r.URL.Path, nil)
			doc["Steps"] = append(doc["Steps"].([]any), map[string]any{
				"Name": "Approve by hand", "Condition": "Success", "StartTrigger": "StartAfterPrevious", "PackageRequirement": "LetOctopusDecide",
				"Properties": map[string]any{}, "Actions": []any{map[string]any{
					"Name": "Approve by hand", "ActionType": "Octopus.Manual", "Properties": map[string]any{"Octopus.Action.Manual.Instructions": "look"},
				}},
			})
			call(http.MethodPut, r.URL.Path, doc)
		})
	}
	_, r, err := Apply(context.Background(), dst.c, b, Options{Concurrency: 4})
	if err != nil || r.Status() != plans.Succeeded {
		t.Fatalf("apply: %v %v", err, r.Summary)
	}
	if got := dst.conflicts(); got["PUT /api/{id}/deploymentprocesses/{id}"] != 1 || len(got) != 1 {
		t.Errorf("409 answers %v, want one, to the process PUT the person raced", got)
	}
	// The simulator counts every request it serves: the person's GET
	// (before their PUT) and apply's one read after the conflict.
	if n := dst.count(http.StatusOK, http.MethodGet, "/api/{id}/deploymentprocesses/{id}"); n != 2 {
		t.Errorf("%d reads of a process on its own, want 2 (the person's, and apply's after the conflict)", n)
	}
	// The write merge lays the planned step list over the person's: the
	// plan, made before the person's step existed, decided the list.
	doc := call(http.MethodGet, edited, nil)
	if n := len(doc["Steps"].([]any)); n != 12 {
		t.Errorf("the process after apply has %d steps, want the bundle's 12", n)
	}
	if v := doc["Version"].(float64); v != 2 {
		t.Errorf("the process is at version %v, want 2 (the person's write and apply's)", v)
	}
	dst.srv.ResetCounters()
	if _, r, err := Apply(context.Background(), dst.c, b, Options{Concurrency: 4}); err != nil || r.Status() != plans.Succeeded || dst.srv.Writes() != 0 {
		t.Fatalf("replay: %v %v, %d writes", err, r.Summary, dst.srv.Writes())
	}
}
