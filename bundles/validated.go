package bundles

import (
	"crypto/sha256"
	"sync"

	"github.com/octobundle/octobundle/schema"
)

// validated remembers, for the life of the process, which document
// contents passed the content checks of checkEntity (the JSON Schema and
// ID-freeness): both depend only on the schema, the kind and the document.
// A plan reads the bundle and the state's base, which hold mostly the same
// documents, and JSON Schema validation was most of the CPU of reading
// either; with this each content is validated once. A content that fails is
// never remembered, so its error is reported every time.
var validated = &contentSet{m: map[[sha256.Size]byte]struct{}{}}

// maxValidated bounds the set (32 bytes a content, about 12 MiB at most
// with the map's overhead): past it, contents are validated every time.
const maxValidated = 1 << 18

// contentSet is a bounded set of content keys, safe for concurrent use.
type contentSet struct {
	mu sync.RWMutex
	m  map[[sha256.Size]byte]struct{}
}

// contentKey identifies a document's content under a schema and a kind.
func contentKey(schemaName string, k *schema.Kind, data []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(schemaName))
	h.Write([]byte{0})
	h.Write([]byte(k.Name))
	h.Write([]byte{0})
	h.Write(data)
	var key [sha256.Size]byte
	h.Sum(key[:0])
	return key
}

func (s *contentSet) has(key [sha256.Size]byte) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.m[key]
	return ok
}

func (s *contentSet) add(key [sha256.Size]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) < maxValidated {
		s.m[key] = struct{}{}
	}
}
