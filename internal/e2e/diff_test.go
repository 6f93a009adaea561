package e2e

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/schema"
)

// bundleDiff is one difference between two bundles, entity by entity.
type bundleDiff struct {
	// Op is '-' (the entity is only in the first bundle), '+' (only in the
	// second) or '~' (a field differs).
	Op byte
	// Path is the entity's bundle path.
	Path string
	// Field is the differing field for '~', with array elements named by
	// their Name (`Phases["Test"]`) and sensitive values as one field.
	Field string
}

func (d bundleDiff) String() string {
	if d.Op == '~' {
		return fmt.Sprintf("~ %s %s", d.Path, d.Field)
	}
	return fmt.Sprintf("%c %s", d.Op, d.Path)
}

// bundleDiffs lists the differences between the entities of a and b, sorted.
// Manifests are not compared (they name the server and the export time).
func bundleDiffs(a, b *bundles.Bundle) []bundleDiff {
	am, bm := map[string]any{}, map[string]any{}
	for _, e := range a.Entries() {
		am[e.Path] = e.Doc
	}
	for _, e := range b.Entries() {
		bm[e.Path] = e.Doc
	}
	var out []bundleDiff
	for p, ad := range am {
		bd, ok := bm[p]
		if !ok {
			out = append(out, bundleDiff{Op: '-', Path: p})
			continue
		}
		var fields []string
		fieldDiffs("", ad, bd, &fields)
		for _, f := range fields {
			out = append(out, bundleDiff{Op: '~', Path: p, Field: f})
		}
	}
	for p := range bm {
		if _, ok := am[p]; !ok {
			out = append(out, bundleDiff{Op: '+', Path: p})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// fieldDiffs appends to out the fields at which a and b differ, below the
// label at: objects field by field, arrays of named objects element by
// element (by Name), anything else (and sensitive values, objects with a
// HasValue) as a whole. These are the labels the apply package's plans use.
func fieldDiffs(at string, a, b any, out *[]string) {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || schema.IsSensitiveValue(av) || schema.IsSensitiveValue(bv) {
			break
		}
		keys := map[string]bool{}
		for k := range av {
			keys[k] = true
		}
		for k := range bv {
			keys[k] = true
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			fieldDiffs(child(at, k), av[k], bv[k], out)
		}
		return
	case []any:
		bv, ok := b.([]any)
		if !ok {
			break
		}
		an, aok := byIdentity(av)
		bn, bok := byIdentity(bv)
		if !aok || !bok {
			break
		}
		ids := map[string]bool{}
		for n := range an {
			ids[n] = true
		}
		for n := range bn {
			ids[n] = true
		}
		for _, n := range slices.Sorted(maps.Keys(ids)) {
			fieldDiffs(at+"["+n+"]", an[n], bn[n], out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, at)
	}
}

// child labels field k of the object at at: .K, or ["k"] when k is not a
// plain identifier.
func child(at, k string) string {
	plain := k != "" && strings.IndexFunc(k, func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) < 0
	switch {
	case !plain:
		return at + "[" + strconv.Quote(k) + "]"
	case at == "":
		return k
	}
	return at + "." + k
}

// byIdentity indexes an array of objects by their identity, the way the
// apply package's plans label elements: the quoted Name, followed for
// scoped elements (variables) by the sorted scope (`"X" Environment=Prod`),
// followed by #2, #3 … for repeats. False when some element is not an
// object with a Name.
func byIdentity(arr []any) (map[string]any, bool) {
	out := map[string]any{}
	for _, x := range arr {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, false
		}
		n, ok := m["Name"].(string)
		if !ok {
			return nil, false
		}
		id := strconv.Quote(n)
		scope, _ := m["Scope"].(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(scope)) {
			var vals []string
			for _, v := range asSlice(scope[k]) {
				if s, ok := v.(string); ok {
					if s == "" || strings.ContainsAny(s, " \t,\"[]=") {
						s = strconv.Quote(s)
					}
					vals = append(vals, s)
				}
			}
			if len(vals) > 0 {
				sort.Strings(vals)
				id += " " + k + "=" + strings.Join(vals, ",")
			}
		}
		key := id
		for i := 2; out[key] != nil; i++ {
			key = fmt.Sprintf("%s #%d", id, i)
		}
		out[key] = m
	}
	return out, true
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// allowance is a difference between the golden bundle and the export of a
// space it was applied to that is allowed, and why.
type allowance struct {
	// Op is the bundleDiff.Op it allows.
	Op byte
	// Path is the entity's bundle path; a trailing * matches any suffix.
	Path string
	// Field is the field for '~'; a trailing * matches any suffix. On a live
	// server a field also allows everything below it (Field.X, Field[…]).
	Field string
	// Live marks differences only a real server makes: its built-ins are
	// not the simulator's, and it derives certificate metadata from the
	// certificate data (the generated placeholder).
	Live bool
	// Why explains the difference.
	Why string
}

// Reasons for the differences.
const (
	whyBuiltin = "the destination's built-in default: a new space has it, apply leaves it alone, the details are the destination's"
	whyCertPwd = "placeholder: a new certificate gets a generated, password-less self-signed certificate (a clean-up item), so its Password has no value where the source's had one"
	whyCertX   = "placeholder: a real server reads a certificate's X.509 metadata from the certificate data, which is the generated placeholder"
	whyTargets = "a value scoped only to deployment targets, none of which exists on the destination, is skipped (the plan says so): targets are the destination's, and the golden bundle has none"
	whyDestOwn = "an entity only the destination has (a real server's own built-ins — system teams, built-in user roles, its dynamic worker pools — or a previous run's leftovers): apply never deletes"
)

// allowedDiffs are the only differences allowed between the golden bundle
// and the export of a space it was applied to: what the destination
// legitimately owns. The entries not marked Live are exactly what a fresh
// simulator differs in, no more and no less. All but one restate the list
// of TestApplyToEmptyDestination (apply/e2e_empty_test.go), which is
// test-only in package apply (it compares with apply's unexported diff):
// keep the two in step.
var allowedDiffs = []allowance{
	{Op: '~', Path: "certificates/Acme Corp Portal.json", Field: "Password", Why: whyCertPwd},
	{Op: '~', Path: "certificates/OctoFX Production.json", Field: "Password", Why: whyCertPwd},
	{Op: '~', Path: "certificates/OctoFX Wildcard (Dev%2FTest).json", Field: "Password", Why: whyCertPwd},
	{Op: '~', Path: "lifecycles/Default Lifecycle.json", Field: "Description", Why: whyBuiltin},
	{Op: '~', Path: "lifecycles/Default Lifecycle.json", Field: `Phases["Development"]`, Why: whyBuiltin},
	{Op: '~', Path: "lifecycles/Default Lifecycle.json", Field: `Phases["Production"]`, Why: whyBuiltin},
	{Op: '~', Path: "lifecycles/Default Lifecycle.json", Field: `Phases["Staging"]`, Why: whyBuiltin},
	{Op: '~', Path: "lifecycles/Default Lifecycle.json", Field: `Phases["Test"]`, Why: whyBuiltin},
	{Op: '~', Path: "lifecycles/Default Lifecycle.json", Field: "ReleaseRetentionPolicy.Strategy", Why: whyBuiltin},
	{Op: '~', Path: "lifecycles/Default Lifecycle.json", Field: "TentacleRetentionPolicy.Strategy", Why: whyBuiltin},
	{Op: '~', Path: "machine-policies/Default Machine Policy.json", Field: "Description", Why: whyBuiltin},
	{Op: '~', Path: "machine-policies/Default Machine Policy.json", Field: "MachineCleanupPolicy.DeleteMachinesElapsedTimeSpan", Why: whyBuiltin},
	{Op: '~', Path: "machine-policies/Default Machine Policy.json", Field: "MachineHealthCheckPolicy.HealthCheckCron", Why: whyBuiltin},
	{Op: '~', Path: "machine-policies/Default Machine Policy.json", Field: "MachineHealthCheckPolicy.HealthCheckInterval", Why: whyBuiltin},
	{Op: '~', Path: "machine-policies/Default Machine Policy.json", Field: "MachineHealthCheckPolicy.PowerShellHealthCheckPolicy.ScriptBody", Why: whyBuiltin},
	{Op: '~', Path: "project-groups/Default Project Group.json", Field: "Description", Why: whyBuiltin},
	// Not in apply's list: that test applies the source's deployment targets
	// too (Options.Optional); the golden bundle has none.
	{Op: '~', Path: "projects/OctoFX/variables.json", Field: `Variables["Application.Database.Name" Machine=octofx-web-prod-01,octofx-web-prod-02,oracle-prod-01]`, Why: whyTargets},

	// A real server's built-ins differ from the simulator's in fields no
	// one can list in advance.
	{Op: '~', Path: "lifecycles/Default Lifecycle.json", Field: "*", Live: true, Why: whyBuiltin},
	{Op: '~', Path: "machine-policies/Default Machine Policy.json", Field: "*", Live: true, Why: whyBuiltin},
	{Op: '~', Path: "project-groups/Default Project Group.json", Field: "*", Live: true, Why: whyBuiltin},
	{Op: '~', Path: "worker-pools/Default Worker Pool.json", Field: "*", Live: true, Why: whyBuiltin},
	{Op: '~', Path: "feeds/Octopus Server (built-in).json", Field: "*", Live: true, Why: whyBuiltin},
	{Op: '~', Path: "feeds/Octopus Server Releases (built-in).json", Field: "*", Live: true, Why: whyBuiltin},
	{Op: '~', Path: "user-roles/Tenant manager.json", Field: "*", Live: true, Why: whyBuiltin},
	{Op: '~', Path: "certificates/*", Field: "CertificateChain", Live: true, Why: whyCertX},
	{Op: '~', Path: "certificates/*", Field: "HasPrivateKey", Live: true, Why: whyCertX},
	{Op: '~', Path: "certificates/*", Field: "IsExpired", Live: true, Why: whyCertX},
	{Op: '~', Path: "certificates/*", Field: "Issuer*", Live: true, Why: whyCertX},
	{Op: '~', Path: "certificates/*", Field: "NotAfter", Live: true, Why: whyCertX},
	{Op: '~', Path: "certificates/*", Field: "NotBefore", Live: true, Why: whyCertX},
	{Op: '~', Path: "certificates/*", Field: "Password", Live: true, Why: whyCertPwd},
	{Op: '~', Path: "certificates/*", Field: "SelfSigned", Live: true, Why: whyCertX},
	{Op: '~', Path: "certificates/*", Field: "SerialNumber", Live: true, Why: whyCertX},
	{Op: '~', Path: "certificates/*", Field: "SignatureAlgorithmName", Live: true, Why: whyCertX},
	{Op: '~', Path: "certificates/*", Field: "Subject*", Live: true, Why: whyCertX},
	{Op: '~', Path: "certificates/*", Field: "Thumbprint", Live: true, Why: whyCertX},
	{Op: '~', Path: "certificates/*", Field: "Version", Live: true, Why: whyCertX},
	{Op: '+', Path: "*", Live: true, Why: whyDestOwn},
}

// allows reports whether a allows d on a live target (live) or on the
// simulator, where only the exact entries not marked Live apply.
func (a allowance) allows(d bundleDiff, live bool) bool {
	if a.Op != d.Op || (a.Live && !live) || !match(a.Path, d.Path, false) {
		return false
	}
	return d.Op != '~' || match(a.Field, d.Field, live)
}

// match matches s against pattern: equal, a prefix when the pattern ends in
// *, and with below set also anything below the pattern's field.
func match(pattern, s string, below bool) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(s, p)
	}
	if s == pattern {
		return true
	}
	return below && (strings.HasPrefix(s, pattern+".") || strings.HasPrefix(s, pattern+"["))
}

// unexplained returns the differences no allowance allows and, on the
// simulator (not live), the allowances that allowed nothing: there the list
// is exact, so a stale entry is as much a failure as a new difference.
func unexplained(diffs []bundleDiff, allowed []allowance, live bool) (extra []bundleDiff, unused []allowance) {
	used := make([]bool, len(allowed))
	for _, d := range diffs {
		ok := false
		for i, a := range allowed {
			if a.allows(d, live) {
				used[i], ok = true, true
			}
		}
		if !ok {
			extra = append(extra, d)
		}
	}
	if !live {
		for i, a := range allowed {
			if !a.Live && !used[i] {
				unused = append(unused, a)
			}
		}
	}
	return extra, unused
}
