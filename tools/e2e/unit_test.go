package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/octobundle/octobundle/apply"
)

// TestLiveConfig checks the live target's guard without a server: it is off
// unless OCTOBUNDLE_LIVE=1, fails when a variable is missing or the space is
// not an octobundle-e2e space, and never repeats the API key.
func TestLiveConfig(t *testing.T) {
	const key = "API-SECRETKEY0123456789"
	full := map[string]string{
		envLive: "1", envURL: "https://octopus.example.com", envAPIKey: key, envSpace: "octobundle-e2e-1",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range full {
			m[a] = b
		}
		m[k] = v
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		enabled bool
		errHas  []string // substrings of the error; nil means no error
	}{
		{"off", with(envLive, ""), false, nil},
		{"off unless exactly 1", with(envLive, "true"), false, nil},
		{"on", full, true, nil},
		{"space prefix only", with(envSpace, "octobundle-e2e"), true, nil},
		{"no URL", with(envURL, ""), true, []string{"not set: " + envURL}},
		{"no key", with(envAPIKey, " "), true, []string{"not set: " + envAPIKey}},
		{"nothing", map[string]string{envLive: "1"}, true, []string{envURL + ", " + envAPIKey + ", " + envSpace}},
		{"production space", with(envSpace, "Default"), true, []string{`refusing space "Default"`, "octobundle-e2e", "never delete"}},
		{"space ID", with(envSpace, "Spaces-1"), true, []string{`refusing space "Spaces-1"`}},
		{"prefix not at the start", with(envSpace, "prod-octobundle-e2e"), true, []string{"refusing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, enabled, err := liveConfig(func(k string) string { return tt.env[k] })
			if enabled != tt.enabled {
				t.Fatalf("enabled %v, want %v", enabled, tt.enabled)
			}
			switch {
			case tt.errHas == nil && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.errHas != nil && err == nil:
				t.Fatalf("no error, want one with %q", tt.errHas)
			case err != nil:
				for _, s := range tt.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not say %q", err, s)
					}
				}
				if strings.Contains(err.Error(), key) {
					t.Errorf("the error holds the API key")
				}
			case enabled:
				if !tg.Live || tg.Name != "live" || tg.Space != tt.env[envSpace] {
					t.Errorf("target %s (live %v) on space %q", tg.Name, tg.Live, tg.Space)
				}
				if _, ok := tg.Writes(); ok {
					t.Error("a live target claims to count the server's writes")
				}
			}
		})
	}
}

// TestAllowances checks how allowedDiffs match: exactly on the simulator,
// with the Live entries and below fields on a live server, and that a
// stale entry is reported on the simulator.
func TestAllowances(t *testing.T) {
	cert := "certificates/Acme Corp Portal.json"
	tests := []struct {
		name    string
		d       bundleDiff
		simOK   bool
		liveOK  bool
		comment string
	}{
		{"cert password", bundleDiff{'~', cert, "Password"}, true, true, "placeholder"},
		{"cert thumbprint", bundleDiff{'~', cert, "Thumbprint"}, false, true, "real server only"},
		{"cert subject", bundleDiff{'~', cert, "SubjectDistinguishedName"}, false, true, "Subject*"},
		{"cert environments", bundleDiff{'~', cert, "EnvironmentIds"}, false, false, "not placeholder-related"},
		{"lifecycle phase below", bundleDiff{'~', "lifecycles/Default Lifecycle.json", `Phases["Test"].Name`}, false, true, "sim is exact"},
		{"other lifecycle", bundleDiff{'~', "lifecycles/QA.json", "Description"}, false, false, "not a built-in"},
		{"destination-only entity", bundleDiff{'+', "teams/Space Managers/team.json", ""}, false, true, "apply never deletes"},
		{"missing entity", bundleDiff{'-', "environments/Test.json", ""}, false, false, "never allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, live := range []bool{false, true} {
				extra, _ := unexplained([]bundleDiff{tt.d}, allowedDiffs, live)
				if ok := len(extra) == 0; ok != map[bool]bool{false: tt.simOK, true: tt.liveOK}[live] {
					t.Errorf("live=%v: allowed=%v (%s)", live, ok, tt.comment)
				}
			}
		})
	}
	// On the simulator every exact entry must occur.
	_, unused := unexplained(nil, allowedDiffs, false)
	if len(unused) != 15 {
		t.Errorf("%d unused simulator allowances for no differences, want all 15", len(unused))
	}
	if _, unused := unexplained(nil, allowedDiffs, true); len(unused) != 0 {
		t.Errorf("a live target reported unused allowances: %v", unused)
	}
}

// TestRecorder checks that the secrets scan is not blind: a response
// holding a placeholder or a generated certificate is reported, a request
// that writes one is counted and still reaches the server intact.
func TestRecorder(t *testing.T) {
	tests := []struct {
		name     string
		request  string
		response string
		written  int
		leak     string
	}{
		{"clean", `{"Name":"x"}`, `{"Name":"x","Password":{"HasValue":true,"NewValue":null}}`, 0, ""},
		{"placeholder written, not echoed", `{"Value":"` + apply.PlaceholderPrefix + `: replace me (Project X)"}`, `{"Value":null}`, 1, ""},
		{"placeholder echoed", `{}`, `{"Value":"` + apply.PlaceholderPrefix + `: replace me (Project X)"}`, 0, apply.PlaceholderPrefix + ": replace me"},
		{"certificate echoed", `{}`, `{"CertificateData":{"HasValue":true,"NewValue":"LS0tLS1CRUdJTiBDRVJU"}}`, 0, "LS0tLS1CRUdJTi"},
		{"private key echoed", `{}`, "-----BEGIN PRIVATE KEY-----", 0, "PRIVATE KEY"},
		{"marker in the subject is no secret", `{}`, `{"SubjectOrganization":"` + apply.PlaceholderPrefix + `"}`, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got = string(b)
				io.WriteString(w, tt.response)
			}))
			defer srv.Close()
			rec := newRecorder()
			resp, err := (&http.Client{Transport: rec}).Post(srv.URL+"/api/x", "application/json", strings.NewReader(tt.request))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got != tt.request || string(body) != tt.response {
				t.Errorf("the recorder changed the traffic: server got %q, client got %q", got, body)
			}
			responses, written, leaks := rec.counts()
			if responses != 1 || written != tt.written {
				t.Errorf("%d responses, %d written; want 1, %d", responses, written, tt.written)
			}
			switch {
			case tt.leak == "" && len(leaks) > 0:
				t.Errorf("false leak: %v", leaks)
			case tt.leak != "" && (len(leaks) != 1 || !strings.Contains(leaks[0], tt.leak)):
				t.Errorf("leaks %v, want one of %q", leaks, tt.leak)
			}
		})
	}
}
