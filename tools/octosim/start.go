package octosim

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

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
