package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octobundle/octobundle/apply"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/tools/octosim/simtest"
)

// LiveSpacePrefix starts the name of every space the tests may write to.
// The live target refuses any other space, so nobody points the tests at a
// production space by mistake.
const LiveSpacePrefix = "octobundle-e2e"

// simSpace is the space the tests create and use on a simulator, named like
// a live space so both go through the same guard.
const simSpace = LiveSpacePrefix + "-sim"

// The environment of the live target.
const (
	envLive   = "OCTOBUNDLE_LIVE"       // "1" turns the live target on
	envURL    = "OCTOPUS_URL"           // the server's base URL
	envAPIKey = "OCTOPUS_API_KEY"       // an API key allowed to write to the space
	envSpace  = "OCTOBUNDLE_LIVE_SPACE" // the throwaway space, by name: octobundle-e2e-*
)

// Target is a server and space the end-to-end tests run against.
type Target struct {
	// Name names the target in subtests: "sim" or "live".
	Name string
	// URL, APIKey and Space say where to connect (octopus.Config).
	URL, APIKey, Space string
	// Writes returns the server's own count of writes so far when the
	// target can tell (the simulator), else false.
	Writes func() (int, bool)
	// Live is set for a real server: the allowed differences include what
	// only a real server's defaults can make differ (see allowedDiffs), and
	// the Octopus version of the golden bundle's source is not enforced.
	Live bool
}

// Targets returns the targets of one test: a fresh simulator always, and the
// live server when OCTOBUNDLE_LIVE=1. A live configuration that is
// incomplete or names a space outside octobundle-e2e-* fails the test.
func Targets(t *testing.T) []Target {
	t.Helper()
	out := []Target{simTarget(t)}
	if tg, ok := liveTarget(t); ok {
		out = append(out, tg)
	}
	return out
}

// forEachTarget runs fn as one subtest per target.
func forEachTarget(t *testing.T, fn func(*testing.T, Target)) {
	t.Helper()
	for _, tg := range Targets(t) {
		t.Run(tg.Name, func(t *testing.T) { fn(t, tg) })
	}
}

// simTarget starts an empty simulator for the duration of the test and
// creates the octobundle-e2e-sim space on it (with the defaults a new space
// gets: Default Lifecycle, Default Machine Policy, …).
func simTarget(t *testing.T) Target {
	t.Helper()
	// A current server (scoped tenant variables), within one minor version
	// of the golden bundle's source (2025.2).
	srv, url := simtest.Start(t, octosim.Options{IDOffset: 5000, ServerVersion: "2025.3.4512"})
	c, err := octopus.Connect(context.Background(), octopus.Config{URL: url, APIKey: srv.APIKey()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Post(context.Background(), "/api/spaces", map[string]any{
		"Name": simSpace, "SpaceManagersTeams": []string{"teams-administrators"},
	}); err != nil {
		t.Fatalf("creating space %s on the simulator: %v", simSpace, err)
	}
	return Target{
		Name: "sim", URL: url, APIKey: srv.APIKey(), Space: simSpace,
		Writes: func() (int, bool) { return srv.Writes(), true },
	}
}

// liveConfig reads the live target's settings with getenv. It returns
// enabled false when OCTOBUNDLE_LIVE is not "1", and an error (that never
// holds the API key) when the live target is on but unusable.
func liveConfig(getenv func(string) string) (tg Target, enabled bool, err error) {
	if getenv(envLive) != "1" {
		return Target{}, false, nil
	}
	tg = Target{Name: "live", URL: getenv(envURL), APIKey: getenv(envAPIKey), Space: getenv(envSpace), Live: true,
		Writes: func() (int, bool) { return 0, false }}
	var missing []string
	for _, kv := range [][2]string{{envURL, tg.URL}, {envAPIKey, tg.APIKey}, {envSpace, tg.Space}} {
		if strings.TrimSpace(kv[1]) == "" {
			missing = append(missing, kv[0])
		}
	}
	if len(missing) > 0 {
		return tg, true, fmt.Errorf("%s=1 asks for the live target, but it needs %s, %s and %s (a throwaway space named %s-*, which the tests write to and leave their data in); not set: %s",
			envLive, envURL, envAPIKey, envSpace, LiveSpacePrefix, strings.Join(missing, ", "))
	}
	if err := checkSpaceName(tg.Space); err != nil {
		return tg, true, fmt.Errorf("%s: %w", envSpace, err)
	}
	return tg, true, nil
}

// checkSpaceName is the guard against writing to a space that is not a
// throwaway: its name must start with LiveSpacePrefix.
func checkSpaceName(name string) error {
	if !strings.HasPrefix(name, LiveSpacePrefix) {
		return fmt.Errorf("refusing space %q: the end-to-end tests create entities and placeholder secrets in the space and never delete them, so they only run in a throwaway space whose name starts with %q (create one, e.g. %s-1)",
			name, LiveSpacePrefix, LiveSpacePrefix)
	}
	return nil
}

// liveTarget returns the live target when OCTOBUNDLE_LIVE=1, after checking
// that the space it resolves to (by name or ID) is an octobundle-e2e space.
func liveTarget(t *testing.T) (Target, bool) {
	t.Helper()
	tg, enabled, err := liveConfig(os.Getenv)
	if !enabled {
		return Target{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	connect(t, tg, nil) // fails the test unless the space resolves and passes the guard
	return tg, true
}

// connect connects a new client (with its own Stats) to the target's space
// and checks the guard on the space's actual name. With rec set, every
// response the server sends passes through it.
func connect(t *testing.T, tg Target, rec *recorder) *octopus.Client {
	t.Helper()
	cfg := octopus.Config{URL: tg.URL, APIKey: tg.APIKey, Space: tg.Space, Tool: "octobundle-e2e"}
	if !tg.Live {
		cfg.Retry = octopus.Retry{Attempts: 10, Base: 5 * time.Millisecond, Max: 50 * time.Millisecond}
	}
	if rec != nil {
		cfg.HTTPClient = &http.Client{Timeout: 60 * time.Second, Transport: rec}
	}
	c, err := octopus.Connect(context.Background(), cfg)
	if err != nil {
		t.Fatalf("%s: %v", tg.Name, redact(err, tg.APIKey))
	}
	if err := checkSpaceName(c.SpaceName); err != nil {
		t.Fatalf("%s (%s): %v", tg.Name, c.Server(), err)
	}
	return c
}

// redact replaces the API key in an error's text, in case a future error
// message includes it.
func redact(err error, key string) error {
	if key == "" || !strings.Contains(err.Error(), key) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), key, "<api key>"))
}

// applyOptions are the options every test applies the golden bundle with.
// On a real server the golden bundle's source version (2025.2) is not
// enforced: the test server may run any version, and the version check is
// covered by apply's own tests.
func applyOptions(tg Target) apply.Options {
	return apply.Options{AllowVersionSkew: tg.Live}
}

// secretMarkers are what every secret apply writes looks like: a
// placeholder's text, and the generated placeholder certificate (base64 of
// "-----BEGIN", and its key's PEM type). No server response may hold one.
var secretMarkers = []string{
	apply.PlaceholderPrefix + ": replace me",
	"LS0tLS1CRUdJTi",
	"PRIVATE KEY",
}

// recorder is an http.RoundTripper that reads every response body the
// server sends and notes any that holds a secret marker. It also counts the
// requests that sent one (the secrets written), so a test can tell that
// there was something to find.
type recorder struct {
	next http.RoundTripper

	mu        sync.Mutex
	responses int
	written   int
	leaks     []string
}

func newRecorder() *recorder { return &recorder{next: http.DefaultTransport} }

// RoundTrip sends req and scans its body and the response's.
func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		data, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		if marker(data) != "" {
			r.mu.Lock()
			r.written++
			r.mu.Unlock()
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(data))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	}
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	data, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	if rerr != nil {
		return resp, nil // the client sees a short body and fails or retries
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.responses++
	if m := marker(data); m != "" {
		r.leaks = append(r.leaks, fmt.Sprintf("%s %s: %d response holds %q", req.Method, req.URL.Path, resp.StatusCode, m))
	}
	return resp, nil
}

// marker returns the first secret marker in data, or "".
func marker(data []byte) string {
	for _, m := range secretMarkers {
		if bytes.Contains(data, []byte(m)) {
			return m
		}
	}
	return ""
}

// counts returns how many responses were scanned, how many requests wrote
// a secret, and the leaks found.
func (r *recorder) counts() (responses, written int, leaks []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.responses, r.written, append([]string(nil), r.leaks...)
}
