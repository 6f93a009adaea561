package octosim

import (
	"bufio"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Faults configure random failures, decided per request by a generator
// seeded with Seed, so a run with the same seed and the same request order
// fails the same requests. Rates are fractions in [0, 1] and are drawn in
// the order drop, rate limit, error.
type Faults struct {
	// Latency is added to every request.
	Latency time.Duration
	// Jitter adds a random extra delay in [0, Jitter).
	Jitter time.Duration
	// ErrorRate is the fraction of requests answered with ErrorStatus.
	ErrorRate float64
	// ErrorStatus is the status of injected errors; 0 means 503.
	ErrorStatus int
	// RateLimitRate is the fraction of requests answered 429 with Retry-After.
	RateLimitRate float64
	// RetryAfter is the Retry-After of injected 429s; 0 means one second.
	RetryAfter time.Duration
	// DropRate is the fraction of requests whose connection is closed
	// without any response.
	DropRate float64
	// DropAfterHandlingRate is the fraction of requests that are handled
	// (a POST creates its entity) and whose connection is then closed
	// without a response, so the client never hears of the write.
	DropAfterHandlingRate float64
	// Seed seeds the generator.
	Seed uint64
}

// FaultRule is a targeted fault: it fires on requests matching Method,
// PathPrefix and Path, after letting Skip of them through, Times times.
type FaultRule struct {
	// Method matches the HTTP method (case-insensitive); empty matches all.
	Method string
	// PathPrefix matches the start of the URL path ("/api/Spaces-1/projects");
	// empty matches all.
	PathPrefix string
	// Path, if set, matches the whole URL path (case-insensitive, the
	// query aside): a list request ("/api/Spaces-1/deploymentprocesses")
	// and not the entities below it.
	Path string
	// Skip lets this many matching requests through before the rule fires
	// ("drop the 3rd POST" is Skip 2).
	Skip int
	// Times is how many matching requests the rule fails; 0 means once,
	// a negative number means every one.
	Times int
	// Status answers with this status and a JSON error body (use 429 for a
	// rate limit, which adds Retry-After).
	Status int
	// Message is the ErrorMessage of the answer; empty gives a generic one.
	Message string
	// Errors are the Errors of the answer.
	Errors []string
	// RetryAfter is the Retry-After header of a 429; 0 means one second.
	RetryAfter time.Duration
	// Drop closes the connection without a response instead of answering.
	Drop bool
	// AfterHandling, with Drop, processes the request first and then drops
	// the connection: the write happens but the client never hears of it.
	AfterHandling bool
}

type ruleState struct {
	id   int
	rule FaultRule
	seen int
	hits int
}

type faultState struct {
	mu     sync.Mutex
	faults Faults
	rng    *rand.Rand
	rules  []*ruleState
	nextID int
	// injected counts the random and rule faults injected, by kind
	// ("drop", "drop-after-handling", "429", "5xx").
	injected map[string]int
}

func newFaultState(f Faults) *faultState {
	return &faultState{faults: f, rng: rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15)), injected: map[string]int{}}
}

// SetFaults replaces the random fault configuration and reseeds the generator.
func (s *Server) SetFaults(f Faults) {
	fs := s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = f
	fs.rng = rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))
}

// AddFaultRule installs a targeted fault and returns its ID. Rules are
// checked in the order they were added; the first that fires wins.
func (s *Server) AddFaultRule(rule FaultRule) int {
	fs := s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.nextID++
	fs.rules = append(fs.rules, &ruleState{id: fs.nextID, rule: rule})
	return fs.nextID
}

// RemoveFaultRule removes a rule added by AddFaultRule.
func (s *Server) RemoveFaultRule(id int) {
	fs := s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, r := range fs.rules {
		if r.id == id {
			fs.rules = append(fs.rules[:i:i], fs.rules[i+1:]...)
			return
		}
	}
}

// ClearFaults removes every rule and turns random faults off.
func (s *Server) ClearFaults() {
	s.SetFaults(Faults{})
	fs := s.faults
	fs.mu.Lock()
	fs.rules = nil
	fs.mu.Unlock()
}

// FaultsInjected returns how many faults (random and rule) were injected
// since the server started, by kind: "drop", "drop-after-handling", "429"
// and "5xx".
func (s *Server) FaultsInjected() map[string]int {
	fs := s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return maps.Clone(fs.injected)
}

// FaultRuleHits returns how many times a rule has fired.
func (s *Server) FaultRuleHits(id int) int {
	fs := s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, r := range fs.rules {
		if r.id == id {
			return r.hits
		}
	}
	return 0
}

// decision is what to do with one request.
type decision struct {
	delay         time.Duration
	drop          bool
	afterHandling bool
	status        int
	message       string
	errors        []string
	retryAfter    time.Duration
}

func (fs *faultState) decide(r *http.Request) (d decision) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	defer func() {
		switch {
		case d.afterHandling:
			fs.injected["drop-after-handling"]++
		case d.drop:
			fs.injected["drop"]++
		case d.status == http.StatusTooManyRequests:
			fs.injected["429"]++
		case d.status != 0:
			fs.injected["5xx"]++
		}
	}()
	f := fs.faults
	d.delay = f.Latency
	if f.Jitter > 0 {
		d.delay += time.Duration(fs.rng.Int64N(int64(f.Jitter)))
	}
	for _, rs := range fs.rules {
		ru := rs.rule
		if ru.Method != "" && !strings.EqualFold(ru.Method, r.Method) {
			continue
		}
		if ru.PathPrefix != "" && !strings.HasPrefix(strings.ToLower(r.URL.Path), strings.ToLower(ru.PathPrefix)) {
			continue
		}
		if ru.Path != "" && !strings.EqualFold(r.URL.Path, ru.Path) {
			continue
		}
		rs.seen++
		times := ru.Times
		if times == 0 {
			times = 1
		}
		if rs.seen <= ru.Skip || (times > 0 && rs.hits >= times) {
			continue
		}
		rs.hits++
		d.drop, d.afterHandling = ru.Drop, ru.Drop && ru.AfterHandling
		d.status, d.message, d.errors, d.retryAfter = ru.Status, ru.Message, ru.Errors, ru.RetryAfter
		return d
	}
	switch {
	case f.DropRate > 0 && fs.rng.Float64() < f.DropRate:
		d.drop = true
	case f.DropAfterHandlingRate > 0 && fs.rng.Float64() < f.DropAfterHandlingRate:
		d.drop, d.afterHandling = true, true
	case f.RateLimitRate > 0 && fs.rng.Float64() < f.RateLimitRate:
		d.status, d.retryAfter = http.StatusTooManyRequests, f.RetryAfter
	case f.ErrorRate > 0 && fs.rng.Float64() < f.ErrorRate:
		d.status = f.ErrorStatus
		if d.status == 0 {
			d.status = http.StatusServiceUnavailable
		}
	}
	return d
}

// injectFaults applies latency and any fault to the request; it returns
// true when the request has been answered (or dropped).
func (s *Server) injectFaults(w http.ResponseWriter, r *http.Request) bool {
	d := s.faults.decide(r)
	if d.delay > 0 {
		select {
		case <-time.After(d.delay):
		case <-r.Context().Done():
			return true
		}
	}
	switch {
	case d.drop:
		if d.afterHandling {
			s.serveAPI(&discardWriter{h: http.Header{}}, r)
		}
		s.log.Info("fault: dropping connection", "method", r.Method, "path", r.URL.Path, "afterHandling", d.afterHandling)
		dropConnection(w)
		return true
	case d.status == http.StatusTooManyRequests:
		ra := d.retryAfter
		if ra <= 0 {
			ra = time.Second
		}
		secs := int((ra + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		msg := d.message
		if msg == "" {
			msg = "You have exceeded the rate limit. Please retry after " + strconv.Itoa(secs) + " seconds."
		}
		s.log.Info("fault: rate limited", "method", r.Method, "path", r.URL.Path)
		writeError(w, &apiError{Status: d.status, Message: msg, Errors: d.errors})
		return true
	case d.status != 0:
		msg := d.message
		if msg == "" {
			msg = "The server encountered an error (injected by octosim)."
		}
		s.log.Info("fault: error", "method", r.Method, "path", r.URL.Path, "status", d.status)
		writeError(w, &apiError{Status: d.status, Message: msg, Errors: d.errors})
		return true
	}
	return false
}

// dropConnection closes the client connection without writing a response.
func dropConnection(w http.ResponseWriter) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = closeHijacked(conn, buf)
}

func closeHijacked(conn net.Conn, _ *bufio.ReadWriter) error {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // reset rather than a graceful close
	}
	return conn.Close()
}

// discardWriter swallows a response (requests handled before a drop).
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
