package plans_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/apply/render"
	"github.com/octobundle/octobundle/internal/jsonv"
)

func js(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}

func TestPlanJSONRoundTrip(t *testing.T) {
	p := &plans.Plan{
		Format: plans.PlanFormat, BundleDigest: "sha256:" + strings.Repeat("a", 64),
		Destination: plans.Destination{Server: "http://x", Space: "Default", ServerVersion: "2025.1.1", Fingerprint: "sha256:" + strings.Repeat("b", 64)},
		Changes: []plans.Change{
			{Kind: "Environment", Names: []string{"Test"}, Path: "environments/Test.json", Action: plans.OpCreate, Desired: jsonv.MustPack(js(t, `{"Name":"Test","SortOrder":2}`)), WriteMain: true},
			{Kind: "DeploymentProcess", Names: []string{"OctoFX"}, Path: "projects/OctoFX/deployment-process.json", Action: plans.OpError, Error: "boom"},
			{Kind: "Channel", Names: []string{"OctoFX", "QA"}, Path: "projects/OctoFX/channels/QA.json", Action: plans.OpUpdate,
				Diff: []plans.FieldDiff{{Path: "/Description", Before: "a", After: "b"}}, Desired: jsonv.MustPack(js(t, `{"Name":"QA"}`)), WriteDeferred: true},
		},
		Cleanup: []plans.CleanupItem{{Kind: "Account", Names: []string{"A"}, Field: "Token", Why: "new secret"}},
		Summary: map[plans.Op]int{plans.OpCreate: 1, plans.OpError: 1, plans.OpUpdate: 1},
	}
	var buf strings.Builder
	if err := p.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	q, err := plans.ReadPlan(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	var buf2 strings.Builder
	if err := q.WriteJSON(&buf2); err != nil {
		t.Fatal(err)
	}
	if buf.String() != buf2.String() {
		t.Errorf("round trip changed the plan:\n%s\n%s", buf.String(), buf2.String())
	}
	var text strings.Builder
	if err := render.Plan(&text, q); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`+ create  Environment "Test"`, `x error   DeploymentProcess "OctoFX"`, `~ update  Channel "OctoFX"/"QA"`, `~ /Description: "a" → "b"`, "Plan: 1 to create, 1 to update, 0 unchanged, 0 left alone, 1 errors."} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text plan lacks %q:\n%s", want, text.String())
		}
	}
	// Bad plans are refused.
	for _, bad := range []string{
		`{"format":"octobundle-plan/v0"}`,
		strings.Replace(buf.String(), `"action": "create"`, `"action": "destroy"`, 1),
		strings.Replace(buf.String(), `"error": "boom"`, `"reason": "x"`, 1),
		`not json`,
	} {
		if _, err := plans.ReadPlan(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadPlan accepted %.80s", bad)
		}
	}
}

func TestReceiptStatus(t *testing.T) {
	for _, tc := range []struct {
		outcomes []plans.Outcome
		want     plans.Status
	}{
		{[]plans.Outcome{plans.OutcomeCreated, plans.OutcomeUnchanged, plans.OutcomeLeftAlone}, plans.Succeeded},
		{nil, plans.Succeeded},
		{[]plans.Outcome{plans.OutcomeCreated, plans.OutcomeFailed, plans.OutcomeSkipped}, plans.PartiallyFailed},
		{[]plans.Outcome{plans.OutcomeUnchanged, plans.OutcomeFailed}, plans.PartiallyFailed},
		{[]plans.Outcome{plans.OutcomeFailed, plans.OutcomeSkipped}, plans.Failed},
	} {
		r := &plans.Receipt{Summary: map[plans.Outcome]int{}}
		for _, o := range tc.outcomes {
			r.Results = append(r.Results, plans.Result{Outcome: o})
			r.Summary[o]++
		}
		if got := r.Status(); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.outcomes, got, tc.want)
		}
	}
}
