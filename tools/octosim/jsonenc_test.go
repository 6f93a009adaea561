package octosim

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
)

// TestMain checks, for every test of the package, that each answer the
// simulator encodes is byte for byte what json.Marshal writes (see
// appendJSON), and each answer encodeNow encodes under the lock what
// json.Marshal writes for the answer built of render's copies; not when benchmarking, which measures the encoding alone.
func TestMain(m *testing.M) {
	flag.Parse()
	var mu sync.Mutex
	var bad []string
	if b := flag.Lookup("test.bench"); b == nil || b.Value.String() == "" {
		jsonCheck = checkJSON(&mu, &bad)
		answerCheck = func(got []byte, want any) { jsonCheck(want, got) }
	}
	code := m.Run()
	if len(bad) > 0 {
		fmt.Fprintf(os.Stderr, "%d answers encoded unlike json.Marshal; the first:\n%s\n", len(bad), bad[0])
		code = 1
	}
	os.Exit(code)
}

// checkJSON returns a jsonCheck that records, in bad, the answers
// appendJSON encoded unlike json.Marshal.
func checkJSON(mu *sync.Mutex, bad *[]string) func(v any, got []byte) {
	return func(v any, got []byte) {
		want, err := json.Marshal(v)
		if err != nil || !bytes.Equal(got, want) {
			mu.Lock()
			*bad = append(*bad, fmt.Sprintf("appendJSON wrote\n  %s\njson.Marshal\n  %s (%v)", got, want, err))
			mu.Unlock()
		}
	}
}

type jsonStruct struct {
	A string `json:"a"`
	B []int  `json:"b,omitempty"`
}

// TestAppendJSON compares appendJSON with json.Marshal on the values
// documents hold, the strings and numbers encoding/json escapes or
// formats specially, and values it falls back to json.Marshal for.
func TestAppendJSON(t *testing.T) {
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
		got, err := appendJSON(nil, v)
		want, werr := json.Marshal(v)
		if err != nil || werr != nil || !bytes.Equal(got, want) {
			t.Errorf("case %d (%#v):\n got %s (%v)\nwant %s (%v)", i, v, got, err, want, werr)
		}
	}
	for _, v := range []any{math.NaN(), math.Inf(1), map[string]any{"x": []any{math.Inf(-1)}}} {
		if _, err := appendJSON(nil, v); err == nil {
			t.Errorf("appendJSON(%v): no error, want json.Marshal's", v)
		}
	}
}

// TestAppendJSONRandom compares appendJSON with json.Marshal on random
// document trees.
func TestAppendJSONRandom(t *testing.T) {
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
	var gen func(depth int) any
	gen = func(depth int) any {
		switch k := rng.IntN(8); {
		case k == 0:
			return nil
		case k == 1:
			return rng.IntN(2) == 0
		case k == 2:
			return randString()
		case k == 3:
			return (rng.Float64() - 0.5) * math.Pow(10, float64(rng.IntN(50)-25))
		case k < 6 && depth < 4:
			m := map[string]any{}
			for range rng.IntN(6) {
				m[randString()] = gen(depth + 1)
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
	for i := range 2000 {
		v := gen(0)
		got, err := appendJSON(nil, v)
		want, werr := json.Marshal(v)
		if err != nil || werr != nil || !bytes.Equal(got, want) {
			t.Fatalf("tree %d:\n got %s (%v)\nwant %s (%v)", i, got, err, want, werr)
		}
	}
}
