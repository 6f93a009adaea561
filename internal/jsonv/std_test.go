package jsonv

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// The tests of the encoding/json-compatible variants: DecodeWith with
// Float64 and Lenient against json.Unmarshal, AppendMarshal against
// json.Marshal (the simulator answers and reads as encoding/json does).

// unmarshalOptions are the options that decode as json.Unmarshal does.
var unmarshalOptions = DecodeOptions{Float64: true, Lenient: true}

// sameJSONValue reports whether two decoded values are equal, telling
// -0 from 0.
func sameJSONValue(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameJSONValue(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameJSONValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	}
	return a == b
}

// checkUnmarshal holds DecodeWith(unmarshalOptions) to json.Unmarshal on
// data: what it decodes, json.Unmarshal decodes to the same value; it
// returns whether it decoded it.
func checkUnmarshal(t *testing.T, data []byte) bool {
	t.Helper()
	got, derr := DecodeWith(data, unmarshalOptions)
	var want any
	err := json.Unmarshal(data, &want)
	if derr == nil && (err != nil || !sameJSONValue(got, want)) {
		t.Errorf("DecodeWith(%q) = %#v, json.Unmarshal: %#v (%v)", data, got, want, err)
	}
	return derr == nil
}

// TestDecodeWithUnmarshal compares DecodeWith(unmarshalOptions) with
// json.Unmarshal on documents it must decode, on the escapes, numbers and
// invalid input json.Unmarshal treats specially (which it must leave to
// json.Unmarshal), and on random documents and mutations of them.
func TestDecodeWithUnmarshal(t *testing.T) {
	valid := []string{
		`{}`, `[]`, ` { "a" : [ 1 , -2.5e3 , true , false , null , "x" ] } `, `"s"`, `0`, `-0`, `1E+2`, `1e-2`, `123456789012345678901234567890`,
		`{"a":1,"a":2}`, `"\"\\\/\b\f\n\r\t\u0041\u00e9\u2028"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00\ud83d"`, `"\ud83dx"`, `"\ud83d\u0041"`,
		"\"\xff\xfe\"", "\"é✓😀\"", "\"a\x7fb\"", `{"Steps":[{"Id":"a","Properties":{"K":"V"}}],"Version":3}`, "\t\r\n[1]\n",
		`5e-324`, `1.7976931348623157e308`, `0.1`, `{"":""}`,
	}
	for _, s := range valid {
		if !checkUnmarshal(t, []byte(s)) {
			t.Errorf("DecodeWith(%q) left a valid document to json.Unmarshal", s)
		}
	}
	invalid := []string{
		``, ` `, `{`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `[1 2]`, `01`, `-`, `1.`, `.5`, `1e`, `+1`, `1e400`, `-1e400`, `NaN`,
		`tru`, `nul`, `"abc`, `"\x"`, `"\'"`, `"\u12"`, `"\u12G4"`, "\"a\nb\"", "\"\x00\"", `{"a":1}x`, `[1]]`, `"\ud83d\u12"`,
		"\xef\xbb\xbf{}", `{"a":1}{}`, strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	}
	for _, s := range invalid {
		if checkUnmarshal(t, []byte(s)) {
			t.Errorf("DecodeWith(%q) decoded what json.Unmarshal rejects", s)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	runes := []rune("aZ09 <>&\"\\/\n\t\x00\x7fé✓😀\u2028")
	str := func() string {
		b := make([]rune, rng.IntN(8))
		for i := range b {
			b[i] = runes[rng.IntN(len(runes))]
		}
		return string(b)
	}
	key := func() string { return string(runes[rng.IntN(len(runes))]) }
	gen := randomTree(rng, key, str, 60)
	for i := range 3000 {
		data, err := json.MarshalIndent(gen(0), "", strings.Repeat(" ", i%3))
		if err != nil {
			t.Fatal(err)
		}
		if !checkUnmarshal(t, data) {
			t.Fatalf("DecodeWith(%q) left a valid document to json.Unmarshal", data)
		}
		// A mutation: one byte changed, removed or doubled.
		m := []byte(string(data))
		j := rng.IntN(len(m))
		switch rng.IntN(3) {
		case 0:
			m[j] = " \"\\{}[],:0-.eEtfnu\x00\xff"[rng.IntN(20)]
		case 1:
			m = append(m[:j], m[j+1:]...)
		default:
			m = append(m[:j+1], m[j:]...)
		}
		checkUnmarshal(t, m)
	}
}

// FuzzDecodeWithUnmarshal: what DecodeWith(unmarshalOptions) decodes,
// json.Unmarshal decodes alike.
//
//	go test -run '^$' -fuzz '^FuzzDecodeWithUnmarshal$' ./internal/jsonv
func FuzzDecodeWithUnmarshal(f *testing.F) {
	for _, s := range []string{`{"a":[1,"\ud83d\ude00",null]}`, `"\ud83d\u0041"`, "\"\xff\"", `-0.5e-3`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkUnmarshal(t, data) })
}

type jsonStruct struct {
	A string `json:"a"`
	B []int  `json:"b,omitempty"`
}

// TestAppendMarshal compares AppendMarshal with json.Marshal on the values
// documents hold, the strings and numbers encoding/json escapes or
// formats specially, and values it falls back to json.Marshal for.
func TestAppendMarshal(t *testing.T) {
	cases := []any{
		nil, true, false, "", "plain", `quote " backslash \ slash /`, "<script>&amp;</script>",
		"control \x00\x01\x1f\b\f\n\r\t\x7f", "invalid \xff\xfe utf-8 \xc3", "line\u2028para\u2029", "ünïcödé ✓ 😀",
		0.0, math.Copysign(0, -1), 1.0, -1.5, 123456789.0, 1e20, 1e21, 1e-6, 1e-7, 5e-324, math.MaxFloat64, 0.1 + 0.2, 1e-9, 2.5e-10,
		0, 42, int64(-7),
		map[string]any(nil), map[string]any{}, []any(nil), []any{}, []string(nil), []string{"a", "<b>"},
		[]map[string]any(nil), []map[string]any{{"z": 1.0, "a": nil}},
		map[string]string{"b": "1", "a": "<2>"}, map[string]string(nil),
		map[string]any{"b": []any{1.0, "x", nil, map[string]any{"&": true}}, "a": map[string]any{"Z": "z", "z": "Z", "é": 1.0, "": 0.0}},
		jsonStruct{A: "s"}, []any{jsonStruct{A: "<", B: []int{1}}}, json.RawMessage(`{"b":1, "a":2}`), json.Number("12.50"),
		map[string]any{"n": []int{1, 2}, "m": map[string]int{"y": 1, "x": 2}},
	}
	for i, v := range cases {
		got, err := AppendMarshal(nil, v)
		want, werr := json.Marshal(v)
		if err != nil || werr != nil || !bytes.Equal(got, want) {
			t.Errorf("case %d (%#v):\n got %s (%v)\nwant %s (%v)", i, v, got, err, want, werr)
		}
	}
	for _, v := range []any{math.NaN(), math.Inf(1), map[string]any{"x": []any{math.Inf(-1)}}} {
		if _, err := AppendMarshal(nil, v); err == nil {
			t.Errorf("AppendMarshal(%v): no error, want json.Marshal's", v)
		}
	}
}

// TestAppendMarshalRandom compares AppendMarshal with json.Marshal on
// random document trees.
func TestAppendMarshalRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	runes := []rune("aZ09 <>&\"\\/\n\t\x00\x7fé✓😀\u2028\u2029")
	randString := func() string {
		n := rng.IntN(8)
		b := make([]rune, n)
		for i := range b {
			b[i] = runes[rng.IntN(len(runes))]
		}
		s := string(b)
		if rng.IntN(10) == 0 {
			s += "\xff"
		}
		return s
	}
	gen := randomTree(rng, randString, randString, 50)
	for i := range 2000 {
		v := gen(0)
		got, err := AppendMarshal(nil, v)
		want, werr := json.Marshal(v)
		if err != nil || werr != nil || !bytes.Equal(got, want) {
			t.Fatalf("tree %d:\n got %s (%v)\nwant %s (%v)", i, got, err, want, werr)
		}
	}
}

// selfEncoded is an Appender: AppendMarshal and Pack write it as it
// appends itself.
type selfEncoded string

func (s selfEncoded) AppendJSON(dst []byte) ([]byte, error) { return append(dst, s...), nil }

// TestAppendMarshalCases checks what AppendMarshal does besides
// json.Marshal's values: an Appender is written as it appends itself,
// nesting deeper than MaxDepth is written as json.Marshal writes it, and
// the values json.Marshal checks or escapes (json.Number,
// json.RawMessage) are its error or its bytes.
func TestAppendMarshalCases(t *testing.T) {
	deep := any("<x>")
	for range MaxDepth + 5 {
		deep = []any{map[string]any{"k": deep}}
	}
	wantDeep, err := json.Marshal(deep)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   any
		want string // "" for an error
	}{
		{"an Appender as it appends itself", map[string]any{"b": selfEncoded(`{"z":1,"a":"<"}`), "a": []any{selfEncoded("[]")}}, `{"a":[[]],"b":{"z":1,"a":"<"}}`},
		{"deeper than MaxDepth", deep, string(wantDeep)},
		{"json.Number checked", json.Number("1x"), ""},
		{"json.Number as written", []any{json.Number("1.50"), json.Number("")}, ""},
		{"json.RawMessage escaped", json.RawMessage(`{"b": "<&>", "a": 1}`), `{"b":"\u003c\u0026\u003e","a":1}`},
		{"float32", []any{float32(0.1), float32(1e21), float32(1e-7), float32(16777216)}, `[0.1,1e+21,1e-7,16777216]`},
		{"typed slices and maps", map[string]any{"s": []string{"<"}, "m": []map[string]any{nil, {"a": 1}}, "ss": map[string]string{"b": "&", "a": ""}}, `{"m":[null,{"a":1}],"s":["\u003c"],"ss":{"a":"","b":"\u0026"}}`},
		{"NaN inside", map[string]any{"a": []any{math.NaN()}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendMarshal([]byte("prefix "), tt.in)
			if tt.want == "" {
				// json.Marshal's verdict: an error, or its bytes.
				want, werr := json.Marshal(tt.in)
				if (err != nil) != (werr != nil) || err == nil && string(got) != "prefix "+string(want) {
					t.Fatalf("AppendMarshal = %s (%v), json.Marshal = %s (%v)", got, err, want, werr)
				}
				return
			}
			if err != nil || string(got) != "prefix "+tt.want {
				t.Fatalf("AppendMarshal = %s (%v), want prefix %s", got, err, tt.want)
			}
		})
	}
}

// TestAppendFloat compares AppendFloat with json.Marshal for float64 and
// float32 values, the bounds of the exponent form among them.
func TestAppendFloat(t *testing.T) {
	values := []float64{0, math.Copysign(0, -1), 1, -1.5, 0.1, 1e20, 1e21, 1e-6, 1e-7, 9.999999e-7, 5e-324, math.MaxFloat64, math.SmallestNonzeroFloat32, math.MaxFloat32, 123456789, 1e-9, 2.5e-10, 16777217}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		values = append(values, (rng.Float64()-0.5)*math.Pow(10, float64(rng.IntN(80)-40)))
	}
	for _, f := range values {
		for _, bits := range []int{64, 32} {
			var v any = f
			if bits == 32 {
				v = float32(f)
			}
			want, werr := json.Marshal(v) // an error for float32's infinities
			got, err := AppendFloat(nil, f, bits)
			if (err != nil) != (werr != nil) || !bytes.Equal(got, want) {
				t.Errorf("AppendFloat(%v, %d) = %s (%v), json.Marshal %s (%v)", f, bits, got, err, want, werr)
			}
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := AppendFloat(nil, f, 64); err == nil {
			t.Errorf("AppendFloat(%v): no error", f)
		}
	}
}

// TestDecodeWith checks each option on its own: Float64 decodes numbers
// to float64 (out of range an error), Lenient accepts invalid UTF-8 and
// repeated keys, and neither changes what else Decode refuses.
func TestDecodeWith(t *testing.T) {
	tests := []struct {
		name string
		o    DecodeOptions
		in   string
		want any
		err  string
	}{
		{"numbers as float64", DecodeOptions{Float64: true}, `[1,-0,2.5e3]`, []any{1.0, math.Copysign(0, -1), 2500.0}, ""},
		{"number out of range", DecodeOptions{Float64: true}, `[1e400]`, nil, "number 1e400 out of range (offset 1)"},
		{"Float64 is not lenient", DecodeOptions{Float64: true}, `{"a":1,"a":2}`, nil, "duplicate object key"},
		{"last repeated key wins", DecodeOptions{Lenient: true}, `{"a":1,"a":2}`, map[string]any{"a": json.Number("2")}, ""},
		{"invalid UTF-8 replaced", DecodeOptions{Lenient: true}, "{\"k\xff\":[\"a\xc3\",\"\xe2\x80\\u0041\"]}", map[string]any{"k\uFFFD": []any{"a\uFFFD", "\uFFFD\uFFFDA"}}, ""},
		{"invalid UTF-8 outside a string", DecodeOptions{Lenient: true}, "[1]\xff", nil, "trailing data"},
		{"still no trailing data", DecodeOptions{Float64: true, Lenient: true}, `{} {}`, nil, "trailing data"},
		{"still the depth limit", DecodeOptions{Float64: true, Lenient: true}, strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), nil, "JSON nesting depth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeWith([]byte(tt.in), tt.o)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("DecodeWith(%q) error = %v, want one containing %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil || !sameJSONValue(got, tt.want) {
				t.Fatalf("DecodeWith(%q) = %#v (%v), want %#v", tt.in, got, err, tt.want)
			}
		})
	}
}

// randomTree returns a generator of random decoded-JSON trees (nil, bools,
// strings from str, floats up to 10^±exp/2, objects keyed by key, arrays),
// at most four levels deep.
func randomTree(rng *rand.Rand, key, str func() string, exp int) func(depth int) any {
	var gen func(depth int) any
	gen = func(depth int) any {
		switch k := rng.IntN(8); {
		case k == 0:
			return nil
		case k == 1:
			return rng.IntN(2) == 0
		case k == 2:
			return str()
		case k == 3:
			return (rng.Float64() - 0.5) * math.Pow(10, float64(rng.IntN(exp)-exp/2))
		case k < 6 && depth < 4:
			m := map[string]any{}
			for range rng.IntN(6) {
				m[key()] = gen(depth + 1)
			}
			return m
		case depth < 4:
			a := []any{}
			for range rng.IntN(6) {
				a = append(a, gen(depth+1))
			}
			return a
		}
		return float64(rng.IntN(1000))
	}
	return gen
}
