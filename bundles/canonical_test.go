package bundles

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/internal/jsonv"
)

func TestCanonical(t *testing.T) {
	type inner struct {
		B string
		A int
	}
	cases := []struct {
		name string
		in   any
		want string
	}{
		{"key order", map[string]any{"b": 1, "a": 2, "B": 3, "_": 4, "aa": 5}, "{\n  \"B\": 3,\n  \"_\": 4,\n  \"a\": 2,\n  \"aa\": 5,\n  \"b\": 1\n}\n"},
		{"nested indent", map[string]any{"x": []any{1, map[string]any{"y": nil}}}, "{\n  \"x\": [\n    1,\n    {\n      \"y\": null\n    }\n  ]\n}\n"},
		{"empty containers", map[string]any{"a": []any{}, "o": map[string]any{}}, "{\n  \"a\": [],\n  \"o\": {}\n}\n"},
		{"numbers kept", []any{json.Number("1.0"), json.Number("12345678901234567890123"), json.Number("-0"), json.Number("1e400"), json.Number("2.50E-3")}, "[\n  1.0,\n  12345678901234567890123,\n  -0,\n  1e400,\n  2.50E-3\n]\n"},
		{"go numbers", []any{1, int64(-2), uint64(3), 1.5, 1e21, float32(0.1)}, "[\n  1,\n  -2,\n  3,\n  1.5,\n  1e+21,\n  0.1\n]\n"},
		{"html kept", "<b>&amp;</b>", "\"<b>&amp;</b>\"\n"},
		{"escapes", "q\"b\\n\n\r\t\b\f\x01\x7f\u2028\u2029é", "\"q\\\"b\\\\n\\n\\r\\t\\b\\f\\u0001\x7f\\u2028\\u2029é\"\n"},
		{"scalars", []any{true, false, nil, ""}, "[\n  true,\n  false,\n  null,\n  \"\"\n]\n"},
		{"struct", inner{B: "x", A: 1}, "{\n  \"A\": 1,\n  \"B\": \"x\"\n}\n"},
		{"raw message", json.RawMessage(`{"b":1.10,"a":"<"}`), "{\n  \"a\": \"<\",\n  \"b\": 1.10\n}\n"},
		{"typed map", map[string]string{"z": "1", "a": "2"}, "{\n  \"a\": \"2\",\n  \"z\": \"1\"\n}\n"},
		{"nil slice", []any(nil), "null\n"},
		{"key escaping", map[string]any{"a\"b": 1}, "{\n  \"a\\\"b\": 1\n}\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Canonical(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Fatalf("got\n%q\nwant\n%q", got, c.want)
			}
			// Canonical is a fixed point through Decode.
			d, err := Decode(got)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Canonical(d)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, got) {
				t.Fatalf("not a fixed point:\n%s\n%s", got, again)
			}
			// Both packers' compact text indents to the same bytes.
			compact, err := compactJSON(d)
			if err != nil {
				t.Fatal(err)
			}
			for name, doc := range map[string]jsonv.Doc{"jsonv.Pack": jsonv.MustPack(d), "compactJSON": jsonv.PackCompact(compact)} {
				packed, err := CanonicalPacked(doc)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !bytes.Equal(packed, got) {
					t.Errorf("CanonicalPacked of %s's text:\n%q\nwant\n%q", name, packed, got)
				}
			}
		})
	}
	if got, err := CanonicalPacked(jsonv.Doc{}); err != nil || string(got) != "null\n" {
		t.Errorf("CanonicalPacked of no document: %q, %v; want null", got, err)
	}
}

func TestCanonicalErrors(t *testing.T) {
	for name, in := range map[string]any{
		"invalid utf8 string": "a\xffb",
		"invalid utf8 key":    map[string]any{"\xff": 1},
		"bad number":          json.Number("01"),
		"nan":                 []any{nan()},
	} {
		if _, err := Canonical(in); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func nan() float64 { z := 0.0; return z / z }

// Canonical matches encoding/json (HTML escaping off, two-space indent) on
// decoded documents, so other tools agree with it byte for byte.
func TestCanonicalMatchesEncodingJSON(t *testing.T) {
	src := `{"Name":"Web <1> & 2","Steps":[{"Actions":[{"Properties":{"b":"x\u2028y","a":"\t"}}],"N":1.50}],"Big":123456789012345678901234567890,"Empty":{},"L":[]}`
	doc, err := Decode([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Canonical(doc)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, buf.Bytes()) {
		t.Fatalf("got\n%s\nencoding/json\n%s", got, buf.Bytes())
	}
}

func TestDecode(t *testing.T) {
	good := map[string]string{
		"object": `{"a": 1.0}`,
		"spaces": " [1, 2] \n",
	}
	for name, in := range good {
		if _, err := Decode([]byte(in)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	v, _ := Decode([]byte(`{"n": 1.0, "i": 18446744073709551617}`))
	m := v.(map[string]any)
	if m["n"] != json.Number("1.0") || m["i"] != json.Number("18446744073709551617") {
		t.Errorf("numbers not kept: %#v", m)
	}
	bad := map[string]string{
		"duplicate key": `{"a": 1, "a": 2}`,
		"trailing data": `{} {}`,
		"invalid utf8":  "\"\xff\"",
		"truncated":     `{"a": [1,`,
		"empty":         ``,
		"too deep":      strings.Repeat("[", 600) + strings.Repeat("]", 600),
		"not json":      `{a:1}`,
	}
	for name, in := range bad {
		if _, err := Decode([]byte(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestCanonicalSum(t *testing.T) {
	cases := []struct {
		name string
		in   any
	}{
		{"object", map[string]any{"b": json.Number("1"), "a": []any{"x", nil, true}}},
		{"long text", map[string]any{"Script": strings.Repeat("echo <&>\n", 500)}},
		{"scalar", "plain"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 { // the second time with a pooled buffer
				canon, err := Canonical(tc.in)
				if err != nil {
					t.Fatal(err)
				}
				got, err := CanonicalSum(tc.in)
				if err != nil {
					t.Fatal(err)
				}
				if want := sha256.Sum256(canon); got != want {
					t.Fatalf("CanonicalSum = %x, want sha256 of Canonical %x", got, want)
				}
			}
		})
	}
	if _, err := CanonicalSum(map[string]any{"x": json.Number("01")}); err == nil {
		t.Error("CanonicalSum of an invalid number succeeded")
	}
}
