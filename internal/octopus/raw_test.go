package octopus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/internal/octopus"
)

// TestAnswers checks how answers are decoded: documents with jsonv.Decode
// (numbers exact, duplicate keys and invalid UTF-8 refused, not retried),
// and the raw
// forms (GetRaw, GetArray, ListRaw) handing out the JSON as sent.
func TestAnswers(t *testing.T) {
	sim := newSim(t)
	bodies := map[string]string{
		"object":    `{"Id":"X-1","Big":12345678901234567890.25,"Nested":{"A":[1,2.50,"x"]}}`,
		"array":     `[{"Id":"X-1","Name":"a"}, {"Id":"X-2","Name":"b"}]`,
		"duplicate": `{"Id":"X-1","Id":"X-2"}`,
		"bad utf-8": "{\"Name\":\"\xff\"}",
		"page":      `{"Items":[{"Id":"X-1","N":1.0}, {"Id":"X-2","N":2}],"TotalResults":2}`,
		"bad page":  `{"Items":[{"Id":"X-1"}, "not an object"],"TotalResults":2}`,
		"bad item":  `{"Items":[{"Id":"X-1","Id":"X-1"}],"TotalResults":1}`,
	}
	mux := http.NewServeMux()
	mux.Handle("/", sim.Handler())
	hits := map[string]*atomic.Int64{}
	for name, body := range bodies {
		n := &atomic.Int64{}
		hits[name] = n
		mux.HandleFunc("/api/Spaces-1/t/"+strings.ReplaceAll(name, " ", "-"), func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, body)
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c, err := octopus.Connect(context.Background(), octopus.Config{URL: srv.URL, APIKey: sim.APIKey(),
		Retry: octopus.Retry{Attempts: 3, Base: time.Millisecond, Max: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	path := func(name string) string { return "/api/Spaces-1/t/" + strings.ReplaceAll(name, " ", "-") }
	// canon renders decoded JSON, numbers as written.
	canon := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	ctx := context.Background()
	tests := []struct {
		name    string
		call    func() (string, error)
		want    string
		wantErr string
	}{
		{"Get keeps numbers exact", func() (string, error) { v, err := c.Get(ctx, path("object")); return canon(v), err },
			`{"Big":12345678901234567890.25,"Id":"X-1","Nested":{"A":[1,2.50,"x"]}}`, ""},
		{"Get of an array", func() (string, error) { _, err := c.Get(ctx, path("array")); return "", err },
			"", "not an object"},
		{"Get refuses duplicate keys", func() (string, error) { _, err := c.Get(ctx, path("duplicate")); return "", err },
			"", `duplicate object key "Id"`},
		{"Get refuses invalid UTF-8", func() (string, error) { _, err := c.Get(ctx, path("bad utf-8")); return "", err },
			"", "invalid UTF-8"},
		{"GetAny of an array", func() (string, error) { v, err := c.GetAny(ctx, path("array")); return canon(v), err },
			`[{"Id":"X-1","Name":"a"},{"Id":"X-2","Name":"b"}]`, ""},
		{"GetRaw is the answer as sent", func() (string, error) { v, err := c.GetRaw(ctx, path("array")); return string(v), err },
			bodies["array"], ""},
		{"GetArray splits an array", func() (string, error) {
			items, err := c.GetArray(ctx, path("array"))
			var out []string
			for _, it := range items {
				out = append(out, string(it))
			}
			return strings.Join(out, "|"), err
		}, `{"Id":"X-1","Name":"a"}|{"Id":"X-2","Name":"b"}`, ""},
		{"GetArray of an object", func() (string, error) { _, err := c.GetArray(ctx, path("object")); return "", err },
			"", "the answer is not an array"},
		{"ListRaw keeps items as sent", func() (string, error) {
			items, err := c.ListRaw(ctx, path("page"), nil)
			var out []string
			for _, it := range items {
				out = append(out, string(it))
			}
			return strings.Join(out, "|"), err
		}, `{"Id":"X-1","N":1.0}|{"Id":"X-2","N":2}`, ""},
		{"List decodes the items", func() (string, error) { v, err := c.List(ctx, path("page"), nil); return canon(v), err },
			`[{"Id":"X-1","N":1.0},{"Id":"X-2","N":2}]`, ""},
		{"ListRaw refuses an item that is not an object", func() (string, error) { _, err := c.ListRaw(ctx, path("bad page"), nil); return "", err },
			"", "item 1 is not an object"},
		{"List refuses an item with duplicate keys", func() (string, error) { _, err := c.List(ctx, path("bad item"), nil); return "", err },
			"", `item 0: duplicate object key "Id"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.call()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	// A well-formed answer refused by the decoder is not asked for again:
	// the server would send the same.
	for _, name := range []string{"duplicate", "bad utf-8"} {
		if n := hits[name].Load(); n != 1 {
			t.Errorf("%s: %d requests, want 1 (not retried)", name, n)
		}
	}
	// A raw item packs as sent, compacted.
	items, err := c.ListRaw(ctx, path("page"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := jsonv.Pack(items[0])
	if err != nil || string(d.JSON()) != `{"Id":"X-1","N":1.0}` {
		t.Fatalf("packed raw item: %s, %v", d.JSON(), err)
	}
}
