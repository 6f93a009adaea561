package state

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/octobundle/octobundle/internal/jsonv"
)

// newValueKey is how a secret's key appears in compact JSON: a document
// whose text lacks it holds no secret (see secret), and jsonv writes the
// key without escapes.
var newValueKey = []byte(`"NewValue":`)

// canonicalOf is canonical for v, which may also be a jsonv.Doc packed from
// a decoded value (the plan's documents): its compact text, keys in byte
// order and strings escaped as bundles.Canonical escapes them, indented is
// exactly Canonical's bytes, with no decoding and encoding again. A text
// that may hold a secret is decoded and checked as any value is.
func canonicalOf(p string, v any) ([]byte, error) {
	d, ok := v.(jsonv.Doc)
	if !ok {
		return canonical(p, v)
	}
	if d.IsZero() {
		return canonical(p, nil)
	}
	compact := d.JSON()
	if bytes.Contains(compact, newValueKey) {
		return canonical(p, d.Value())
	}
	var buf bytes.Buffer
	buf.Grow(2*len(compact) + 1)
	if err := json.Indent(&buf, compact, "", "  "); err != nil {
		return nil, fmt.Errorf("state: %s: %w", p, err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}
