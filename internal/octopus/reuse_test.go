package octopus_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/tools/octosim"
)

// countingListener counts the connections the server accepts.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// TestConnectionReuse checks that concurrent requests reuse their
// connections: with Go's default of 2 idle connections per host, 6 of 8
// concurrent requests opened a new connection (a TLS handshake on a real
// server) every time.
func TestConnectionReuse(t *testing.T) {
	srv, err := octosim.New(octosim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	ctx, cancel := context.WithCancel(context.Background())
	// Not waited for: the server's graceful shutdown waits five seconds for
	// connections the client opened and keeps idle.
	go func() { _ = srv.Serve(ctx, cl) }()
	t.Cleanup(cancel)

	c := connect(t, octosim.BaseURL(ln), srv.APIKey(), "")
	const workers, rounds = 8, 25
	for r := 0; r < rounds; r++ {
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.Get(context.Background(), c.SpacePath("environments", false)); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	// One connection per concurrent request, plus the few Connect used;
	// never one per request.
	if n := cl.n.Load(); n > 2*workers {
		t.Errorf("%d requests opened %d connections, want at most %d", workers*rounds, n, 2*workers)
	}
}

// TestMaxInFlight checks that Config.MaxInFlight bounds the requests the
// server sees at once, however many goroutines send them (apply runs
// twice as many write passes as --concurrency, relying on it), and that
// without it they are not bounded (so the test can tell).
func TestMaxInFlight(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int
		check func(max int64) bool
		want  string
	}{
		{"bounded", 3, func(max int64) bool { return max == 3 }, "exactly 3"},
		{"unbounded", 0, func(max int64) bool { return max > 3 }, "over 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := octosim.New(octosim.Options{Faults: octosim.Faults{Latency: 5 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			var now, max atomic.Int64
			counting := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := now.Add(1)
				defer now.Add(-1)
				for m := max.Load(); n > m && !max.CompareAndSwap(m, n); m = max.Load() {
				}
				srv.Handler().ServeHTTP(w, r)
			})
			hs := httptest.NewServer(counting)
			t.Cleanup(hs.Close)
			c, err := octopus.Connect(context.Background(), octopus.Config{URL: hs.URL, APIKey: srv.APIKey(), Retry: fastRetry, MaxInFlight: tc.limit})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.MaxInFlight(); got != tc.limit {
				t.Errorf("MaxInFlight() = %d, want %d", got, tc.limit)
			}
			var wg sync.WaitGroup
			for range 24 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 3 {
						if _, err := c.Get(context.Background(), c.SpacePath("environments", false)); err != nil {
							t.Error(err)
						}
					}
				}()
			}
			wg.Wait()
			if m := max.Load(); !tc.check(m) {
				t.Errorf("at most %d requests were in flight at once, want %s", m, tc.want)
			}
		})
	}
}
