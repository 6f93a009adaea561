package octopus

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/octobundle/octobundle/internal/limits"
)

// ErrRedirectRefused is wrapped by the error of a request the server
// redirected away from its origin (another scheme, host or port): the API
// key travels in a header of every request, and Go's HTTP client would copy
// it to the new address.
var ErrRedirectRefused = errors.New("redirect refused")

// ErrTLSVerify is wrapped by the error of a request whose server presented a
// certificate that did not verify (unknown authority, wrong host name,
// expired).
var ErrTLSVerify = errors.New("the server's TLS certificate was not accepted")

// ErrUnreachable is wrapped by the error of a request to a host that does
// not resolve, or (while connecting) refuses the connection: not retried.
var ErrUnreachable = errors.New("the server cannot be reached")

// connectHint is what to check after Connect's first requests failed: the
// URL for a 404 (an /api doubled, a path prefix missed), the key's source
// for a 401 or 403. It is "" or starts with "; ".
func connectHint(err error, base *url.URL, keySource string) string {
	var ae *APIError
	if !errors.As(err, &ae) {
		return ""
	}
	switch ae.Status {
	case http.StatusNotFound:
		p := strings.TrimRight(base.Path, "/")
		switch {
		case strings.HasSuffix(strings.ToLower(p), "/api"):
			return fmt.Sprintf("; the server URL ends in /api, and octobundle adds /api itself: use %s://%s%s", base.Scheme, base.Host, strings.TrimSuffix(p, p[len(p)-4:]))
		case p != "":
			return fmt.Sprintf("; is Octopus served under the path %q? The server URL is the address you open Octopus at in a browser, without /app", p)
		}
		return "; is this an Octopus server? The server URL is the address you open Octopus at in a browser (with its path prefix, if any)"
	case http.StatusUnauthorized, http.StatusForbidden:
		if keySource == "" {
			keySource = "the configuration"
		}
		return fmt.Sprintf("; the API key from %s was refused: check it is current and belongs to a user with access to this space", keySource)
	}
	return ""
}

// maxIdleConnsPerHost is how many idle connections to the server the
// client keeps for reuse: at least any --concurrency a user sets.
const maxIdleConnsPerHost = 64

// maxRedirects is how many same-origin redirects one request may follow.
const maxRedirects = 10

// httpClient returns the client Connect uses: a copy of cfg.HTTPClient, or a
// new one verifying certificates against the system roots plus
// cfg.CACertFile; either way with a CheckRedirect that keeps every request,
// and so the API key, on base's origin.
func httpClient(cfg Config, base *url.URL, log *slog.Logger) (*http.Client, error) {
	var hc http.Client
	if cfg.HTTPClient != nil {
		if cfg.CACertFile != "" || cfg.InsecureSkipTLSVerify {
			return nil, errors.New("octopus: Config.HTTPClient cannot be combined with CACertFile or InsecureSkipTLSVerify: configure its transport instead")
		}
		hc = *cfg.HTTPClient
	} else {
		tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.CACertFile != "" {
			pem, err := limits.ReadFile(cfg.CACertFile, limits.SmallFileSize, "CA certificate file size")
			if err != nil {
				return nil, fmt.Errorf("reading the CA certificate: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%s: no PEM certificate found (want one or more \"-----BEGIN CERTIFICATE-----\" blocks)", cfg.CACertFile)
			}
			tlsConf.RootCAs = pool
		}
		if cfg.InsecureSkipTLSVerify {
			tlsConf.InsecureSkipVerify = true
			log.Warn("TLS certificate verification is off (--insecure-skip-tls-verify): anyone on the network path can pose as the server and receive the API key; use --ca-cert FILE for a private CA instead",
				"server", base.Scheme+"://"+base.Host)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tlsConf
		// Go keeps 2 idle connections per host by default: with 8
		// requests in flight, 6 of every 8 connections were closed after
		// their request and a new one (a TLS handshake on a real server)
		// opened for the next. Keep as many as octobundle runs at once.
		tr.MaxIdleConnsPerHost = maxIdleConnsPerHost
		// No http.Client.Timeout: Config.RequestTimeout bounds each
		// request, retries included, with a context deadline.
		hc = http.Client{Transport: tr}
	}
	hc.CheckRedirect = sameOrigin(base)
	return &hc, nil
}

// sameOrigin returns a CheckRedirect function that follows a redirect only
// to base's scheme, host and port.
func sameOrigin(base *url.URL) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		to := req.URL
		switch {
		case len(via) >= maxRedirects:
			return fmt.Errorf("%w: stopped after %d redirects", ErrRedirectRefused, maxRedirects)
		case base.Scheme == "https" && to.Scheme != "https":
			return fmt.Errorf("%w: the server redirected from https to %s (%s); octobundle never sends the API key over an unencrypted connection",
				ErrRedirectRefused, to.Scheme, origin(to))
		case !strings.EqualFold(to.Scheme, base.Scheme) || !strings.EqualFold(to.Hostname(), base.Hostname()) || port(to) != port(base):
			return fmt.Errorf("%w: the server redirected to %s, another origin than %s; octobundle sends the API key only to the server it was given (if the server moved, use its new address as --server)",
				ErrRedirectRefused, origin(to), origin(base))
		}
		return nil
	}
}

// origin renders scheme://host[:port] of u, without credentials, path or
// query.
func origin(u *url.URL) string { return u.Scheme + "://" + u.Host }

// port returns u's port, or the scheme's default.
func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// isLoopback reports whether host names this machine: "localhost" or a
// loopback address.
func isLoopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// permanentTransportError returns the error to report for a failed round
// trip that trying again cannot fix (a refused redirect, a certificate that
// does not verify), or nil when err may be transient.
func permanentTransportError(err error, connecting bool) error {
	var dns *net.DNSError
	if errors.As(err, &dns) && (dns.IsNotFound || connecting) && !dns.IsTemporary {
		return fmt.Errorf("%w: the host %q does not resolve (check the server URL)", ErrUnreachable, dns.Name)
	}
	if connecting && errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%w: connection refused (is the server running, and is the port in the URL right?)", ErrUnreachable)
	}
	if errors.Is(err, ErrRedirectRefused) {
		var ue *url.Error
		if errors.As(err, &ue) {
			return ue.Err // without the URL, which may hold credentials
		}
		return err
	}
	var cve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	if errors.As(err, &cve) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) {
		cause := scrubErr(err)
		if cve != nil && cve.Err != nil {
			cause = cve.Err.Error()
		}
		hint := "if the server's certificate comes from a private CA, pass that CA's certificate with --ca-cert FILE"
		if errors.As(err, &he) {
			hint = "use a server URL with a host name the certificate names; if the certificate comes from a private CA, pass that CA's certificate with --ca-cert FILE too"
		}
		return fmt.Errorf("%w: %s; %s (or, for a test server only, turn verification off with --insecure-skip-tls-verify)",
			ErrTLSVerify, cause, hint)
	}
	return nil
}
