package octosim

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Start builds a server from opts and serves it on 127.0.0.1 on a free
// port for the duration of the test. It returns the server and its base
// URL ("http://127.0.0.1:41234"), to be given to client.NewClient as is.
// A failure to build the server fails the test.
func Start(t testing.TB, opts Options) (*Server, string) {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("octosim: %v", err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts.URL
}

// Serve serves the API on ln until ctx is done, then shuts down, giving
// requests in flight up to five seconds to finish.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 30 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serr := <-done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// BaseURL returns the base URL a client should use for a listener.
func BaseURL(ln net.Listener) string { return "http://" + ln.Addr().String() }
