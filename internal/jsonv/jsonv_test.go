package jsonv

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
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
			// Only the allocator's rounding, not the compressor's
			// worst-case buffer.
			if cap(d.data) > len(d.data)+len(d.data)/4+16 {
				t.Errorf("the packed document keeps %d bytes of capacity for %d of data", cap(d.data), len(d.data))
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
