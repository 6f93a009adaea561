// Package secrets makes the placeholders apply writes for new secrets
// (never the source's values, which a bundle does not hold) and the
// clean-up items that list them: the planner predicts them, the executor
// fills them.
package secrets

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/octobundle/octobundle/apply/internal/planned"
	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/schema"
)

// PlaceholderPrefix starts every placeholder secret apply writes, so an
// administrator (or a script) can find the values to replace.
const PlaceholderPrefix = "OCTOBUNDLE-PLACEHOLDER"

// placeholderText is the dummy value written for a new secret. It names
// the entity (the clean-up report says where in it); it never holds IDs, so
// the same bundle writes the same placeholders on every destination.
func placeholderText(kind string, names []string) string {
	return fmt.Sprintf("%s: replace me (%s)", PlaceholderPrefix, planned.Label(kind, names))
}

// Certificates need a value a real server accepts: a self-signed
// certificate, PEM with its private key, base64-encoded as Octopus takes
// certificate data.
func placeholderCertificate(commonName string) (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return "", err
	}
	now := time.Now().UTC()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         commonName,
			Organization:       []string{PlaceholderPrefix},
			OrganizationalUnit: []string{"placeholder written by octobundle apply: replace me"},
		},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(0, 0, 30),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	_ = pem.Encode(&b, &pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	return base64.StdEncoding.EncodeToString([]byte(b.String())), nil
}

// secretRole returns what the secret at position at of a document of kind
// holds (schema.SecretRole): a certificate file gets a generated
// certificate rather than placeholder text, and that certificate's
// password none.
func secretRole(kind string, at []string) schema.SecretRole {
	if k := schema.Lookup(kind); k != nil {
		return k.SecretRole(at)
	}
	return schema.SecretText
}

// filler finds the new secrets of a document about to be written (bundle
// form at plan time, server form at execution) by walking it aligned with
// the destination's current document, the same way the merge aligns them:
//
//   - a SensitiveValue saying a value is set, where the destination has
//     none at that position;
//   - a sensitive variable (IsSensitive) that does not exist on the
//     destination (no element with the same name and scope).
//
// With write set it puts placeholders in: NewValue for SensitiveValues (a
// generated certificate for certificate data), Value for variables. It
// records a CleanupItem for each. Without write it changes nothing.
//
// The walk visits every object and array of every document apply writes,
// so it keeps the position as a stack of steps and renders it (the
// field's path, the element's identity) only for what it records.
type filler struct {
	kind  string
	names []string
	// text is the placeholder for new secrets (the bundle's apply policy's
	// Placeholder); empty means placeholderText.
	text  string
	write bool
	items []plans.CleanupItem
	err   error
	// path is the position of the value being filled.
	path []step
	// whys and ownNames are shared by the items (see why and record).
	whys     map[string]string
	ownNames []string
}

// step is one step of a filler's position: a map key, or an array
// element (its index and the element, named by its identity when the
// position is rendered for people).
type step struct {
	key  string
	el   any
	i    int
	elem bool
}

// at renders the position as map keys and array indices.
func (f *filler) at() []string {
	at := make([]string, len(f.path))
	for i, s := range f.path {
		if s.elem {
			at[i] = strconv.Itoa(s.i)
		} else {
			at[i] = s.key
		}
	}
	return at
}

// human renders the position for people: an element by its identity,
// appended to the field holding it (Variables["Password" Environment=Test]),
// or by its index when it has none.
func (f *filler) human() []string {
	var h []string
	for _, s := range f.path {
		if !s.elem {
			h = append(h, s.key)
			continue
		}
		if n := elementName(s.el); n != "" {
			if len(h) > 0 {
				h[len(h)-1] += "[" + n + "]"
			} else {
				h = append(h, "["+n+"]")
			}
		} else {
			h = append(h, strconv.Itoa(s.i))
		}
	}
	return h
}

// composite reports whether v is a value the walk steps into.
func composite(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

// fill fills b (aligned with d, the destination's value at the same
// position) and returns the value to put in its place and whether it is a
// new one (only when writing).
func (f *filler) fill(b, d any) (any, bool) {
	switch bt := b.(type) {
	case map[string]any:
		if schema.IsSensitiveValue(bt) {
			return f.sensitiveValue(bt, d)
		}
		dm, _ := d.(map[string]any)
		if sens, _ := schema.SensitiveFlag(bt); sens && len(f.path) > 0 && (dm == nil || !destSensitive(dm)) {
			// A new sensitive variable, or one made sensitive at the source
			// (the destination's plain value is not the secret).
			if v, isStr := bt["Value"].(string); bt["Value"] == nil || (isStr && v == "") {
				field := strings.Join(append(f.human(), "Value"), "/")
				why := "new sensitive variable"
				if dm != nil {
					why = "variable made sensitive at the source"
				}
				f.record(field, f.why(why))
				if f.write {
					bt["Value"] = f.placeholder()
				}
			}
		}
		// Only objects and arrays can hold a secret; in key order, so
		// that the clean-up items come in the document's order.
		var keys []string
		for k, v := range bt {
			if composite(v) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			var dv any
			if dm != nil {
				dv = dm[k]
			}
			f.path = append(f.path, step{key: k})
			nv, changed := f.fill(bt[k], dv)
			f.path = f.path[:len(f.path)-1]
			if changed {
				bt[k] = nv
			}
		}
	case []any:
		if !slices.ContainsFunc(bt, composite) {
			return b, false
		}
		da, _ := d.([]any)
		var pairs map[int]int
		if len(da) > 0 {
			pairs, _ = bundles.MatchElements(bt, da)
		}
		for i, el := range bt {
			if !composite(el) {
				continue
			}
			var dv any
			if j, ok := pairs[i]; ok {
				dv = da[j]
			}
			f.path = append(f.path, step{el: el, i: i, elem: true})
			nv, changed := f.fill(el, dv)
			f.path = f.path[:len(f.path)-1]
			if changed {
				bt[i] = nv
			}
		}
	}
	return b, false
}

// sensitiveValue fills a SensitiveValue object b: a new secret where d,
// the destination's, holds none.
func (f *filler) sensitiveValue(b map[string]any, d any) (any, bool) {
	if HasSecret(d) || !HasSecret(b) {
		return b, false
	}
	if nv, ok := b["NewValue"].(string); ok && nv != "" {
		return b, false // a value the caller supplied
	}
	field := strings.Join(f.human(), "/")
	switch secretRole(f.kind, f.at()) {
	case schema.SecretCertificate:
		f.record(field, "new certificate: a generated self-signed placeholder certificate was uploaded; upload the real certificate (and its password)")
		if f.write {
			cert, err := placeholderCertificate(strings.Join(f.names, "/"))
			if err != nil {
				f.err = err
				return b, false
			}
			return map[string]any{"HasValue": true, "NewValue": cert}, true
		}
	case schema.SecretCertificatePassword:
		// The placeholder certificate has no password.
		if f.write {
			return map[string]any{"HasValue": false, "NewValue": nil}, true
		}
	default:
		f.record(field, f.why("new secret"))
		if f.write {
			return map[string]any{"HasValue": true, "NewValue": f.placeholder()}, true
		}
	}
	return b, false
}

// destSensitive reports whether a destination variable is sensitive.
func destSensitive(d map[string]any) bool {
	s, _ := schema.SensitiveFlag(d)
	return s
}

// elementName names an array element for clean-up items by its identity
// (see bundles.Identify): `"OctoFX.Database.Password" Environment=Development,Test`.
func elementName(el any) string {
	id, ok := bundles.Identify(el)
	if !ok {
		return ""
	}
	return id.Label
}

// placeholder is the text written for a new secret.
func (f *filler) placeholder() string {
	if f.text != "" {
		return f.text
	}
	return placeholderText(f.kind, f.names)
}

// written says what apply will write, for clean-up items: a plan speaks
// in the future tense; Execute turns it into the past (PastTense) for the
// receipt and the clean-up report.
func (f *filler) written() string {
	if f.text != "" {
		return fmt.Sprintf("apply will write the placeholder %q (the bundle's apply policy)", f.text)
	}
	return willWritePlaceholder
}

// The tenses of the clean-up items' "why": the plan's, and the report's.
const (
	willWritePlaceholder = "apply will write a placeholder"
	wrotePlaceholder     = "a placeholder was written"
)

// PastTense turns a plan's clean-up reason into the report's.
func PastTense(why string) string {
	if strings.Contains(why, willWritePlaceholder) {
		return strings.Replace(why, willWritePlaceholder, wrotePlaceholder, 1)
	}
	if i := strings.Index(why, "apply will write the placeholder "); i >= 0 {
		rest := strings.TrimPrefix(why[i:], "apply will write the placeholder ")
		if j := strings.Index(rest, " (the bundle's apply policy)"); j >= 0 {
			return why[:i] + "the placeholder " + rest[:j] + " (the bundle's apply policy) was written" + rest[j+len(" (the bundle's apply policy)"):]
		}
	}
	return why
}

// why is the reason of a clean-up item for a placeholder: what is new
// (what), and what apply writes. A plan holds one item per new secret,
// tens of thousands in a large first apply, so each entity's items share
// one string per reason rather than building one each.
func (f *filler) why(what string) string {
	if w, ok := f.whys[what]; ok {
		return w
	}
	w := what + ": the value cannot be read from the source; " + f.written() + ", set the real value"
	if f.whys == nil {
		f.whys = map[string]string{}
	}
	f.whys[what] = w
	return w
}

// record adds a clean-up item; an entity's items share one copy of its
// names.
func (f *filler) record(field, why string) {
	if f.ownNames == nil {
		f.ownNames = append([]string(nil), f.names...)
	}
	f.items = append(f.items, plans.CleanupItem{Kind: f.kind, Names: f.ownNames, Field: field, Why: why})
}

// Predict lists the placeholders writing desired over dest (bundle
// forms; dest nil for a new entity) will need; text is the placeholder
// text ("" for apply's default).
func Predict(k *schema.Kind, names []string, desired, dest any, text string) []plans.CleanupItem {
	// Without write the walk changes nothing: desired needs no copy.
	f := &filler{kind: k.Name, names: names, text: text}
	f.fill(desired, dest)
	return f.items
}

// Fill puts placeholders for the new secrets of body (server form,
// modified in place) relative to the destination's current document dest
// (nil for a new entity) and returns body. text is the placeholder text
// ("" for apply's default, which names the entity).
func Fill(k *schema.Kind, names []string, body, dest any, text string) (any, []plans.CleanupItem, error) {
	f := &filler{kind: k.Name, names: names, write: true, text: text}
	out, _ := f.fill(body, dest)
	return out, f.items, f.err
}

// Sensitive reports whether a variable (or template) object is marked
// sensitive.
func Sensitive(v any) bool {
	m, _ := v.(map[string]any)
	s, _ := schema.SensitiveFlag(m)
	return s
}

// HasSecret reports whether a SensitiveValue object says a value is set.
func HasSecret(v any) bool {
	m, ok := v.(map[string]any)
	if !ok || !schema.IsSensitiveValue(m) {
		return false
	}
	hv, _ := m["HasValue"].(bool)
	return hv
}

// SensitiveEither reports whether a variable is sensitive on either side:
// its value is never compared.
func SensitiveEither(b, d any) bool {
	return Sensitive(b) || Sensitive(d)
}
