package jsonv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Appender is a value that encodes itself: AppendMarshal and Pack append
// what AppendJSON appends to dst, as it is (the caller vouches that it is
// valid JSON, in the form the encoder writes). It lets a caller encode a
// value of its own inside a document, without json.Marshal's reflection.
type Appender interface {
	// AppendJSON appends the value's JSON to dst.
	AppendJSON(dst []byte) ([]byte, error)
}

// AppendMarshal appends the JSON of v to dst, byte for byte what
// json.Marshal(v) writes: object keys in byte order, no whitespace, <, >,
// & and U+2028/U+2029 escaped, invalid UTF-8 replaced by U+FFFD, floats
// as encoding/json formats them, nil maps and slices as null. It writes
// what Decode and DecodeWith return and Go's numbers, []string,
// []map[string]any and map[string]string directly, an Appender as it
// appends itself, and any other value through json.Marshal; its error is
// an error where json.Marshal's is (not necessarily the same one). A
// server answering as Octopus does (the simulator) encodes with it.
func AppendMarshal(dst []byte, v any) ([]byte, error) { return appendValue(dst, v, 0, true) }

// appendCompact appends the compact JSON of v to dst, as Pack stores it:
// object keys in byte order, no whitespace, no HTML escaping, json.Number
// as written, nil maps and slices of any as {} and [], invalid UTF-8 an
// error. It handles what Decode returns and Go's numbers directly, and
// anything else through encoding/json (so structs and typed maps pack as
// they marshal).
func appendCompact(dst []byte, v any, depth int) ([]byte, error) {
	return appendValue(dst, v, depth, false)
}

// appendValue is appendCompact, or AppendMarshal when marshal is set.
func appendValue(dst []byte, v any, depth int, marshal bool) ([]byte, error) {
	if depth > MaxDepth {
		if marshal {
			// json.Marshal has no depth limit (it detects cycles).
			return appendMarshaled(dst, v)
		}
		return nil, ErrDepth
	}
	switch t := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendString(dst, t, marshal)
	case map[string]any:
		if t == nil && marshal {
			return append(dst, "null"...), nil
		}
		return appendObject(dst, t, depth, marshal)
	case []any:
		if t == nil && marshal {
			return append(dst, "null"...), nil
		}
		return appendArray(dst, t, depth, marshal)
	case bool:
		return strconv.AppendBool(dst, t), nil
	case float64:
		return AppendFloat(dst, t, 64)
	case float32:
		return AppendFloat(dst, float64(t), 32)
	case int:
		return strconv.AppendInt(dst, int64(t), 10), nil
	case int64:
		return strconv.AppendInt(dst, t, 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(t), 10), nil
	case uint64:
		return strconv.AppendUint(dst, t, 10), nil
	case json.Number:
		if marshal {
			break // json.Marshal checks the number
		}
		if t == "" {
			return append(dst, '0'), nil
		}
		return append(dst, t...), nil
	case json.RawMessage:
		if marshal {
			break // json.Marshal escapes HTML in it
		}
		// JSON as received: compacted as it is (keys in their order).
		buf := bytes.NewBuffer(dst)
		if err := json.Compact(buf, t); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	case Appender:
		return t.AppendJSON(dst)
	}
	if marshal {
		return appendMarshalTyped(dst, v, depth)
	}
	// Another Go value: marshal it, decode that, and write the result.
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec, err := Decode(data)
	if err != nil {
		return nil, err
	}
	return appendCompact(dst, dec, depth)
}

// appendMarshalTyped is AppendMarshal for the typed slices and maps
// documents are built of, and json.Marshal for anything else.
func appendMarshalTyped(dst []byte, v any, depth int) ([]byte, error) {
	switch t := v.(type) {
	case []map[string]any:
		if t == nil {
			return append(dst, "null"...), nil
		}
		return appendArray(dst, t, depth, true)
	case []string:
		if t == nil {
			return append(dst, "null"...), nil
		}
		return appendArray(dst, t, depth, true)
	case map[string]string:
		if t == nil {
			return append(dst, "null"...), nil
		}
		return appendObject(dst, t, depth, true)
	}
	return appendMarshaled(dst, v)
}

// appendMarshaled appends json.Marshal's encoding of v.
func appendMarshaled(dst []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}

// appendObject appends a map as an object, its keys in byte order.
func appendObject[V any](dst []byte, m map[string]V, depth int, marshal bool) ([]byte, error) {
	var kb [32]string // the keys of most maps fit, on the stack
	keys := kb[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = appendString(dst, k, marshal); err != nil {
			return nil, err
		}
		dst = append(dst, ':')
		if dst, err = appendValue(dst, m[k], depth+1, marshal); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// appendArray appends a slice as an array.
func appendArray[E any](dst []byte, a []E, depth int, marshal bool) ([]byte, error) {
	dst = append(dst, '[')
	var err error
	for i, e := range a {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = appendValue(dst, e, depth+1, marshal); err != nil {
			return nil, err
		}
	}
	return append(dst, ']'), nil
}

// AppendFloat appends f the way encoding/json writes a float of the given
// bit size (32 or 64; with 32, f is first rounded to a float32): as ES6
// converts a number to a string; NaN and infinities are errors.
func AppendFloat(dst []byte, f float64, bits int) ([]byte, error) {
	if bits == 32 {
		f = float64(float32(f))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("unsupported number %v", f)
	}
	// As encoding/json's floatEncoder.
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// e-09 becomes e-9.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

const hexDigits = "0123456789abcdef"

// plainBytes marks the ASCII bytes a string holds as they are: printable,
// neither a quote nor a backslash; htmlPlainBytes also not <, > or &
// (encoding/json's htmlSafeSet).
var plainBytes, htmlPlainBytes = func() (plain, html [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		plain[b] = b != '"' && b != '\\'
		html[b] = plain[b] && b != '<' && b != '>' && b != '&'
	}
	return plain, html
}()

// AppendString appends s as a JSON string the way the canonical bundle
// form writes it: no HTML escaping; quotes, backslashes and control
// characters escaped (\n \r \t \b \f, else \u00XX), and U+2028 and U+2029
// as \u2028 and \u2029. s must be valid UTF-8.
func AppendString(dst []byte, s string) ([]byte, error) { return appendString(dst, s, false) }

// AppendMarshalString appends s as a JSON string the way json.Marshal
// writes it: as AppendString does, and <, > and & escaped as \u003c,
// \u003e and \u0026, each byte of invalid UTF-8 as \ufffd.
func AppendMarshalString(dst []byte, s string) []byte {
	dst, _ = appendString(dst, s, true)
	return dst
}

// appendString is AppendString, or AppendMarshalString when marshal is
// set.
func appendString(dst []byte, s string, marshal bool) ([]byte, error) {
	plain := &plainBytes
	if marshal {
		plain = &htmlPlainBytes
	}
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if plain[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, `\n`...)
			case '\r':
				dst = append(dst, `\r`...)
			case '\t':
				dst = append(dst, `\t`...)
			case '\b':
				dst = append(dst, `\b`...)
			case '\f':
				dst = append(dst, `\f`...)
			default:
				dst = append(dst, `\u00`...)
				dst = append(dst, hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			if !marshal {
				return nil, fmt.Errorf("string %q is not valid UTF-8", s)
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\u202`...)
			dst = append(dst, hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), nil
}
