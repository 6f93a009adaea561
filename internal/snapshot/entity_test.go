package snapshot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/internal/snapshot"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/tools/gen"
	"github.com/octobundle/octobundle/tools/octosim"
	"github.com/octobundle/octobundle/tools/octosim/simtest"
)

// TestEntityDoc checks that an entity hands out fresh copies of its
// document: changing what Doc or Object return changes nothing, and only
// SetDoc does.
func TestEntityDoc(t *testing.T) {
	num := json.Number("12345678901234567890.5")
	tests := []struct {
		name string
		kind string
		doc  any
		// object says whether Object returns the document.
		object bool
	}{
		{"object", schema.Project, map[string]any{"Id": "Projects-1", "Name": "OctoFX", "Big": num, "Tags": []any{"a", "b"},
			"Nested": map[string]any{"Html": "<b>&</b>", "Empty": map[string]any{}, "Null": nil}}, true},
		{"large object (compressed)", schema.Project, map[string]any{"Id": "Projects-2", "Name": "Big",
			"Description": string(bytes.Repeat([]byte("all work and no play "), 200))}, true},
		{"array of a Many kind", schema.ScopedUserRole, []any{map[string]any{"Id": "ScopedUserRoles-1", "UserRoleId": "userroles-x"}}, false},
		{"no document", schema.Project, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := schema.MustLookup(tt.kind)
			e := snapshot.NewEntity(k, "Projects-1", "OctoFX", nil, tt.doc)
			want := canonical(t, tt.doc)
			if got := canonical(t, e.Doc()); got != want {
				t.Fatalf("Doc:\n got %s\nwant %s", got, want)
			}
			if obj := e.Object(); (obj != nil) != tt.object {
				t.Fatalf("Object: %v, want an object: %v", obj, tt.object)
			}
			if e.Bytes() != nil {
				t.Errorf("Bytes of a JSON document: %q", e.Bytes())
			}
			// Change what Doc and Object return: the entity keeps its document.
			switch d := e.Doc().(type) {
			case map[string]any:
				d["Name"] = "changed"
				d["Nested"] = nil
			case []any:
				d[0] = "changed"
			}
			if obj := e.Object(); obj != nil {
				obj["Name"] = "changed too"
			}
			if got := canonical(t, e.Doc()); got != want {
				t.Fatalf("changing a copy changed the entity:\n got %s\nwant %s", got, want)
			}
			if tt.doc != nil && e.Size() == 0 {
				t.Error("Size is 0 for a document")
			}
			// SetDoc is what changes it.
			e.SetDoc(map[string]any{"Name": "set"})
			if got := canonical(t, e.Doc()); got != `{"Name":"set"}` {
				t.Errorf("after SetDoc: %s", got)
			}
		})
	}
}

// TestEntityBinary checks the bytes of a ShapeBinary kind (a logo): kept as
// given, Doc a copy, Object nil.
func TestEntityBinary(t *testing.T) {
	k := schema.MustLookup(schema.ProjectLogo)
	tests := []struct {
		name string
		data []byte
	}{
		{"png header", []byte("\x89PNG\r\n\x1a\n\x00\x00")},
		{"not UTF-8, not JSON", []byte{0xff, 0xfe, '{', 0x00}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := snapshot.NewEntity(k, "", "OctoFX", nil, bytes.Clone(tt.data))
			if !bytes.Equal(e.Bytes(), tt.data) {
				t.Fatalf("Bytes: %q, want %q", e.Bytes(), tt.data)
			}
			d, ok := e.Doc().([]byte)
			if !ok || !bytes.Equal(d, tt.data) {
				t.Fatalf("Doc: %#v", e.Doc())
			}
			d[0] ^= 0xff
			if !bytes.Equal(e.Bytes(), tt.data) {
				t.Error("changing Doc's bytes changed the entity")
			}
			if e.Object() != nil || !e.Packed().IsZero() {
				t.Errorf("a binary entity has an object or a packed document")
			}
			if e.Size() != len(tt.data) {
				t.Errorf("Size %d, want %d", e.Size(), len(tt.data))
			}
		})
	}
}

// TestReplaceReindexes checks that Replace packs the new document and
// indexes the names it provides (a step added to a process), and that
// ProvidedNames follows the document Replace set.
func TestReplaceReindexes(t *testing.T) {
	process := func(actions ...string) map[string]any {
		var steps []any
		for i, a := range actions {
			steps = append(steps, map[string]any{"Name": a, "Actions": []any{
				map[string]any{"Id": "act-" + a, "Name": a, "ActionType": "Octopus.Script", "Properties": map[string]any{}},
			}, "Id": "step-" + string(rune('a'+i))})
		}
		return map[string]any{"Id": "deploymentprocess-Projects-1", "ProjectId": "Projects-1", "Steps": steps}
	}
	tests := []struct {
		name    string
		before  []string
		after   []string
		indexed []string // action names the index knows afterwards
	}{
		{"a step added", []string{"Deploy"}, []string{"Deploy", "Smoke test"}, []string{"Deploy", "Smoke test"}},
		{"a step renamed keeps the old name indexed too", []string{"Deploy"}, []string{"Deploy web"}, []string{"Deploy", "Deploy web"}},
		{"unchanged", []string{"Deploy", "Notify"}, []string{"Deploy", "Notify"}, []string{"Deploy", "Notify"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := snapshot.New("https://o.example.com", "2025.2.1", "Spaces-1", "Default")
			p := snapshot.NewEntity(schema.MustLookup(schema.Project), "Projects-1", "OctoFX", nil,
				map[string]any{"Id": "Projects-1", "Name": "OctoFX", "DeploymentProcessId": "deploymentprocess-Projects-1"})
			s.Add(p)
			dp := snapshot.NewEntity(schema.MustLookup(schema.DeploymentProcess), "deploymentprocess-Projects-1", "OctoFX", p, process(tt.before...))
			s.Add(dp)
			doc := process(tt.after...)
			s.Replace(dp, doc)
			doc["Steps"] = nil // Replace packed it: later changes do not stick
			if got, want := canonical(t, dp.Doc()), canonical(t, process(tt.after...)); got != want {
				t.Fatalf("after Replace:\n got %s\nwant %s", got, want)
			}
			var provided []string
			for _, pn := range snapshot.ProvidedNames(dp) {
				if pn.Kind == schema.Action {
					provided = append(provided, pn.Name)
				}
			}
			if len(provided) != len(tt.after) {
				t.Errorf("ProvidedNames: %v, want %v", provided, tt.after)
			}
			got := s.Index.Names(schema.Action, p.ID)
			if len(got) != len(tt.indexed) {
				t.Fatalf("indexed actions %v, want %v", got, tt.indexed)
			}
			for i := range got {
				if got[i] != tt.indexed[i] {
					t.Errorf("indexed actions %v, want %v", got, tt.indexed)
				}
			}
			if id, ok := s.Index.ID(schema.Action, p.ID, tt.after[len(tt.after)-1]); !ok || id != "act-"+tt.after[len(tt.after)-1] {
				t.Errorf("action %q → %q %v", tt.after[len(tt.after)-1], id, ok)
			}
		})
	}
}

// TestReadHoldsPackedDocuments reads a generated instance of 300 projects
// and checks that what the snapshot keeps is bounded by its packed
// documents and its index, not by decoded documents: the heap the snapshot
// adds (after a collection, the simulator's share taken out) is less than
// twice the documents' JSON, where decoded maps alone would take several
// times it.
func TestReadHoldsPackedDocuments(t *testing.T) {
	if testing.Short() {
		t.Skip("reads a generated instance of 300 projects")
	}
	sim, base := simtest.Start(t, octosim.Options{Seed: gen.Generate(gen.Options{Projects: 300})})
	c, err := octopus.Connect(context.Background(), octopus.Config{URL: base, APIKey: sim.APIKey()})
	if err != nil {
		t.Fatal(err)
	}
	before := heap()
	s, err := snapshot.Read(context.Background(), c, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	after := heap()

	var packed, jsonSize, entities int
	for _, k := range schema.Kinds() {
		for _, e := range s.Entities(k.Name) {
			entities++
			packed += e.Size()
			if b := e.Bytes(); b != nil {
				jsonSize += len(b)
			} else {
				jsonSize += len(e.Packed().JSON())
			}
		}
	}
	if entities < 300*5 {
		t.Fatalf("read only %d entities", entities)
	}
	held := int(after) - int(before)
	t.Logf("%d entities: %d bytes of JSON, %d packed; the snapshot holds %d bytes of heap", entities, jsonSize, packed, held)
	if packed >= jsonSize {
		t.Errorf("packed documents take %d bytes, their JSON %d", packed, jsonSize)
	}
	// Decoded, the documents alone would take several times their JSON;
	// packed they take less than it, and the index a fraction of it. The
	// bound leaves room for allocator slack and the client's buffers.
	if held > 2*jsonSize {
		t.Errorf("the snapshot holds %d bytes of heap for %d bytes of JSON (%d packed): decoded documents are retained", held, jsonSize, packed)
	}
	runtime.KeepAlive(s)
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func canonical(t *testing.T, v any) string {
	t.Helper()
	if v == nil {
		return "null"
	}
	b, err := bundles.Canonical(v)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestMayContain checks the look at a document's JSON that spares decoding
// it: never false when the text is there, escaped or not.
func TestMayContain(t *testing.T) {
	const text = "OCTOBUNDLE-PLACEHOLDER"
	tests := []struct {
		name string
		raw  string // the server's JSON
		want bool
	}{
		{"in a value", `{"Name":"x","Value":"OCTOBUNDLE-PLACEHOLDER: replace me"}`, true},
		{"in a key", `{"OCTOBUNDLE-PLACEHOLDER":1}`, true},
		{"absent", `{"Name":"x","Value":"OCTOBUNDLE PLACEHOLDER"}`, false},
		{"written with \\u escapes (decoded, then packed)", `{"Value":"\u004fCTOBUNDLE-PLACEHOLDER"}`, true},
		{"packed with \\u escapes: may hold it", `{"Value":"a\u0001b"}`, true},
		{"nested in a large document", `{"Steps":[` + strings.Repeat(`{"Name":"step","Properties":{"a":"b"}},`, 50) + `{"Value":"xOCTOBUNDLE-PLACEHOLDERx"}]}`, true},
		{"absent from a large document", `{"Steps":[` + strings.Repeat(`{"Name":"step","Properties":{"a":"b"}},`, 50) + `{}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := bundles.Decode([]byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			e := snapshot.NewEntity(schema.MustLookup(schema.ProjectVariables), "", "OctoFX", nil, v)
			if got := e.MayContain(text); got != tt.want {
				t.Errorf("MayContain: %v, want %v", got, tt.want)
			}
		})
	}
	logo := snapshot.NewEntity(schema.MustLookup(schema.ProjectLogo), "", "OctoFX", nil, []byte("..."+text+"..."))
	if !logo.MayContain(text) || logo.MayContain("absent") {
		t.Error("MayContain on a binary file")
	}
}
