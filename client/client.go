package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/sameorigin"
)

// ExpirationHeader is the response header in which the server says when the
// credential that authenticated the request expires (RFC 3339).
const ExpirationHeader = "Latchkey-Token-Expiration"

// maxResponse bounds how much of an answer is read; no API answer comes near.
const maxResponse = 16 << 20

// Client talks to one Latchkey server with one credential. It is safe for
// concurrent use.
type Client struct {
	base      *url.URL
	token     string
	http      *http.Client
	userAgent string

	mu         sync.Mutex
	expiration time.Time
}

// Option configures a Client.
type Option func(*Client)

// WithToken authenticates every request with the token (a personal access
// token, an admin access token or a session token) as a Bearer credential.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient sends requests through hc instead of a client with a
// 60-second timeout. Unless hc has a CheckRedirect of its own, the client
// follows redirects only within the server's origin (scheme, host, port),
// so that its credential and request bodies never go elsewhere.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithUserAgent sets the User-Agent header, which the server records as the
// token's last-used agent.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the server at baseURL ("https://latchkey.example.com",
// optionally with a path prefix when the server is mounted under one).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := ParseURL(baseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{base: u, http: &http.Client{Timeout: 60 * time.Second}, userAgent: "latchkey-go-client"}
	for _, o := range opts {
		o(c)
	}
	if c.http.CheckRedirect == nil {
		hc := *c.http
		hc.CheckRedirect = sameorigin.CheckRedirect
		c.http = &hc
	}
	return c, nil
}

// ParseURL checks that s is an absolute http or https URL without query,
// fragment or credentials, and returns it without a trailing slash.
func ParseURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("server URL %q is not a URL: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("server URL %q must start with http:// or https:// and name a host, like https://latchkey.example.com", s)
	}
	if u.User != nil {
		return nil, fmt.Errorf("server URL must not carry credentials; give the token separately")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("server URL %q must not have a query or fragment", s)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// BaseURL returns the server URL the client talks to.
func (c *Client) BaseURL() string { return c.base.String() }

// Token returns the credential the client sends, or "".
func (c *Client) Token() string { return c.token }

// TokenExpiration returns when the credential in use expires, as the server
// last said in the Latchkey-Token-Expiration header; ok is false when no
// answer carried it yet (or the credential never expires).
func (c *Client) TokenExpiration() (at time.Time, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.expiration, !c.expiration.IsZero()
}

// URL returns the absolute URL of path on the server (path starts with "/").
func (c *Client) URL(path string) string {
	u := *c.base
	u.Path = c.base.Path + path
	return u.String()
}

// request describes one API call.
type request struct {
	method string
	path   string     // already escaped where it carries ids
	query  url.Values // may be nil
	body   any        // JSON-encoded when not nil
	form   url.Values // form-encoded when not nil (OAuth endpoints)
	auth   bool       // send the client's token
}

// do sends r and decodes a 2xx JSON answer into out (when not nil). Other
// answers become *Error (or *OAuthError for form requests).
func (c *Client) do(ctx context.Context, r request, out any) error {
	resp, err := c.open(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", r.method, c.URL(r.path), err)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &Error{Status: resp.StatusCode, Title: "Unexpected answer",
			Detail: fmt.Sprintf("the server's answer to %s %s is not the JSON expected (%v); is %s a Latchkey server?", r.method, r.path, err, c.BaseURL())}
	}
	return nil
}

// open sends r and returns a 2xx answer with its body unread; any other
// answer is read and returned as *Error (or *OAuthError for form requests).
func (c *Client) open(ctx context.Context, r request) (*http.Response, error) {
	req, err := c.newRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err // a *url.Error naming the method and URL
	}
	c.noteExpiration(resp.Header)
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return resp, nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", r.method, c.URL(r.path), err)
	}
	if e := notAPIAnswer(resp, body, r.method+" "+r.path, c.BaseURL()); e != nil {
		return nil, e
	}
	if r.form != nil {
		return nil, newOAuthError(resp.StatusCode, body)
	}
	return nil, newError(resp.StatusCode, body)
}

func (c *Client) newRequest(ctx context.Context, r request) (*http.Request, error) {
	u := *c.base
	u.Path = c.base.Path + r.path
	if len(r.query) > 0 {
		u.RawQuery = r.query.Encode()
	}
	var body io.Reader
	contentType := ""
	switch {
	case r.form != nil:
		body, contentType = strings.NewReader(r.form.Encode()), "application/x-www-form-urlencoded"
	case r.body != nil:
		buf, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", r.method, r.path, err)
		}
		body, contentType = bytes.NewReader(buf), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("build %s %s: %w", r.method, r.path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", c.userAgent)
	if r.auth && c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

func (c *Client) noteExpiration(h http.Header) {
	v := h.Get(ExpirationHeader)
	if v == "" {
		return
	}
	at, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return
	}
	c.mu.Lock()
	c.expiration = at
	c.mu.Unlock()
}

// get is do for a GET with the client's credential.
func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	return c.do(ctx, request{method: http.MethodGet, path: path, query: q, auth: true}, out)
}

// send is do for a request with a JSON body and the client's credential.
func (c *Client) send(ctx context.Context, method, path string, in, out any) error {
	return c.do(ctx, request{method: method, path: path, body: in, auth: true}, out)
}

// pathID escapes an id or name for use as one path segment, refusing empty
// ones and "." and "..", which would address a different route: the
// server redirects /api/v1/sessions/. to /api/v1/sessions with the method
// kept, where DELETE ends every other session.
func pathID(what, id string) (string, error) {
	if strings.TrimSpace(id) == "" {
		return "", &Error{Status: http.StatusBadRequest, Title: "Bad Request", Detail: what + " is empty"}
	}
	if id == "." || id == ".." {
		return "", &Error{Status: http.StatusBadRequest, Title: "Bad Request", Detail: what + " " + strconv.Quote(id) + " is not an id or name"}
	}
	return url.PathEscape(id), nil
}

// IsNetwork reports whether err is a failure to reach the server or to read
// its answer, rather than an answer.
func IsNetwork(err error) bool {
	var e *Error
	var o *OAuthError
	if errors.As(err, &e) || errors.As(err, &o) {
		return false
	}
	var ue *url.Error
	return errors.As(err, &ue)
}
