// Package simtest starts Octopus API simulators (package octosim) for
// tests. It is apart from octosim so that octosim links neither testing
// nor net/http/httptest: only tests import simtest.
package simtest

import (
	"net/http/httptest"
	"testing"

	"github.com/octobundle/octobundle/tools/octosim"
)

// Start builds a server from opts and serves it on 127.0.0.1 on a free
// port for the duration of the test. It returns the server and its base
// URL ("http://127.0.0.1:41234"), to be given to client.NewClient as is.
// A failure to build the server fails the test.
func Start(t testing.TB, opts octosim.Options) (*octosim.Server, string) {
	t.Helper()
	s, err := octosim.New(opts)
	if err != nil {
		t.Fatalf("octosim: %v", err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts.URL
}
