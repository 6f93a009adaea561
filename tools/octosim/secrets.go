package octosim

import (
	"strconv"
	"strings"

	"github.com/octobundle/octobundle/schema"
)

// Write-only values. Octopus never returns a secret: a SensitiveValue is
// answered as {"HasValue": bool, "NewValue": null}. Internally the simulator
// keeps {"HasValue": true, "NewValue": "<secret>"} so tests can check that a
// secret survived (Server.Secret). On a write:
//
//   - {"NewValue": "s"} (any HasValue) sets the secret to s;
//   - {"HasValue": true, "NewValue": null} keeps the stored secret (if there
//     is none, the value ends up empty: HasValue false);
//   - {"HasValue": false} clears it.
//
// Sensitive variables follow different rules (see variables.go).

func sensitive(secret *string) map[string]any {
	if secret == nil {
		return map[string]any{"HasValue": false, "NewValue": nil}
	}
	return map[string]any{"HasValue": true, "NewValue": *secret}
}

// resolveSensitive applies the write rules to one incoming SensitiveValue
// given the stored value old (any shape).
func resolveSensitive(in map[string]any, old any) map[string]any {
	var out map[string]any
	if nv, ok := in["NewValue"].(string); ok {
		out = sensitive(&nv)
	} else if hv, _ := in["HasValue"].(bool); hv {
		out = sensitive(storedSecret(old))
	} else {
		out = sensitive(nil)
	}
	if h, ok := in["Hint"]; ok {
		out["Hint"] = h
	}
	return out
}

// storedSecret extracts the secret from a stored value: a sensitive object
// with a value, or a plain string.
func storedSecret(old any) *string {
	switch t := old.(type) {
	case map[string]any:
		if !schema.IsSensitiveValue(t) {
			return nil
		}
		if hv, _ := t["HasValue"].(bool); !hv {
			return nil
		}
		if s, ok := t["NewValue"].(string); ok {
			return &s
		}
	case string:
		return &t
	}
	return nil
}

// mergeSecrets walks the incoming document in place and resolves every
// SensitiveValue against the stored document at the same position: maps by
// key, arrays by element Id (else by index).
func mergeSecrets(in any, old any) any {
	switch t := in.(type) {
	case map[string]any:
		if schema.IsSensitiveValue(t) {
			return resolveSensitive(t, old)
		}
		om, _ := old.(map[string]any)
		for k, v := range t {
			var ov any
			if om != nil {
				ov = om[k]
			}
			t[k] = mergeSecrets(v, ov)
		}
		return t
	case []any:
		oa, _ := old.([]any)
		byID := map[string]any{}
		for _, o := range oa {
			if m, ok := o.(map[string]any); ok {
				if id := str(m["Id"]); id != "" {
					byID[id] = o
				}
			}
		}
		for i, v := range t {
			var ov any
			if m, ok := v.(map[string]any); ok && str(m["Id"]) != "" {
				ov = byID[str(m["Id"])]
			} else if i < len(oa) {
				ov = oa[i]
			}
			t[i] = mergeSecrets(v, ov)
		}
		return t
	}
	return in
}

// normalizeSensitivePaths turns the kind's registry Sensitive paths (those
// without a condition) into SensitiveValue objects: a plain string is a
// secret given in clear (seeds), null is "no value".
func normalizeSensitivePaths(spec *collSpec, doc map[string]any) {
	for _, sec := range spec.Sensitive {
		if sec.When != nil || sec.Mixed { // mixed positions hold plain values unless given as SensitiveValue objects
			continue
		}
		rewriteAt(doc, strings.Split(sec.Path, "/"), maskSensitive)
	}
}

// rewriteAt replaces the values present at path (slash segments, "*" for
// every element or value) with fn's result.
func rewriteAt(node any, segs []string, fn func(any) any) {
	if len(segs) == 0 {
		return
	}
	switch t := node.(type) {
	case map[string]any:
		if segs[0] == "*" {
			for k, v := range t {
				if len(segs) == 1 {
					t[k] = fn(v)
				} else {
					rewriteAt(v, segs[1:], fn)
				}
			}
			return
		}
		v, ok := t[segs[0]]
		if !ok {
			return
		}
		if len(segs) == 1 {
			t[segs[0]] = fn(v)
			return
		}
		rewriteAt(v, segs[1:], fn)
	case []any:
		rest := segs
		if segs[0] == "*" {
			rest = segs[1:]
		}
		for i, v := range t {
			if len(rest) == 0 {
				t[i] = fn(v)
			} else {
				rewriteAt(v, rest, fn)
			}
		}
	}
}

// lookupPath follows a slash-separated path through a stored document:
// map keys, and in arrays an element index, Id or Name.
func lookupPath(v any, path string) (any, bool) {
	if path == "" {
		return v, true
	}
	for _, seg := range strings.Split(path, "/") {
		switch t := v.(type) {
		case map[string]any:
			x, ok := t[seg]
			if !ok {
				return nil, false
			}
			v = x
		case []any:
			found := false
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(t) {
				v, found = t[i], true
			} else {
				for _, e := range t {
					if m, ok := e.(map[string]any); ok && (str(m["Id"]) == seg || str(m["Name"]) == seg) {
						v, found = e, true
						break
					}
				}
			}
			if !found {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	return v, true
}

// maskSensitive answers a write-only value as the server does: a string
// (or null) becomes a SensitiveValue that says only whether it is set.
func maskSensitive(v any) any {
	switch t := v.(type) {
	case string:
		return sensitive(&t)
	case nil:
		return sensitive(nil)
	}
	return v
}
