package octosim

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

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

// checkDecodeAny holds decodeAny to json.Unmarshal on data: what it
// decodes, json.Unmarshal decodes to the same value; it returns whether
// decodeAny decoded it.
func checkDecodeAny(t *testing.T, data []byte) bool {
	t.Helper()
	got, ok := decodeAny(data)
	var want any
	err := json.Unmarshal(data, &want)
	if ok && (err != nil || !sameJSONValue(got, want)) {
		t.Errorf("decodeAny(%q) = %#v, json.Unmarshal: %#v (%v)", data, got, want, err)
	}
	return ok
}

// TestDecodeAny compares decodeAny with json.Unmarshal on documents it
// must decode, on the escapes, numbers and invalid input json.Unmarshal
// treats specially (which decodeAny must leave to it), and on random
// documents and mutations of them.
func TestDecodeAny(t *testing.T) {
	valid := []string{
		`{}`, `[]`, ` { "a" : [ 1 , -2.5e3 , true , false , null , "x" ] } `, `"s"`, `0`, `-0`, `1E+2`, `1e-2`, `123456789012345678901234567890`,
		`{"a":1,"a":2}`, `"\"\\\/\b\f\n\r\t\u0041\u00e9\u2028"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00\ud83d"`, `"\ud83dx"`, `"\ud83d\u0041"`,
		"\"\xff\xfe\"", "\"é✓😀\"", "\"a\x7fb\"", `{"Steps":[{"Id":"a","Properties":{"K":"V"}}],"Version":3}`, "\t\r\n[1]\n",
		`5e-324`, `1.7976931348623157e308`, `0.1`, `{"":""}`,
	}
	for _, s := range valid {
		if !checkDecodeAny(t, []byte(s)) {
			t.Errorf("decodeAny(%q) left a valid document to json.Unmarshal", s)
		}
	}
	invalid := []string{
		``, ` `, `{`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `[1 2]`, `01`, `-`, `1.`, `.5`, `1e`, `+1`, `1e400`, `-1e400`, `NaN`,
		`tru`, `nul`, `"abc`, `"\x"`, `"\'"`, `"\u12"`, `"\u12G4"`, "\"a\nb\"", "\"\x00\"", `{"a":1}x`, `[1]]`, `"\ud83d\u12"`,
		"\xef\xbb\xbf{}", `{"a":1}{}`, strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	}
	for _, s := range invalid {
		if checkDecodeAny(t, []byte(s)) {
			t.Errorf("decodeAny(%q) decoded what json.Unmarshal rejects", s)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	runes := []rune("aZ09 <>&\"\\/\n\t\x00\x7fé✓😀\u2028")
	var gen func(depth int) any
	gen = func(depth int) any {
		switch k := rng.IntN(8); {
		case k == 0:
			return nil
		case k == 1:
			return rng.IntN(2) == 0
		case k == 2:
			b := make([]rune, rng.IntN(8))
			for i := range b {
				b[i] = runes[rng.IntN(len(runes))]
			}
			return string(b)
		case k == 3:
			return (rng.Float64() - 0.5) * math.Pow(10, float64(rng.IntN(60)-30))
		case k < 6 && depth < 4:
			m := map[string]any{}
			for range rng.IntN(6) {
				m[string(runes[rng.IntN(len(runes))])] = gen(depth + 1)
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
	for i := range 3000 {
		data, err := json.MarshalIndent(gen(0), "", strings.Repeat(" ", i%3))
		if err != nil {
			t.Fatal(err)
		}
		if !checkDecodeAny(t, data) {
			t.Fatalf("decodeAny(%q) left a valid document to json.Unmarshal", data)
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
		checkDecodeAny(t, m)
	}
}

// FuzzDecodeAny: what decodeAny decodes, json.Unmarshal decodes alike.
func FuzzDecodeAny(f *testing.F) {
	for _, s := range []string{`{"a":[1,"\ud83d\ude00",null]}`, `"\ud83d\u0041"`, "\"\xff\"", `-0.5e-3`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkDecodeAny(t, data) })
}
