package execute

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
)

// TestReadOwned checks the list forms readOwned tries against servers
// that answer each of them, ignore ids, or answer none: what it returns,
// and the requests it makes (a second call remembers the form).
func TestReadOwned(t *testing.T) {
	docs := map[string]map[string]any{}
	for _, id := range []string{"p-1", "p-2", "p-3", "p-9"} {
		docs[id] = map[string]any{"Id": id, "Version": 0.0}
	}
	idsOf := func(r *http.Request) []string {
		if v := r.URL.Query().Get("ids"); v != "" {
			return strings.Split(v, ",")
		}
		return nil
	}
	pick := func(ids []string) []any {
		out := []any{}
		if ids == nil {
			for _, id := range []string{"p-1", "p-2", "p-3", "p-9"} {
				out = append(out, docs[id])
			}
			return out
		}
		for _, id := range ids {
			if d, ok := docs[id]; ok {
				out = append(out, d)
			}
		}
		return out
	}
	page := func(items []any, total int) any {
		return map[string]any{"Items": items, "TotalResults": total}
	}
	for _, tc := range []struct {
		name string
		// serve answers the list request at path (below the space), or
		// nil for 404.
		serve    func(path string, ids []string) any
		want     []string
		requests []string // of the two calls
	}{
		{"paged with ids", func(p string, ids []string) any {
			if p == "coll" {
				return page(pick(ids), len(pick(ids)))
			}
			return nil
		}, []string{"P1", "P2", "P3"}, []string{"coll", "coll"}},
		{"bare array at all", func(p string, ids []string) any {
			if p == "coll/all" {
				return pick(ids)
			}
			return nil
		}, []string{"P1", "P2", "P3"}, []string{"coll", "coll/all", "coll/all"}},
		{"ids ignored", func(p string, ids []string) any {
			if p == "coll" {
				return page(pick(nil)[:2], 4)
			}
			return nil
		}, []string{"P1", "P2"}, []string{"coll", "coll/all"}},
		{"no list form", func(p string, ids []string) any { return nil }, nil, []string{"coll", "coll/all"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/api" || r.URL.Path == "/api/" {
					_ = json.NewEncoder(w).Encode(map[string]any{"Application": "Octopus Deploy", "Version": "2025.3.1", "ApiVersion": "3.0.0", "Links": map[string]any{}})
					return
				}
				if strings.HasSuffix(r.URL.Path, "/api/spaces") {
					_ = json.NewEncoder(w).Encode(map[string]any{"Items": []any{map[string]any{"Id": "Spaces-1", "Name": "Default", "IsDefault": true}}, "TotalResults": 1})
					return
				}
				p := strings.TrimPrefix(r.URL.Path, "/api/Spaces-1/")
				mu.Lock()
				got = append(got, p)
				mu.Unlock()
				if out := tc.serve(p, idsOf(r)); out != nil {
					_ = json.NewEncoder(w).Encode(out)
					return
				}
				w.WriteHeader(http.StatusNotFound)
				_ = json.NewEncoder(w).Encode(map[string]any{"ErrorMessage": "not found"})
			}))
			defer srv.Close()
			c, err := octopus.Connect(context.Background(), octopus.Config{URL: srv.URL, APIKey: "API-X", Retry: octopus.Retry{Attempts: 1}})
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			got = nil
			mu.Unlock()
			k := &schema.Kind{Name: "k", Read: "coll/{SingletonId}"}
			owner := func(id, sid string) *snapshot.Entity {
				return snapshot.NewEntity(&schema.Kind{Name: "o"}, id, id, nil, map[string]any{"Id": id, "SingletonId": sid})
			}
			var forms formCache
			var names []string
			for _, owners := range [][]*snapshot.Entity{
				{owner("P1", "p-1"), owner("P2", "p-2"), owner("P4", "p-4")},
				{owner("P3", "p-3")},
			} {
				res, err := readOwned(context.Background(), c, &forms, k, owners)
				if err != nil {
					t.Fatal(err)
				}
				for o, d := range res {
					if want := "p-" + o[1:]; d["Id"] != want {
						t.Errorf("owner %s got %v, want %s", o, d["Id"], want)
					}
					names = append(names, o)
				}
			}
			sort.Strings(names)
			if strings.Join(names, ",") != strings.Join(tc.want, ",") {
				t.Errorf("read for owners %v, want %v", names, tc.want)
			}
			if strings.Join(got, " ") != strings.Join(tc.requests, " ") {
				t.Errorf("requests %v, want %v", got, tc.requests)
			}
		})
	}
}

// TestReadOwnedNoListForm: a kind whose Read does not name its singleton
// by an owner's field (a subresource of the owner) is read on its own.
func TestReadOwnedNoListForm(t *testing.T) {
	for _, read := range []string{"projects/{Id}/deploymentsettings", "coll/x/{Id}", ""} {
		got, err := readOwned(context.Background(), nil, &formCache{}, &schema.Kind{Name: "k", Read: read}, []*snapshot.Entity{})
		if got != nil || err != nil {
			t.Errorf("%q: %v, %v", read, got, err)
		}
	}
}
