package octosim

import (
	"strings"

	"github.com/octobundle/octobundle/schema"
)

// What an answer never shows. A collection's mask is the one description
// of its write-only values: where they are (the kind registry's Secret
// positions, schema.Kind.Sensitive, for the registry's collections; the
// Sensitive paths of a storedCollection for the others) and how the
// answer shows each instead (secretForm). The renderer (appendDoc) reads
// it for every answer built from a stored document: lists, single
// resources, writes, clones, snapshots and sub-resources. prepare reads
// the same positions to store a secret given in clear as a
// SensitiveValue (normalizeSensitivePaths).
//
// What a real server answers, by source (mask_test.go checks each):
//
//   - a SensitiveValue property (an account's Password, Token, SecretKey,
//     PrivateKeyFile, PrivateKeyPassphrase, CertificateBytes, JsonKey; a
//     feed's Password, SecretKey, ServiceAccountJsonKey; a certificate's
//     CertificateData and Password; an offline drop or Service Fabric
//     endpoint's password; a webhook trigger's Secret; a git credential's
//     Details/Password; a proxy's Password) is answered
//     {"HasValue": set, "NewValue": null}: OctopusClients' SensitiveValue
//     ("When reading from the API, only HasValue will be set, depending
//     on whether a server-side value exists") and the properties of that
//     type in its Model; the server answers in go-octopusdeploy's tests
//     (test/resources/deployment_target_test.go, an offline drop
//     target's SensitiveVariablesEncryptionPassword {"HasValue": false,
//     "NewValue": null});
//   - a property value that may be sensitive (a step's Properties, a step
//     template's Properties and parameter defaults, a project's and a
//     library variable set's template defaults, tenant variable values)
//     is a plain string, answered as it is, or a SensitiveValue, masked
//     (go-octopusdeploy's core.PropertyValue, OctopusClients'
//     PropertyValueResource);
//   - a sensitive variable's Value is answered null, IsSensitive true,
//     Type "Sensitive" (OctopusDeploy/docs pull request 1090: sensitive
//     variable values "will be returned as null").
//
// Anywhere else, a SensitiveValue object is masked too: a server never
// answers a NewValue. Answers the simulator builds rather than stores
// mask in their builders, by the same rules: tenant variables
// (renderTenantValue: a value of a sensitive template is a masked
// SensitiveValue even if stored as a string), users (renderUser: no
// Password, OctopusClients' UserResource marks it NotReadable and omits
// it when null) and API keys (renderAPIKey: a SensitiveValue with its
// Hint).

// secretForm is how an answer shows a write-only value.
type secretForm uint8

const (
	// formSensitiveValue: {"HasValue": set, "NewValue": null}, with the
	// stored Hint if any. A secret stored in clear (a string) is shown so
	// too; null stays null.
	formSensitiveValue secretForm = iota + 1
	// formNull: null (a sensitive variable's Value).
	formNull
)

// maskRule is a secret at one position of a mask.
type maskRule struct {
	// When restricts the rule to holders for which it holds (a variable
	// whose IsSensitive is true).
	When *schema.Cond
	// Mixed positions hold plain values, shown as they are, unless the
	// value is a SensitiveValue.
	Mixed bool
	// Form is how the answer shows the secret.
	Form secretForm
}

// maskNode is one position of a mask: the rules of the values there, and
// the positions below, by key and for every key or element ("*").
type maskNode struct {
	rules []maskRule
	keys  map[string]*maskNode
	any   *maskNode
}

// formOf returns how the answer shows x, found at n in holder (the
// object holding it; nil in an array), or 0 when no rule applies.
func (n *maskNode) formOf(x any, holder map[string]any) secretForm {
	for _, r := range n.rules {
		if r.When != nil && !r.When.Holds(holder) {
			continue
		}
		if r.Mixed && !schema.IsSensitiveValue(x) {
			continue
		}
		return r.Form
	}
	return 0
}

// child is the position below n at key k (an object's key; "" for an
// array's elements), or nil.
func (n *maskNode) child(k string) *maskNode {
	if n == nil {
		return nil
	}
	if c := n.keys[k]; c != nil {
		return c
	}
	return n.any
}

// secretFormOf is the form the simulator gives a registry Secret: a
// conditional one (a sensitive variable's Value) is a plain value the
// server answers null; the others are SensitiveValues.
func secretFormOf(sec schema.Secret) secretForm {
	if sec.When != nil {
		return formNull
	}
	return formSensitiveValue
}

// compileMask builds the mask of secrets (duplicates, which a collection
// of several kinds has, count once). nil when there are none.
func compileMask(secrets []schema.Secret) *maskNode {
	if len(secrets) == 0 {
		return nil
	}
	root := &maskNode{}
	seen := map[string]bool{}
	for _, sec := range secrets {
		r := maskRule{When: sec.When, Mixed: sec.Mixed, Form: secretFormOf(sec)}
		key := sec.Path
		if r.When != nil {
			key += "\x00" + r.When.Field + "\x00" + strings.Join(r.When.Values, ",")
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		n := root
		for _, seg := range strings.Split(sec.Path, "/") {
			if seg == "*" {
				if n.any == nil {
					n.any = &maskNode{}
				}
				n = n.any
				continue
			}
			if n.keys == nil {
				n.keys = map[string]*maskNode{}
			}
			if n.keys[seg] == nil {
				n.keys[seg] = &maskNode{}
			}
			n = n.keys[seg]
		}
		n.rules = append(n.rules, r)
	}
	root.spread()
	return root
}

// spread copies, at every position, the rules below "*" into the
// positions of named keys beside it, so that child finds them all.
func (n *maskNode) spread() {
	if n == nil {
		return
	}
	if n.any != nil {
		for _, c := range n.keys {
			mergeMask(c, n.any)
		}
	}
	for _, c := range n.keys {
		c.spread()
	}
	n.any.spread()
}

// mergeMask adds src's rules and positions to dst.
func mergeMask(dst, src *maskNode) {
	dst.rules = append(dst.rules, src.rules...)
	for k, c := range src.keys {
		if dst.keys == nil {
			dst.keys = map[string]*maskNode{}
		}
		if dst.keys[k] == nil {
			dst.keys[k] = &maskNode{}
		}
		mergeMask(dst.keys[k], c)
	}
	if src.any != nil {
		if dst.any == nil {
			dst.any = &maskNode{}
		}
		mergeMask(dst.any, src.any)
	}
}

// storedSecrets are a stored collection's Sensitive paths as registry
// Secrets: SensitiveValues at fixed positions.
func storedSecrets(paths []string) []schema.Secret {
	out := make([]schema.Secret, len(paths))
	for i, p := range paths {
		out[i] = schema.Secret{Path: p}
	}
	return out
}

func init() {
	for _, sc := range storedCollections {
		sc.mask = compileMask(storedSecrets(sc.Sensitive))
	}
}
