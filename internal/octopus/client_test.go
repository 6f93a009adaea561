package octopus_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/tools/octosim/simtest"
)

var fastRetry = octopus.Retry{Attempts: 10, Base: time.Millisecond, Max: 20 * time.Millisecond}

func connect(t *testing.T, base, key, space string) *octopus.Client {
	t.Helper()
	c, err := octopus.Connect(context.Background(), octopus.Config{URL: base, APIKey: key, Space: space, Retry: fastRetry})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	return c
}

func TestConnect(t *testing.T) {
	sim, base := simtest.Start(t, octosim.Options{ServerVersion: "2025.2.1"})
	tests := []struct {
		name, url, key, space string
		wantSpace, wantErr    string
	}{
		{name: "default space", url: base, key: sim.APIKey(), wantSpace: "Spaces-1"},
		{name: "space by name", url: base, key: sim.APIKey(), space: "Default", wantSpace: "Spaces-1"},
		{name: "trailing slash", url: base + "/", key: sim.APIKey(), space: "Default", wantSpace: "Spaces-1"},
		{name: "unknown space", url: base, key: sim.APIKey(), space: "Nowhere", wantErr: `space "Nowhere" not found`},
		{name: "wrong key", url: base, key: "API-WRONG0000", wantErr: "401"},
		{name: "no key", url: base, wantErr: "no API key"},
		{name: "not a URL", url: "ftp://x", key: sim.APIKey(), wantErr: "not an http(s) URL"},
		{name: "credentials in URL are refused, not echoed", url: "http://user:hunter2@127.0.0.1:1", key: sim.APIKey(), wantErr: "http://REDACTED@127.0.0.1:1"},
		{name: "key in the query is refused, not echoed", url: base + "/?ApiKey=hunter2", key: sim.APIKey(), wantErr: "?ApiKey=REDACTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := octopus.Connect(context.Background(), octopus.Config{URL: tt.url, APIKey: tt.key, Space: tt.space,
				Retry: octopus.Retry{Attempts: 2, Base: time.Millisecond, Max: time.Millisecond}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				for _, secret := range []string{"hunter2", "API-WRONG0000", sim.APIKey()} {
					if strings.Contains(err.Error(), secret) {
						t.Fatalf("error leaks a secret: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.SpaceID != tt.wantSpace || c.ServerVersion != "2025.2.1" {
				t.Fatalf("space %q version %q", c.SpaceID, c.ServerVersion)
			}
		})
	}
}

// TestListPages checks List reads every page of a collection larger than
// its page size.
func TestListPages(t *testing.T) {
	sim, base := simtest.Start(t, octosim.Options{})
	c := connect(t, base, sim.APIKey(), "")
	ctx := context.Background()
	const n = 450
	for i := 0; i < n; i++ {
		if _, err := c.Post(ctx, c.SpacePath("environments", false), map[string]any{"Name": fmt.Sprintf("Env %03d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	sim.ResetCounters()
	items, err := c.List(ctx, c.SpacePath("environments", false), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != n {
		t.Fatalf("List returned %d items, want %d", len(items), n)
	}
	seen := map[string]bool{}
	for _, it := range items {
		seen[it["Name"].(string)] = true
	}
	if len(seen) != n {
		t.Fatalf("List returned duplicates: %d distinct of %d", len(seen), len(items))
	}
	if got := sim.Requests(); got != 3 {
		t.Fatalf("List of %d items took %d requests, want 3 pages of 200", n, got)
	}
	// A filter narrows the list.
	items, err = c.List(ctx, c.SpacePath("environments", false), url.Values{"partialName": {"Env 44"}})
	if err != nil || len(items) != 10 {
		t.Fatalf("partialName: %d items, %v", len(items), err)
	}
}

// TestRetries checks reads and idempotent writes survive 5xx, 429 and
// dropped connections.
func TestRetries(t *testing.T) {
	sim, base := simtest.Start(t, octosim.Options{})
	c := connect(t, base, sim.APIKey(), "")
	ctx := context.Background()
	env, err := c.Post(ctx, c.SpacePath("environments", false), map[string]any{"Name": "Production"})
	if err != nil {
		t.Fatal(err)
	}
	path := c.SpacePath("environments/"+env["Id"].(string), false)
	sim.SetFaults(octosim.Faults{ErrorRate: 0.2, RateLimitRate: 0.1, RetryAfter: time.Millisecond, DropRate: 0.1, Seed: 7})
	for i := 0; i < 40; i++ {
		got, err := c.Get(ctx, path)
		if err != nil {
			t.Fatalf("Get %d: %v", i, err)
		}
		got["Description"] = fmt.Sprint("rev ", i)
		if _, err := c.Put(ctx, path, got); err != nil {
			t.Fatalf("Put %d: %v", i, err)
		}
	}
	sim.ClearFaults()
	got, err := c.Get(ctx, path)
	if err != nil || got["Description"] != "rev 39" {
		t.Fatalf("final state %v, %v", got["Description"], err)
	}
	if c.Stats().Retries == 0 {
		t.Fatal("no retries recorded under a 40% fault rate")
	}
}

// TestCreateUncertain checks that a POST whose connection drops after the
// server created the entity is not repeated: Create finds the entity.
func TestCreateUncertain(t *testing.T) {
	sim, base := simtest.Start(t, octosim.Options{})
	c := connect(t, base, sim.APIKey(), "")
	ctx := context.Background()
	coll := c.SpacePath("environments", false)
	find := func(ctx context.Context) (map[string]any, error) {
		items, err := c.List(ctx, coll, url.Values{"partialName": {"Staging"}})
		for _, it := range items {
			if it["Name"] == "Staging" {
				return it, err
			}
		}
		return nil, err
	}
	tests := []struct {
		name string
		rule octosim.FaultRule
	}{
		{"dropped after the write", octosim.FaultRule{Method: "POST", PathPrefix: coll, Drop: true, AfterHandling: true}},
		{"dropped before the write", octosim.FaultRule{Method: "POST", PathPrefix: coll, Drop: true}},
		{"503 before the write", octosim.FaultRule{Method: "POST", PathPrefix: coll, Status: http.StatusServiceUnavailable, Times: 2}},
		{"429", octosim.FaultRule{Method: "POST", PathPrefix: coll, Status: http.StatusTooManyRequests, RetryAfter: time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if existing, _ := find(ctx); existing != nil {
				if err := c.Delete(ctx, c.SpacePath("environments/"+existing["Id"].(string), false)); err != nil {
					t.Fatal(err)
				}
			}
			id := sim.AddFaultRule(tt.rule)
			defer sim.RemoveFaultRule(id)
			got, err := c.Create(ctx, coll, map[string]any{"Name": "Staging"}, find)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			if got["Name"] != "Staging" || got["Id"] == nil {
				t.Fatalf("Create returned %v", got)
			}
			items, err := c.List(ctx, coll, nil)
			if err != nil {
				t.Fatal(err)
			}
			count := 0
			for _, it := range items {
				if it["Name"] == "Staging" {
					count++
				}
			}
			if count != 1 {
				t.Fatalf("%d environments named Staging, want exactly 1", count)
			}
		})
	}
}

// TestErrors checks server errors keep their details and are not retried.
func TestErrors(t *testing.T) {
	sim, base := simtest.Start(t, octosim.Options{})
	c := connect(t, base, sim.APIKey(), "")
	ctx := context.Background()
	_, err := c.Post(ctx, c.SpacePath("projects", false), map[string]any{"Name": "P", "LifecycleId": "Lifecycles-999"})
	var ae *octopus.APIError
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Message == "" || len(ae.Errors) == 0 {
		t.Fatalf("want a 400 APIError with details, got %#v", err)
	}
	if !strings.Contains(err.Error(), "POST /api/Spaces-1/projects: 400") {
		t.Fatalf("error does not name the request: %v", err)
	}
	sim.ResetCounters()
	_, err = c.Get(ctx, c.SpacePath("environments/Environments-999", false))
	if !octopus.IsStatus(err, 404) {
		t.Fatalf("want 404, got %v", err)
	}
	if sim.Requests() != 1 {
		t.Fatalf("a 404 was retried: %d requests", sim.Requests())
	}
	// Giving up after the configured attempts.
	sim.SetFaults(octosim.Faults{ErrorRate: 1})
	_, err = c.Get(ctx, c.SpacePath("environments", false))
	if err == nil || !strings.Contains(err.Error(), "gave up after 10 attempts") {
		t.Fatalf("want a give-up error, got %v", err)
	}
}

// TestConnectFailsFast: a refused connection and a host that does not
// resolve fail on the first attempt, with ErrUnreachable, not after the
// retry policy's minute of backoff.
func TestConnectFailsFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	for _, tc := range []struct{ name, url, want string }{
		{"refused", closed, "connection refused (is the server running"},
		{"no such host", "http://no-such-host.invalid", `the host "no-such-host.invalid" does not resolve`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := octopus.Connect(context.Background(), octopus.Config{URL: tc.url, APIKey: "API-X"})
			if !errors.Is(err, octopus.ErrUnreachable) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrUnreachable with %q", err, tc.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v: retried", d)
			}
		})
	}
}
