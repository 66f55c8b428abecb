package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
)

// Edge is the one request edge every surface uses. Its Handler runs first
// on every request and puts a *Client in the context (request id, client
// address after --trusted-proxies, user agent); its Verify is the Verifier
// every surface authenticates callers with, which refuses an address that
// used up its budget of failed authentications (*RateLimited), unless the
// credential's verification is cached (no database read), and counts the
// failures; Inspect verifies a token on behalf of a resource server
// (introspection), which neither counts failures nor applies the token's IP
// allowlist to the caller's address.
type Edge struct {
	v       Verifier
	proxies *Proxies
	limiter *FailureLimiter
	// idPrefix + a counter make request ids unique without a random read
	// per request.
	idPrefix string
	idSeq    atomic.Uint64
}

// NewEdge returns the edge over v. proxies may be nil (trust no proxy);
// limiter may be nil (no limits).
func NewEdge(v Verifier, proxies *Proxies, limiter *FailureLimiter) *Edge {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &Edge{v: v, proxies: proxies, limiter: limiter, idPrefix: hex.EncodeToString(b[:]) + "-"}
}

// Limiter is the failure limiter, for surfaces that check passwords.
func (e *Edge) Limiter() *FailureLimiter { return e.limiter }

// Proxies is the trusted-proxy list.
func (e *Edge) Proxies() *Proxies { return e.proxies }

// Verify checks a caller's credential: refused with *RateLimited while
// req.IP is blocked; a refusal (ErrUnauthenticated) counts against req.IP.
func (e *Edge) Verify(ctx context.Context, raw string, req Request) (*Principal, error) {
	if err := e.limiter.Err(req.IP); err != nil {
		// Blocked: only a credential whose verification is cached (no
		// database read) is still checked, so a valid token or session
		// keeps working from an address shared with an attacker.
		if k, ok := e.v.(known); !ok || !k.Known(raw) {
			return nil, err
		}
	}
	p, err := e.v.Verify(ctx, raw, req)
	if err != nil && errors.Is(err, ErrUnauthenticated) {
		e.limiter.Fail(req.IP)
	}
	return p, err
}

// known is a Verifier that can tell a cached credential (*Checker).
type known interface{ Known(raw string) bool }

// Cached reports whether raw's verification is cached, which Verify checks
// even from a blocked address. Revocation (RFC 7009) asks it too: a token
// that works from a blocked address can be revoked from it.
func (e *Edge) Cached(raw string) bool {
	k, ok := e.v.(known)
	return ok && k.Known(raw)
}

// Inspect verifies a token presented to someone else (RFC 7662
// introspection): the token's own rules apply except its IP allowlist,
// which the caller reports to the resource server instead, since the
// address Latchkey sees is the resource server's, not the token user's.
func (e *Edge) Inspect(ctx context.Context, raw string) (*Principal, error) {
	return e.v.Verify(ctx, raw, Request{Inspect: true})
}

// Handler computes the request's Client and passes the request on with it
// in the context. A request whose forwarding headers cannot be read without
// guessing is answered 400 with the reason.
func (e *Edge) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := &exchange{client: Client{Agent: cleanAgent(r.UserAgent()), RequestID: e.requestID(r)}}
		c := &x.client
		ip, via, err := e.proxies.ClientIP(r)
		c.IP, c.ViaProxy = ip, via
		// The header's value lives in the Client: no allocation of its own.
		c.idHeader[0] = c.RequestID
		w.Header()["X-Request-Id"] = c.idHeader[:]
		r = x.with(r)
		if err != nil {
			WriteBadRequest(w, r, err.Error())
			return
		}
		next.ServeHTTP(w, r)
	})
}

// exchange is what the edge keeps per request, in one allocation instead
// of four (the Client, the context carrying it, the request passed on with
// that context): the cached answers are cheap enough that the allocations
// and the collector's work on them were a tenth of their cost.
type exchange struct {
	client Client
	ctx    clientContext
	req    http.Request
}

// with returns r carrying x.client in its context: r.WithContext(ctx),
// with the copy of the request kept in x.
func (x *exchange) with(r *http.Request) *http.Request {
	x.ctx = clientContext{Context: r.Context(), client: &x.client}
	x.req = *r.WithContext(&x.ctx) // inlined: the copy it makes stays on the stack
	return &x.req
}

// clientContext is context.WithValue(parent, clientKey{}, client) without
// an allocation of its own; cancellation and every other value are the
// parent's.
type clientContext struct {
	context.Context
	client *Client
}

func (c *clientContext) Value(key any) any {
	if _, ok := key.(clientKey); ok {
		return c.client
	}
	return c.Context.Value(key)
}

// requestID keeps a well-formed X-Request-Id from a trusted proxy, so one
// id follows the request through every hop; otherwise it makes one.
func (e *Edge) requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && validRequestID(id) && e.proxies.Trusts(peerIP(r.RemoteAddr)) {
		return id
	}
	var buf [64]byte // prefix (13) + a base-36 uint64 (at most 13): one allocation, the string
	b := append(buf[:0], e.idPrefix...)
	return string(strconv.AppendUint(b, e.idSeq.Add(1), 36))
}

func validRequestID(id string) bool {
	if len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// OAuthPrefix is the path prefix of the OAuth 2 endpoints, whose errors are
// RFC 6749 §5.2 JSON rather than problem+json.
const OAuthPrefix = "/oauth2/"

// WriteBadRequest answers 400 with reason in the shape of the surface:
// RFC 6749 §5.2 JSON under /oauth2/, plain text for forward-auth (which
// proxies show to Git as "remote: ..."), problem+json elsewhere.
func WriteBadRequest(w http.ResponseWriter, r *http.Request, reason string) {
	WriteRefusal(w, r, http.StatusBadRequest, "invalid_request", reason)
}

// WriteRateLimited answers 429 with Retry-After in the shape of the surface.
func WriteRateLimited(w http.ResponseWriter, r *http.Request, err *RateLimited) {
	w.Header().Set("Retry-After", err.Seconds())
	WriteRefusal(w, r, http.StatusTooManyRequests, "slow_down", err.Error())
}

// WriteRefusal answers status with reason: RFC 6749 §5.2 JSON (oauthCode
// as "error") under /oauth2/, plain text on forward-auth unless the client
// asks for JSON, problem+json elsewhere.
func WriteRefusal(w http.ResponseWriter, r *http.Request, status int, oauthCode, reason string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	switch {
	case strings.HasPrefix(r.URL.Path, OAuthPrefix):
		h.Set("Pragma", "no-cache") // RFC 6749 §5.1, for HTTP/1.0 caches
		h.Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": oauthCode, "error_description": reason})
	case strings.HasPrefix(r.URL.Path, "/auth/verify") && !strings.Contains(r.Header.Get("Accept"), "json"):
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set(HeaderReason, headerSafe(reason))
		w.WriteHeader(status)
		_, _ = w.Write([]byte(reason + "\n"))
	default:
		h.Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(struct {
			Title  string `json:"title"`
			Status int    `json:"status"`
			Detail string `json:"detail"`
		}{http.StatusText(status), status, reason})
	}
}

// HeaderReason carries the reason of a forward-auth refusal, so a proxy
// that drops the body of its auth subrequest (nginx) can still show it.
const HeaderReason = "X-Latchkey-Reason"

// headerSafe keeps reason printable ASCII, as header values must be.
func headerSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// LogHandler is a slog.Handler that adds the request id of the context
// (request_id) to every record logged with one.
type LogHandler struct{ slog.Handler }

// NewLogHandler wraps h.
func NewLogHandler(h slog.Handler) *LogHandler { return &LogHandler{h} }

// Handle adds request_id when ctx belongs to a request.
func (h *LogHandler) Handle(ctx context.Context, rec slog.Record) error {
	if ctx != nil {
		if id := RequestID(ctx); id != "" {
			rec.AddAttrs(slog.String("request_id", id))
		}
	}
	return h.Handler.Handle(ctx, rec)
}

// WithAttrs keeps the request id on derived loggers.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &LogHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the request id on derived loggers.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	return &LogHandler{h.Handler.WithGroup(name)}
}
