// Package octopus is the one place octobundle talks HTTP to an Octopus
// server: client construction, space resolution, paging, retries with
// backoff, and raw JSON reads and writes. It goes through go-octopusdeploy's
// newclient HttpSession (headers, base URL handling) and deliberately avoids
// the library's typed structs, which drop fields they do not model (see
// ../shared/notes/go-octopusdeploy.md §3.5, §5).
//
// Documents are decoded with jsonv.Decode, numbers as json.Number so they
// survive a round trip exactly; ListRaw, GetRaw and GetArray hand out the
// JSON as sent, for callers that keep documents packed and decode each
// once themselves. API keys are sent in a header and never appear in errors or logs.
// Certificates are verified unless Config.InsecureSkipTLSVerify says
// otherwise; a redirect that leaves the server's origin, or goes from https
// to http, is refused, so the key never reaches another host; every answer
// and every collection is bounded (see internal/limits).
package octopus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/newclient"
	"github.com/octobundle/octobundle/internal/jsonv"
	"github.com/octobundle/octobundle/internal/limits"
)

// Config says how to reach one Octopus server.
type Config struct {
	// URL is the server's base URL (https://octopus.example.com).
	URL string
	// APIKey authenticates every request (X-Octopus-ApiKey). Never logged.
	APIKey string
	// Space is the space name (or ID) to work in; empty means the default space.
	Space string
	// HTTPClient is used for every request; nil means a client that verifies TLS certificates against the system's
	// roots (and CACertFile). Connect uses a copy whose CheckRedirect refuses
	// to leave the server's origin, whatever the given client does.
	HTTPClient *http.Client
	// CACertFile names a PEM file of CA certificates trusted in addition to
	// the system's, for servers with certificates from a private CA.
	CACertFile string
	// InsecureSkipTLSVerify turns certificate verification off. Connect logs
	// a warning: anyone on the network path can then receive the API key.
	InsecureSkipTLSVerify bool
	// MaxResponseSize bounds one answer's body, in bytes; zero means
	// limits.ResponseSize. A larger answer fails the request with a
	// *limits.Error (it is not retried).
	MaxResponseSize int64
	// Retry is the retry policy; zero values take the defaults.
	Retry Retry
	// RequestTimeout bounds one request from sending it to reading the
	// last byte of its answer, retries and their backoff included (time
	// spent waiting for a MaxInFlight slot is not counted): zero means
	// DefaultRequestTimeout, a negative value no bound. A request that
	// runs out fails with an error wrapping ErrRequestTimeout.
	RequestTimeout time.Duration
	// Logger receives one debug line per request; nil discards.
	Logger *slog.Logger
	// Tool is appended to the User-Agent ("octobundle/1.2.3").
	Tool string
	// MaxInFlight bounds the requests in flight at once, from sending one
	// to reading its answer (--concurrency); zero means no bound. Callers
	// may then run more work at once than this: what they do between
	// requests (decoding, merging, recording) no longer holds a request
	// slot idle.
	MaxInFlight int
	// KeySource says where APIKey came from ("the --api-key flag",
	// "--api-key-file key.txt", "the OCTOPUS_API_KEY environment
	// variable"), for the message of a refused key. Never the key.
	KeySource string
}

// DefaultRequestTimeout is the Config.RequestTimeout a zero value means.
const DefaultRequestTimeout = 60 * time.Second

// ErrRequestTimeout is wrapped by the error of a request that did not
// finish (answer read to its last byte, retries included) within
// Config.RequestTimeout: "request timed out after 60s: GET /api/…".
var ErrRequestTimeout = errors.New("request timed out")

// ErrMalformedAnswer is wrapped by the error of a request the server
// answered with a success status and a body that is not valid JSON (or
// not the JSON expected). It is not retried: the same request gets the
// same answer.
var ErrMalformedAnswer = errors.New("malformed answer")

// Retry is the policy for retrying failed requests.
type Retry struct {
	// Attempts is the total number of tries per request (default 8).
	Attempts int
	// Base is the first backoff (default 200ms); it doubles per attempt.
	Base time.Duration
	// Max caps one backoff and any Retry-After honoured (default 10s).
	Max time.Duration
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 8
	}
	if r.Base <= 0 {
		r.Base = 200 * time.Millisecond
	}
	if r.Max <= 0 {
		r.Max = 10 * time.Second
	}
	return r
}

// Client talks to one space of one Octopus server.
type Client struct {
	session     *newclient.HttpSession
	retry       Retry
	timeout     time.Duration // per request, retries included; 0: none
	log         *slog.Logger
	server      string
	maxResponse int64

	// SpaceID and SpaceName identify the space the client works in.
	SpaceID, SpaceName string
	// ServerVersion is the server's Version from the root document.
	ServerVersion string
	// InstallationID is the server's InstallationId from the root
	// document ("" when it has none): the server's identity, which the
	// apply state is kept under.
	InstallationID string

	requests, retries, writes atomic.Int64

	// inFlight holds a token per request in flight (Config.MaxInFlight);
	// nil: no bound.
	inFlight chan struct{}

	// connecting is true while Connect reads the root document: a host
	// that does not resolve or refuses the connection then fails at once
	// (it is the wrong URL, or the server is down: retrying for a minute
	// helps neither), where later in a run a refused connection is
	// retried (a server restarting).
	connecting bool
}

// Stats counts what a client has done.
type Stats struct {
	// Requests is the number of HTTP requests sent, retries included.
	Requests int64 `json:"requests"`
	// Retries is how many of them were retries.
	Retries int64 `json:"retries"`
	// Writes is the number of successful POST/PUT/DELETE requests.
	Writes int64 `json:"writes"`
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	return Stats{Requests: c.requests.Load(), Retries: c.retries.Load(), Writes: c.writes.Load()}
}

// MaxInFlight returns the bound on requests in flight (Config.MaxInFlight;
// 0: none).
func (c *Client) MaxInFlight() int { return cap(c.inFlight) }

// Server returns the server URL without credentials, for manifests and messages.
func (c *Client) Server() string { return c.server }

// Connect reads the server's root document, resolves the space by name and
// returns a client bound to it.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.URL == "" {
		return nil, errors.New("no server URL: set --server or OCTOPUS_URL")
	}
	if err := CheckServerURL(cfg.URL); err != nil {
		return nil, err
	}
	if cfg.APIKey == "" {
		return nil, errors.New("no API key: set --api-key, --api-key-file or OCTOPUS_API_KEY")
	}
	base, err := url.Parse(strings.TrimRight(cfg.URL, "/") + "/")
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, badServerURL(cfg.URL)
	}
	base.User = nil
	// Paths are resolved against the base: its query and fragment would
	// be dropped from every request anyway, and are no part of the
	// server's name in plans and state.
	base.RawQuery, base.ForceQuery, base.Fragment, base.RawFragment = "", false, "", ""
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hc, err := httpClient(cfg, base, log)
	if err != nil {
		return nil, err
	}
	if base.Scheme == "http" && !isLoopback(base.Hostname()) {
		log.Warn("the server URL is plain http: the API key and every document cross the network unencrypted; use https",
			"server", base.Scheme+"://"+base.Host)
	}
	maxResponse := cfg.MaxResponseSize
	if maxResponse <= 0 {
		maxResponse = limits.ResponseSize
	}
	ua := "octobundle"
	if cfg.Tool != "" {
		ua = cfg.Tool
	}
	c := &Client{
		session: &newclient.HttpSession{
			HttpClient: hc,
			BaseURL:    base,
			DefaultHeaders: map[string]string{
				"X-Octopus-ApiKey": cfg.APIKey,
				"User-Agent":       ua,
			},
		},
		retry:       cfg.Retry.withDefaults(),
		timeout:     cfg.RequestTimeout,
		log:         log,
		server:      strings.TrimRight(base.String(), "/"),
		maxResponse: maxResponse,
	}
	switch {
	case c.timeout == 0:
		c.timeout = DefaultRequestTimeout
	case c.timeout < 0:
		c.timeout = 0
	}
	if cfg.MaxInFlight > 0 {
		c.inFlight = make(chan struct{}, cfg.MaxInFlight)
	}
	c.connecting = true
	root, err := c.Get(ctx, "/api/")
	c.connecting = false
	if err != nil {
		return nil, fmt.Errorf("reading the server root document: %w%s", err, connectHint(err, base, cfg.KeySource))
	}
	c.ServerVersion, _ = root["Version"].(string)
	c.InstallationID, _ = root["InstallationId"].(string)
	if err := c.resolveSpace(ctx, cfg.Space); err != nil {
		return nil, fmt.Errorf("%w%s", err, connectHint(err, base, cfg.KeySource))
	}
	log.Debug("connected", "server", c.server, "version", c.ServerVersion, "space", c.SpaceName, "spaceId", c.SpaceID)
	return c, nil
}

func (c *Client) resolveSpace(ctx context.Context, want string) error {
	spaces, err := c.List(ctx, "/api/spaces", nil)
	if err != nil {
		return fmt.Errorf("listing spaces: %w", err)
	}
	var names []string
	for _, s := range spaces {
		id, _ := s["Id"].(string)
		name, _ := s["Name"].(string)
		def, _ := s["IsDefault"].(bool)
		names = append(names, name)
		if (want == "" && def) || (want != "" && (name == want || id == want)) {
			c.SpaceID, c.SpaceName = id, name
			return nil
		}
	}
	if want == "" {
		return errors.New("the server has no default space: name one with --space or OCTOPUS_SPACE")
	}
	return fmt.Errorf("space %q not found on %s (spaces: %s)", want, c.server, strings.Join(names, ", "))
}

// SpacePath returns the API path of rel inside the client's space
// ("/api/Spaces-1/environments"), or below /api/ when serverLevel.
func (c *Client) SpacePath(rel string, serverLevel bool) string {
	if serverLevel {
		return "/api/" + rel
	}
	return "/api/" + c.SpaceID + "/" + rel
}

// APIError is an error answer from the server.
type APIError struct {
	Method, Path string
	// Status is the HTTP status code.
	Status int
	// Message is the server's ErrorMessage.
	Message string
	// Errors are the server's detailed validation errors.
	Errors []string
}

// Error renders the request, the status and the server's messages.
func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if len(e.Errors) > 0 {
		msg += " (" + strings.Join(e.Errors, "; ") + ")"
	}
	return msg
}

// IsStatus reports whether err is an APIError with the given status.
func IsStatus(err error, status int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == status
}

// transportError is a request that got no complete answer (a refused or
// dropped connection, a truncated body).
type transportError struct{ msg string }

func (e *transportError) Error() string { return e.msg }

// IsTransient reports whether err is a failure that running the same
// request again later can get past: a rate limit (429), a server error
// (5xx other than 501), a conflict (409: the document moved under us), a
// dropped connection, a request that ran out of its RequestTimeout, or a
// cancelled run. A 400 (the server refused the
// content) or any error made before a request was sent is not: it recurs.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUncertainWrite) || errors.Is(err, ErrRequestTimeout) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var te *transportError
	if errors.As(err, &te) {
		return true
	}
	var ae *APIError
	if errors.As(err, &ae) {
		s := ae.Status
		return s == http.StatusConflict || s == http.StatusTooManyRequests || (s >= 500 && s != http.StatusNotImplemented)
	}
	return false
}

// ErrUncertainWrite means a POST failed in a way that leaves unknown whether
// the server performed it (a dropped connection, a 5xx). Create resolves it
// by looking the entity up before trying again.
var ErrUncertainWrite = errors.New("the server may or may not have performed the write")

// Get reads one document.
func (c *Client) Get(ctx context.Context, path string) (map[string]any, error) {
	var out map[string]any
	err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out, err
}

// GetAny reads one document of any JSON shape.
func (c *Client) GetAny(ctx context.Context, path string) (any, error) {
	var out any
	err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out, err
}

// GetRaw reads one document as the JSON the server sent, not decoded nor
// checked: for callers that keep it packed and decode it once themselves
// (with jsonv.Decode).
func (c *Client) GetRaw(ctx context.Context, path string) (json.RawMessage, error) {
	var raw json.RawMessage
	err := c.do(ctx, http.MethodGet, path, nil, &raw)
	return raw, err
}

// GetArray reads a document that is a JSON array, returning its elements
// as the JSON the server sent (not decoded, see ListRaw).
func (c *Client) GetArray(ctx context.Context, path string) ([]json.RawMessage, error) {
	raw, err := c.GetRaw(ctx, path)
	if err != nil {
		return nil, err
	}
	if raw = bytes.TrimSpace(raw); len(raw) == 0 || raw[0] != '[' {
		return nil, fmt.Errorf("GET %s: the answer is not an array", path)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if len(items) > limits.CollectionItems {
		return nil, &limits.Error{Subject: "GET " + path + fmt.Sprintf(": the server returned %d items", len(items)),
			Limit: "collection size", Max: limits.CollectionItems, Unit: "items"}
	}
	return items, nil
}

// Put replaces a document and returns the server's answer.
func (c *Client) Put(ctx context.Context, path string, body any) (map[string]any, error) {
	var out map[string]any
	err := c.do(ctx, http.MethodPut, path, body, &out)
	return out, err
}

// Binary is a non-JSON resource (a project's logo): its bytes and the
// content type the server gave them.
type Binary struct {
	Data        []byte
	ContentType string
}

// GetBinary reads a non-JSON resource.
func (c *Client) GetBinary(ctx context.Context, path string) (Binary, error) {
	var out Binary
	err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out, err
}

// multipartBody is a request body sent as it is, with its content type.
type multipartBody struct {
	data        []byte
	contentType string
}

// UploadFile sends data as the one file of a multipart/form-data request
// (how Octopus takes a project's logo: OctopusClients' SetLogo POSTs a
// FileUpload to the project's Logo link). Unlike other POSTs it is retried
// after an uncertain outcome: uploading the same file again is harmless.
func (c *Client) UploadFile(ctx context.Context, method, path, fileName, contentType string, data []byte) error {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="fileToUpload"; filename=%q`, fileName))
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	h.Set("Content-Type", contentType)
	part, err := w.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := part.Write(data); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.do(ctx, method, path, multipartBody{data: buf.Bytes(), contentType: w.FormDataContentType()}, nil)
}

// Delete removes a document.
func (c *Client) Delete(ctx context.Context, path string) error {
	return c.do(ctx, http.MethodDelete, path, nil, nil)
}

// Post creates a document. A POST is retried only when the server answered
// 429 (it did not process the request); a dropped connection or a 5xx is
// returned wrapped in ErrUncertainWrite. Prefer Create.
func (c *Client) Post(ctx context.Context, path string, body any) (map[string]any, error) {
	var out map[string]any
	err := c.do(ctx, http.MethodPost, path, body, &out)
	return out, err
}

// Create POSTs body to path. When the outcome is uncertain it calls find to
// see whether the server created the entity after all, and returns that
// entity; otherwise it tries again. So a flaky connection never duplicates
// an entity.
func (c *Client) Create(ctx context.Context, path string, body any, find func(context.Context) (map[string]any, error)) (map[string]any, error) {
	var lastErr error
	for attempt := 0; attempt < c.retry.Attempts; attempt++ {
		out, err := c.Post(ctx, path, body)
		if err == nil || !errors.Is(err, ErrUncertainWrite) {
			return out, err
		}
		lastErr = err
		if find != nil {
			got, ferr := find(ctx)
			if ferr != nil {
				return nil, fmt.Errorf("%w; and looking the entity up failed: %v", err, ferr)
			}
			if got != nil {
				c.log.Debug("uncertain create resolved: the entity exists", "path", path)
				return got, nil
			}
		}
		if err := c.sleep(ctx, c.backoff(attempt, 0)); err != nil {
			return nil, err
		}
	}
	return nil, lastErr
}

// List reads every item of a collection, page by page (see ListRaw),
// decoding each item.
func (c *Client) List(ctx context.Context, path string, query url.Values) ([]map[string]any, error) {
	raw, err := c.ListRaw(ctx, path, query)
	if err != nil {
		return nil, err
	}
	all := make([]map[string]any, 0, len(raw))
	for i, r := range raw {
		v, err := jsonv.Decode(r)
		if err != nil {
			return nil, fmt.Errorf("GET %s: item %d: %w", path, i, err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("GET %s: item %d is %s, not an object", path, i, jsonKind(v))
		}
		all = append(all, m)
	}
	return all, nil
}

// ListRaw reads every item of a collection, page by page, as the JSON the
// server sent (each item checked to be an object, not otherwise decoded):
// callers that keep items packed decode them once, themselves. It does
// not rely on Page.Next alone: it keeps paging until TotalResults items
// arrived (some server versions omitted Page.Next), and fails if a page is
// short.
func (c *Client) ListRaw(ctx context.Context, path string, query url.Values) ([]json.RawMessage, error) {
	var all []json.RawMessage
	for skip := 0; ; {
		items, total, err := c.ListPage(ctx, path, query, skip)
		if err != nil {
			return nil, err
		}
		if len(all)+len(items) > limits.CollectionItems {
			return nil, collectionTooLarge(path, len(all)+len(items))
		}
		all = append(all, items...)
		skip += len(items)
		if len(items) == 0 || skip >= total {
			if skip < total {
				return nil, fmt.Errorf("GET %s: the server reported %d items but returned %d", path, total, skip)
			}
			return all, nil
		}
	}
}

// PageSize is how many items ListPage asks for.
const PageSize = 200

// ListPage reads the page of a collection that starts at item skip
// (PageSize items at most), as the JSON the server sent, each item checked
// to be an object, and the total the server reports. A caller that knows
// the total from the first page can read the others at once; ListRaw
// reads them one after another.
func (c *Client) ListPage(ctx context.Context, path string, query url.Values, skip int) (items []json.RawMessage, total int, err error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("skip", strconv.Itoa(skip))
	q.Set("take", strconv.Itoa(PageSize))
	var page struct {
		Items        []json.RawMessage
		TotalResults int
	}
	if err := c.do(ctx, http.MethodGet, path+"?"+q.Encode(), nil, &page); err != nil {
		return nil, 0, err
	}
	if page.TotalResults > limits.CollectionItems {
		return nil, 0, collectionTooLarge(path, page.TotalResults)
	}
	for i, it := range page.Items {
		if len(it) == 0 || it[0] != '{' {
			return nil, 0, fmt.Errorf("GET %s: item %d is not an object", path, skip+i)
		}
	}
	return page.Items, page.TotalResults, nil
}

// collectionTooLarge is the error for a collection of more than
// limits.CollectionItems items.
func collectionTooLarge(path string, n int) error {
	return &limits.Error{Subject: "GET " + path + fmt.Sprintf(": the server reports %d items", n),
		Limit: "collection size", Max: limits.CollectionItems, Unit: "items"}
}

// jsonKind names the JSON type of a decoded value, for messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return "a number"
}

// do sends one request with retries and decodes the answer into out.
func (c *Client) do(ctx context.Context, method, path string, body any, out any) error {
	var payload []byte
	contentType := "application/json"
	if mb, ok := body.(multipartBody); ok {
		payload, contentType = mb.data, mb.contentType
	} else if body != nil {
		var err error
		// json.Marshal's bytes, without reflection over the document.
		if payload, err = jsonv.AppendMarshal(nil, body); err != nil {
			return fmt.Errorf("%s %s: encoding the request: %w", method, path, err)
		}
	}
	// The request's deadline: moved on by the time spent waiting for a
	// request slot, which is no part of the request.
	var deadline time.Time
	if c.timeout > 0 {
		deadline = time.Now().Add(c.timeout)
	}
	var last error // the previous attempt's error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			c.retries.Add(1)
		}
		status, retryAfter, waited, err := c.once(ctx, deadline, method, path, payload, contentType, out)
		if !deadline.IsZero() {
			deadline = deadline.Add(waited)
		}
		if err == nil {
			if method != http.MethodGet {
				c.writes.Add(1)
			}
			return nil
		}
		if ctx.Err() != nil {
			// context.Cause: a command's own deadline says what it was.
			return fmt.Errorf("%s %s: %w", method, path, context.Cause(ctx))
		}
		_, upload := body.(multipartBody) // uploading a file again is harmless
		if errors.Is(err, ErrRequestTimeout) {
			err = c.timedOut(method, path, last)
		}
		if errors.Is(err, ErrRequestTimeout) && method == http.MethodPost && !upload {
			// The server may have created the entity before it stalled.
			return fmt.Errorf("%w: %w", ErrUncertainWrite, err)
		}
		retryable := status == http.StatusTooManyRequests ||
			(status >= 500 && status != http.StatusNotImplemented) || status == 0
		if method == http.MethodPost && status != http.StatusTooManyRequests && !upload {
			if retryable {
				return fmt.Errorf("%w: %w", ErrUncertainWrite, err)
			}
			return err
		}
		if !retryable || attempt+1 >= c.retry.Attempts {
			if retryable {
				return fmt.Errorf("%w (gave up after %d attempts)", err, attempt+1)
			}
			return err
		}
		wait := c.backoff(attempt, retryAfter)
		if !deadline.IsZero() && time.Now().Add(wait).After(deadline) {
			// The next attempt could not finish in time: say so now.
			return c.timedOut(method, path, err)
		}
		// Transient failures are routine under load; a request that keeps
		// failing is worth telling the person waiting.
		level := slog.LevelDebug
		if attempt >= 2 {
			level = slog.LevelWarn
		}
		c.log.Log(ctx, level, "retrying", "method", method, "path", path, "status", status,
			"attempt", attempt+1, "of", c.retry.Attempts, "wait", wait.Round(time.Millisecond), "error", err)
		if err := c.sleep(ctx, wait); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, context.Cause(ctx))
		}
		last = err
	}
}

// timedOut is the error of a request that ran out of its
// RequestTimeout; last is its last attempt's error, if it failed before.
func (c *Client) timedOut(method, path string, last error) error {
	err := fmt.Errorf("%w after %s: %s %s", ErrRequestTimeout, seconds(c.timeout), method, path)
	if last != nil && !errors.Is(last, ErrRequestTimeout) {
		err = fmt.Errorf("%w (the last attempt: %v)", err, last)
	}
	return err
}

// seconds renders d as "60s" rather than "1m0s" when it is whole seconds.
func seconds(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}

// once sends one request, to be done by deadline (zero: none). status is
// 0 when no answer arrived; waited is how long it waited for a request
// slot (Config.MaxInFlight) before sending.
func (c *Client) once(ctx context.Context, deadline time.Time, method, path string, payload []byte, contentType string, out any) (status int, retryAfter, waited time.Duration, err error) {
	c.requests.Add(1)
	u, err := url.Parse(path)
	if err != nil {
		return -1, 0, 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if u.Scheme != "" || u.Host != "" {
		// Paths are resolved against the server's base URL; an absolute one
		// (from a document's Links, say) could carry the key elsewhere.
		return -1, 0, 0, fmt.Errorf("%s %s: %w: only paths on the server are requested, not absolute URLs", method, redactURL(path), ErrRedirectRefused)
	}
	req, err := http.NewRequestWithContext(ctx, method, "/", nil)
	if err != nil {
		return -1, 0, 0, err
	}
	req.URL = u
	req.Header.Set("Accept", "application/json")
	if _, binary := out.(*Binary); binary {
		req.Header.Set("Accept", "*/*")
	}
	if payload != nil {
		req.Body = io.NopCloser(bytes.NewReader(payload))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(payload)), nil }
		req.ContentLength = int64(len(payload))
		req.Header.Set("Content-Type", contentType)
	}
	if c.inFlight != nil {
		queued := time.Now()
		select {
		case c.inFlight <- struct{}{}:
		case <-ctx.Done():
			return 0, 0, time.Since(queued), ctx.Err()
		}
		waited = time.Since(queued)
		if !deadline.IsZero() {
			deadline = deadline.Add(waited)
		}
	}
	if !deadline.IsZero() {
		actx, cancel := context.WithDeadline(ctx, deadline)
		defer cancel()
		req = req.WithContext(actx)
	}
	// timedOut: the request's own deadline, not its caller's, ended it.
	timedOut := func() bool {
		return !deadline.IsZero() && ctx.Err() == nil && req.Context().Err() != nil
	}
	start := time.Now()
	resp, data, readErr, err := c.exchange(req)
	if c.inFlight != nil {
		<-c.inFlight
	}
	if (err != nil || readErr != nil) && timedOut() {
		c.log.Debug("request timed out", "method", method, "path", path, "duration", time.Since(start))
		return -1, 0, waited, c.timedOut(method, path, nil)
	}
	if err != nil {
		c.log.Debug("request failed", "method", method, "path", path, "error", scrubErr(err))
		if errors.Is(err, http.ErrSchemeMismatch) {
			// Not retried: the server will answer plain http every time.
			return -1, 0, waited, fmt.Errorf("%s %s: %w: the server answers plain http, not https; use the server URL %s (or serve Octopus over https)",
				method, path, ErrUnreachable, c.withScheme("http"))
		}
		if perm := permanentTransportError(err, c.connecting); perm != nil {
			return -1, 0, waited, fmt.Errorf("%s %s: %w", method, path, perm)
		}
		return 0, 0, waited, &transportError{fmt.Sprintf("%s %s: %v", method, path, scrubErr(err))}
	}
	subject := method + " " + path + ": the server's answer"
	if resp.ContentLength > c.maxResponse {
		c.log.Debug("request", "method", method, "path", path, "status", resp.StatusCode, "bytes", resp.ContentLength, "duration", time.Since(start))
		return -1, 0, waited, limits.Size(subject, "response size", c.maxResponse)
	}
	c.log.Debug("request", "method", method, "path", path, "status", resp.StatusCode, "bytes", len(data), "duration", time.Since(start))
	if readErr != nil {
		return 0, 0, waited, &transportError{fmt.Sprintf("%s %s: reading the answer: %v", method, path, scrubErr(readErr))}
	}
	if int64(len(data)) > c.maxResponse {
		// Not retried: the same request gets the same oversized answer.
		return -1, 0, waited, limits.Size(subject, "response size", c.maxResponse)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ae := &APIError{Method: method, Path: path, Status: resp.StatusCode}
		var body struct {
			ErrorMessage string
			Errors       []string
		}
		if json.Unmarshal(data, &body) == nil {
			ae.Message, ae.Errors = body.ErrorMessage, body.Errors
		} else if resp.StatusCode == http.StatusBadRequest && c.session.BaseURL.Scheme == "http" &&
			bytes.Contains(data, []byte("HTTP request to an HTTPS server")) {
			// Go's and other TLS servers answer a plain request so.
			ae.Message = "the server speaks https, not plain http; use the server URL " + c.withScheme("https")
		}
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s >= 0 {
			retryAfter = time.Duration(s) * time.Second
		}
		return resp.StatusCode, retryAfter, waited, ae
	}
	if bin, ok := out.(*Binary); ok {
		bin.Data, bin.ContentType = data, resp.Header.Get("Content-Type")
		return resp.StatusCode, 0, waited, nil
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return resp.StatusCode, 0, waited, nil
	}
	if err := decodeAnswer(data, out); err != nil {
		// Not retried, whatever is wrong (a syntax error, a body that
		// ends early, duplicate keys, the wrong shape): the body was read
		// to its announced end, and the same request gets the same answer.
		return -1, 0, waited, c.malformed(method, path, resp.StatusCode, len(data), err)
	}
	return resp.StatusCode, 0, waited, nil
}

// malformed is the error for a success answer of n bytes that did not
// decode: it names the URL (the server's, never with credentials) and,
// for a syntax error, the byte offset.
func (c *Client) malformed(method, path string, status, n int, err error) error {
	offset := -1
	var js *jsonv.SyntaxError
	var ss *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &js):
		offset = js.Offset
	case errors.As(err, &ss):
		offset = int(ss.Offset) - 1 // encoding/json counts the bad byte
	case errors.As(err, &te):
		offset = int(te.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		offset = n
	}
	where := ""
	if offset >= 0 {
		where = fmt.Sprintf(" at byte offset %d", offset)
	}
	return fmt.Errorf("%s %s%s: %w (status %d, %d bytes)%s: %v (not retried: the same request gets the same answer)",
		method, c.server, path, ErrMalformedAnswer, status, n, where, err)
}

// exchange sends req and reads the answer's body (up to one byte over the
// size limit; none when the announced length is over it). err is a
// failure to get an answer, readErr one to read its body.
func (c *Client) exchange(req *http.Request) (resp *http.Response, data []byte, readErr, err error) {
	resp, err = c.session.DoRawRequest(req)
	if err != nil {
		return nil, nil, nil, err
	}
	defer resp.Body.Close()
	if resp.ContentLength > c.maxResponse {
		return resp, nil, nil, nil
	}
	data, readErr = readAll(io.LimitReader(resp.Body, c.maxResponse+1), resp.ContentLength)
	return resp, data, readErr, nil
}

// maxPrealloc is the most room readAll takes before bytes arrive.
const maxPrealloc = 8 << 20

// readAll is io.ReadAll starting with room for size bytes (and one more,
// to see the end) when size is known (>= 0): an answer whose length is
// announced is read into one buffer, not one grown by doubling. Room for
// more than maxPrealloc is not taken on the answer's word: past it the
// buffer grows as the bytes come.
func readAll(r io.Reader, size int64) ([]byte, error) {
	if size < 0 {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, min(size, maxPrealloc)+1)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // longer than announced: grow
		}
	}
}

// decodeAnswer decodes a JSON answer into out: documents (*any,
// *map[string]any) with jsonv.Decode, the one decoder of JSON read from
// outside, in one pass; *json.RawMessage as it is (the caller decodes
// it); anything else (a page whose items stay raw) with encoding/json,
// numbers as json.Number.
func decodeAnswer(data []byte, out any) error {
	switch o := out.(type) {
	case *json.RawMessage:
		*o = data // not checked: the caller decodes it
		return nil
	case *any:
		v, err := jsonv.Decode(data)
		if err != nil {
			return err
		}
		*o = v
		return nil
	case *map[string]any:
		v, err := jsonv.Decode(data)
		if err != nil {
			return err
		}
		if v == nil {
			*o = nil
			return nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("the answer is %s, not an object", jsonKind(v))
		}
		*o = m
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(out)
}

func (c *Client) backoff(attempt int, retryAfter time.Duration) time.Duration {
	d := c.retry.Base << attempt
	if d > c.retry.Max || d <= 0 {
		d = c.retry.Max
	}
	d = d/2 + rand.N(d/2+1) // jitter
	if retryAfter > d {
		d = retryAfter
	}
	if d > c.retry.Max {
		d = c.retry.Max
	}
	return d
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// scrubErr keeps transport errors free of URLs with credentials.
func scrubErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// withScheme is the server URL with another scheme, for messages.
func (c *Client) withScheme(scheme string) string {
	u := *c.session.BaseURL
	u.Scheme = scheme
	return strings.TrimRight(u.String(), "/")
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	u.User = nil
	return u.String()
}
