package octopus_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/octobundle/octobundle/internal/octosim"
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
