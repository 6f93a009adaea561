package octosim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/client"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/core"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/newclient"
)

const testKey = "API-TESTKEY0123456789"

// fixture is a running simulator with a go-octopusdeploy client.
type fixture struct {
	t    *testing.T
	sim  *Server
	base string
	c    *client.Client
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	if opts.APIKey == "" {
		opts.APIKey = testKey
	}
	sim, base := startTest(t, opts)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.NewClient(nil, u, opts.APIKey, "Spaces-1")
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return &fixture{t: t, sim: sim, base: base, c: c}
}

// startTest serves a server built from opts on loopback for the duration
// of the test, as simtest.Start does (which this package's own tests
// cannot import: simtest imports octosim).
func startTest(t testing.TB, opts Options) (*Server, string) {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("octosim: %v", err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts.URL
}

func (f *fixture) session() *newclient.HttpSession { return f.c.HttpSession() }

// rawResp is a raw HTTP answer.
type rawResp struct {
	status int
	header http.Header
	body   []byte
}

func (r rawResp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("status %d, body not a JSON object: %v: %s", r.status, err, r.body)
	}
	return m
}

// raw sends a request with plain net/http; key "" sends no API key.
func (f *fixture) raw(method, path, key string, body any) rawResp {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, f.base+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-Octopus-ApiKey", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResp{status: resp.StatusCode, header: resp.Header, body: b}
}

func (f *fixture) get(path string) map[string]any {
	f.t.Helper()
	m, err := newclient.Get[map[string]any](f.session(), path)
	if err != nil {
		f.t.Fatalf("GET %s: %v", path, err)
	}
	return *m
}

func (f *fixture) post(path string, body any) map[string]any {
	f.t.Helper()
	m, err := newclient.Post[map[string]any](f.session(), path, body)
	if err != nil {
		f.t.Fatalf("POST %s: %v", path, err)
	}
	return *m
}

func (f *fixture) put(path string, body any) map[string]any {
	f.t.Helper()
	m, err := newclient.Put[map[string]any](f.session(), path, body)
	if err != nil {
		f.t.Fatalf("PUT %s: %v", path, err)
	}
	return *m
}

// apiErr asserts err is an Octopus API error with the given status and
// returns it.
func apiErr(t *testing.T, err error, status int) *core.APIError {
	t.Helper()
	var ae *core.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an API error with status %d, got %T %v", status, err, err)
	}
	if ae.StatusCode != status {
		t.Fatalf("status %d, want %d (%s %v)", ae.StatusCode, status, ae.ErrorMessage, ae.Errors)
	}
	return ae
}

// wantErrorContaining asserts a 400 whose Errors mention every fragment.
func wantBadRequest(t *testing.T, err error, fragments ...string) {
	t.Helper()
	ae := apiErr(t, err, http.StatusBadRequest)
	if ae.ErrorMessage != "There was a problem with your request." {
		t.Errorf("ErrorMessage %q", ae.ErrorMessage)
	}
	all := strings.Join(ae.Errors, "\n")
	for _, frag := range fragments {
		if !strings.Contains(all, frag) {
			t.Errorf("Errors %q do not mention %q", ae.Errors, frag)
		}
	}
}

func sp1(path string) string { return "/api/Spaces-1/" + path }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
