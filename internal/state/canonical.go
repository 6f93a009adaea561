package state

import (
	"bytes"
	"fmt"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/internal/jsonv"
)

// newValueKey is how a secret's key appears in compact JSON (jsonv writes
// the key without escapes).
var newValueKey = []byte(`"NewValue":`)

// mayHoldSecret reports whether compact JSON has a "NewValue" key whose
// value is not null: only such a key makes a secret (see secret). The
// quote after NewValue is unescaped and followed by a colon, so a match
// ends a key; one that is not NewValue itself (x\"NewValue) only makes
// the answer conservative.
func mayHoldSecret(compact []byte) bool {
	for rest := compact; ; {
		i := bytes.Index(rest, newValueKey)
		if i < 0 {
			return false
		}
		rest = rest[i+len(newValueKey):]
		if !bytes.HasPrefix(rest, []byte("null")) {
			return true
		}
	}
}

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
	if mayHoldSecret(d.JSON()) {
		return canonical(p, d.Value())
	}
	data, err := bundles.CanonicalPacked(d)
	if err != nil {
		return nil, fmt.Errorf("state: %s: %w", p, err)
	}
	return data, nil
}
