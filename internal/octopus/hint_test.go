package octopus

import (
	"net/url"
	"strings"
	"testing"
)

func TestConnectHint(t *testing.T) {
	for _, tc := range []struct {
		name, base, source string
		status             int
		want               string
	}{
		{"api doubled", "https://o.example.com/api/", "", 404, "use https://o.example.com"},
		{"api doubled under a prefix", "https://o.example.com/octopus/api/", "", 404, "use https://o.example.com/octopus"},
		{"path prefix", "https://o.example.com/octo/", "", 404, `served under the path "/octo"`},
		{"root", "https://o.example.com/", "", 404, "is this an Octopus server?"},
		{"401 flag", "https://o.example.com/", "the --api-key flag", 401, "the API key from the --api-key flag was refused"},
		{"403 env", "https://o.example.com/", "the OCTOPUS_API_KEY environment variable", 403, "from the OCTOPUS_API_KEY environment variable was refused"},
		{"500", "https://o.example.com/", "", 500, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := url.Parse(tc.base)
			if err != nil {
				t.Fatal(err)
			}
			got := connectHint(&APIError{Method: "GET", Path: "/api/", Status: tc.status}, u, tc.source)
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("hint = %q, want it to contain %q", got, tc.want)
			}
		})
	}
}
