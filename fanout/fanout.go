// Package fanout reads the destinations file of `octobundle plan|apply
// --destinations FILE`: one bundle to several Octopus instances (one per
// data centre, the seed guide's "central control" case). The file lists,
// per destination, a name, the server URL, the space, where the API key
// comes from (a file or an environment variable — never the key itself),
// and optionally rule files to fit the bundle to it and a CA certificate.
//
//	destinations:
//	  - name: dc1
//	    url: https://dc1.example.com
//	    space: Default
//	    apiKeyFile: /run/secrets/dc1.key
//	    rules: [dc1.yaml]
//	  - name: dc2
//	    url: https://dc2.example.com
//	    apiKeyEnv: DC2_OCTOPUS_API_KEY
//	    caCert: dc2-ca.pem
//
// Relative paths are relative to the destinations file's folder. Unknown
// fields are errors (a misspelt "rules" must not silently apply nothing),
// and so is a field that would hold a key ("apiKey"): keys stay in files
// or the environment, out of a file that is committed and reviewed.
package fanout

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/octobundle/octobundle/internal/limits"
	"github.com/octobundle/octobundle/internal/octopus"
	"gopkg.in/yaml.v3"
)

// Destination is one entry of the destinations file.
type Destination struct {
	// Name identifies the destination in the summary, the logs and the
	// output folder; letters, digits, '.', '_' and '-'.
	Name string `yaml:"name"`
	// URL is the Octopus server's base URL.
	URL string `yaml:"url"`
	// Space is the space name; empty means the server's default space.
	Space string `yaml:"space"`
	// APIKeyFile is a file holding the API key (made absolute).
	APIKeyFile string `yaml:"apiKeyFile"`
	// APIKeyEnv names the environment variable holding the API key.
	APIKeyEnv string `yaml:"apiKeyEnv"`
	// Rules are rule files applied in memory, in order, before planning
	// (made absolute).
	Rules []string `yaml:"rules"`
	// CACert is a PEM file of CA certificates to trust (made absolute).
	CACert string `yaml:"caCert"`
	// Line is the entry's line in the file, for messages.
	Line int `yaml:"-"`
}

// File is a parsed destinations file.
type File struct {
	// Path is the file's path as given.
	Path string
	// Destinations are the entries, in file order.
	Destinations []Destination
}

type fileDoc struct {
	Destinations []yaml.Node `yaml:"destinations"`
}

var knownFields = map[string]bool{"name": true, "url": true, "space": true, "apiKeyFile": true, "apiKeyEnv": true, "rules": true, "caCert": true}

var (
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	envRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Read reads and checks the destinations file at path. Errors name the
// file, the line and the field.
func Read(path string) (*File, error) {
	data, err := limits.ReadFile(path, limits.SmallFileSize, "destinations file size")
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse checks the destinations file data read from path.
func Parse(path string, data []byte) (*File, error) {
	var doc fileDoc
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Destinations) == 0 {
		return nil, fmt.Errorf("%s: no destinations (a list under \"destinations:\")", path)
	}
	dir := filepath.Dir(path)
	f := &File{Path: path}
	seen := map[string]int{}
	var errs []error
	for _, node := range doc.Destinations {
		d, err := parseEntry(path, dir, &node)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		key := strings.ToLower(d.Name)
		if prev, dup := seen[key]; dup {
			errs = append(errs, fmt.Errorf("%s:%d: destination %q: name: already used on line %d (names are compared without case: they name folders)", path, d.Line, d.Name, prev))
			continue
		}
		seen[key] = d.Line
		f.Destinations = append(f.Destinations, d)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return f, nil
}

func parseEntry(path, dir string, node *yaml.Node) (Destination, error) {
	d := Destination{Line: node.Line}
	if node.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(node.Content); i += 2 {
			k := node.Content[i].Value
			if strings.EqualFold(k, "apiKey") || strings.EqualFold(k, "api-key") || strings.EqualFold(k, "key") {
				// Refused before decoding, so the key is never echoed.
				return d, fmt.Errorf("%s:%d: %s: an API key is never written in the destinations file; name a file (apiKeyFile) or an environment variable (apiKeyEnv) that holds it", path, node.Content[i].Line, k)
			}
			if !knownFields[k] {
				// node.Decode ignores KnownFields: checked here.
				return d, fmt.Errorf("%s:%d: unknown field %q (known: name, url, space, apiKeyFile, apiKeyEnv, rules, caCert)", path, node.Content[i].Line, k)
			}
		}
	}
	if err := node.Decode(&d); err != nil {
		return d, fmt.Errorf("%s:%d: %w", path, node.Line, err)
	}
	d.Line = node.Line
	at := func(field, format string, a ...any) error {
		label := fmt.Sprintf("%s:%d: destination %q: %s: ", path, d.Line, d.Name, field)
		return fmt.Errorf(label+format, a...)
	}
	if !nameRE.MatchString(d.Name) {
		return d, at("name", "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit (it names a folder), not %q", d.Name)
	}
	if err := octopus.CheckServerURL(d.URL); err != nil {
		// Before anything else reads, logs or sends the URL.
		return d, at("url", "must not carry credentials: %v; give the server's address without it, and the key's file (apiKeyFile) or environment variable (apiKeyEnv)", err)
	}
	u, err := url.Parse(d.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return d, at("url", "must be an http(s) URL, not %q", redact(d.URL))
	}
	switch {
	case d.APIKeyFile != "" && d.APIKeyEnv != "":
		return d, at("apiKeyFile", "and apiKeyEnv are mutually exclusive")
	case d.APIKeyFile == "" && d.APIKeyEnv == "":
		return d, at("apiKeyFile", "missing: name a file (apiKeyFile) or an environment variable (apiKeyEnv) that holds the API key")
	case d.APIKeyEnv != "" && (strings.HasPrefix(strings.ToUpper(d.APIKeyEnv), "API-") || !envRE.MatchString(d.APIKeyEnv)):
		// "API-…" is the form of an Octopus key: a key pasted here by mistake.
		return d, at("apiKeyEnv", "must be the name of an environment variable (letters, digits and '_'), not a key")
	}
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	d.APIKeyFile, d.CACert = abs(d.APIKeyFile), abs(d.CACert)
	for i, r := range d.Rules {
		if r == "" {
			return d, at(fmt.Sprintf("rules[%d]", i), "empty")
		}
		d.Rules[i] = abs(r)
	}
	return d, nil
}

// APIKey reads the destination's API key from its file or environment
// variable, and says where it came from (for a refused key's message).
func (d Destination) APIKey() (key, source string, err error) {
	if d.APIKeyEnv != "" {
		key = strings.TrimSpace(os.Getenv(d.APIKeyEnv))
		if key == "" {
			return "", "", fmt.Errorf("destination %q: apiKeyEnv: the environment variable %s is not set", d.Name, d.APIKeyEnv)
		}
		return key, "the " + d.APIKeyEnv + " environment variable", nil
	}
	data, err := limits.ReadFile(d.APIKeyFile, limits.SmallFileSize, "API key file size")
	if err != nil {
		return "", "", fmt.Errorf("destination %q: apiKeyFile: %w", d.Name, err)
	}
	key = strings.TrimSpace(string(data))
	if key == "" {
		return "", "", fmt.Errorf("destination %q: apiKeyFile: %s is empty", d.Name, d.APIKeyFile)
	}
	return key, "apiKeyFile " + d.APIKeyFile, nil
}

// redact drops user info from a URL for messages.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		u.User = nil
		return u.String()
	}
	return s
}
