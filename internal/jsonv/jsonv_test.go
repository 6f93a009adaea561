package jsonv

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

func TestDocRoundTrip(t *testing.T) {
	long := strings.Repeat(`{"Name":"Deploy web","Properties":{"Octopus.Action.Script.ScriptBody":"echo <hi> & bye"}},`, 20)
	tests := []struct {
		name   string
		in     string
		packed bool
	}{
		{"small object stays plain", `{"a":"<b>","n":1.50}`, false},
		{"large document is compressed", `{"Steps":[` + strings.TrimSuffix(long, ",") + `]}`, true},
		{"array", `[1,2,3]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := Decode([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			d, err := Pack(want)
			if err != nil {
				t.Fatal(err)
			}
			if d.z != tt.packed {
				t.Errorf("compressed = %v, want %v (size %d of %d)", d.z, tt.packed, d.Size(), len(tt.in))
			}
			// Equal texts are interned: one copy, one handle.
			again, err := Pack(want)
			if err != nil {
				t.Fatal(err)
			}
			if !again.Equal(d) || unsafe.StringData(again.h.Value()) != unsafe.StringData(d.h.Value()) {
				t.Error("packing the same value twice gives two copies")
			}
			if tt.packed && d.Size() >= len(tt.in)/2 {
				t.Errorf("packed %d bytes into %d: less than half expected", len(tt.in), d.Size())
			}
			got := d.Value()
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Value() = %#v, want %#v", got, want)
			}
			// Value is a fresh copy: changing it leaves the Doc alone.
			if m, ok := got.(map[string]any); ok {
				m["changed"] = true
				if _, ok := d.Object()["changed"]; ok {
					t.Fatal("Value shares memory with the Doc")
				}
			}
			j, err := json.Marshal(struct{ D Doc }{d})
			if err != nil {
				t.Fatal(err)
			}
			var back struct{ D Doc }
			if err := json.Unmarshal(j, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back.D.Value(), want) {
				t.Fatalf("JSON round trip = %#v, want %#v", back.D.Value(), want)
			}
		})
	}
	var zero Doc
	if !zero.IsZero() || zero.Value() != nil {
		t.Fatal("zero Doc is not empty")
	}
	if j, _ := zero.MarshalJSON(); string(j) != "null" {
		t.Fatalf("zero Doc marshals as %s", j)
	}
	if _, err := PackJSON([]byte(`{"a":1,"a":2}`)); err == nil {
		t.Fatal("PackJSON accepted a duplicate key")
	}
}

// TestValueOwnsItsStrings checks that a decoded value shares no bytes with
// the scratch buffer compressed documents are decompressed into: decoding
// another document afterwards leaves it intact.
func TestValueOwnsItsStrings(t *testing.T) {
	long := func(c string) string { return strings.Repeat(c, 300) }
	a := MustPack(map[string]any{"Name": long("a"), long("k"): json.Number("1" + strings.Repeat("0", 80))})
	b := MustPack(map[string]any{"Name": long("b"), long("j"): json.Number("2" + strings.Repeat("0", 80))})
	if !a.z || !b.z {
		t.Fatal("the documents are not compressed: the test checks nothing")
	}
	va := a.Object()
	want := MustPack(va)
	for range 3 {
		_ = b.Object()
	}
	if got := MustPack(va); !got.Equal(want) {
		t.Fatalf("a decoded value changed when another document was decoded: %s", got.JSON())
	}
}

func TestPackCompact(t *testing.T) {
	type item struct {
		Name  string
		Count int
	}
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"keys sorted, no HTML escaping", map[string]any{"b": "<&>", "a": json.Number("1.50")}, `{"a":1.50,"b":"<&>"}`},
		{"escapes", "q\"b\\n\n\t\x01\u2028", `"q\"b\\n\n\t\u0001\u2028"`},
		{"Go numbers", []any{1, int64(-2), 2.5, float32(0.1), uint64(7)}, `[1,-2,2.5,0.1,7]`},
		{"a struct marshals as encoding/json does", item{"x", 3}, `{"Count":3,"Name":"x"}`},
		{"empty containers", map[string]any{"a": []any{}, "m": map[string]any{}}, `{"a":[],"m":{}}`},
		{"JSON as received is compacted, its keys as they came", json.RawMessage("{\"b\": 1,\n \"a\": [ 2 ]}"), `{"b":1,"a":[2]}`},
		{"nil containers of any are empty", map[string]any{"a": []any(nil), "m": map[string]any(nil)}, `{"a":[],"m":{}}`},
		{"typed slices and maps marshal, then pack", map[string]any{"s": []string{"<", "\xff"}, "n": []string(nil), "m": []map[string]any{nil}, "ss": map[string]string{"a": "&"}}, "{\"m\":[null],\"n\":null,\"s\":[\"<\",\"\uFFFD\"],\"ss\":{\"a\":\"&\"}}"},
		{"an Appender as it appends itself", []any{selfEncoded(`{"b":1,"a":2}`)}, `[{"b":1,"a":2}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Pack(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(d.JSON()); got != tt.want {
				t.Errorf("Pack = %s, want %s", got, tt.want)
			}
		})
	}
	deep := any("x")
	for range MaxDepth + 1 {
		deep = []any{deep}
	}
	for _, bad := range []any{"\xff", map[string]any{"\xff": 1}, math.NaN(), map[string]any{"x": math.Inf(1)}, deep} {
		if _, err := Pack(bad); err == nil {
			t.Errorf("Pack(%#v) succeeded", bad)
		}
	}
}

// TestPackKeepsNoBuffer checks that a packed document does not share the
// pooled buffer Pack encodes into: packing other documents (short, long,
// compressed or not, failing) leaves the earlier ones as they were.
func TestPackKeepsNoBuffer(t *testing.T) {
	docs := []any{
		map[string]any{"Name": "short"},
		map[string]any{"Name": strings.Repeat("x", 600), "Id": "a"},
		[]any{"plain", json.Number("12"), true, nil},
		map[string]any{"Script": strings.Repeat("echo 1; ", 90), "n": json.Number("3")},
	}
	want := make([]string, len(docs))
	packed := make([]Doc, len(docs))
	for i, v := range docs {
		packed[i] = MustPack(v)
		want[i] = string(packed[i].JSON())
	}
	for range 3 {
		for _, v := range []any{map[string]any{"Name": strings.Repeat("y", 900)}, "z", math.NaN()} {
			_, _ = Pack(v)
		}
		for i, d := range packed {
			if got := string(d.JSON()); got != want[i] {
				t.Fatalf("document %d changed after packing others: %s, want %s", i, got, want[i])
			}
			if again := MustPack(docs[i]); !again.Equal(d) {
				t.Fatalf("document %d packs differently the second time: %s", i, again.JSON())
			}
		}
	}
}
