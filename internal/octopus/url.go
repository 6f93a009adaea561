package octopus

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ErrCredentialsInURL is wrapped by the error for a server URL that
// carries a credential: an API key as a query parameter (apikey, api-key,
// api_key, X-Octopus-ApiKey, in any case, separated by & or ;, or any
// parameter whose value has the form of an Octopus key, API-…), a path
// segment or fragment of a key's form, or user information (user:pass@). A URL is
// logged, written into plans, state and reports and shown by ps; the key
// belongs in a header, read from a file or the environment.
var ErrCredentialsInURL = errors.New("the server URL carries a credential")

// keyParams are the query parameter names (lower case) that hold an API
// key: Octopus itself accepts apikey and the header's name.
var keyParams = map[string]bool{"apikey": true, "api-key": true, "api_key": true, "x-octopus-apikey": true}

// keyForm is the form of an Octopus API key (API- and 16 or more
// upper-case letters and digits; real keys have about 30).
var keyForm = regexp.MustCompile(`^API-[A-Z0-9]{16,}$`)

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
	if segs := strings.Split(c.Path, "/"); slices.ContainsFunc(segs, keyForm.MatchString) {
		for i, seg := range segs {
			if keyForm.MatchString(seg) {
				segs[i] = redacted
			}
		}
		c.Path, c.RawPath = strings.Join(segs, "/"), ""
		found = append(found, "an API key in the path")
	}
	if c.RawQuery != "" {
		// Split on & and on ; (which some servers take as a separator
		// too), keeping the separators.
		pairs := splitQuery(c.RawQuery)
		for i, p := range pairs {
			if p == "&" || p == ";" {
				continue
			}
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
		c.RawQuery = strings.Join(pairs, "")
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

// splitQuery splits a raw query into its parameters and the & and ;
// between them, in order.
func splitQuery(q string) []string {
	var out []string
	for {
		i := strings.IndexAny(q, "&;")
		if i < 0 {
			return append(out, q)
		}
		out = append(out, q[:i], q[i:i+1])
		q = q[i+1:]
	}
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

// badServerURL is the error for a server URL that is not an http(s) URL
// with a host: it echoes the URL (user information masked) and suggests
// the URL that was probably meant.
func badServerURL(raw string) error {
	shown := maskUserInfo(strings.TrimSpace(raw))
	msg := fmt.Sprintf("server URL %q is not an http(s) URL", shown)
	if s := suggestServerURL(shown); s != "" {
		msg += "; did you mean " + s + "?"
	}
	return errors.New(msg)
}

// maskUserInfo replaces what precedes the last @ of the URL's authority
// (user:password) with REDACTED, whether or not the URL parses.
func maskUserInfo(raw string) string {
	rest, scheme := raw, ""
	if i := strings.Index(raw, "://"); i >= 0 {
		scheme, rest = raw[:i+3], raw[i+3:]
	}
	auth := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		auth = rest[:i]
	}
	if at := strings.LastIndex(auth, "@"); at >= 0 {
		return scheme + redacted + rest[at:]
	}
	return raw
}

// suggestServerURL guesses the URL meant by one that is not an http(s)
// URL: a missing scheme (localhost:8080), a scheme missing its colon
// (http//host) or misspelt (htp://host). "" when there is no guess.
func suggestServerURL(raw string) string {
	low := strings.ToLower(raw)
	for _, s := range []string{"https", "http"} {
		if strings.HasPrefix(low, s+"//") {
			return strconv.Quote(s + "://" + raw[len(s)+2:])
		}
		if strings.HasPrefix(low, s+":/") && !strings.HasPrefix(low, s+"://") {
			return strconv.Quote(s + "://" + strings.TrimLeft(raw[len(s)+1:], "/"))
		}
	}
	rest := raw
	if i := strings.Index(raw, "://"); i >= 0 {
		rest = raw[i+3:]
	}
	rest = strings.TrimLeft(rest, "/")
	host := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host = rest[:i]
	}
	if host == "" || strings.ContainsAny(host, " \t") {
		return ""
	}
	h := host
	if i := strings.LastIndex(h, ":"); i >= 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	if isLoopback(strings.Trim(h, "[]")) {
		return strconv.Quote("http://" + rest)
	}
	return strconv.Quote("https://"+rest) + " (or " + strconv.Quote("http://"+rest) + " for a plain-http server)"
}
