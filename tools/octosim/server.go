package octosim

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultAPIKey is the API key a server accepts when Options.APIKey is empty.
// It has the shape the Go client insists on (^API-[A-Z0-9]+$).
const DefaultAPIKey = "API-OCTOSIMTESTKEY0000000000000"

// DefaultServerVersion is the Octopus version reported when neither the
// options nor the seed give one: a current 2025 server, one minor version
// from the sample instances (2025.2 and 2025.3), since apply refuses more
// than one minor version of skew. ConformanceVersions holds the versions
// the conformance tests cover.
const DefaultServerVersion = "2025.3.14090"

// Options configure a Server.
type Options struct {
	// APIKey is the key every request except GET /api/ must carry in
	// X-Octopus-ApiKey (or the apikey query parameter). Empty means
	// DefaultAPIKey.
	APIKey string
	// ServerVersion is the Version in the root document. Empty means the
	// seed's ServerVersion, else DefaultServerVersion.
	ServerVersion string
	// IDOffset makes ID counters start at IDOffset+1, so two simulated
	// instances hand out different IDs for the same entities. The default
	// space is always Spaces-1.
	IDOffset int
	// Seed is the initial content; nil means a fresh instance (one Default space).
	Seed *Instance
	// Faults is the initial fault configuration.
	Faults Faults
	// Logger receives one line per request at Debug level and faults at
	// Info; nil discards.
	Logger *slog.Logger
	// TaskDuration is how long a server task (a deployment, a runbook
	// run) stays Executing before it succeeds; zero completes tasks as
	// they are created (see tasks.go).
	TaskDuration time.Duration
}

// Server is a simulated Octopus Server. It is safe for concurrent use.
type Server struct {
	apiKey         string
	version        string
	installationID string
	started        time.Time
	log            *slog.Logger
	taskDuration   time.Duration

	mu sync.RWMutex
	st *state

	faults *faultState
	counts *counters
}

// New builds a server from opts, loading opts.Seed if given.
func New(opts Options) (*Server, error) {
	s := &Server{
		apiKey:         opts.APIKey,
		version:        opts.ServerVersion,
		installationID: newGUID(),
		started:        time.Now(),
		log:            opts.Logger,
		st:             newState(opts.IDOffset),
		counts:         newCounters(),
		taskDuration:   opts.TaskDuration,
	}
	if s.apiKey == "" {
		s.apiKey = DefaultAPIKey
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Seed != nil && s.version == "" {
		s.version = opts.Seed.ServerVersion
	}
	if s.version == "" {
		s.version = DefaultServerVersion
	}
	s.faults = newFaultState(opts.Faults)
	if err := s.load(opts.Seed); err != nil {
		return nil, err
	}
	s.startServerTasks()
	return s, nil
}

// APIKey returns the key the server accepts.
func (s *Server) APIKey() string { return s.apiKey }

// Version returns the server version the root document reports.
func (s *Server) Version() string { return s.version }

// Handler returns the HTTP handler serving the API.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == CountersPath {
		s.serveCounters(w, r)
		return
	}
	start := time.Now()
	s.counts.add(r.Method, r.URL.Path)
	s.counts.enter()
	defer s.counts.leave()
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery,
			"status", rec.status, "duration", time.Since(start))
	}()
	if s.injectFaults(rec, r) {
		return
	}
	s.serveAPI(rec, r)
	s.counts.respond(r.Method, r.URL.Path, rec.status)
}

// serveAPI answers one request without faults.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	if path != "/api" && !strings.HasPrefix(path, "/api/") {
		writeError(w, notFound(r.URL.Path))
		return
	}
	segs := splitPath(strings.TrimPrefix(path, "/api"))
	// The root document is public, as on a real server.
	if len(segs) == 0 && r.Method == http.MethodGet {
		s.mu.RLock()
		doc := s.rootDocument()
		s.mu.RUnlock()
		writeJSON(w, http.StatusOK, doc)
		return
	}
	s.mu.RLock()
	userID, ok := s.authorized(r)
	s.mu.RUnlock()
	if !ok {
		writeError(w, &apiError{Status: http.StatusUnauthorized,
			Message: "You must be logged in to perform this action. Please provide a valid API key or log in again."})
		return
	}
	var body map[string]any
	var upload []byte
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		b, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
		if err != nil {
			writeError(w, badRequestf("The request body could not be read: %v", err))
			return
		}
		if isBinaryUpload(segs) {
			// A file upload (multipart/form-data): the handler reads it.
			upload = b
		} else {
			var rawBody any
			if len(strings.TrimSpace(string(b))) > 0 {
				var err error
				if rawBody, err = decodeBody(b); err != nil {
					writeError(w, badRequestf("The request body is not valid JSON: %v", err))
					return
				}
			}
			body, _ = rawBody.(map[string]any)
			if rawBody == nil {
				// No body, or null: actions (tasks/{id}/cancel) take
				// none; a create then fails its own validation.
				body = map[string]any{}
			}
			if body == nil {
				writeError(w, badRequest("The request body must be a JSON object."))
				return
			}
			canonicalizeFields(body, nil)
		}
	}
	req := &request{method: r.Method, segs: segs, query: r.URL.Query(), body: body, path: path,
		upload: upload, contentType: r.Header.Get("Content-Type"), userID: userID}
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	if write {
		s.mu.Lock()
	} else {
		s.mu.RLock()
	}
	status, out, err := s.route(req)
	if write {
		s.mu.Unlock()
	} else {
		s.mu.RUnlock()
	}
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		writeError(w, err)
		return
	}
	if out == nil {
		w.WriteHeader(status)
		return
	}
	if b, ok := out.(binaryAnswer); ok {
		w.Header().Set("Content-Type", b.contentType)
		w.WriteHeader(status)
		_, _ = w.Write(b.data)
		return
	}
	writeJSON(w, status, out)
}

// binaryAnswer is a non-JSON answer (a project's logo).
type binaryAnswer struct {
	data        []byte
	contentType string
}

// authorized finds the user whose API key the request carries (see
// users.go); the caller holds s.mu.
func (s *Server) authorized(r *http.Request) (string, bool) {
	key := r.Header.Get("X-Octopus-ApiKey")
	if key == "" {
		key = r.URL.Query().Get("apikey")
	}
	return s.userForKey(key)
}

// request is one parsed API request.
type request struct {
	method string
	segs   []string
	query  map[string][]string
	body   map[string]any
	path   string
	// upload and contentType are the raw body of a file upload (see
	// isBinaryUpload) and its Content-Type.
	upload      []byte
	contentType string
	// userID is the user whose API key authenticated the request.
	userID string
}

func (r *request) q(name string) string {
	for k, v := range r.query {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func (r *request) has(name string) bool {
	for k := range r.query {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (for drops).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func errorf(format string, args ...any) error { return fmt.Errorf("octosim: "+format, args...) }
