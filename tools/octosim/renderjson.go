package octosim

import (
	"encoding/json"
	"slices"
	"strconv"
	"sync"

	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/schema"
)

// Answers are encoded by jsonv.AppendMarshal: byte for byte what
// json.Marshal writes, without its reflection over map[string]any, which
// was the simulator's largest cost in the benchmarks (issue 20: about a
// third of its CPU during an export). The types below encode themselves
// inside an answer (jsonv.Appender).

// jsonBuffers recycles encoding buffers between answers.
var jsonBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// marshalJSON is json.Marshal through jsonv.AppendMarshal, into a pooled
// buffer: the caller writes the bytes, then returns the buffer with
// releaseJSON.
func marshalJSON(v any) (*[]byte, error) {
	bp := jsonBuffers.Get().(*[]byte)
	b, err := jsonv.AppendMarshal((*bp)[:0], v)
	if err != nil {
		releaseJSON(bp)
		return nil, err
	}
	*bp = b
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

// sortedKeys returns a map's keys in byte order, appended to keys (a
// caller's buffer on its stack, for the maps that fit).
func sortedKeys[V any](keys []string, m map[string]V) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendObjectOf appends an object of keys (sorted here), each key's value
// written by member: the frame every rendered object shares.
func appendObjectOf(dst []byte, keys []string, member func(dst []byte, key string) ([]byte, error)) ([]byte, error) {
	slices.Sort(keys)
	dst = append(dst, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonv.AppendMarshalString(dst, k)
		dst = append(dst, ':')
		if dst, err = member(dst, k); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// encodedJSON is an answer encoded under Server.mu, in a buffer of
// jsonBuffers: writeJSON writes it as it is and returns the buffer.
type encodedJSON struct{ bp *[]byte }

// MarshalJSON returns the encoding itself (json.Marshal compacts it,
// which leaves it as it is).
func (e *encodedJSON) MarshalJSON() ([]byte, error) { return *e.bp, nil }

// AppendJSON appends the encoding (jsonv.Appender).
func (e *encodedJSON) AppendJSON(dst []byte) ([]byte, error) { return append(dst, *e.bp...), nil }

// encodeNow encodes v (which may hold renderedDocs and renderedItems) at
// once, under Server.mu, so that no write changes a stored document while
// it is read.
func encodeNow(v any) any {
	bp, err := marshalJSON(v)
	if err != nil {
		return encodeFailed{err}
	}
	return &encodedJSON{bp: bp}
}

// encodeFailed is an answer encodeNow could not encode: writeJSON reports
// the error.
type encodeFailed struct{ err error }

// MarshalJSON returns the error.
func (e encodeFailed) MarshalJSON() ([]byte, error) { return nil, e.err }

// renderedItems are documents of a list, encoded (AppendJSON) as the API
// shows them (appendDoc), straight into the answer. A list item is the
// document GET by ID answers, Links included: the API descriptions give
// the collections' Items and the /all arrays the resource's own schema
// (DeploymentProcessResource, VariableSetResource with its ScopeValues —
// which the Octopus MCP server's get_variables tool strips from the
// variables/all items it reads, so real servers send them). full is as
// in renderDoc.
type renderedItems struct {
	s    *Server
	sp   *space
	spec *collSpec
	docs []map[string]any
	full bool
}

// AppendJSON encodes the items as a JSON array (jsonv.Appender).
func (ri renderedItems) AppendJSON(dst []byte) ([]byte, error) {
	var err error
	extra := make(map[string]any, 2) // on the stack: appendDoc keeps no reference
	dst = append(dst, '[')
	for i, d := range ri.docs {
		if i > 0 {
			dst = append(dst, ',')
		}
		clear(extra)
		ri.s.renderExtra(extra, ri.sp, ri.spec, d, ri.full)
		if dst, err = appendDoc(dst, d, ri.spec.mask, extra); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

// render answers one document as the API shows it (renderDoc), encoded
// at once (encodeNow).
func (s *Server) render(sp *space, spec *collSpec, doc map[string]any, full bool) any {
	return encodeNow(s.renderDoc(sp, spec, doc, full))
}

// renderDoc returns the document as the API shows it: write-only values
// masked as the collection's mask says (appendDoc), Links added. full
// adds computed parts that list items of sub-resources omit
// (ScopeValues of variable sets). The caller holds Server.mu until the
// result is encoded.
func (s *Server) renderDoc(sp *space, spec *collSpec, doc map[string]any, full bool) renderedDoc {
	extra := make(map[string]any, 2)
	s.renderExtra(extra, sp, spec, doc, full)
	return renderedDoc{doc: doc, mask: spec.mask, extra: extra}
}

// renderExtra sets in extra what an answer adds to the stored document
// (renderDoc): Links, and with full a variable set's ScopeValues.
func (s *Server) renderExtra(extra map[string]any, sp *space, spec *collSpec, doc map[string]any, full bool) {
	extra["Links"] = s.links(sp, spec, doc)
	if full && spec.Name == "variables" {
		extra["ScopeValues"] = s.scopeValues(sp, doc)
	}
}

// renderMap is renderDoc decoded: a document to change further (the
// environments of the v2 list, which have no secrets).
func (s *Server) renderMap(sp *space, spec *collSpec, doc map[string]any, full bool) (map[string]any, error) {
	b, err := jsonv.AppendMarshal(nil, s.renderDoc(sp, spec, doc, full))
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// renderedDoc is one stored document, encoded (AppendJSON) as the API
// shows it: with mask's secrets masked (appendDoc), and the fields of
// extra (Links, ScopeValues) added or in place of the stored ones.
type renderedDoc struct {
	doc   map[string]any
	mask  *maskNode
	extra map[string]any
}

// AppendJSON encodes the document (appendDoc; jsonv.Appender).
func (rd renderedDoc) AppendJSON(dst []byte) ([]byte, error) {
	return appendDoc(dst, rd.doc, rd.mask, rd.extra)
}

// appendDoc appends doc as the API shows it, written straight from the
// stored document, without a copy: every value at a position of the mask
// n in the form the mask gives it (appendMember), the fields of extra in
// place of doc's. A list of n large documents (deployment processes of
// about 8 KB) cost n deep copies when the answer was a masked copy.
func appendDoc(dst []byte, doc map[string]any, n *maskNode, extra map[string]any) ([]byte, error) {
	var buf [64]string
	keys := buf[:0]
	for k := range doc {
		if _, ok := extra[k]; !ok {
			keys = append(keys, k)
		}
	}
	for k := range extra {
		keys = append(keys, k)
	}
	return appendObjectOf(dst, keys, func(dst []byte, k string) ([]byte, error) {
		if x, ok := extra[k]; ok {
			return jsonv.AppendMarshal(dst, x)
		}
		return appendMember(dst, doc[k], n.child(k), doc)
	})
}

// appendMasked encodes v, found at position n of a mask (nil: none), as
// the API shows it: as the copy schema.DeepCopy makes (nil maps and
// slices of the kinds it copies become empty ones), with every write-only
// value inside masked (appendMember).
func appendMasked(dst []byte, v any, n *maskNode) ([]byte, error) {
	switch t := v.(type) {
	case map[string]any:
		var kb [32]string
		return appendObjectOf(dst, sortedKeys(kb[:0], t), func(dst []byte, k string) ([]byte, error) {
			return appendMember(dst, t[k], n.child(k), t)
		})
	case []any:
		return appendMaskedArray(dst, t, n.child(""))
	case []map[string]any:
		return appendMaskedArray(dst, t, n.child(""))
	case []string:
		if t == nil {
			return append(dst, "[]"...), nil
		}
	}
	return jsonv.AppendMarshal(dst, v)
}

// appendMember encodes x, found at position n of a mask in holder (the
// object holding it; nil for an array's element): in the form n's rules
// give it, a SensitiveValue anywhere masked (a server never answers a
// NewValue), any other value as appendMasked does.
func appendMember(dst []byte, x any, n *maskNode, holder map[string]any) ([]byte, error) {
	if n != nil && n.rules != nil {
		switch n.formOf(x, holder) {
		case formNull:
			return append(dst, "null"...), nil
		case formSensitiveValue:
			if _, ok := x.(string); ok { // a secret stored in clear
				return appendMaskedSecret(dst, true, nil, false)
			}
		}
	}
	if m, ok := x.(map[string]any); ok && schema.IsSensitiveValue(m) {
		h, hasHint := m["Hint"]
		return appendMaskedSecret(dst, storedSecret(m) != nil, h, hasHint)
	}
	return appendMasked(dst, x, n)
}

// appendMaskedArray encodes the elements of a slice, each at position n,
// as appendMember does.
func appendMaskedArray[T any](dst []byte, a []T, n *maskNode) ([]byte, error) {
	var err error
	dst = append(dst, '[')
	for i, x := range a {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = appendMember(dst, any(x), n, nil); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

// appendMaskedSecret encodes a write-only value as the server answers
// it: whether it has a value, no value, and its Hint if it has one.
func appendMaskedSecret(dst []byte, hasValue bool, hint any, hasHint bool) ([]byte, error) {
	dst = append(dst, `{"HasValue":`...)
	dst = strconv.AppendBool(dst, hasValue)
	if hasHint {
		dst = append(dst, `,"Hint":`...)
		var err error
		if dst, err = jsonv.AppendMarshal(dst, hint); err != nil {
			return dst, err
		}
	}
	return append(dst, `,"NewValue":null}`...), nil
}
