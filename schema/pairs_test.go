package schema

import (
	"slices"
	"testing"
)

// TestPairErrors checks the server's refusals of a trigger's filter and
// action types, from the registry's table.
func TestPairErrors(t *testing.T) {
	k := MustLookup(ProjectTrigger)
	trigger := func(filter, action string) map[string]any {
		return map[string]any{"Filter": map[string]any{"FilterType": filter}, "Action": map[string]any{"ActionType": action}}
	}
	for _, tc := range []struct {
		doc  map[string]any
		want []string
	}{
		{doc: trigger("MachineFilter", "AutoDeploy")},
		{doc: trigger("WebhookFilter", "RunRunbook")},
		{doc: trigger("MachineFilter", "RunRunbook"), want: []string{`Action.ActionType "RunRunbook" cannot be used with a MachineFilter trigger.`}},
		{doc: trigger("Hourly", "RunRunbook"), want: []string{`Filter.FilterType "Hourly" is not a trigger filter type.`}},
		{doc: map[string]any{"Filter": map[string]any{"FilterType": "FeedFilter"}}, want: []string{"A trigger needs a Filter and an Action."}},
	} {
		if got := k.PairErrors(tc.doc); !slices.Equal(got, tc.want) {
			t.Errorf("%v: got %q, want %q", tc.doc, got, tc.want)
		}
	}
	// Only triggers declare pairs.
	for _, o := range Kinds() {
		if len(o.Pairs) > 0 && o.Name != ProjectTrigger {
			t.Errorf("%s declares pairs", o.Name)
		}
	}
}
