package octosim

import (
	"encoding/json"
	"maps"
	"net/http"
	"testing"
	"time"
)

// TestCountersRoute: the counters route serves what Requests, Writes and
// Counters report, is itself neither counted nor faulted, resets on
// DELETE, and needs the API key.
func TestCountersRoute(t *testing.T) {
	f := newFixture(t, Options{})
	f.sim.ResetCounters() // the client's own requests at start-up
	if r := f.raw(http.MethodPost, "/api/Spaces-1/environments", testKey, map[string]any{"Name": "Dev"}); r.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", r.status, r.body)
	}
	if r := f.raw(http.MethodGet, "/api/Spaces-1/environments", testKey, nil); r.status != http.StatusOK {
		t.Fatalf("GET: %d %s", r.status, r.body)
	}
	f.sim.AddFaultRule(FaultRule{PathPrefix: "/", Status: http.StatusServiceUnavailable, Times: -1})
	defer f.sim.ClearFaults()

	for _, c := range []struct {
		name, method, key string
		status            int
		requests, writes  int
	}{
		{"no key", http.MethodGet, "", http.StatusUnauthorized, 0, 0},
		{"wrong key", http.MethodGet, "API-WRONG", http.StatusUnauthorized, 0, 0},
		{"read", http.MethodGet, testKey, http.StatusOK, 2, 1},
		{"read again: reads are not counted", http.MethodGet, testKey, http.StatusOK, 2, 1},
		{"other methods", http.MethodPost, testKey, http.StatusMethodNotAllowed, 0, 0},
		{"reset", http.MethodDelete, testKey, http.StatusNoContent, 0, 0},
		{"read after the reset", http.MethodGet, testKey, http.StatusOK, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := f.raw(c.method, CountersPath, c.key, nil)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if c.status != http.StatusOK {
				return
			}
			var rep CountersReport
			if err := json.Unmarshal(r.body, &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Requests != c.requests || rep.Writes != c.writes || len(rep.Counters) != c.requests {
				t.Errorf("report %+v, want %d requests, %d writes", rep, c.requests, c.writes)
			}
			if rep.Requests != f.sim.Requests() || rep.Writes != f.sim.Writes() {
				t.Errorf("report %+v, server %d requests, %d writes", rep, f.sim.Requests(), f.sim.Writes())
			}
		})
	}
}

// TestStatusCounters: the server counts its own answers by status, and
// its error answers by status, method and path; injected faults (a 503
// and a 409 from rules) are not among them, so a 409 counted here is one
// the client caused. The counters route serves the same, and a reset
// clears them.
func TestStatusCounters(t *testing.T) {
	f := newFixture(t, Options{})
	lc := str(f.get(sp1("lifecycles"))["Items"].([]any)[0].(map[string]any)["Id"])
	pg := str(f.get(sp1("projectgroups"))["Items"].([]any)[0].(map[string]any)["Id"])
	f.sim.ResetCounters()
	p := f.post(sp1("projects"), map[string]any{"Name": "P", "LifecycleId": lc, "ProjectGroupId": pg})
	process := sp1("deploymentprocesses/" + str(p["DeploymentProcessId"]))
	for _, c := range []struct {
		name, method, path string
		body               any
		fault              int // a rule injecting this status first
		status             int
	}{
		{"read", http.MethodGet, process, nil, 0, http.StatusOK},
		{"missing", http.MethodGet, sp1("projects/Projects-999"), nil, 0, http.StatusNotFound},
		{"first PUT", http.MethodPut, process, map[string]any{"Version": 0, "Steps": []any{}}, 0, http.StatusOK},
		{"stale PUT", http.MethodPut, process, map[string]any{"Version": 0, "Steps": []any{}}, 0, http.StatusConflict},
		{"injected 503", http.MethodGet, process, nil, http.StatusServiceUnavailable, http.StatusServiceUnavailable},
		{"injected 409", http.MethodPut, process, map[string]any{"Version": 1, "Steps": []any{}}, http.StatusConflict, http.StatusConflict},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.fault != 0 {
				f.sim.AddFaultRule(FaultRule{PathPrefix: "/api/", Status: c.fault})
			}
			if r := f.raw(c.method, c.path, testKey, c.body); r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
		})
	}
	wantStatuses := map[int]int{http.StatusCreated: 1, http.StatusOK: 2, http.StatusNotFound: 1, http.StatusConflict: 1}
	wantErrors := map[string]int{
		"404 GET /api/{id}/projects/{id}":            1,
		"409 PUT /api/{id}/deploymentprocesses/{id}": 1,
	}
	if got := f.sim.Statuses(); !maps.Equal(got, wantStatuses) {
		t.Errorf("Statuses() = %v, want %v", got, wantStatuses)
	}
	if got := f.sim.ErrorResponses(); !maps.Equal(got, wantErrors) {
		t.Errorf("ErrorResponses() = %v, want %v", got, wantErrors)
	}
	if c, c4, c5 := StatusTotals(f.sim.Statuses()); c != 1 || c4 != 2 || c5 != 0 {
		t.Errorf("StatusTotals: %d 409, %d 4xx, %d 5xx; want 1, 2, 0", c, c4, c5)
	}
	if got := f.sim.Requests(); got != 7 {
		t.Errorf("Requests() = %d, want 7 (faulted ones counted as requests)", got)
	}
	r := f.raw(http.MethodGet, CountersPath, testKey, nil)
	var rep CountersReport
	if err := json.Unmarshal(r.body, &rep); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(rep.Statuses, wantStatuses) || !maps.Equal(rep.Errors, wantErrors) {
		t.Errorf("route: statuses %v, errors %v", rep.Statuses, rep.Errors)
	}
	f.sim.ResetCounters()
	if len(f.sim.Statuses()) != 0 || len(f.sim.ErrorResponses()) != 0 {
		t.Errorf("after a reset: %v, %v", f.sim.Statuses(), f.sim.ErrorResponses())
	}
}

func TestStatusTotals(t *testing.T) {
	for _, c := range []struct {
		in        map[int]int
		c, c4, c5 int
	}{
		{nil, 0, 0, 0},
		{map[int]int{200: 5, 201: 2, 204: 1}, 0, 0, 0},
		{map[int]int{200: 5, 409: 3, 404: 2, 400: 1}, 3, 6, 0},
		{map[int]int{500: 1, 503: 2, 429: 4}, 0, 4, 3},
	} {
		if c1, c4, c5 := StatusTotals(c.in); c1 != c.c || c4 != c.c4 || c5 != c.c5 {
			t.Errorf("StatusTotals(%v) = %d, %d, %d; want %d, %d, %d", c.in, c1, c4, c5, c.c, c.c4, c.c5)
		}
	}
}

// TestOccupancy: the requests in flight are integrated over time, the
// busy time counts only time with at least one in flight, and First and
// Last mark the first arrival and the last answer.
func TestOccupancy(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	type move struct{ ms, d int }
	for _, c := range []struct {
		name          string
		moves         []move
		busyMS        int
		requestSecs   float64
		max           int
		firstMS, last int
	}{
		{"one request", []move{{0, 1}, {20, -1}}, 20, 0.020, 1, 0, 20},
		{"two overlapping", []move{{0, 1}, {10, 1}, {20, -1}, {30, -1}}, 30, 0.040, 2, 0, 30},
		{"a gap with none in flight", []move{{0, 1}, {20, -1}, {50, 1}, {70, -1}}, 40, 0.040, 1, 0, 70},
		{"eight at once", []move{{0, 1}, {0, 1}, {0, 1}, {0, 1}, {0, 1}, {0, 1}, {0, 1}, {0, 1},
			{20, -1}, {20, -1}, {20, -1}, {20, -1}, {20, -1}, {20, -1}, {20, -1}, {20, -1}}, 20, 0.160, 8, 0, 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			var o occupancy
			for _, m := range c.moves {
				o.move(at(m.ms), m.d)
			}
			if o.inFlight != 0 || o.busy != time.Duration(c.busyMS)*time.Millisecond || o.max != c.max ||
				!o.first.Equal(at(c.firstMS)) || !o.last.Equal(at(c.last)) {
				t.Errorf("occupancy %+v, want busy %d ms, max %d, first %d ms, last %d ms", o, c.busyMS, c.max, c.firstMS, c.last)
			}
			if d := o.area - c.requestSecs; d > 1e-9 || d < -1e-9 {
				t.Errorf("request-seconds %v, want %v", o.area, c.requestSecs)
			}
		})
	}
}

// TestOccupancyOverHTTP: a request's time in flight includes the
// simulated latency, and ResetCounters starts the occupancy afresh.
func TestOccupancyOverHTTP(t *testing.T) {
	f := newFixture(t, Options{})
	f.sim.SetFaults(Faults{Latency: 30 * time.Millisecond})
	f.sim.ResetCounters()
	if o := f.sim.Occupancy(); !o.First.IsZero() || o.RequestSeconds != 0 {
		t.Fatalf("after a reset: %+v", o)
	}
	if r := f.raw(http.MethodGet, "/api/Spaces-1/environments", testKey, nil); r.status != http.StatusOK {
		t.Fatalf("GET: %d", r.status)
	}
	o := f.sim.Occupancy()
	if o.Max != 1 || o.RequestSeconds < 0.030 || o.Busy < 30*time.Millisecond || o.Last.Sub(o.First) < 30*time.Millisecond {
		t.Errorf("one request with 30 ms latency: %+v", o)
	}
}
