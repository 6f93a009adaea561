package jsonv

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// decodeCases are the table of TestDecodeCases and seeds of FuzzDecode.
var decodeCases = []struct {
	name, in string
	want     any
	err      string // a substring of the error; "" for success
}{
	{"object", `{"a":1.0,"b":[true,null,"x"]}`, map[string]any{"a": json.Number("1.0"), "b": []any{true, nil, "x"}}, ""},
	{"whitespace everywhere", " \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } } \n", map[string]any{"a": []any{json.Number("1"), json.Number("2")}, "b": map[string]any{}}, ""},
	{"big integer kept", `12345678901234567890`, json.Number("12345678901234567890"), ""},
	{"number forms", `[0,-0,1.5e10,2E-3,-12.25e+2]`, []any{json.Number("0"), json.Number("-0"), json.Number("1.5e10"), json.Number("2E-3"), json.Number("-12.25e+2")}, ""},
	{"empty array", `[]`, []any{}, ""},
	{"empty object", `{}`, map[string]any{}, ""},
	{"literals", `[true,false,null]`, []any{true, false, nil}, ""},
	{"empty string", `""`, "", ""},
	{"escapes", `"a\"b\\c\/d\be\ff\ng\rh\ti"`, "a\"b\\c/d\be\ff\ng\rh\ti", ""},
	{"unicode escape", `"\u00e9\u20AC"`, "é€", ""},
	{"surrogate pair", `"\ud83d\ude00"`, "😀", ""},
	{"lone high surrogate", `"\ud83dx"`, "\uFFFDx", ""},
	{"lone low surrogate", `"\ude00"`, "\uFFFD", ""},
	{"high surrogate then non-surrogate escape", `"\ud83d\u0041"`, "\uFFFDA", ""},
	{"two high surrogates", `"\ud83d\ud83d\ude00"`, "\uFFFD😀", ""},
	{"multi-byte UTF-8", `{"名前":"Déploiement 🚀"}`, map[string]any{"名前": "Déploiement 🚀"}, ""},
	{"escaped key", `{"N\u0061me":"x"}`, map[string]any{"Name": "x"}, ""},
	{"long strings", `{"` + strings.Repeat("k", 100) + `":"` + strings.Repeat("v", 100) + `"}`, map[string]any{strings.Repeat("k", 100): strings.Repeat("v", 100)}, ""},
	{"U+2028 literal", "\"a\u2028b\"", "a\u2028b", ""},

	{"duplicate key", `{"a":1,"a":2}`, nil, `duplicate object key "a" (offset 7)`},
	{"duplicate key after escape", `{"a":1,"\u0061":2}`, nil, `duplicate object key "a"`},
	{"the first repeated key is named", `{"b":1,"a":2,"a":3,"b":4}`, nil, `duplicate object key "a" (offset 13)`},
	{"a duplicate in a nested object", `{"x":{"k":1,"k":1},"y":2}`, nil, `duplicate object key "k" (offset 12)`},
	{"trailing", `{} {}`, nil, "trailing data after the JSON value (offset 3)"},
	{"trailing garbage", `1 x`, nil, "trailing data"},
	{"invalid utf-8", "\"\xff\"", nil, "invalid UTF-8"},
	{"invalid utf-8 outside strings", "[1]\xff", nil, "invalid UTF-8"},
	{"truncated", `{"a":`, nil, "unexpected EOF (offset 5)"},
	{"truncated string", `"abc`, nil, "unexpected EOF"},
	{"truncated escape", `"abc\`, nil, "unexpected EOF"},
	{"truncated unicode escape", `"\u12`, nil, "unexpected EOF"},
	{"empty input", ``, nil, "unexpected EOF (offset 0)"},
	{"only space", "  \n", nil, "unexpected EOF"},
	{"too deep", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), nil, "exceeds the JSON nesting depth limit of 512 levels"},
	{"too deep objects", strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1), nil, "JSON nesting depth"},
	{"unquoted key", `{a:1}`, nil, "invalid character 'a' looking for beginning of object key string (offset 1)"},
	{"missing colon", `{"a" 1}`, nil, "invalid character '1' after object key (offset 5)"},
	{"trailing comma in object", `{"a":1,}`, nil, "invalid character '}' looking for beginning of object key string"},
	{"trailing comma in array", `[1,]`, nil, "invalid character ']' looking for beginning of value (offset 3)"},
	{"missing comma", `[1 2]`, nil, "invalid character '2' after array element"},
	{"missing comma in object", `{"a":1 "b":2}`, nil, "invalid character '\"' after object key:value pair"},
	{"control character in string", "\"a\tb\"", nil, `invalid character '\t' in string literal (offset 2)`},
	{"newline in string", "\"a\nb\"", nil, `invalid character '\n' in string literal`},
	{"bad escape", `"\x"`, nil, `invalid character 'x' in string escape code (offset 2)`},
	{"bad unicode escape", `"\u12g4"`, nil, `invalid character 'g' in \u hexadecimal character escape (offset 5)`},
	{"leading zero", `01`, nil, "trailing data"},
	{"plus sign", `+1`, nil, "invalid character '+' looking for beginning of value"},
	{"bare minus", `-`, nil, "unexpected EOF"},
	{"minus letter", `-a`, nil, "invalid character 'a' in numeric literal"},
	{"dot without digits", `1.`, nil, "unexpected EOF"},
	{"dot letter", `1.e5`, nil, "invalid character 'e' after decimal point in numeric literal"},
	{"exponent without digits", `1e+`, nil, "unexpected EOF"},
	{"leading dot", `.5`, nil, "invalid character '.' looking for beginning of value"},
	{"bad literal", `tru`, nil, "unexpected EOF"},
	{"misspelt literal", `nul1`, nil, "invalid character '1' in literal null (expecting 'l')"},
	{"single quotes", `'a'`, nil, `invalid character '\'' looking for beginning of value`},
	{"byte order mark", "\ufeff{}", nil, "invalid character '\\ufeff' looking for beginning of value"},
	{"NaN", `NaN`, nil, "invalid character 'N'"},
}

func TestDecodeCases(t *testing.T) {
	for _, tt := range decodeCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Decode(%q) error = %v, want one containing %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Decode(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

// TestDecodeErrors checks the errors' types: the depth limit is ErrDepth
// itself, a truncated input wraps io.ErrUnexpectedEOF, a syntax error is a
// *SyntaxError.
func TestDecodeErrors(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	if _, err := Decode([]byte(deep)); err != ErrDepth {
		t.Errorf("too deep: error %v, want ErrDepth", err)
	}
	ok := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := Decode([]byte(ok)); err != nil {
		t.Errorf("nesting of exactly MaxDepth: %v", err)
	}
	if _, err := Decode([]byte(`{"a":[`)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated: error %v does not wrap io.ErrUnexpectedEOF", err)
	}
	var se *SyntaxError
	if _, err := Decode([]byte(`[1,x]`)); !errors.As(err, &se) || se.Offset != 3 {
		t.Errorf("syntax error: %#v, want a *SyntaxError at offset 3", err)
	}
}

// TestDecodeInterns checks that object keys, short values and numbers
// repeated across documents are not allocated anew for each occurrence.
func TestDecodeInterns(t *testing.T) {
	const objects = 20
	doc := []byte("[" + strings.TrimSuffix(strings.Repeat(`{"Name":"Production","Id":"Environments-1","SortOrder":1},`, objects), ",") + "]")
	if _, err := Decode(doc); err != nil { // warm the tables
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := Decode(doc); err != nil {
			t.Fatal(err)
		}
	})
	// The outer slice and the maps (a map and its group each), and a
	// decoder when the pool has none (the race detector empties pools at
	// random, and with it its stacks); without interning each object would
	// add three keys, two strings, a number and their boxes.
	if max := float64(2*objects + 6); allocs > max {
		t.Errorf("Decode made %v allocations, want at most %v (keys, short values and numbers interned)", allocs, max)
	}
}

// TestDecodeGolden decodes every file of the golden bundle and compares the
// result with encoding/json's.
func TestDecodeGolden(t *testing.T) {
	for _, f := range goldenJSON(t) {
		got, err := Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := stdDecode(f)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Decode and encoding/json differ on %.200s", f)
		}
	}
}

// stdDecode is encoding/json's decoding with UseNumber, rejecting trailing
// data as Decode does.
func stdDecode(data []byte) (any, error) {
	if !json.Valid(data) {
		return nil, errors.New("invalid JSON")
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// FuzzDecode checks Decode against encoding/json (with UseNumber): where
// Decode accepts, encoding/json accepts and gives the same value; where
// encoding/json rejects, Decode rejects. Decode alone rejects invalid UTF-8
// (encoding/json replaces it), duplicate keys (encoding/json keeps the
// last) and nesting deeper than MaxDepth (encoding/json allows 10,000).
//
//	go test -run '^$' -fuzz '^FuzzDecode$' ./internal/jsonv
func FuzzDecode(f *testing.F) {
	for _, tt := range decodeCases {
		f.Add([]byte(tt.in))
	}
	for _, g := range goldenJSON(f) {
		f.Add(g)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Decode(data)
		want, stdErr := stdDecode(data)
		if err != nil {
			var se *SyntaxError
			switch {
			case !utf8.Valid(data):
				if err.Error() != "invalid UTF-8" {
					t.Fatalf("invalid UTF-8 reported as %v", err)
				}
			case err == ErrDepth, errors.As(err, &se) && strings.HasPrefix(se.Msg, "duplicate object key"):
			case stdErr == nil:
				t.Fatalf("Decode rejects what encoding/json accepts: %v", err)
			}
			return
		}
		if !utf8.Valid(data) {
			t.Fatal("Decode accepted invalid UTF-8")
		}
		if stdErr != nil {
			t.Fatalf("Decode accepts what encoding/json rejects (%v)", stdErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Decode = %#v, encoding/json = %#v", got, want)
		}
	})
}
