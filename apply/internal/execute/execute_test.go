package execute

import (
	"encoding/json"
	"strings"
	"testing"
)

// js decodes a JSON test document.
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

func TestCheckNothingLost(t *testing.T) {
	live := `{"Variables":[{"Id":"1","Name":"pw","IsSensitive":true,"Value":null},{"Id":"2","Name":"x","Value":"a"}]}`
	for _, tc := range []struct {
		name, body string
		pruned     map[string]bool
		ok         bool
	}{
		{"all kept", `{"Variables":[{"Id":"1","Name":"pw","IsSensitive":true,"Value":null},{"Id":"2","Name":"x","Value":"b"}]}`, nil, true},
		{"sensitive without Id", `{"Variables":[{"Name":"pw","IsSensitive":true,"Value":null},{"Id":"2","Name":"x","Value":"b"}]}`, nil, false},
		{"sensitive overwritten", `{"Variables":[{"Id":"1","Name":"pw","IsSensitive":true,"Value":"oops"},{"Id":"2","Name":"x"}]}`, nil, false},
		{"made non-sensitive", `{"Variables":[{"Id":"1","Name":"pw","IsSensitive":false,"Value":null},{"Id":"2","Name":"x"}]}`, nil, false},
		{"variable dropped", `{"Variables":[{"Id":"1","Name":"pw","IsSensitive":true,"Value":null}]}`, nil, false},
		{"pruned variable dropped", `{"Variables":[{"Id":"1","Name":"pw","IsSensitive":true,"Value":null}]}`, map[string]bool{"x": true}, true},
		{"another variable pruned", `{"Variables":[{"Id":"2","Name":"x","Value":"a"}]}`, map[string]bool{"x": true}, false},
	} {
		err := checkNothingLost(js(t, live).(map[string]any), js(t, tc.body).(map[string]any), tc.pruned)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
