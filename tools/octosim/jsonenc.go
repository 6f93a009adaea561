package octosim

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
)

// appendJSON appends the JSON encoding of v to dst, byte for byte what
// json.Marshal writes (map keys sorted, HTML characters, U+2028 and
// U+2029 escaped, invalid UTF-8 replaced, floats as ES6 numbers), but
// without reflection for the values documents are made of: maps of
// string keys, slices, strings, float64s, bools and nil. Other values
// are encoded by json.Marshal itself. Answers are encoded on every
// request, and encoding/json's reflection over map[string]any was the
// simulator's largest cost in the benchmarks (issue 20: about a third of
// its CPU during an export).
func appendJSON(dst []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendJSONString(dst, t), nil
	case renderedItems:
		return t.appendTo(dst)
	case renderedDoc:
		return t.s.appendRendered(dst, t.sp, t.spec, t.doc, t.full)
	case *encodedJSON:
		return append(dst, *t.bp...), nil
	case bool:
		return strconv.AppendBool(dst, t), nil
	case float64:
		return appendJSONFloat(dst, t)
	case int:
		return strconv.AppendInt(dst, int64(t), 10), nil
	case int64:
		return strconv.AppendInt(dst, t, 10), nil
	case map[string]any:
		if t == nil {
			return append(dst, "null"...), nil
		}
		return appendJSONObject(dst, t)
	case []any:
		if t == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, x := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendJSON(dst, x); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case []map[string]any:
		if t == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, x := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendJSON(dst, x); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case []string:
		if t == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, x := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, x)
		}
		return append(dst, ']'), nil
	case map[string]string:
		if t == nil {
			return append(dst, "null"...), nil
		}
		var kb [32]string
		keys := sortedKeys(kb[:0], t)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			dst = appendJSONString(dst, t[k])
		}
		return append(dst, '}'), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// appendJSONObject encodes a map with its keys in byte order, as
// encoding/json does.
func appendJSONObject(dst []byte, m map[string]any) ([]byte, error) {
	var kb [32]string
	keys := sortedKeys(kb[:0], m)
	dst = append(dst, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		if dst, err = appendJSON(dst, m[k]); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// sortedKeys returns a map's keys in byte order, appended to keys (a
// caller's buffer on its stack, for the maps that fit).
func sortedKeys[V any](keys []string, m map[string]V) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendJSONFloat encodes a float64 as encoding/json does; NaN and the
// infinities are json.Marshal's error.
func appendJSONFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		_, err := json.Marshal(f)
		return dst, err
	}
	// As encoding/json's floatEncoder: ES6 number to string conversion.
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

const jsonHex = "0123456789abcdef"

// jsonPlain marks the ASCII bytes a JSON string holds as they are, with
// HTML escaping (encoding/json's htmlSafeSet): printable, neither a quote
// nor a backslash, nor <, > or &.
var jsonPlain = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
	}
	return t
}()

// appendJSONString encodes s as encoding/json does with HTML escaping
// (json.Marshal's default).
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if jsonPlain[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', jsonHex[b>>4], jsonHex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', jsonHex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// jsonBuffers recycles encoding buffers between answers.
var jsonBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// marshalJSON is json.Marshal through appendJSON, into a pooled buffer:
// the caller writes the bytes, then returns the buffer with
// releaseJSON.
func marshalJSON(v any) (*[]byte, error) {
	bp := jsonBuffers.Get().(*[]byte)
	b, err := appendJSON((*bp)[:0], v)
	*bp = b
	if err != nil {
		releaseJSON(bp)
		return nil, err
	}
	return bp, nil
}

// releaseJSON returns a buffer of marshalJSON to the pool, unless it grew
// too large to keep (a page of 500 deployment processes is about 4 MB).
func releaseJSON(bp *[]byte) {
	if cap(*bp) > 16<<20 {
		return
	}
	jsonBuffers.Put(bp)
}
