// Package jsonv decodes JSON into generic values and holds documents
// compactly in memory.
//
// Decode is the one decoder of JSON read from outside (bundle files, state
// files, server responses): objects become map[string]any, arrays []any,
// numbers json.Number (exactly as written), and it refuses invalid UTF-8,
// duplicate object keys, trailing data, control characters in strings and
// nesting deeper than limits.JSONDepth; a syntax error gives its byte
// offset. It is a recursive-descent parser over the input bytes that gives
// exactly encoding/json's values (FuzzDecode checks it against
// encoding/json), and it interns object keys, short strings and numbers in
// bounded shared tables, so that the thousands of "Name" and "Id" keys of a
// bundle are one string each rather than one allocation per occurrence.
//
// DecodeWith and AppendMarshal are the variants for a program that must
// read and write exactly as encoding/json does (the simulator of
// tools/octosim, which answers as Octopus Server's JSON does): with the
// options Float64 and Lenient, DecodeWith gives json.Unmarshal's value of
// an any (float64 numbers, invalid UTF-8 replaced, the last of repeated
// keys), and AppendMarshal writes json.Marshal's bytes (HTML characters
// escaped, nil maps and slices as null), both without reflection.
//
// Doc is an immutable document packed as compact JSON, compressed with S2
// when that saves space: a bundle, a destination snapshot and a state hold
// thousands of documents, and held decoded (maps of maps) they cost ten
// times their JSON. Value decodes a fresh copy on each call, so callers may
// change what they get.
package jsonv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"unique"
	"unsafe"

	"github.com/klauspost/compress/s2"

	"github.com/octobundle/octobundle/internal/limits"
)

// MaxDepth bounds the nesting of JSON values, so hostile input cannot
// exhaust the stack.
const MaxDepth = limits.JSONDepth

// ErrDepth is the error for JSON nested deeper than MaxDepth; callers
// prefix the file's name.
var ErrDepth = &limits.Error{Limit: "JSON nesting depth", Max: MaxDepth, Unit: "levels"}

// packMin is the size from which a document is compressed: below it S2's
// framing saves nothing worth a decompression.
const packMin = 256

// Doc is a JSON document packed compactly (see the package doc). The zero
// Doc is "no document": IsZero reports it, Value returns nil.
type Doc struct {
	// h is the compact JSON, or its S2 block when z, interned: a plan
	// holds the bundle's, the base's and its own packed copies of mostly
	// the same documents, and equal texts share one copy (and compare as
	// one handle). Unreferenced texts are collected.
	h unique.Handle[string]
	z bool
}

// Pack packs v, a value Decode could have returned or anything
// encoding/json marshals (numbers keep their json.Number text).
func Pack(v any) (Doc, error) {
	// Encode into a pooled buffer: packBytes keeps no reference to it.
	buf := encScratch.Get().(*[]byte)
	data, err := appendCompact((*buf)[:0], v, 0)
	if err != nil {
		putScratch(&encScratch, buf, data)
		return Doc{}, err
	}
	d := packBytes(data)
	putScratch(&encScratch, buf, data)
	return d, nil
}

// MustPack is Pack for values known to marshal (decoded JSON); it panics
// otherwise.
func MustPack(v any) Doc {
	d, err := Pack(v)
	if err != nil {
		panic(fmt.Sprintf("jsonv: packing a decoded value: %v", err))
	}
	return d
}

// PackJSON packs JSON bytes after checking that they decode (Decode's
// rules); whitespace is removed.
func PackJSON(data []byte) (Doc, error) {
	if _, err := Decode(data); err != nil {
		return Doc{}, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return Doc{}, err
	}
	return packBytes(buf.Bytes()), nil
}

// PackCompact packs compact JSON the caller vouches for: bytes that Decode
// accepts, without whitespace (an encoder's output). It checks nothing, so
// a document read from outside goes through PackJSON instead; it saves the
// decoding PackJSON does when the caller has just made the bytes.
func PackCompact(compact []byte) Doc { return packBytes(compact) }

func packBytes(compact []byte) Doc {
	if len(compact) >= packMin {
		// s2 encodes into a buffer of its worst-case size: encode into a
		// pooled scratch buffer and keep an exact-size copy.
		scratch := packScratch.Get().(*[]byte)
		defer packScratch.Put(scratch)
		if n := s2.MaxEncodedLen(len(compact)); cap(*scratch) < n {
			*scratch = make([]byte, n)
		}
		if z := s2.EncodeBetter((*scratch)[:cap(*scratch)], compact); len(z) < len(compact) {
			return Doc{h: unique.Make(transient(z)), z: true}
		}
	}
	return Doc{h: unique.Make(transient(compact))}
}

// transient views b as a string without copying it, for unique.Make only:
// Make clones the string it keeps, so the handle does not hold b, which
// may be a pooled buffer (and a text already interned costs no copy).
func transient(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// packScratch holds the buffers packBytes encodes into and Value
// decompresses into; encScratch those Pack encodes into.
var (
	packScratch = sync.Pool{New: func() any { return new([]byte) }}
	encScratch  = sync.Pool{New: func() any { return new([]byte) }}
)

// maxScratch bounds the buffers the pools (and Buffer's) keep: one grown
// by a huge document is dropped.
const maxScratch = 4 << 20

// bufPool holds the buffers Buffer hands out.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Buffer returns an empty buffer for an encoding used once and dropped
// (compared, hashed or packed), from a pool: such an encoding then costs
// no allocation, nor the garbage of a buffer grown by doubling. PutBuffer
// gives it back once nothing refers to its bytes.
func Buffer() *bytes.Buffer { return bufPool.Get().(*bytes.Buffer) }

// PutBuffer gives b back to Buffer's pool, unless it grew past
// maxScratch (one grown by a huge document is dropped).
func PutBuffer(b *bytes.Buffer) {
	if b.Cap() > maxScratch {
		return
	}
	b.Reset()
	bufPool.Put(b)
}

// putScratch returns buf to pool p, keeping the grown slice used (its
// final value, which append may have reallocated) when it is not too big.
func putScratch(p *sync.Pool, buf *[]byte, used []byte) {
	if cap(used) > maxScratch {
		return
	}
	*buf = used[:0]
	p.Put(buf)
}

// Equal reports whether d and e hold the same JSON text (documents packed
// from the same encoder's output compare equal exactly when their values
// do). It compares two handles: the same text always packs the same way,
// and packed texts are interned.
func (d Doc) Equal(e Doc) bool { return d == e }

// IsZero reports whether d holds no document.
func (d Doc) IsZero() bool { return d == Doc{} }

// Size is the number of bytes d's text has (interned: documents with the
// same text share one copy).
func (d Doc) Size() int { return len(d.bytes()) }

// bytes returns the packed text, read-only: it is the interned string's
// memory.
func (d Doc) bytes() []byte {
	if d.IsZero() {
		return nil
	}
	s := d.h.Value()
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// JSON returns the document's compact JSON (nil for the zero Doc).
func (d Doc) JSON() []byte {
	if !d.z {
		return bytes.Clone(d.bytes())
	}
	out, err := s2.Decode(nil, d.bytes())
	if err != nil {
		// Only Pack makes packed data, and it never changes.
		panic(fmt.Sprintf("jsonv: corrupt packed document: %v", err))
	}
	return out
}

// Value decodes a fresh copy of the document (nil for the zero Doc).
func (d Doc) Value() any {
	if d.IsZero() {
		return nil
	}
	data := d.bytes()
	if d.z {
		// Decode copies what it keeps: decompress into a scratch buffer.
		scratch := packScratch.Get().(*[]byte)
		defer packScratch.Put(scratch)
		n, err := s2.DecodedLen(data)
		if err == nil {
			if cap(*scratch) < n {
				*scratch = make([]byte, n)
			}
			data, err = s2.Decode((*scratch)[:n], data)
		}
		if err != nil {
			panic(fmt.Sprintf("jsonv: corrupt packed document: %v", err))
		}
	}
	v, err := Decode(data)
	if err != nil {
		panic(fmt.Sprintf("jsonv: packed document does not decode: %v", err))
	}
	return v
}

// Object returns Value as an object (nil when the document is not one).
func (d Doc) Object() map[string]any {
	m, _ := d.Value().(map[string]any)
	return m
}

// MarshalJSON writes the document as it is ("null" for the zero Doc).
func (d Doc) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return d.JSON(), nil
}

// UnmarshalJSON packs the JSON it is given (Decode's rules; null is the
// zero Doc).
func (d *Doc) UnmarshalJSON(data []byte) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		*d = Doc{}
		return nil
	}
	p, err := PackJSON(data)
	if err != nil {
		return err
	}
	*d = p
	return nil
}
