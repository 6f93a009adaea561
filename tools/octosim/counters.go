package octosim

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// counters count requests by method and normalized path, and the
// server's own answers (injected faults excluded) by status.
type counters struct {
	mu       sync.Mutex
	byKey    map[string]int
	writes   int
	total    int
	statuses map[int]int
	errors   map[string]int
	occ      occupancy
}

// occupancy follows the number of requests in flight over time.
type occupancy struct {
	inFlight int
	changed  time.Time // when inFlight last changed
	first    time.Time // the first request's arrival since the reset
	last     time.Time // the last answer's end since the reset
	busy     time.Duration
	area     float64 // ∫ inFlight dt, in request-seconds
	max      int
}

// move adds d (+1 arriving, -1 done) to the requests in flight at now.
func (o *occupancy) move(now time.Time, d int) {
	if o.inFlight > 0 {
		dt := now.Sub(o.changed)
		o.busy += dt
		o.area += float64(o.inFlight) * dt.Seconds()
	}
	if d > 0 && o.first.IsZero() {
		o.first = now
	}
	o.inFlight += d
	o.max = max(o.max, o.inFlight)
	o.changed = now
	if d < 0 {
		o.last = now
	}
}

func newCounters() *counters {
	return &counters{byKey: map[string]int{}, statuses: map[int]int{}, errors: map[string]int{}}
}

var (
	idSegment   = regexp.MustCompile(`^([A-Za-z]+-)+\d+$`)
	guidSegment = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	namedID     = regexp.MustCompile(`^(feeds|userroles|teams)-[A-Za-z-]+$`)
)

// NormalizePath replaces the IDs in an API path by {id}:
// /api/Spaces-1/projects/Projects-12/channels → /api/{id}/projects/{id}/channels.
func NormalizePath(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if idSegment.MatchString(s) || guidSegment.MatchString(s) || namedID.MatchString(s) {
			segs[i] = "{id}"
		}
	}
	out := strings.Join(segs, "/")
	if len(out) > 1 {
		out = strings.TrimSuffix(out, "/")
	}
	return out
}

func (c *counters) add(method, path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byKey[method+" "+NormalizePath(path)]++
	c.total++
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch:
		c.writes++
	}
}

// respond counts the status of an answer the server gave itself (not an
// injected fault): 0 is a handler that wrote no header, i.e. 200.
func (c *counters) respond(method, path string, status int) {
	if status == 0 {
		status = http.StatusOK
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.statuses[status]++
	if status >= 400 {
		c.errors[fmt.Sprintf("%d %s %s", status, method, NormalizePath(path))]++
	}
}

// Counters returns the number of requests received so far (faulted ones
// included) keyed by "METHOD /normalized/path", e.g.
// "PUT /api/{id}/deploymentprocesses/{id}".
func (s *Server) Counters() map[string]int {
	c := s.counts
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.byKey)
}

// Requests returns the total number of requests received.
func (s *Server) Requests() int {
	c := s.counts
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// Writes returns the number of POST, PUT, PATCH and DELETE requests received.
func (s *Server) Writes() int {
	c := s.counts
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// Statuses returns how many answers the server gave by HTTP status,
// injected faults (FaultsInjected) excluded: a 409 here is a conflict the
// client caused, not one the benchmark injected. A request whose client
// went away during the simulated latency has no status.
func (s *Server) Statuses() map[int]int {
	c := s.counts
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.statuses)
}

// ErrorResponses returns the answers with a status of 400 or more,
// injected faults excluded, keyed by "STATUS METHOD /normalized/path",
// e.g. "409 PUT /api/{id}/deploymentprocesses/{id}".
func (s *Server) ErrorResponses() map[string]int {
	c := s.counts
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.errors)
}

// StatusTotals sums statuses (Statuses' form) into the 409s, every 4xx
// (409s included) and every 5xx.
func StatusTotals(statuses map[int]int) (conflicts, clientErrors, serverErrors int) {
	for st, n := range statuses {
		switch {
		case st == http.StatusConflict:
			conflicts += n
			clientErrors += n
		case st >= 400 && st < 500:
			clientErrors += n
		case st >= 500:
			serverErrors += n
		}
	}
	return conflicts, clientErrors, serverErrors
}

// ResetCounters sets every counter back to zero.
func (s *Server) ResetCounters() {
	c := s.counts
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byKey = map[string]int{}
	c.writes, c.total = 0, 0
	c.statuses, c.errors = map[int]int{}, map[string]int{}
	c.occ = occupancy{inFlight: c.occ.inFlight, changed: time.Now()}
}

// enter and leave mark a request's arrival and the end of its answer
// (the simulated latency included).
func (c *counters) enter() {
	c.mu.Lock()
	c.occ.move(time.Now(), 1)
	c.mu.Unlock()
}

func (c *counters) leave() {
	c.mu.Lock()
	c.occ.move(time.Now(), -1)
	c.mu.Unlock()
}

// Occupancy is how busy the server was since its counters were last reset:
// what decides how close a client came to the latency bound (requests ×
// latency ÷ its concurrency) is whether it kept its requests in flight.
type Occupancy struct {
	// First is the first request's arrival, Last the end of the last
	// answer (zero when there was none).
	First, Last time.Time
	// Busy is the time at least one request was in flight.
	Busy time.Duration
	// RequestSeconds is the integral of the requests in flight over time
	// (each request's time from arrival to the end of its answer, summed).
	RequestSeconds float64
	// Max is the most requests in flight at once.
	Max int
}

// Occupancy returns the server's Occupancy since the last ResetCounters.
func (s *Server) Occupancy() Occupancy {
	c := s.counts
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.occ
	o.move(time.Now(), 0) // close the running interval
	return Occupancy{First: o.first, Last: o.last, Busy: o.busy, RequestSeconds: o.area, Max: o.max}
}

// CountersPath is the simulator's own route (outside /api, so no Octopus
// client meets it) that serves its request counters to a process that
// started it as a separate program: GET answers CountersReport as JSON,
// DELETE resets the counters (204). It needs the API key like the API,
// and is neither counted nor faulted.
const CountersPath = "/_octosim/counters"

// CountersReport is the body of GET CountersPath.
type CountersReport struct {
	// Requests and Writes are Server.Requests and Server.Writes.
	Requests int `json:"Requests"`
	Writes   int `json:"Writes"`
	// Counters is Server.Counters.
	Counters map[string]int `json:"Counters"`
	// Statuses is Server.Statuses (the keys are status codes).
	Statuses map[int]int `json:"Statuses"`
	// Errors is Server.ErrorResponses.
	Errors map[string]int `json:"Errors"`
}

// serveCounters answers CountersPath.
func (s *Server) serveCounters(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	_, ok := s.authorized(r)
	s.mu.RUnlock()
	switch {
	case !ok:
		writeError(w, &apiError{Status: http.StatusUnauthorized, Message: "The simulator's counters need its API key."})
	case r.Method == http.MethodGet:
		c := s.counts
		c.mu.Lock()
		rep := CountersReport{Requests: c.total, Writes: c.writes, Counters: maps.Clone(c.byKey),
			Statuses: maps.Clone(c.statuses), Errors: maps.Clone(c.errors)}
		c.mu.Unlock()
		writeJSON(w, http.StatusOK, rep)
	case r.Method == http.MethodDelete:
		s.ResetCounters()
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, &apiError{Status: http.StatusMethodNotAllowed, Message: "GET reads the counters, DELETE resets them."})
	}
}
