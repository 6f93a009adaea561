package bundles

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"

	"github.com/octobundle/octobundle/internal/jsonv"
)

// maxDepth bounds the nesting of JSON values, so hostile input cannot
// exhaust the stack.
const maxDepth = jsonv.MaxDepth

// errDepth is the error for JSON nested deeper than maxDepth; callers
// prefix the file's name.
var errDepth = jsonv.ErrDepth

// Canonical encodes v as canonical bundle JSON: object keys sorted by byte
// order, two-space indent, "\n" line endings and a trailing newline, no HTML
// escaping, numbers written exactly as held (json.Number keeps "1.0" and
// large integers as read). Strings must be valid UTF-8. The same value always
// gives the same bytes.
//
// v may be a value decoded by Decode (map[string]any, []any, string,
// json.Number, bool, nil), Go numbers, or any value encoding/json can
// marshal (structs, typed maps and slices), which is converted first.
func Canonical(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeValue(&buf, v, 0, 0); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// CanonicalSum returns the sha256 of Canonical(v), without keeping the
// bytes (a fingerprint of a document hashes its canonical form).
func CanonicalSum(v any) ([sha256.Size]byte, error) {
	buf := jsonv.Buffer()
	defer jsonv.PutBuffer(buf)
	if err := writeValue(buf, v, 0, 0); err != nil {
		return [sha256.Size]byte{}, err
	}
	buf.WriteByte('\n')
	return sha256.Sum256(buf.Bytes()), nil
}

// Decode parses one JSON value the way bundles read files: numbers as
// json.Number, objects as map[string]any, arrays as []any. It rejects invalid
// UTF-8, duplicate object keys, trailing data and nesting deeper than 512.
func Decode(data []byte) (any, error) { return jsonv.Decode(data) }

// indent starts a line at indent level n; compact JSON (n < 0) has no
// line breaks.
func indent(buf *bytes.Buffer, n int) {
	if n < 0 {
		return
	}
	buf.WriteByte('\n')
	for i := 0; i < n; i++ {
		buf.WriteString("  ")
	}
}

func writeValue(buf *bytes.Buffer, v any, level, depth int) error {
	return writeValueOrdered(buf, v, level, depth, nil)
}

// CanonicalPacked returns Canonical's bytes for a document packed from
// compact JSON in Canonical's key order and escaping — compactJSON's
// output (a bundle's packed files) or jsonv.Pack's of a decoded value (a
// plan's documents): that text indented is exactly Canonical's, with no
// decoding and encoding again. A zero d is Canonical(nil).
func CanonicalPacked(d jsonv.Doc) ([]byte, error) {
	if d.IsZero() {
		return Canonical(nil)
	}
	compact := d.JSON()
	var buf bytes.Buffer
	buf.Grow(2*len(compact) + 1)
	if err := json.Indent(&buf, compact, "", "  "); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// compactJSON encodes v as Canonical does, without whitespace: keys in byte
// order, strings escaped as Canonical escapes them, numbers as held. The
// packed documents of a bundle hold this form, so that json.Indent of it is
// exactly Canonical.
func compactJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeValueOrdered(&buf, v, compactLevel, 0, nil); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// compactJSONTo is compactJSON writing into buf (emptied first); the bytes
// it returns are buf's.
func compactJSONTo(buf *bytes.Buffer, v any) ([]byte, error) {
	buf.Reset()
	if err := writeValueOrdered(buf, v, compactLevel, 0, nil); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// compactLevel is the level that makes writeValueOrdered write compact JSON:
// it stays negative however deep the value (maxDepth bounds the nesting).
const compactLevel = -2 * maxDepth

// writeValueOrdered is writeValue with the keys of lead, where present,
// first in every object (in lead's order), the others in byte order. A
// negative level writes compact JSON (see compactJSON).
func writeValueOrdered(buf *bytes.Buffer, v any, level, depth int, lead []string) error {
	if depth > maxDepth {
		return errDepth
	}
	switch t := v.(type) {
	case nil:
		buf.WriteString("null")
	case bool:
		if t {
			buf.WriteString("true")
		} else {
			buf.WriteString("false")
		}
	case string:
		return writeString(buf, t)
	case json.Number:
		if !validNumber(string(t)) {
			return fmt.Errorf("invalid JSON number %q", string(t))
		}
		buf.WriteString(string(t))
	case float64:
		return writeFloat(buf, t, 64)
	case float32:
		return writeFloat(buf, float64(t), 32)
	case int:
		buf.WriteString(strconv.FormatInt(int64(t), 10))
	case int64:
		buf.WriteString(strconv.FormatInt(t, 10))
	case int32:
		buf.WriteString(strconv.FormatInt(int64(t), 10))
	case uint64:
		buf.WriteString(strconv.FormatUint(t, 10))
	case uint:
		buf.WriteString(strconv.FormatUint(uint64(t), 10))
	case map[string]any:
		if t == nil {
			buf.WriteString("null")
			return nil
		}
		if len(t) == 0 {
			buf.WriteString("{}")
			return nil
		}
		var small [16]string
		keys := small[:0]
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if len(lead) > 0 {
			moveLeadFirst(keys, lead)
		}
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			indent(buf, level+1)
			if err := writeString(buf, k); err != nil {
				return err
			}
			if level >= 0 {
				buf.WriteString(": ")
			} else {
				buf.WriteByte(':')
			}
			if err := writeValueOrdered(buf, t[k], level+1, depth+1, lead); err != nil {
				return err
			}
		}
		indent(buf, level)
		buf.WriteByte('}')
	case []any:
		if t == nil {
			buf.WriteString("null")
			return nil
		}
		if len(t) == 0 {
			buf.WriteString("[]")
			return nil
		}
		buf.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				buf.WriteByte(',')
			}
			indent(buf, level+1)
			if err := writeValueOrdered(buf, e, level+1, depth+1, lead); err != nil {
				return err
			}
		}
		indent(buf, level)
		buf.WriteByte(']')
	case json.RawMessage:
		d, err := Decode(t)
		if err != nil {
			return err
		}
		return writeValueOrdered(buf, d, level, depth, lead)
	default:
		// Structs, typed maps and slices: let encoding/json apply its
		// rules (field names, tags, Marshaler), then canonicalise.
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
			buf.WriteString("null")
			return nil
		}
		var raw bytes.Buffer
		enc := json.NewEncoder(&raw)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return err
		}
		d, err := Decode(raw.Bytes())
		if err != nil {
			return err
		}
		return writeValueOrdered(buf, d, level, depth, lead)
	}
	return nil
}

func writeFloat(buf *bytes.Buffer, f float64, bits int) error {
	b, err := jsonv.AppendFloat(buf.AvailableBuffer(), f, bits)
	if err != nil {
		return err
	}
	buf.Write(b)
	return nil
}

// writeString writes s as a JSON string the way encoding/json does with
// HTML escaping off: '"', '\\' and control characters escaped (\n, \r, \t,
// \b, \f short forms), U+2028 and U+2029 escaped, everything else literal.
// Invalid UTF-8 is an error, never silently replaced.
func writeString(buf *bytes.Buffer, s string) error {
	b, err := jsonv.AppendString(buf.AvailableBuffer(), s)
	if err != nil {
		return err
	}
	buf.Write(b)
	return nil
}

// validNumber reports whether s is a JSON number literal (RFC 8259).
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	return i == len(s)
}

// moveLeadFirst moves the keys of lead present in sorted to the front, in
// lead's order, the others keeping their order.
func moveLeadFirst(sorted, lead []string) {
	for i := len(lead) - 1; i >= 0; i-- {
		at := slices.Index(sorted, lead[i])
		if at <= 0 {
			continue
		}
		l := sorted[at]
		copy(sorted[1:at+1], sorted[:at])
		sorted[0] = l
	}
}
