package octosim

import (
	"slices"

	"github.com/octobundle/octobundle/schema"
)

// rawJSON is part of an answer already encoded: appendJSON copies it as
// it is, and json.Marshal reads it through MarshalJSON.
type rawJSON []byte

// MarshalJSON returns the encoding itself.
func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

// renderCheck, when set (by the package's tests), sees every document
// renderEncoded encodes with render's answer for it, to compare them.
var renderCheck func(got rawJSON, want map[string]any)

// renderEncoded is render for an answer written as it is: renderJSON's
// encoding, or render's document should encoding fail (writeJSON then
// reports json.Marshal's error).
func (s *Server) renderEncoded(sp *space, spec *collSpec, doc map[string]any, full bool) any {
	b, err := s.renderJSON(sp, spec, doc, full)
	if err != nil {
		return s.render(sp, spec, doc, full)
	}
	if renderCheck != nil {
		renderCheck(b, s.render(sp, spec, doc, full))
	}
	return b
}

// renderJSON is render encoded: the bytes json.Marshal writes for
// s.render(sp, spec, doc, full), written straight from the stored
// document, without the copy render makes and masks. The caller holds
// Server.mu, so that no write changes the document meanwhile. A list of
// n large documents (deployment processes of about 8 KB) cost n deep
// copies before it cost n encodings.
func (s *Server) renderJSON(sp *space, spec *collSpec, doc map[string]any, full bool) (rawJSON, error) {
	extra := map[string]any{"Links": s.links(sp, spec, doc)}
	variables := spec.Name == "variables"
	if variables && full {
		extra["ScopeValues"] = s.scopeValues(sp, doc)
	}
	keys := make([]string, 0, len(doc)+len(extra))
	for k := range doc {
		if _, ok := extra[k]; !ok {
			keys = append(keys, k)
		}
	}
	for k := range extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst := make([]byte, 0, 1024)
	dst = append(dst, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		if x, ok := extra[k]; ok {
			dst, err = appendJSON(dst, x)
		} else if x := doc[k]; variables && k == "Variables" && !schema.IsSensitiveValue(x) {
			dst, err = appendVariables(dst, x)
		} else {
			dst, err = appendMember(dst, x, true, true)
		}
		if err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// appendMasked encodes v as render shows it: as the copy schema.DeepCopy
// makes (nil maps and slices of the kinds it copies become empty ones),
// with mask, with every write-only value inside masked as maskSecrets
// masks it.
func appendMasked(dst []byte, v any, mask bool) ([]byte, error) {
	var err error
	switch t := v.(type) {
	case map[string]any:
		dst = append(dst, '{')
		for i, k := range sortedKeys(t) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			if dst, err = appendMember(dst, t[k], mask, true); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case []any:
		return appendMaskedArray(dst, t, mask)
	case []map[string]any:
		return appendMaskedArray(dst, t, mask)
	case []string:
		if t == nil {
			return append(dst, "[]"...), nil
		}
	}
	return appendJSON(dst, v)
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
	keys := sortedKeys(m)
	for k := range sensitiveVariableFields {
		if _, ok := m[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var err error
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		if f := sensitiveVariableFields[k]; f != "" {
			dst = append(dst, f...)
		} else if dst, err = appendMember(dst, m[k], true, true); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}
