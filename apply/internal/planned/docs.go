package planned

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/schema"
)

// WithoutDeferred returns doc without the kind's deferred fields.
func WithoutDeferred(k *schema.Kind, doc any) any {
	m, ok := doc.(map[string]any)
	if !ok || len(k.Deferred) == 0 {
		return doc
	}
	out := make(map[string]any, len(m))
	for f, v := range m {
		out[f] = v
	}
	for _, f := range k.Deferred {
		delete(out, f)
	}
	return out
}

// OnlyDeferred returns the kind's deferred fields of doc.
func OnlyDeferred(k *schema.Kind, doc any) any {
	m, ok := doc.(map[string]any)
	out := map[string]any{}
	if !ok {
		return out
	}
	for _, f := range k.Deferred {
		if v, ok := m[f]; ok {
			out[f] = v
		}
	}
	return out
}

// Deletable reports whether entities of k are deleted on their own (a
// DELETE to their collection): not singletons, ShapeItems files or binaries,
// which go with their owner.
func Deletable(k *schema.Kind) bool {
	return k.Collection != "" && !k.IsSingleton() && k.Shape != schema.ShapeItems && k.Shape != schema.ShapeBinary && k.Policy != schema.PolicyNever
}

// ItemLabels lists the identities of items (`"Project deployer"`).
func ItemLabels(items []any) string {
	var out []string
	for _, el := range items {
		if id, ok := bundles.Identify(el); ok {
			out = append(out, id.Label)
		}
	}
	return strings.Join(out, ", ")
}

// ContentType tells an image's type from its bytes (SVG, which content
// sniffing calls text, by its root element).
func ContentType(data []byte) string {
	head := bytes.TrimSpace(data[:min(len(data), 512)])
	if bytes.HasPrefix(head, []byte("<svg")) || (bytes.HasPrefix(head, []byte("<?xml")) && bytes.Contains(head, []byte("<svg"))) {
		return "image/svg+xml"
	}
	return http.DetectContentType(data)
}
