package octosim

import (
	"encoding/json"
	"net/http"
	"testing"
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
