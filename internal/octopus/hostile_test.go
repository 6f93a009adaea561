package octopus_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octobundle/octobundle/internal/limits"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/tools/octosim"
)

// recorder wraps a handler and records every request it sees, and whether
// it carried the API key.
type recorder struct {
	next     http.Handler
	mu       sync.Mutex
	paths    []string
	withKey  atomic.Int64
	requests atomic.Int64
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.requests.Add(1)
	if req.Header.Get("X-Octopus-ApiKey") != "" || req.URL.Query().Get("apikey") != "" {
		r.withKey.Add(1)
	}
	r.mu.Lock()
	r.paths = append(r.paths, req.Method+" "+req.URL.Path)
	r.mu.Unlock()
	r.next.ServeHTTP(w, req)
}

func newSim(t *testing.T) *octosim.Server {
	t.Helper()
	sim, err := octosim.New(octosim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return sim
}

// tlsSim serves h over TLS with a certificate for 127.0.0.1 issued by a new
// test CA, and returns the server and a PEM file of that CA.
func tlsSim(t *testing.T, h http.Handler, connState ...func(net.Conn, http.ConnState)) (*httptest.Server, string) {
	t.Helper()
	cert, err := octosim.NewTLSCertificate("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(h)
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert.Server}}
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes
	if len(connState) > 0 {
		ts.Config.ConnState = connState[0]
	}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, cert.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return ts, p
}

func logTo(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestTLS connects to the simulator served over TLS with a certificate
// generated for the test (a new CA and a certificate for 127.0.0.1):
// verified by default, trusted with CACertFile, and with verification off
// only when asked, with a warning.
func TestTLS(t *testing.T) {
	sim := newSim(t)
	rec := &recorder{next: sim.Handler()}
	ts, caFile := tlsSim(t, rec)
	_, otherCA := tlsSim(t, http.NotFoundHandler()) // another test CA
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(ts.URL, "https://"))

	tests := []struct {
		name     string
		url      string
		ca       string
		insecure bool
		wantErr  []string
		wantWarn string
	}{
		{name: "verified by default: unknown authority", url: ts.URL,
			wantErr: []string{"GET /api/", "TLS certificate was not accepted", "certificate signed by unknown authority", "--ca-cert FILE", "--insecure-skip-tls-verify"}},
		{name: "CA file trusts the server", url: ts.URL, ca: caFile},
		{name: "another CA does not", url: ts.URL, ca: otherCA,
			wantErr: []string{"certificate signed by unknown authority", "--ca-cert"}},
		{name: "the right CA but the wrong host name", url: "https://localhost:" + port, ca: caFile,
			wantErr: []string{"TLS certificate was not accepted", "wanted to match localhost", "a host name the certificate names", "--insecure-skip-tls-verify"}},
		{name: "a CA file without certificates", url: ts.URL, ca: notPEM,
			wantErr: []string{notPEM, "no PEM certificate found"}},
		{name: "a missing CA file", url: ts.URL, ca: filepath.Join(t.TempDir(), "missing.pem"),
			wantErr: []string{"reading the CA certificate", "missing.pem"}},
		{name: "insecure works and warns", url: ts.URL, insecure: true,
			wantWarn: "TLS certificate verification is off"},
		{name: "insecure also passes a wrong host name", url: "https://localhost:" + port, insecure: true,
			wantWarn: "TLS certificate verification is off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			rec.requests.Store(0)
			c, err := octopus.Connect(context.Background(), octopus.Config{
				URL: tt.url, APIKey: sim.APIKey(), Retry: fastRetry, Logger: logTo(&logs),
				CACertFile: tt.ca, InsecureSkipTLSVerify: tt.insecure,
			})
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("Connect succeeded")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				if strings.Contains(err.Error(), sim.APIKey()) {
					t.Fatalf("error holds the API key: %v", err)
				}
				if got := rec.requests.Load(); got != 0 {
					t.Fatalf("the server received %d HTTP requests through an unverified connection", got)
				}
			} else {
				if err != nil {
					t.Fatalf("Connect: %v", err)
				}
				if _, err := c.List(context.Background(), c.SpacePath("environments", false), nil); err != nil {
					t.Fatal(err)
				}
			}
			warned := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), tt.wantWarn)
			if tt.wantWarn != "" && !warned {
				t.Fatalf("no warning %q in the log:\n%s", tt.wantWarn, logs.String())
			}
			if tt.wantWarn == "" && strings.Contains(logs.String(), "level=WARN") {
				t.Fatalf("unexpected warning:\n%s", logs.String())
			}
		})
	}
	// A certificate error is not retried: trying again cannot fix it.
	var handshakes atomic.Int64
	counting, _ := tlsSim(t, sim.Handler(), func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			handshakes.Add(1)
		}
	})
	if _, err := octopus.Connect(context.Background(), octopus.Config{URL: counting.URL, APIKey: sim.APIKey(), Retry: fastRetry}); !errors.Is(err, octopus.ErrTLSVerify) {
		t.Fatalf("want ErrTLSVerify, got %v", err)
	}
	if got := handshakes.Load(); got != 1 {
		t.Fatalf("a certificate error was retried: %d connections", got)
	}
}

// TestRedirects checks the API key never leaves the server it was given:
// redirects to another port, another host name or from https to http are
// refused (and not retried), same-origin redirects work, for GET and POST.
func TestRedirects(t *testing.T) {
	// B is a second, complete Octopus on another port: if the key followed
	// a redirect there, every request would succeed.
	simB := newSim(t)
	recB := &recorder{next: simB.Handler()}
	srvB := httptest.NewServer(recB)
	t.Cleanup(srvB.Close)

	// A redirects every request under /moved/ to target + the rest of the
	// path, with the status in effect.
	simA := newSim(t)
	var target atomic.Value
	var status atomic.Int64
	mux := http.NewServeMux()
	mux.Handle("/", simA.Handler())
	mux.HandleFunc("/moved/", func(w http.ResponseWriter, r *http.Request) {
		to := target.Load().(string) + strings.TrimPrefix(r.URL.Path, "/moved")
		if r.URL.RawQuery != "" {
			to += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, to, int(status.Load()))
	})
	mux.HandleFunc("/loop/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path, http.StatusFound)
	})
	recA := &recorder{next: mux}
	srvA := httptest.NewServer(recA)
	t.Cleanup(srvA.Close)
	tlsA := httptest.NewTLSServer(recA)
	tlsA.Config.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(tlsA.Close)
	_, portA, _ := net.SplitHostPort(strings.TrimPrefix(srvA.URL, "http://"))

	tests := []struct {
		name    string
		base    string // the server URL given
		target  string // where /moved/… redirects to
		status  int
		wantErr []string
	}{
		{name: "same origin, 302", base: srvA.URL + "/moved", target: srvA.URL, status: http.StatusFound},
		{name: "same origin, 307 keeps POST bodies", base: srvA.URL + "/moved", target: srvA.URL, status: http.StatusTemporaryRedirect},
		{name: "same origin, 308", base: srvA.URL + "/moved", target: srvA.URL, status: http.StatusPermanentRedirect},
		{name: "another port", base: srvA.URL + "/moved", target: srvB.URL, status: http.StatusFound,
			wantErr: []string{"GET /api/", "redirect refused", "redirected to " + srvB.URL, "another origin than " + srvA.URL, "--server"}},
		{name: "another port, 307", base: srvA.URL + "/moved", target: srvB.URL, status: http.StatusTemporaryRedirect,
			wantErr: []string{"redirect refused", srvB.URL}},
		{name: "another host name on the same port", base: srvA.URL + "/moved", target: "http://localhost:" + portA, status: http.StatusMovedPermanently,
			wantErr: []string{"redirect refused", "http://localhost:" + portA}},
		{name: "https to http", base: tlsA.URL + "/moved", target: srvB.URL, status: http.StatusFound,
			wantErr: []string{"redirect refused", "from https to http", "never sends the API key over an unencrypted connection"}},
		{name: "https to http on the same host and port", base: tlsA.URL + "/moved", target: "http://" + strings.TrimPrefix(tlsA.URL, "https://"), status: http.StatusFound,
			wantErr: []string{"from https to http"}},
		{name: "a redirect loop", base: srvA.URL + "/loop", status: http.StatusFound,
			wantErr: []string{"stopped after 10 redirects"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target.Store(tt.target)
			status.Store(int64(tt.status))
			recA.requests.Store(0)
			recB.requests.Store(0)
			recB.withKey.Store(0)
			hc := tlsA.Client() // trusts tlsA's certificate; follows our CheckRedirect
			c, err := octopus.Connect(context.Background(), octopus.Config{URL: tt.base, APIKey: simA.APIKey(), Retry: fastRetry, HTTPClient: hc})
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("Connect followed the redirect")
				}
				if !errors.Is(err, octopus.ErrRedirectRefused) {
					t.Errorf("error does not wrap ErrRedirectRefused: %v", err)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				if got := recB.requests.Load(); got != 0 {
					t.Fatalf("the other server received %d requests (%d with the key)", got, recB.withKey.Load())
				}
				if tt.name != "a redirect loop" && recA.requests.Load() != 1 {
					t.Fatalf("a refused redirect was retried or followed: %d requests to A", recA.requests.Load())
				}
				return
			}
			if err != nil {
				t.Fatalf("Connect through a same-origin redirect: %v", err)
			}
			ctx := context.Background()
			name := fmt.Sprintf("Env %d", tt.status)
			if _, err := c.Post(ctx, c.SpacePath("environments", false), map[string]any{"Name": name}); err != nil {
				t.Fatalf("POST through a %d redirect: %v", tt.status, err)
			}
			got, err := c.Get(ctx, c.SpacePath("environments", false))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(fmt.Sprint(got["Items"]), name) && tt.status != http.StatusFound {
				// 302 turns a POST into a GET (as every HTTP client does):
				// only 307 and 308 keep the body.
				t.Fatalf("the POSTed environment is missing: %v", got["Items"])
			}
			if recB.requests.Load() != 0 {
				t.Fatal("the other server received requests")
			}
		})
	}
}

// TestAbsolutePath checks a path that is a full URL (as a document's Links
// might hold) is refused before anything is sent.
func TestAbsolutePath(t *testing.T) {
	simA := newSim(t)
	srvA := httptest.NewServer(simA.Handler())
	t.Cleanup(srvA.Close)
	recB := &recorder{next: http.NotFoundHandler()}
	srvB := httptest.NewServer(recB)
	t.Cleanup(srvB.Close)
	c := connect(t, srvA.URL, simA.APIKey(), "")
	for _, p := range []string{srvB.URL + "/api/", "//" + strings.TrimPrefix(srvB.URL, "http://") + "/api/"} {
		_, err := c.Get(context.Background(), p)
		if !errors.Is(err, octopus.ErrRedirectRefused) || !strings.Contains(err.Error(), "not absolute URLs") {
			t.Errorf("Get(%q): want a refusal, got %v", p, err)
		}
	}
	if recB.requests.Load() != 0 {
		t.Fatalf("the other server received %d requests", recB.requests.Load())
	}
}

// TestPlainHTTPWarning checks an http:// URL to a host that is not this
// machine gets a warning, and loopback or https URLs do not. The client's
// dialer sends every connection to the simulator, so the named hosts need
// not exist.
func TestPlainHTTPWarning(t *testing.T) {
	sim := newSim(t)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")
	dialSim := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}}
	tests := []struct {
		url  string
		warn bool
	}{
		{"http://octopus.example.com", true},
		{"http://10.1.2.3:8080", true},
		{"http://[2001:db8::1]:8080", true},
		{"http://127.0.0.1:8080", false},
		{"http://127.8.9.10", false},
		{"http://localhost:8080", false},
		{"http://LOCALHOST.:8080", false},
		{"http://[::1]:8080", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			var logs bytes.Buffer
			if _, err := octopus.Connect(context.Background(), octopus.Config{URL: tt.url, APIKey: sim.APIKey(), HTTPClient: dialSim, Logger: logTo(&logs)}); err != nil {
				t.Fatal(err)
			}
			got := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), "plain http")
			if got != tt.warn {
				t.Fatalf("warned=%v, want %v:\n%s", got, tt.warn, logs.String())
			}
		})
	}
}

// TestResponseSizeLimit checks an answer larger than the limit, declared
// or streamed without end, fails the request with the limit named, at once
// and without retries, and an answer at the limit is read.
func TestResponseSizeLimit(t *testing.T) {
	const max = 1 << 20
	sim := newSim(t)
	var mode atomic.Value
	var hits atomic.Int64
	mux := http.NewServeMux()
	mux.Handle("/", sim.Handler())
	mux.HandleFunc("/api/Spaces-1/hostile", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		switch mode.Load().(string) {
		case "declared":
			w.Header().Set("Content-Length", fmt.Sprint(8*max))
			_, _ = w.Write(bytes.Repeat([]byte(" "), 8*max))
		case "endless":
			// Chunked, no length, never ends until the client goes away.
			chunk := bytes.Repeat([]byte(`[[[[`), 16<<10)
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		case "endless error":
			w.WriteHeader(http.StatusInternalServerError)
			chunk := bytes.Repeat([]byte("x"), 64<<10)
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		case "at the limit":
			body := `{"a":"` + strings.Repeat("x", max-len(`{"a":""}`)) + `"}`
			_, _ = io.WriteString(w, body)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c, err := octopus.Connect(context.Background(), octopus.Config{URL: srv.URL, APIKey: sim.APIKey(), Retry: fastRetry, MaxResponseSize: max})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"declared", "endless", "endless error", "at the limit"} {
		t.Run(m, func(t *testing.T) {
			mode.Store(m)
			hits.Store(0)
			start := time.Now()
			_, err := c.GetAny(context.Background(), "/api/Spaces-1/hostile")
			if m == "at the limit" {
				if err != nil {
					t.Fatalf("an answer of exactly the limit failed: %v", err)
				}
				return
			}
			var le *limits.Error
			if !errors.As(err, &le) || le.Limit != "response size" || le.Max != max {
				t.Fatalf("want a response size limit error, got %v", err)
			}
			want := "GET /api/Spaces-1/hostile: the server's answer: exceeds the response size limit of 1 MiB (1048576 bytes)"
			if err.Error() != want {
				t.Fatalf("error %q, want %q", err, want)
			}
			if octopus.IsTransient(err) || hits.Load() != 1 {
				t.Fatalf("an oversized answer was retried (%d requests) or is transient", hits.Load())
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
}

// TestCollectionSizeLimit checks a server that reports more items than
// limits.CollectionItems is not paged through: the first page fails the
// list, naming the limit.
func TestCollectionSizeLimit(t *testing.T) {
	sim := newSim(t)
	var hits atomic.Int64
	mux := http.NewServeMux()
	mux.Handle("/", sim.Handler())
	mux.HandleFunc("/api/Spaces-1/endless", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		items := make([]string, 200)
		for i := range items {
			items[i] = fmt.Sprintf(`{"Id":"X-%d"}`, i)
		}
		fmt.Fprintf(w, `{"Items":[%s],"TotalResults":%d}`, strings.Join(items, ","), limits.CollectionItems+1)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := connect(t, srv.URL, sim.APIKey(), "")
	_, err := c.List(context.Background(), "/api/Spaces-1/endless", nil)
	var le *limits.Error
	if !errors.As(err, &le) || le.Limit != "collection size" {
		t.Fatalf("want a collection size limit error, got %v", err)
	}
	if want := "GET /api/Spaces-1/endless: the server reports 1000001 items: exceeds the collection size limit of 1000000 items"; err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
	if hits.Load() != 1 {
		t.Fatalf("%d pages read", hits.Load())
	}
}

// TestSchemeMismatch: https:// to a plain-http server, and http:// to a
// TLS one, fail at the first request with the URL to use, without
// retrying (issue 23 item 7: the first retried 8 times over 17 s).
func TestSchemeMismatch(t *testing.T) {
	sim := newSim(t)
	plain := httptest.NewServer(sim.Handler())
	t.Cleanup(plain.Close)
	tls, _ := tlsSim(t, sim.Handler())
	for _, tc := range []struct{ name, url, want string }{
		{"https to plain http", strings.Replace(plain.URL, "http://", "https://", 1),
			"the server answers plain http, not https; use the server URL " + plain.URL},
		{"http to https", strings.Replace(tls.URL, "https://", "http://", 1),
			"the server speaks https, not plain http; use the server URL " + tls.URL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			_, err := octopus.Connect(context.Background(), octopus.Config{URL: tc.url, APIKey: sim.APIKey(), Logger: logTo(&logs)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if strings.Contains(logs.String(), "retrying") || strings.Contains(err.Error(), "gave up") {
				t.Fatalf("retried: %v\n%s", err, logs.String())
			}
		})
	}
}

// TestBadServerURL: a URL that is not an http(s) URL is echoed (user
// information masked) with the URL probably meant.
func TestBadServerURL(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"127.0.0.1:8080", `server URL "127.0.0.1:8080" is not an http(s) URL; did you mean "http://127.0.0.1:8080"?`},
		{"localhost:8080", `did you mean "http://localhost:8080"?`},
		{"octopus.example.com", `server URL "octopus.example.com" is not an http(s) URL; did you mean "https://octopus.example.com" (or "http://octopus.example.com" for a plain-http server)?`},
		{"http//octopus.example.com/x", `did you mean "http://octopus.example.com/x"?`},
		{"https:/octopus.example.com", `did you mean "https://octopus.example.com"?`},
		{"htps://octopus.example.com:8443/", `did you mean "https://octopus.example.com:8443/" (or`},
		{"ftp://x", `server URL "ftp://x" is not an http(s) URL; did you mean "https://x"`},
		{"bob:hunter2@octopus.example.com", `server URL "REDACTED@octopus.example.com" is not an http(s) URL`},
	} {
		t.Run(tc.url, func(t *testing.T) {
			_, err := octopus.Connect(context.Background(), octopus.Config{URL: tc.url, APIKey: "API-TEST0000000000000000"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}
