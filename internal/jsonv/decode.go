package jsonv

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Decode decodes one JSON value (see the package doc). A syntax error is a
// *SyntaxError giving the byte offset; nesting deeper than MaxDepth is
// ErrDepth itself.
func Decode(data []byte) (any, error) { return DecodeWith(data, DecodeOptions{}) }

// DecodeOptions choose a variant of Decode's rules; the zero value is
// Decode's own.
type DecodeOptions struct {
	// Float64 decodes numbers to float64, as json.Unmarshal into an any
	// does, rather than json.Number; a number out of float64's range is
	// an error.
	Float64 bool
	// Lenient accepts the two things encoding/json accepts and Decode
	// refuses: invalid UTF-8 in a string (each invalid byte becomes
	// U+FFFD) and a repeated object key (its last value wins).
	Lenient bool
}

// DecodeWith decodes one JSON value as Decode does, with the variants o
// chooses. With Float64 and Lenient set, a value it returns is what
// json.Unmarshal gives an any, and what it refuses, json.Unmarshal refuses
// too, except nesting deeper than MaxDepth (json.Unmarshal allows 10,000
// levels): a caller that must act as encoding/json does (the simulator,
// decoding request bodies) asks json.Unmarshal when it gets an error, for
// its value or its error.
func DecodeWith(data []byte, o DecodeOptions) (any, error) {
	valid := utf8.Valid(data)
	if !valid && !o.Lenient {
		return nil, errors.New("invalid UTF-8")
	}
	d := decoderPool.Get().(*decoder)
	d.data, d.pos, d.DecodeOptions, d.fixUTF8 = data, 0, o, !valid
	v, err := d.document()
	d.data = nil
	clear(d.kvs)
	clear(d.elems)
	d.kvs, d.elems, d.buf = d.kvs[:0], d.elems[:0], d.buf[:0]
	if cap(d.kvs)+cap(d.elems) <= maxPooledStack && cap(d.buf) <= maxPooledBuf {
		decoderPool.Put(d) // a decoder grown by a huge document is dropped
	}
	return v, err
}

// SyntaxError is a JSON syntax error: what is wrong and at which byte offset
// of the input (counted from 0). An input that ends too early wraps
// io.ErrUnexpectedEOF.
type SyntaxError struct {
	// Msg says what is wrong.
	Msg string
	// Offset is the byte offset where it was found.
	Offset int
	eof    bool
}

// Error renders "MSG (offset N)".
func (e *SyntaxError) Error() string { return fmt.Sprintf("%s (offset %d)", e.Msg, e.Offset) }

// Unwrap returns io.ErrUnexpectedEOF for an input that ends too early.
func (e *SyntaxError) Unwrap() error {
	if e.eof {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// decoder is the state of one Decode call. kvs and elems are stacks of the
// members of the objects and arrays being decoded (an object's members are
// gathered first so its map is made at its final size); buf holds the
// unescaped bytes of a string with escapes. Decoders are pooled.
type decoder struct {
	data  []byte
	pos   int
	kvs   []member
	elems []any
	buf   []byte
	DecodeOptions
	// fixUTF8 is set when Lenient and the input is not valid UTF-8:
	// strings are checked one by one.
	fixUTF8 bool
}

type member struct {
	key string
	val any
	at  int // offset of the key, for the duplicate key error
}

var decoderPool = sync.Pool{New: func() any { return new(decoder) }}

// Bounds of what a pooled decoder keeps (in members and bytes).
const (
	maxPooledStack = 1 << 14
	maxPooledBuf   = 1 << 20
)

func (d *decoder) document() (any, error) {
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.pos < len(d.data) {
		return nil, fmt.Errorf("trailing data after the JSON value (offset %d)", d.pos)
	}
	return v, nil
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// fail is a syntax error at the current offset: "unexpected EOF" at the end
// of the input, otherwise "invalid character C " + context.
func (d *decoder) fail(context string) error {
	if d.pos >= len(d.data) {
		return &SyntaxError{Msg: "unexpected EOF", Offset: d.pos, eof: true}
	}
	return &SyntaxError{Msg: fmt.Sprintf("invalid character %s %s", quoteChar(d.data[d.pos:]), context), Offset: d.pos}
}

// quoteChar quotes the character starting b as encoding/json's errors do.
func quoteChar(b []byte) string {
	r, _ := utf8.DecodeRune(b)
	switch r {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	s := fmt.Sprintf("%q", string(r))
	return "'" + s[1:len(s)-1] + "'"
}

func (d *decoder) value(depth int) (any, error) {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return nil, d.fail("")
	}
	switch c := d.data[d.pos]; c {
	case '{':
		if depth >= MaxDepth {
			return nil, ErrDepth
		}
		return d.object(depth)
	case '[':
		if depth >= MaxDepth {
			return nil, ErrDepth
		}
		return d.array(depth)
	case '"':
		b, err := d.str()
		if err != nil {
			return nil, err
		}
		if d.fixUTF8 {
			b = d.validUTF8(b)
		}
		if len(b) <= maxInternedValue {
			return strs.intern(b, asString).v, nil
		}
		return string(b), nil
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	case 'n':
		return nil, d.literal("null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return d.number()
		}
		return nil, d.fail("looking for beginning of value")
	}
}

func (d *decoder) literal(lit string) error {
	for i := 0; i < len(lit); i++ {
		if d.pos >= len(d.data) || d.data[d.pos] != lit[i] {
			return d.fail(fmt.Sprintf("in literal %s (expecting %q)", lit, lit[i]))
		}
		d.pos++
	}
	return nil
}

// number scans a number (RFC 8259 grammar) and returns its text as written.
func (d *decoder) number() (any, error) {
	start := d.pos
	if d.data[d.pos] == '-' {
		d.pos++
	}
	switch {
	case d.pos < len(d.data) && d.data[d.pos] == '0':
		d.pos++
	case d.pos < len(d.data) && d.data[d.pos] >= '1' && d.data[d.pos] <= '9':
		d.digits()
	default:
		return nil, d.fail("in numeric literal")
	}
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		d.pos++
		if d.pos >= len(d.data) || d.data[d.pos] < '0' || d.data[d.pos] > '9' {
			return nil, d.fail("after decimal point in numeric literal")
		}
		d.digits()
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if d.pos >= len(d.data) || d.data[d.pos] < '0' || d.data[d.pos] > '9' {
			return nil, d.fail("in exponent of numeric literal")
		}
		d.digits()
	}
	if d.Float64 {
		f, err := strconv.ParseFloat(unsafe.String(&d.data[start], d.pos-start), 64)
		if err != nil {
			return nil, &SyntaxError{Msg: fmt.Sprintf("number %s out of range", d.data[start:d.pos]), Offset: start}
		}
		return f, nil
	}
	return numbers.intern(d.data[start:d.pos], asNumber).v, nil
}

func (d *decoder) digits() {
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		d.pos++
	}
}

func (d *decoder) object(depth int) (any, error) {
	d.pos++ // '{'
	base := len(d.kvs)
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return map[string]any{}, nil
	}
	for {
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.fail("looking for beginning of object key string")
		}
		at := d.pos
		kb, err := d.str()
		if err != nil {
			return nil, err
		}
		if d.fixUTF8 {
			kb = d.validUTF8(kb)
		}
		k := keys.intern(kb, asString).s
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.fail("after object key")
		}
		d.pos++
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		d.kvs = append(d.kvs, member{k, v, at})
		d.skipSpace()
		if d.pos < len(d.data) && d.data[d.pos] == ',' {
			d.pos++
			continue
		}
		if d.pos < len(d.data) && d.data[d.pos] == '}' {
			d.pos++
			break
		}
		return nil, d.fail("after object key:value pair")
	}
	kvs := d.kvs[base:]
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[kv.key] = kv.val // the last of repeated keys wins (Lenient)
	}
	if len(m) < len(kvs) && !d.Lenient {
		// A key repeats: the error names its first repetition. Checked
		// here, once, rather than with a lookup before every insertion.
		seen := make(map[string]bool, len(kvs))
		for _, kv := range kvs {
			if seen[kv.key] {
				return nil, &SyntaxError{Msg: fmt.Sprintf("duplicate object key %q", kv.key), Offset: kv.at}
			}
			seen[kv.key] = true
		}
	}
	clear(kvs)
	d.kvs = d.kvs[:base]
	return m, nil
}

func (d *decoder) array(depth int) (any, error) {
	d.pos++ // '['
	base := len(d.elems)
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return []any{}, nil
	}
	for {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		d.elems = append(d.elems, v)
		d.skipSpace()
		if d.pos < len(d.data) && d.data[d.pos] == ',' {
			d.pos++
			continue
		}
		if d.pos < len(d.data) && d.data[d.pos] == ']' {
			d.pos++
			break
		}
		return nil, d.fail("after array element")
	}
	elems := d.elems[base:]
	a := make([]any, len(elems))
	copy(a, elems)
	clear(elems)
	d.elems = d.elems[:base]
	return a, nil
}

// str decodes the string at d.pos (its opening quote) and returns its bytes,
// valid until the next call (a slice of the input, or of d.buf when the
// string has escapes). The input is valid UTF-8 (Decode checks it first).
func (d *decoder) str() ([]byte, error) {
	d.pos++ // '"'
	start := d.pos
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			raw := d.data[start:d.pos]
			d.pos++
			return raw, nil
		case c == '\\':
			return d.escaped(start)
		case c < 0x20:
			return nil, d.fail("in string literal")
		}
		d.pos++
	}
	return nil, d.fail("")
}

// escaped decodes the rest of a string holding escapes, from start (after
// the opening quote); d.pos is at the first backslash.
func (d *decoder) escaped(start int) ([]byte, error) {
	buf := append(d.buf[:0], d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			d.buf = buf
			return buf, nil
		case c < 0x20:
			return nil, d.fail("in string literal")
		case c != '\\':
			buf = append(buf, c)
			d.pos++
			continue
		}
		d.pos++ // '\\'
		if d.pos >= len(d.data) {
			return nil, d.fail("")
		}
		switch e := d.data[d.pos]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := d.hex4(d.pos + 1)
			if !ok {
				return nil, d.badHex(d.pos + 1)
			}
			d.pos += 4
			if utf16.IsSurrogate(r) {
				// A surrogate pair makes one rune; a lone surrogate
				// becomes U+FFFD, as encoding/json does.
				if d.pos+2 < len(d.data) && d.data[d.pos+1] == '\\' && d.data[d.pos+2] == 'u' {
					if r2, ok := d.hex4(d.pos + 3); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							r = dec
							d.pos += 6
						} else {
							r = utf8.RuneError
						}
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return nil, d.fail("in string escape code")
		}
		d.pos++
	}
	d.buf = buf
	return nil, d.fail("")
}

// validUTF8 returns b with each byte of invalid UTF-8 replaced by U+FFFD,
// as encoding/json unquotes a string (valid until the next str call). A
// \u escape gives a whole rune, so replacing in the unescaped bytes is
// replacing in the input's.
func (d *decoder) validUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		out = utf8.AppendRune(out, r)
		b = b[size:]
	}
	return out
}

// hex4 reads the four hex digits at i.
func (d *decoder) hex4(i int) (rune, bool) {
	if i+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// badHex is the error for a \u escape whose four hex digits start at i.
func (d *decoder) badHex(i int) error {
	for d.pos = i; d.pos < len(d.data) && d.pos < i+4; d.pos++ {
		c := d.data[d.pos]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			break
		}
	}
	return d.fail("in \\u hexadecimal character escape")
}

// Interning. Object keys repeat thousands of times in a document set
// ("Name", "Id", "Scope", "Properties"), and so do short values ("True",
// "Package", environment names) and numbers: decoding each occurrence into
// a new string costs an allocation and garbage. A table maps a hash of the
// bytes to the last string seen with that hash; it is bounded (a slot is
// overwritten on a collision), shared by all Decode calls, and lock-free
// (strings are immutable, a slot is an atomic pointer).
const (
	internSlots      = 1 << 12
	maxInternedKey   = 64
	maxInternedValue = 24
)

type internTable struct {
	seed  maphash.Seed
	slots [internSlots]atomic.Pointer[interned]
}

// interned is a table entry: the string, and the value it decodes to,
// boxed once (a string, or a json.Number).
type interned struct {
	s string
	v any
}

// keys interns object keys, strs short string values, numbers numbers.
var keys, strs, numbers = newInternTable(), newInternTable(), newInternTable()

func newInternTable() *internTable { return &internTable{seed: maphash.MakeSeed()} }

func asString(s string) any { return s }
func asNumber(s string) any { return json.Number(s) }

// intern returns the entry of the string b (box makes its value), the same
// entry for the same bytes as long as its slot is not taken by another.
// Strings longer than maxInternedKey get a fresh entry.
func (t *internTable) intern(b []byte, box func(string) any) *interned {
	if len(b) > maxInternedKey {
		s := string(b)
		return &interned{s, box(s)}
	}
	slot := &t.slots[maphash.Bytes(t.seed, b)&(internSlots-1)]
	if e := slot.Load(); e != nil && e.s == string(b) {
		return e
	}
	s := string(b)
	e := &interned{s, box(s)}
	slot.Store(e)
	return e
}
