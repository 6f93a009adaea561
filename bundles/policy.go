package bundles

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/octobundle/octobundle/policy"
)

// PolicyFile is the bundle file that carries the policy file
// (policy.File): the apply-time policy set by transform rules. It is
// listed in checksums.txt like any entity file, so the digest (and a
// signature over it) covers it, and a bundle replayed months later is
// applied exactly as it was the first time, without the rule files.
const PolicyFile = policy.FileName

// encodePolicy validates f and returns its canonical bytes.
func encodePolicy(f *policy.File) ([]byte, error) {
	doc, err := policy.Encode(f)
	if err != nil {
		return nil, err
	}
	return Canonical(doc)
}

// decodePolicy parses and validates the bytes of PolicyFile: in canonical
// form, and valid as policy.Parse checks.
func decodePolicy(data []byte) (*policy.File, error) {
	doc, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", PolicyFile, err)
	}
	if canon, _ := Canonical(doc); !bytes.Equal(canon, data) {
		return nil, fmt.Errorf("%s: not in canonical form", PolicyFile)
	}
	return policy.Parse(data)
}

// SetApplyPolicy records f as the bundle's policy file; nil or a zero
// file removes it. It unseals the bundle.
func (b *Bundle) SetApplyPolicy(f *policy.File) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f.IsZero() {
		if b.policy != nil {
			b.policy = nil
			b.unseal()
		}
		return nil
	}
	data, err := encodePolicy(f)
	if err != nil {
		return fmt.Errorf("bundles: apply policy: %w", err)
	}
	if !bytes.Equal(data, b.policy) {
		b.policy = data
		b.unseal()
	}
	return nil
}

// ApplyPolicy returns a copy of the bundle's policy file, or nil when it
// has none.
func (b *Bundle) ApplyPolicy() (*policy.File, error) {
	b.mu.RLock()
	data := b.policy
	b.mu.RUnlock()
	if data == nil {
		return nil, nil
	}
	f, err := decodePolicy(data)
	if err != nil {
		return nil, errors.Join(errors.New("bundles: apply policy"), err)
	}
	return f, nil
}
