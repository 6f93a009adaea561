package e2e

import (
	"fmt"
	"sort"
	"strings"

	"github.com/octobundle/octobundle/bundles"
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

// bundleDiffs lists the differences between the entities of a and b, one
// per changed field, labelled as plans label them (bundles.Compare).
func bundleDiffs(a, b *bundles.Bundle) []bundleDiff {
	var out []bundleDiff
	for _, d := range bundles.Compare(a, b) {
		if d.Op != '~' {
			out = append(out, bundleDiff{Op: d.Op, Path: d.Path})
			continue
		}
		for _, f := range d.Fields {
			out = append(out, bundleDiff{Op: '~', Path: d.Path, Field: f.Label})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
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
// of TestApplyToEmptyDestination (apply/e2e_empty_test.go); both are
// computed with bundles.Compare and both are exact, so the two cannot drift
// apart silently.
var allowedDiffs = []allowance{
	{Op: '~', Path: "certificates/Acme Corp Portal.json", Field: "Password", Why: whyCertPwd},
	{Op: '~', Path: "certificates/OctoFX Production.json", Field: "Password", Why: whyCertPwd},
	{Op: '~', Path: "certificates/OctoFX Wildcard (Dev%2FTest).json", Field: "Password", Why: whyCertPwd},
	{Op: '~', Path: "lifecycles/Default Lifecycle.json", Field: "Description", Why: whyBuiltin},
	{Op: '~', Path: "lifecycles/Default Lifecycle.json", Field: `Phases["Development"]`, Why: whyBuiltin},
	{Op: '~', Path: "lifecycles/Default Lifecycle.json", Field: `Phases["Production"]`, Why: whyBuiltin},
	{Op: '~', Path: "lifecycles/Default Lifecycle.json", Field: `Phases["Staging"]`, Why: whyBuiltin},
	{Op: '~', Path: "lifecycles/Default Lifecycle.json", Field: `Phases["Test"]`, Why: whyBuiltin},
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
