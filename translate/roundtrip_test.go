package translate_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/translate"
)

// seeds are the sample instances the tests of export and apply use
// (testdata/instances); between them they hold entities of every kind in
// the registry but the virtual ones.
var seeds = []string{"source.json", "destination.json"}

// snapshots reads each seed, with the optional kinds, once per test
// binary.
var snapshots = sync.OnceValues(func() ([]*snapshot.Snapshot, error) {
	var out []*snapshot.Snapshot
	for _, name := range seeds {
		s, err := readSeed(name)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
})

// readSeed serves the sample instance name on a simulator and reads its
// space, the optional kinds (deployment targets, workers) included.
func readSeed(name string) (*snapshot.Snapshot, error) {
	seed, err := octosim.LoadSeed(filepath.Join("..", "testdata", "instances", name))
	if err != nil {
		return nil, err
	}
	sim, err := octosim.New(octosim.Options{Seed: seed})
	if err != nil {
		return nil, err
	}
	ts := httptest.NewServer(sim.Handler())
	defer ts.Close()
	ctx := context.Background()
	c, err := octopus.Connect(ctx, octopus.Config{
		URL: ts.URL, APIKey: sim.APIKey(), Tool: "octobundle/test",
		Retry:  octopus.Retry{Attempts: 12, Base: 5 * time.Millisecond, Max: 2 * time.Second},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, err
	}
	return snapshot.Read(ctx, c, snapshot.Options{Optional: true})
}

// refs lists the references doc (server form, of an entity of kind k)
// holds, one "path → ID" line each with the path's array indices left out
// (sorting sets may reorder them), sorted.
func refs(t *testing.T, k *schema.Kind, doc any) []string {
	t.Helper()
	var out []string
	err := k.Visit(doc, func(ref schema.Ref, at []string, v string) {
		if ref.To == schema.AnyKind && schema.KindForID(v) == nil {
			return // an ordinary property value, no reference
		}
		out = append(out, ref.Path+" → "+v)
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// names lists the names doc (bundle form, of an entity of kind k named
// entity) holds, one "kind scope/name" line each, sorted.
func names(t *testing.T, k *schema.Kind, entity []string, doc any) []string {
	t.Helper()
	var out []string
	err := translate.VisitNames(k, entity, doc, func(r translate.NameRef) {
		scope, _ := r.Scope()
		out = append(out, r.To+" "+scope+"/"+r.Name)
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// added gives references to an entity of each kind whose samples hold
// none, so that the round trip covers every kind that declares references:
// it edits the server form doc of the first such entity of s.
var added = map[string]func(s *snapshot.Snapshot, doc map[string]any){
	schema.ProjectGroup: func(s *snapshot.Snapshot, doc map[string]any) {
		doc["EnvironmentIds"] = []any{firstID(s, schema.Environment)}
	},
	schema.ActionTemplate: func(s *snapshot.Snapshot, doc map[string]any) {
		feed := firstID(s, schema.Feed)
		doc["Packages"] = []any{map[string]any{"Name": "", "PackageId": "OctoFX.Web", "FeedId": feed, "AcquisitionLocation": "Server", "Properties": map[string]any{}}}
		props := doc["Properties"].(map[string]any)
		props["Octopus.Action.Package.FeedId"] = feed
		props["Octopus.Action.AwsAccount.Variable"] = firstID(s, schema.Account) // a free-form property
	},
	schema.ScriptModuleVariables: func(s *snapshot.Snapshot, doc map[string]any) {
		v := map[string]any{"Id": "5c1a2f9e-0000-4000-8000-000000000001", "Name": "RoundTrip", "Value": "x", "Type": "String", "IsSensitive": false,
			"Scope": map[string]any{"Environment": []any{firstID(s, schema.Environment)}}}
		doc["Variables"] = append(doc["Variables"].([]any), v)
	},
}

// firstID returns the ID of the first entity of kind s has.
func firstID(s *snapshot.Snapshot, kind string) string {
	return s.Entities(kind)[0].ID
}

// entities returns the entities of kind k s has, and for a kind of added
// one more: the first, with the references added gives it.
func entities(s *snapshot.Snapshot, k *schema.Kind) []*snapshot.Entity {
	out := s.Entities(k.Name)
	if add := added[k.Name]; add != nil && len(out) > 0 {
		e := out[0]
		doc := e.Object() // a copy of its own
		add(s, doc)
		out = append(slices.Clip(out), snapshot.NewEntity(k, e.ID, e.Name, e.Owner, doc))
	}
	return out
}

// TestRoundTrip translates entities of every kind of the registry both
// ways, on the snapshots of the sample instances (as read, so every name
// resolves): server form → bundle form → server form gives back the
// references the server held, and bundle form → server form → bundle form
// the names and the whole bundle form. A kind the samples have no entity
// of, or whose references none of them holds (see added), fails the test:
// the samples must cover the registry. Kinds never read (releases,
// deployments …) declare no references and are skipped.
func TestRoundTrip(t *testing.T) {
	snaps, err := snapshots()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range schema.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			if k.Policy == schema.PolicyNever && len(k.Refs) == 0 {
				t.Skipf("%s are never read and hold no references", k.Title)
			}
			count, withRefs := 0, 0
			for si, s := range snaps {
				for _, e := range entities(s, k) {
					count++
					label := seeds[si] + ": " + e.Label()
					form, err := translate.ToBundle(s, e)
					if err != nil {
						t.Fatalf("%s: to bundle: %v", label, err)
					}
					if k.Shape == schema.ShapeBinary {
						if !slices.Equal(form.([]byte), e.Bytes()) {
							t.Errorf("%s: the bundle form of a binary file is not its bytes", label)
						}
						continue
					}
					server, err := translate.IDs{Snap: s}.ToServer(k, e.Names(), form)
					if err != nil {
						t.Fatalf("%s: to server: %v", label, err)
					}
					want := refs(t, k, e.Doc())
					if got := refs(t, k, server); !slices.Equal(got, want) {
						t.Errorf("%s: server → bundle → server: references\n got %q\nwant %q", label, got, want)
					}
					if len(want) > 0 {
						withRefs++
					}
					back, err := translate.ToBundle(s, snapshot.NewEntity(k, e.ID, e.Name, e.Owner, server))
					if err != nil {
						t.Fatalf("%s: back to bundle: %v", label, err)
					}
					if got, want := names(t, k, e.Names(), back), names(t, k, e.Names(), form); !slices.Equal(got, want) {
						t.Errorf("%s: bundle → server → bundle: names\n got %q\nwant %q", label, got, want)
					}
					if !reflect.DeepEqual(back, form) {
						a, _ := bundles.Canonical(form)
						b, _ := bundles.Canonical(back)
						t.Errorf("%s: bundle → server → bundle differs:\n%s\n%s", label, a, b)
					}
				}
			}
			if count == 0 {
				t.Fatalf("the samples (%s) hold no %s", strings.Join(seeds, ", "), k.Title)
			}
			if len(k.Refs) > 0 && withRefs == 0 {
				t.Errorf("no %s of the samples holds a reference", k.Title)
			}
		})
	}
}
