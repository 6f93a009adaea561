package octopus_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/tools/octosim"
)

// hostileServer serves a simulator on loopback, except below /api/hostile/,
// where handle answers; hits counts the requests handle saw.
func hostileServer(t *testing.T, handle http.HandlerFunc) (base string, key string, hits *atomic.Int64) {
	t.Helper()
	sim, err := octosim.New(octosim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hits = new(atomic.Int64)
	h := sim.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/hostile/") {
			hits.Add(1)
			handle(w, r)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts.URL, sim.APIKey(), hits
}

// drip answers 200 with a long body, one byte per interval, until the
// client goes away.
func drip(interval time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "100000")
		w.WriteHeader(http.StatusOK)
		f := w.(http.Flusher)
		for {
			if _, err := w.Write([]byte(" ")); err != nil {
				return
			}
			f.Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(interval):
			}
		}
	}
}

// TestRequestTimeoutDrip: a server that drips its answer one byte at a
// time holds a request for RequestTimeout, not for RequestTimeout ×
// attempts (it was 60 s × 8 attempts, about 8.5 minutes): the request
// fails once, with a message that says so and names the request.
func TestRequestTimeoutDrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		handle http.HandlerFunc
	}{
		{"body drips", drip(50 * time.Millisecond)},
		{"no headers", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, key, hits := hostileServer(t, tc.handle)
			const timeout = 400 * time.Millisecond
			c, err := octopus.Connect(context.Background(), octopus.Config{URL: base, APIKey: key,
				RequestTimeout: timeout, Retry: octopus.Retry{Attempts: 8, Base: time.Millisecond, Max: 5 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = c.Get(context.Background(), "/api/hostile/drip")
			took := time.Since(start)
			if !errors.Is(err, octopus.ErrRequestTimeout) {
				t.Fatalf("error %v, want ErrRequestTimeout", err)
			}
			if want := "request timed out after 400ms: GET /api/hostile/drip"; !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q, want it to say %q", err, want)
			}
			if took < timeout || took > 3*timeout {
				t.Fatalf("the request took %v, want between %v and %v", took, timeout, 3*timeout)
			}
			if n := hits.Load(); n > 2 {
				t.Fatalf("the server saw %d requests for it: a request that ran out of time is not retried", n)
			}
		})
	}
}

// TestRequestTimeoutCoversRetries: the timeout bounds the request with all
// its retries and backoffs, not each attempt.
func TestRequestTimeoutCoversRetries(t *testing.T) {
	base, key, hits := hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	const timeout = 400 * time.Millisecond
	c, err := octopus.Connect(context.Background(), octopus.Config{URL: base, APIKey: key,
		RequestTimeout: timeout, Retry: octopus.Retry{Attempts: 100, Base: 100 * time.Millisecond, Max: 100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Get(context.Background(), "/api/hostile/busy")
	took := time.Since(start)
	if !errors.Is(err, octopus.ErrRequestTimeout) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("error %v, want a timeout naming the last attempt's 503", err)
	}
	if took > 3*timeout {
		t.Fatalf("the request took %v, want under %v", took, 3*timeout)
	}
	if n := hits.Load(); n < 2 || n > 10 {
		t.Fatalf("the server saw %d requests, want a few retries within the timeout", n)
	}
}

// TestMalformedAnswerNotRetried: a 200 whose body is not JSON fails at
// once (it was retried 8 times), naming the URL and the byte offset.
func TestMalformedAnswerNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		get        func(*octopus.Client, string) error
		offset     string
	}{
		{"document", `{"Name": "x",, }`, func(c *octopus.Client, p string) error { _, err := c.Get(context.Background(), p); return err }, "byte offset 13"},
		{"collection page", `{"Items": [{"Name": "x"}], "TotalResults": 1,]`, func(c *octopus.Client, p string) error {
			_, err := c.List(context.Background(), p, nil)
			return err
		}, "byte offset 45"},
		{"cut short", `{"Items": [{"Name": "x"`, func(c *octopus.Client, p string) error {
			_, err := c.List(context.Background(), p, nil)
			return err
		}, "byte offset 23"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, key, hits := hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(tc.body))
			})
			c, err := octopus.Connect(context.Background(), octopus.Config{URL: base, APIKey: key, Retry: fastRetry})
			if err != nil {
				t.Fatal(err)
			}
			err = tc.get(c, "/api/hostile/bad")
			if !errors.Is(err, octopus.ErrMalformedAnswer) {
				t.Fatalf("error %v, want ErrMalformedAnswer", err)
			}
			for _, want := range []string{"GET " + base + "/api/hostile/bad", tc.offset} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if strings.Contains(err.Error(), key) {
				t.Fatalf("error leaks the key: %v", err)
			}
			if n := hits.Load(); n != 1 {
				t.Fatalf("the server saw %d requests, want 1 (not retried)", n)
			}
		})
	}
}

// TestCommandTimeout: a deadline on the context (the CLI's --timeout)
// ends a request whose own timeout is far away, with the deadline's cause.
func TestCommandTimeout(t *testing.T) {
	base, key, _ := hostileServer(t, drip(50*time.Millisecond))
	c, err := octopus.Connect(context.Background(), octopus.Config{URL: base, APIKey: key, RequestTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	const timeout = 300 * time.Millisecond
	cause := errors.New("the command's --timeout of 300ms ran out")
	ctx, cancel := context.WithTimeoutCause(context.Background(), timeout, cause)
	defer cancel()
	start := time.Now()
	_, err = c.Get(ctx, "/api/hostile/drip")
	took := time.Since(start)
	if !errors.Is(err, cause) || !strings.Contains(err.Error(), "GET /api/hostile/drip") {
		t.Fatalf("error %v, want the command's timeout, naming the request", err)
	}
	if took > 3*timeout {
		t.Fatalf("the request took %v, want under %v", took, 3*timeout)
	}
}

// TestRequestTimeoutNotCountingQueue: waiting for a request slot
// (MaxInFlight) is no part of a request's time.
func TestRequestTimeoutNotCountingQueue(t *testing.T) {
	base, key, _ := hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(150 * time.Millisecond)
		_, _ = w.Write([]byte(`{}`))
	})
	c, err := octopus.Connect(context.Background(), octopus.Config{URL: base, APIKey: key, MaxInFlight: 1,
		RequestTimeout: 400 * time.Millisecond, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 5)
	for range 5 { // 5 × 150 ms one after another: the last waits 600 ms
		go func() { _, err := c.Get(context.Background(), "/api/hostile/slow"); errs <- err }()
	}
	for range 5 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestNoRequestTimeout: a negative RequestTimeout (--request-timeout 0)
// means no bound, with a request slot bound (MaxInFlight) too.
func TestNoRequestTimeout(t *testing.T) {
	base, key, _ := hostileServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		_, _ = w.Write([]byte(`{}`))
	})
	c, err := octopus.Connect(context.Background(), octopus.Config{URL: base, APIKey: key, MaxInFlight: 1,
		RequestTimeout: -1, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 3)
	for range 3 {
		go func() { _, err := c.Get(context.Background(), "/api/hostile/slow"); errs <- err }()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestCheckServerURL: an API key in the server URL, as a query parameter
// (any case) or user information, is refused, and the message shows the
// URL with the secret replaced.
func TestCheckServerURL(t *testing.T) {
	const secret = "API-SECRET0123456789ABCD"
	for _, tc := range []struct{ url, shown string }{
		{"https://octopus.example.com/?apikey=" + secret, "https://octopus.example.com/?apikey=REDACTED"},
		{"https://octopus.example.com/?APIKEY=" + secret, "https://octopus.example.com/?APIKEY=REDACTED"},
		{"https://octopus.example.com/?a=1&Api-Key=" + secret + "&b=2", "https://octopus.example.com/?a=1&Api-Key=REDACTED&b=2"},
		{"https://octopus.example.com?X-Octopus-ApiKey=" + secret, "https://octopus.example.com?X-Octopus-ApiKey=REDACTED"},
		{"https://octopus.example.com/?api%2Dkey=" + secret, "https://octopus.example.com/?api%2Dkey=REDACTED"},
		{"https://octopus.example.com/?token=" + secret, "https://octopus.example.com/?token=REDACTED"},
		{"https://me:" + secret + "@octopus.example.com/", "https://REDACTED@octopus.example.com/"},
		{"https://" + secret + "@octopus.example.com/", "https://REDACTED@octopus.example.com/"},
		{"https://octopus.example.com/#apikey=" + secret, "https://octopus.example.com/#REDACTED"},
		{"https://octopus.example.com/?a=1;apikey=" + secret, "https://octopus.example.com/?a=1;apikey=REDACTED"},
		{"https://octopus.example.com/" + secret + "/", "https://octopus.example.com/REDACTED/"},
	} {
		err := octopus.CheckServerURL(tc.url)
		if !errors.Is(err, octopus.ErrCredentialsInURL) {
			t.Errorf("%s: error %v, want ErrCredentialsInURL", tc.url, err)
			continue
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: the error echoes the secret: %v", tc.url, err)
		}
		if !strings.Contains(err.Error(), tc.shown) {
			t.Errorf("%s: error %q, want it to show %s", tc.url, err, tc.shown)
		}
	}
	for _, ok := range []string{"https://octopus.example.com", "https://octopus.example.com/octopus/?x=1", "http://127.0.0.1:8080/", "https://octopus.example.com/?keyword=deploy", "https://octopus.example.com/api-gateway-instance1/", "https://octopus.example.com/?q=API-short"} {
		if err := octopus.CheckServerURL(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
