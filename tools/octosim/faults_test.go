package octosim

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/environments"
)

// rawClient has no keep-alive, so a dropped connection is seen as an error
// and never retried on a fresh connection by the transport.
var rawClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

func rawDo(t *testing.T, base, method, path string, body string) (*http.Response, []byte, error) {
	t.Helper()
	var req *http.Request
	if body != "" {
		req, _ = http.NewRequest(method, base+path, strings.NewReader(body))
	} else {
		req, _ = http.NewRequest(method, base+path, nil)
	}
	req.Header.Set("X-Octopus-ApiKey", testKey)
	resp, err := rawClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b := make([]byte, 0, 512)
	buf := make([]byte, 512)
	for {
		n, rerr := resp.Body.Read(buf)
		b = append(b, buf[:n]...)
		if rerr != nil {
			break
		}
	}
	return resp, b, nil
}

func TestRandomFaults(t *testing.T) {
	f := newFixture(t, Options{})
	t.Run("latency", func(t *testing.T) {
		f.sim.SetFaults(Faults{Latency: 60 * time.Millisecond, Jitter: 10 * time.Millisecond})
		defer f.sim.ClearFaults()
		start := time.Now()
		if _, _, err := rawDo(t, f.base, http.MethodGet, sp1("environments"), ""); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 60*time.Millisecond {
			t.Errorf("request took %v, want at least the 60ms latency", d)
		}
	})
	t.Run("5xx", func(t *testing.T) {
		f.sim.SetFaults(Faults{ErrorRate: 1})
		defer f.sim.ClearFaults()
		resp, body, err := rawDo(t, f.base, http.MethodGet, sp1("environments"), "")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"ErrorMessage"`) {
			t.Errorf("injected error: %d %s", resp.StatusCode, body)
		}
		f.sim.SetFaults(Faults{ErrorRate: 1, ErrorStatus: http.StatusInternalServerError})
		resp, _, _ = rawDo(t, f.base, http.MethodGet, sp1("environments"), "")
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("ErrorStatus ignored: %d", resp.StatusCode)
		}
	})
	t.Run("429", func(t *testing.T) {
		f.sim.SetFaults(Faults{RateLimitRate: 1, RetryAfter: 1500 * time.Millisecond})
		defer f.sim.ClearFaults()
		resp, body, err := rawDo(t, f.base, http.MethodGet, sp1("environments"), "")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" || !strings.Contains(string(body), "rate limit") {
			t.Errorf("rate limit: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	})
	t.Run("drop", func(t *testing.T) {
		f.sim.SetFaults(Faults{DropRate: 1})
		defer f.sim.ClearFaults()
		if _, _, err := rawDo(t, f.base, http.MethodGet, sp1("environments"), ""); err == nil {
			t.Error("a dropped connection gave a response")
		}
		// The Go client sees an error too.
		if _, err := environments.GetAll(f.c, "Spaces-1"); err == nil {
			t.Error("go-octopusdeploy got an answer through a dropped connection")
		}
	})
}

// statuses returns the outcome of n GETs: a status code or "drop".
func statuses(t *testing.T, faults Faults, n int) []string {
	f := newFixture(t, Options{})
	f.sim.SetFaults(faults)
	var out []string
	for i := 0; i < n; i++ {
		resp, _, err := rawDo(t, f.base, http.MethodGet, sp1("environments"), "")
		if err != nil {
			out = append(out, "drop")
			continue
		}
		out = append(out, fmt.Sprint(resp.StatusCode))
	}
	return out
}

func TestFaultsAreDeterministic(t *testing.T) {
	faults := Faults{ErrorRate: 0.3, RateLimitRate: 0.2, DropRate: 0.1, Seed: 42}
	a := strings.Join(statuses(t, faults, 40), ",")
	b := strings.Join(statuses(t, faults, 40), ",")
	if a != b {
		t.Fatalf("same seed, different faults:\n%s\n%s", a, b)
	}
	for _, want := range []string{"200", "503", "429", "drop"} {
		if !strings.Contains(a, want) {
			t.Errorf("40 requests at these rates never gave %s: %s", want, a)
		}
	}
	faults.Seed = 43
	if c := strings.Join(statuses(t, faults, 40), ","); c == a {
		t.Errorf("different seeds gave the same faults: %s", c)
	}
}

func TestFaultRules(t *testing.T) {
	f := newFixture(t, Options{})
	post := func(name string) (int, error) {
		resp, _, err := rawDo(t, f.base, http.MethodPost, sp1("environments"), `{"Name":"`+name+`"}`)
		if err != nil {
			return 0, err
		}
		return resp.StatusCode, nil
	}
	// Fail the next two POSTs with a 400.
	id := f.sim.AddFaultRule(FaultRule{Method: "post", PathPrefix: "/api/Spaces-1/environments", Times: 2,
		Status: http.StatusBadRequest, Message: "There was a problem with your request.", Errors: []string{"forced"}})
	for i, want := range []int{400, 400, 201} {
		got, err := post(fmt.Sprintf("E%d", i))
		if err != nil || got != want {
			t.Errorf("POST %d: %d %v, want %d", i, got, err, want)
		}
	}
	if h := f.sim.FaultRuleHits(id); h != 2 {
		t.Errorf("rule fired %d times", h)
	}
	// GETs do not match a POST rule.
	f.sim.AddFaultRule(FaultRule{Method: http.MethodPost, PathPrefix: "/api/Spaces-1/projects", Times: -1, Status: 500})
	if resp, _, _ := rawDo(t, f.base, http.MethodGet, sp1("projects"), ""); resp.StatusCode != 200 {
		t.Errorf("GET matched a POST rule: %d", resp.StatusCode)
	}
	f.sim.ClearFaults()

	// An exact path matches the list, not the entities below it, and
	// ignores the query.
	f.sim.AddFaultRule(FaultRule{Method: http.MethodGet, Path: "/API/Spaces-1/environments", Times: -1, Status: http.StatusNotFound})
	for _, tc := range []struct {
		path string
		want int
	}{
		{sp1("environments"), 404},
		{sp1("environments?ids=Environments-1&take=1"), 404},
		{sp1("environments/all"), 200},
		{sp1("environments/Environments-1"), 200},
	} {
		if resp, _, err := rawDo(t, f.base, http.MethodGet, tc.path, ""); err != nil || resp.StatusCode != tc.want {
			t.Errorf("GET %s with an exact-path rule: %v %v, want %d", tc.path, resp, err, tc.want)
		}
	}
	f.sim.ClearFaults()

	// Drop the connection on the 2nd POST, before handling it.
	f.sim.AddFaultRule(FaultRule{Method: http.MethodPost, PathPrefix: "/api/Spaces-1/environments", Skip: 1, Drop: true})
	if got, err := post("D1"); err != nil || got != 201 {
		t.Errorf("first POST: %d %v", got, err)
	}
	if _, err := post("D2"); err == nil {
		t.Error("second POST was not dropped")
	}
	if got, err := post("D3"); err != nil || got != 201 {
		t.Errorf("third POST: %d %v", got, err)
	}
	if n := int(f.get(sp1("environments?name=D2"))["TotalResults"].(float64)); n != 0 {
		t.Error("a request dropped before handling was applied")
	}
	// Drop after handling: the write happens, the client never hears.
	f.sim.AddFaultRule(FaultRule{Method: http.MethodPost, PathPrefix: "/api/Spaces-1/environments", Drop: true, AfterHandling: true})
	if _, err := post("Lost answer"); err == nil {
		t.Error("POST was not dropped")
	}
	if n := int(f.get(sp1("environments?name=Lost%20answer"))["TotalResults"].(float64)); n != 1 {
		t.Error("a request dropped after handling was not applied")
	}
	// A retry of it now meets the duplicate name.
	if got, _ := post("Lost answer"); got != http.StatusBadRequest {
		t.Errorf("retry after a lost answer: %d", got)
	}
}

func TestCounters(t *testing.T) {
	f := newFixture(t, Options{})
	f.sim.ResetCounters()
	for i := 0; i < 3; i++ {
		f.post(sp1("environments"), map[string]any{"Name": fmt.Sprint("C", i)})
	}
	f.get(sp1("environments/Environments-1"))
	f.put(sp1("environments/Environments-2"), map[string]any{"Name": "C1b"})
	f.raw(http.MethodDelete, sp1("environments/Environments-3"), testKey, nil)
	c := f.sim.Counters()
	want := map[string]int{
		"POST /api/{id}/environments":        3,
		"GET /api/{id}/environments/{id}":    1,
		"PUT /api/{id}/environments/{id}":    1,
		"DELETE /api/{id}/environments/{id}": 1,
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s: %d, want %d (all: %v)", k, c[k], v, c)
		}
	}
	if f.sim.Writes() != 5 || f.sim.Requests() != 6 {
		t.Errorf("writes %d, requests %d", f.sim.Writes(), f.sim.Requests())
	}
	f.sim.ResetCounters()
	if f.sim.Writes() != 0 || len(f.sim.Counters()) != 0 {
		t.Error("ResetCounters left counts")
	}
	for in, want := range map[string]string{
		"/api/Spaces-1/variables/variableset-Projects-12":                "/api/{id}/variables/{id}",
		"/api/Spaces-1/deploymentprocesses/deploymentprocess-Projects-3": "/api/{id}/deploymentprocesses/{id}",
		"/api/Spaces-1/feeds/feeds-builtin":                              "/api/{id}/feeds/{id}",
		"/api/userroles/userroles-projectdeployer":                       "/api/userroles/{id}",
		"/api/Spaces-1/runbookProcesses/RunbookProcess-Runbooks-4":       "/api/{id}/runbookProcesses/{id}",
		"/api/Spaces-1/projects/Projects-1/channels/":                    "/api/{id}/projects/{id}/channels",
		"/api/spaces": "/api/spaces",
		"/api/Spaces-1/x/8c7a6f3e-1b2c-4d5e-8f90-123456789abc":                 "/api/{id}/x/{id}",
		"/api/Spaces-1/tenants/Tenants-2/variables":                            "/api/{id}/tenants/{id}/variables",
		"/api/Spaces-1/libraryvariablesets/LibraryVariableSets-1":              "/api/{id}/libraryvariablesets/{id}",
		"/api/Spaces-1/projects/Projects-1/runbookProcesses/RunbookProcess-x1": "/api/{id}/projects/{id}/runbookProcesses/RunbookProcess-x1",
	} {
		if got := NormalizePath(in); got != want {
			t.Errorf("NormalizePath(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestFaultsInjectedCounts checks that every kind of random fault is
// counted by FaultsInjected, and that a drop after handling performs the
// write the client never hears of.
func TestFaultsInjectedCounts(t *testing.T) {
	f := newFixture(t, Options{})
	cases := []struct {
		name   string
		faults Faults
		kind   string
		method string
		body   string
	}{
		{"5xx", Faults{ErrorRate: 1}, "5xx", http.MethodGet, ""},
		{"429", Faults{RateLimitRate: 1}, "429", http.MethodGet, ""},
		{"drop", Faults{DropRate: 1}, "drop", http.MethodGet, ""},
		{"drop after handling", Faults{DropAfterHandlingRate: 1}, "drop-after-handling", http.MethodPost, `{"Name":"Written Then Dropped"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := f.sim.FaultsInjected()[c.kind]
			f.sim.SetFaults(c.faults)
			resp, _, err := rawDo(t, f.base, c.method, sp1("environments"), c.body)
			f.sim.ClearFaults()
			if got := f.sim.FaultsInjected()[c.kind] - before; got != 1 {
				t.Errorf("FaultsInjected()[%q] grew by %d, want 1", c.kind, got)
			}
			if strings.HasPrefix(c.kind, "drop") {
				if err == nil {
					t.Fatalf("the connection was not dropped: %d", resp.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	_, body, err := rawDo(t, f.base, http.MethodGet, sp1("environments")+"?partialName=Written", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `"Written Then Dropped"`) {
		t.Errorf("the POST dropped after handling did not create the environment: %s", body)
	}
}
