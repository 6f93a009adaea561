package octopus

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// ErrCredentialsInURL is wrapped by the error for a server URL that
// carries a credential: an API key as a query parameter (apikey, api-key,
// api_key, X-Octopus-ApiKey, in any case, or any parameter whose value has
// the form of an Octopus key) or user information (user:pass@). A URL is
// logged, written into plans, state and reports and shown by ps; the key
// belongs in a header, read from a file or the environment.
var ErrCredentialsInURL = errors.New("the server URL carries a credential")

// keyParams are the query parameter names (lower case) that hold an API
// key: Octopus itself accepts apikey and the header's name.
var keyParams = map[string]bool{"apikey": true, "api-key": true, "api_key": true, "x-octopus-apikey": true}

// keyForm is the form of an Octopus API key.
var keyForm = regexp.MustCompile(`(?i)^API-[A-Z0-9]{8,}$`)

// redacted replaces a credential in the URLs messages show.
const redacted = "REDACTED"

// CheckServerURL returns an error wrapping ErrCredentialsInURL when raw
// carries a credential (see ErrCredentialsInURL), and nil otherwise
// (whether or not raw is otherwise a valid server URL: Connect checks
// that). The error shows the URL with every credential replaced by
// REDACTED, never the credential; callers add where the key belongs.
func CheckServerURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		// An unparseable URL cannot be shown safely, nor checked: look
		// for the parameter names in the text itself.
		low := strings.ToLower(raw)
		for p := range keyParams {
			if strings.Contains(low, p+"=") {
				return fmt.Errorf("%w (a key parameter; the URL does not parse either, so it is not shown)", ErrCredentialsInURL)
			}
		}
		return nil
	}
	shown, what := RedactServerURL(u)
	if what == "" {
		return nil
	}
	return fmt.Errorf("%w (%s): %s", ErrCredentialsInURL, what, shown)
}

// RedactServerURL renders u with its user information and the values of
// its key-bearing query parameters (see ErrCredentialsInURL) replaced by
// REDACTED, and says what it replaced ("" when nothing).
func RedactServerURL(u *url.URL) (shown, what string) {
	c := *u
	var found []string
	if c.User != nil {
		c.User = url.User(redacted)
		found = append(found, "user information")
	}
	if c.RawQuery != "" {
		pairs := strings.Split(c.RawQuery, "&")
		for i, p := range pairs {
			name, value, _ := strings.Cut(p, "=")
			n, err := url.QueryUnescape(name)
			if err != nil {
				n = name
			}
			v, err := url.QueryUnescape(value)
			if err != nil {
				v = value
			}
			if keyParams[strings.ToLower(strings.TrimSpace(n))] || keyForm.MatchString(strings.TrimSpace(v)) {
				pairs[i] = name + "=" + redacted
				found = append(found, fmt.Sprintf("an API key in the query parameter %q", n))
			}
		}
		c.RawQuery = strings.Join(pairs, "&")
	}
	if c.Fragment != "" && keyInText(c.Fragment) {
		c.Fragment, c.RawFragment = redacted, ""
		found = append(found, "an API key in the fragment")
	}
	if len(found) == 0 {
		return u.String(), ""
	}
	return c.String(), strings.Join(found, " and ")
}

// keyInText reports whether s (a fragment) holds a key parameter or a
// value of a key's form.
func keyInText(s string) bool {
	q, _ := url.ParseQuery(s)
	for k, vs := range q {
		if keyParams[strings.ToLower(k)] {
			return true
		}
		for _, v := range vs {
			if keyForm.MatchString(v) {
				return true
			}
		}
	}
	return keyForm.MatchString(s)
}
