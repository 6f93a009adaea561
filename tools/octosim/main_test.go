package octosim

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"
)

// TestMain checks, for every test of the package, that each answer the
// simulator encodes is byte for byte what json.Marshal writes for the
// same value (see marshalJSON); not when benchmarking, which measures the
// encoding alone. What the answers mask is tested against the sources
// that say what a real server answers (mask_test.go).
func TestMain(m *testing.M) {
	flag.Parse()
	var mu sync.Mutex
	var bad []string
	if b := flag.Lookup("test.bench"); b == nil || b.Value.String() == "" {
		jsonCheck = checkJSON(&mu, &bad)
	}
	code := m.Run()
	if len(bad) > 0 {
		fmt.Fprintf(os.Stderr, "%d answers encoded unlike json.Marshal; the first:\n%s\n", len(bad), bad[0])
		code = 1
	}
	os.Exit(code)
}

// checkJSON returns a jsonCheck that records, in bad, the answers
// encoded unlike json.Marshal.
func checkJSON(mu *sync.Mutex, bad *[]string) func(v any, got []byte) {
	return func(v any, got []byte) {
		want, err := json.Marshal(v)
		if err != nil || !bytes.Equal(got, want) {
			mu.Lock()
			*bad = append(*bad, fmt.Sprintf("the simulator wrote\n  %s\njson.Marshal\n  %s (%v)", got, want, err))
			mu.Unlock()
		}
	}
}
