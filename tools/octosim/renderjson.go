package octosim

import (
	"slices"
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

// answerCheck, when set (by the package's tests), sees every answer
// encodeNow encodes with the answer the simulator gave before it encoded
// under the lock (render's copies), to compare them.
var answerCheck func(got []byte, want any)

// encodeNow encodes v (which may hold renderedItems) at once, under
// Server.mu. want gives the same answer built of render's copies: what
// the answer is should encoding fail (writeJSON then reports
// json.Marshal's error), and what answerCheck compares with.
func encodeNow(v any, want func() any) any {
	bp, err := marshalJSON(v)
	if err != nil {
		return want()
	}
	if answerCheck != nil {
		answerCheck(*bp, want())
	}
	return &encodedJSON{bp: bp}
}

// renderedItems are documents of a list, encoded (AppendJSON) as
// render shows them (appendRendered), straight into the answer. A list
// item is the document GET by ID answers, Links included: the API
// descriptions give the collections' Items and the /all arrays the
// resource's own schema (DeploymentProcessResource, VariableSetResource
// with its ScopeValues — which the Octopus MCP server's get_variables
// tool strips from the variables/all items it reads, so real servers send
// them).
type renderedItems struct {
	s    *Server
	sp   *space
	spec *collSpec
	docs []map[string]any
}

// rendered returns the items as render's copies.
func (ri renderedItems) rendered() []map[string]any {
	out := make([]map[string]any, len(ri.docs))
	for i, d := range ri.docs {
		out[i] = ri.s.render(ri.sp, ri.spec, d, true)
	}
	return out
}

// AppendJSON encodes the items as a JSON array (jsonv.Appender).
func (ri renderedItems) AppendJSON(dst []byte) ([]byte, error) {
	var err error
	dst = append(dst, '[')
	for i, d := range ri.docs {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = ri.s.appendRendered(dst, ri.sp, ri.spec, d, true); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

// renderEncoded is render for an answer written as it is: encoded at
// once (encodeNow, appendRendered).
func (s *Server) renderEncoded(sp *space, spec *collSpec, doc map[string]any, full bool) any {
	return encodeNow(renderedDoc{s: s, sp: sp, spec: spec, doc: doc, full: full},
		func() any { return s.render(sp, spec, doc, full) })
}

// renderedDoc is one document, encoded (AppendJSON) as render shows it.
type renderedDoc struct {
	s    *Server
	sp   *space
	spec *collSpec
	doc  map[string]any
	full bool
}

// AppendJSON encodes the document (appendRendered; jsonv.Appender).
func (rd renderedDoc) AppendJSON(dst []byte) ([]byte, error) {
	return rd.s.appendRendered(dst, rd.sp, rd.spec, rd.doc, rd.full)
}

// appendRendered is render encoded: it appends the bytes json.Marshal
// writes for s.render(sp, spec, doc, full), written straight from the
// stored document, without the copy render makes and masks. The caller
// holds Server.mu, so that no write changes the document meanwhile. A
// list of n large documents (deployment processes of about 8 KB) cost n
// deep copies before it cost n encodings.
func (s *Server) appendRendered(dst []byte, sp *space, spec *collSpec, doc map[string]any, full bool) ([]byte, error) {
	extra := map[string]any{"Links": s.links(sp, spec, doc)}
	variables := spec.Name == "variables"
	if variables && full {
		extra["ScopeValues"] = s.scopeValues(sp, doc)
	}
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
		if x := doc[k]; variables && k == "Variables" && !schema.IsSensitiveValue(x) {
			return appendVariables(dst, x)
		}
		return appendMember(dst, doc[k], true, true)
	})
}

// appendMasked encodes v as render shows it: as the copy schema.DeepCopy
// makes (nil maps and slices of the kinds it copies become empty ones),
// with mask, with every write-only value inside masked as maskSecrets
// masks it.
func appendMasked(dst []byte, v any, mask bool) ([]byte, error) {
	switch t := v.(type) {
	case map[string]any:
		var kb [32]string
		return appendObjectOf(dst, sortedKeys(kb[:0], t), func(dst []byte, k string) ([]byte, error) {
			return appendMember(dst, t[k], mask, true)
		})
	case []any:
		return appendMaskedArray(dst, t, mask)
	case []map[string]any:
		return appendMaskedArray(dst, t, mask)
	case []string:
		if t == nil {
			return append(dst, "[]"...), nil
		}
	}
	return jsonv.AppendMarshal(dst, v)
}

// appendMember encodes x, a value of an object (inObject) or an element
// of an array, as appendMasked does, masked itself when it is a
// write-only value and mask is set.
func appendMember(dst []byte, x any, mask, inObject bool) ([]byte, error) {
	if mask && schema.IsSensitiveValue(x) {
		return appendMaskedSecret(dst, x.(map[string]any), inObject)
	}
	return appendMasked(dst, x, mask)
}

// appendMaskedArray encodes the elements of a slice as appendMasked does.
func appendMaskedArray[T any](dst []byte, a []T, mask bool) ([]byte, error) {
	var err error
	dst = append(dst, '[')
	for i, x := range a {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = appendMember(dst, any(x), mask, false); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

// appendMaskedSecret encodes a write-only value as maskSecrets replaces
// it: whether it has a value, no value, and (in an object, not in an
// array) its Hint.
func appendMaskedSecret(dst []byte, m map[string]any, withHint bool) ([]byte, error) {
	dst = append(dst, `{"HasValue":`...)
	if storedSecret(m) != nil {
		dst = append(dst, "true"...)
	} else {
		dst = append(dst, "false"...)
	}
	if h, ok := m["Hint"]; ok && withHint {
		dst = append(dst, `,"Hint":`...)
		var err error
		if dst, err = appendMasked(dst, h, false); err != nil {
			return dst, err
		}
	}
	return append(dst, `,"NewValue":null}`...), nil
}

// appendVariables encodes a variable set's Variables as render shows
// them: masked, and each sensitive variable with no value
// (maskSensitiveVariables).
func appendVariables(dst []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case []any:
		return appendVariableList(dst, t)
	case []map[string]any:
		return appendVariableList(dst, t)
	}
	return appendMasked(dst, v, true)
}

// appendVariableList is appendVariables over a slice.
func appendVariableList[T any](dst []byte, vars []T) ([]byte, error) {
	var err error
	dst = append(dst, '[')
	for i, e := range vars {
		if i > 0 {
			dst = append(dst, ',')
		}
		x := any(e)
		if m, ok := x.(map[string]any); ok && !schema.IsSensitiveValue(x) && isSensitiveVar(m) {
			dst, err = appendSensitiveVariable(dst, m)
		} else {
			dst, err = appendMember(dst, x, true, false)
		}
		if err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

// sensitiveVariableFields are what maskSensitiveVariables sets on a
// sensitive variable, encoded.
var sensitiveVariableFields = map[string]string{"IsSensitive": "true", "Type": `"Sensitive"`, "Value": "null"}

// appendSensitiveVariable encodes a sensitive variable masked, with
// sensitiveVariableFields.
func appendSensitiveVariable(dst []byte, m map[string]any) ([]byte, error) {
	var kb [32]string
	keys := sortedKeys(kb[:0], m)
	for k := range sensitiveVariableFields {
		if _, ok := m[k]; !ok {
			keys = append(keys, k)
		}
	}
	return appendObjectOf(dst, keys, func(dst []byte, k string) ([]byte, error) {
		if f := sensitiveVariableFields[k]; f != "" {
			return append(dst, f...), nil
		}
		return appendMember(dst, m[k], true, true)
	})
}
