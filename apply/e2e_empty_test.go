package apply

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/tools/octosim"
)

// bundleDiffs renders bundles.Compare as lines: "+ path" (only in b),
// "- path" (only in a), "~ path label" per changed field.
func bundleDiffs(a, b *bundles.Bundle) []string {
	var out []string
	for _, d := range bundles.Compare(a, b) {
		if d.Op != '~' {
			out = append(out, string(d.Op)+" "+d.Path)
			continue
		}
		for _, f := range d.Fields {
			out = append(out, fmt.Sprintf("~ %s %s", d.Path, diffLabel(f)))
		}
	}
	sort.Strings(out)
	return out
}

func TestApplyToEmptyDestination(t *testing.T) {
	ctx := context.Background()
	src := startSim(t, "source.json", octosim.Options{})
	b := exportBundle(t, src, true)
	dst := startSim(t, "", octosim.Options{IDOffset: 5000, ServerVersion: "2025.3.4512"})
	o := Options{IncludeTargets: true, Logger: testLogger()}
	_, r, err := Apply(ctx, dst.c, b, o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status() != plans.Succeeded {
		var failed []string
		for _, res := range r.Results {
			if res.Error != "" {
				failed = append(failed, res.Error)
			}
		}
		t.Fatalf("status %s: %+v\n%s", r.Status(), r.Summary, strings.Join(failed, "\n"))
	}
	if len(r.Cleanup) == 0 {
		t.Error("no clean-up items: the source has secrets")
	}

	// A second export of the destination is the first bundle, except for
	// what the destination legitimately owns:
	//   - its built-in Default Lifecycle, Default Machine Policy and Default
	//     Project Group, which a fresh space has and apply leaves alone
	//     (their details are the destination's);
	//   - certificate passwords: a new certificate gets a generated,
	//     password-less placeholder certificate (clean-up item), so its
	//     Password has no value where the source's had one.
	want := []string{
		"~ certificates/Acme Corp Portal.json Password",
		"~ certificates/OctoFX Production.json Password",
		"~ certificates/OctoFX Wildcard (Dev%2FTest).json Password",
		"~ lifecycles/Default Lifecycle.json Description",
		`~ lifecycles/Default Lifecycle.json Phases["Development"]`,
		`~ lifecycles/Default Lifecycle.json Phases["Production"]`,
		`~ lifecycles/Default Lifecycle.json Phases["Staging"]`,
		`~ lifecycles/Default Lifecycle.json Phases["Test"]`,
		"~ machine-policies/Default Machine Policy.json Description",
		"~ machine-policies/Default Machine Policy.json MachineCleanupPolicy.DeleteMachinesElapsedTimeSpan",
		"~ machine-policies/Default Machine Policy.json MachineHealthCheckPolicy.HealthCheckCron",
		"~ machine-policies/Default Machine Policy.json MachineHealthCheckPolicy.HealthCheckInterval",
		"~ machine-policies/Default Machine Policy.json MachineHealthCheckPolicy.PowerShellHealthCheckPolicy.ScriptBody",
		"~ project-groups/Default Project Group.json Description",
	}
	again := exportBundle(t, dst, true)
	if got := bundleDiffs(b, again); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the destination's export differs from the bundle:\n got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	// The built-ins are left alone, not overwritten.
	for _, n := range []string{"Default Lifecycle", "Default Machine Policy", "Default Project Group"} {
		var kind string
		switch n {
		case "Default Lifecycle":
			kind = "Lifecycle"
		case "Default Machine Policy":
			kind = "MachinePolicy"
		default:
			kind = "ProjectGroup"
		}
		for _, res := range r.Results {
			if res.Kind == kind && res.Names[0] == n && res.Outcome != plans.OutcomeLeftAlone {
				t.Errorf("%s %s: %s, want left-alone", kind, n, res.Outcome)
			}
		}
	}
	// Every new secret holds a placeholder (certificates a generated one).
	for k, v := range secretsByID(dst.srv.Dump()) {
		if !strings.HasPrefix(v, PlaceholderPrefix) && !strings.HasPrefix(v, "LS0tLS1CRUdJTi") {
			t.Errorf("secret %s is not a placeholder", k)
		}
	}
	// Replay: zero writes.
	dst.srv.ResetCounters()
	if _, r, err := Apply(ctx, dst.c, b, o); err != nil || r.Status() != plans.Succeeded || dst.srv.Writes() != 0 {
		t.Errorf("replay: %v, %d writes", err, dst.srv.Writes())
	}
}
