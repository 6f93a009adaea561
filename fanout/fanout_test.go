package fanout

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       string // error substring; "" for success
		check      func(t *testing.T, f *File)
	}{
		{"two destinations", `
destinations:
  - name: dc1
    url: https://dc1.example.com
    space: Default
    apiKeyFile: keys/dc1.key
    rules: [dc1.yaml]
    caCert: /etc/ca.pem
  - name: dc2
    url: https://dc2.example.com
    apiKeyEnv: DC2_KEY
`, "", func(t *testing.T, f *File) {
			if len(f.Destinations) != 2 {
				t.Fatalf("%d destinations", len(f.Destinations))
			}
			d := f.Destinations[0]
			if d.APIKeyFile != filepath.Join("conf", "keys", "dc1.key") || d.Rules[0] != filepath.Join("conf", "dc1.yaml") || d.CACert != "/etc/ca.pem" || d.Line != 3 {
				t.Errorf("paths not resolved against the file's folder: %+v", d)
			}
		}},
		{"literal key refused, not echoed", "destinations:\n  - name: dc1\n    url: https://x\n    apiKey: API-SECRETSECRET\n", "apiKey: an API key is never written", nil},
		{"key pasted as a variable name", "destinations:\n  - name: dc1\n    url: https://x\n    apiKeyEnv: API-SECRETSECRET\n", "must be the name of an environment variable", nil},
		{"no key source", "destinations:\n  - name: dc1\n    url: https://x\n", `destination "dc1": apiKeyFile: missing`, nil},
		{"both key sources", "destinations:\n  - name: dc1\n    url: https://x\n    apiKeyEnv: K\n    apiKeyFile: k\n", "mutually exclusive", nil},
		{"bad url", "destinations:\n  - name: dc1\n    url: ftp://x\n    apiKeyEnv: K\n", `destination "dc1": url: must be an http(s) URL`, nil},
		{"credentials in url", "destinations:\n  - name: dc1\n    url: https://u:p@x\n    apiKeyEnv: K\n", "must not carry credentials", nil},
		{"key in the url's query, not echoed", "destinations:\n  - name: dc1\n    url: https://x/?ApiKey=API-SECRETSECRET\n    apiKeyEnv: K\n", "https://x/?ApiKey=REDACTED", nil},
		{"key in the url's user info, not echoed", "destinations:\n  - name: dc1\n    url: https://API-SECRETSECRET@x/\n    apiKeyEnv: K\n", "must not carry credentials", nil},
		{"bad name", "destinations:\n  - name: ../dc1\n    url: https://x\n    apiKeyEnv: K\n", "name: must be 1 to 64", nil},
		{"duplicate name", "destinations:\n  - name: dc1\n    url: https://x\n    apiKeyEnv: K\n  - name: DC1\n    url: https://y\n    apiKeyEnv: K\n", "already used on line 2", nil},
		{"misspelt field", "destinations:\n  - name: dc1\n    url: https://x\n    apiKeyEnv: K\n    rule: [a.yaml]\n", `unknown field "rule"`, nil},
		{"empty", "destinations: []\n", "no destinations", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(filepath.Join("conf", "destinations.yaml"), []byte(tt.yaml))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, f)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "destinations.yaml") {
				t.Errorf("the error does not name the file: %v", err)
			}
			if strings.Contains(err.Error(), "SECRETSECRET") {
				t.Errorf("the error echoes the key: %v", err)
			}
		})
	}
}

func TestAPIKey(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "k")
	if err := os.WriteFile(keyFile, []byte("API-FROMFILE\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FANOUT_TEST_KEY", "API-FROMENV")
	tests := []struct {
		d                 Destination
		key, source, fail string
	}{
		{Destination{Name: "f", APIKeyFile: keyFile}, "API-FROMFILE", "apiKeyFile " + keyFile, ""},
		{Destination{Name: "e", APIKeyEnv: "FANOUT_TEST_KEY"}, "API-FROMENV", "the FANOUT_TEST_KEY environment variable", ""},
		{Destination{Name: "u", APIKeyEnv: "FANOUT_TEST_UNSET"}, "", "", "FANOUT_TEST_UNSET is not set"},
		{Destination{Name: "m", APIKeyFile: filepath.Join(dir, "missing")}, "", "", `destination "m": apiKeyFile`},
	}
	for _, tt := range tests {
		key, source, err := tt.d.APIKey()
		if tt.fail != "" {
			if err == nil || !strings.Contains(err.Error(), tt.fail) {
				t.Errorf("%s: err = %v, want %q", tt.d.Name, err, tt.fail)
			}
			continue
		}
		if err != nil || key != tt.key || source != tt.source {
			t.Errorf("%s: %q %q %v", tt.d.Name, key, source, err)
		}
	}
}
