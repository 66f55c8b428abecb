package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

// SessionCookie is the console's session cookie; it never reaches an
// upstream, under any of the names browsers accept for it.
const SessionCookie = "latchkey_session"

// proxy forwards allowed requests to one upstream.
type proxy struct {
	u      *upstream
	authz  *Authorizer
	rp     *httputil.ReverseProxy
	wait   time.Duration // response-header timeout, for messages
	logger *slog.Logger
}

func newProxy(u *upstream, authz *Authorizer, tr http.RoundTripper, wait time.Duration, logger *slog.Logger) *proxy {
	p := &proxy{u: u, authz: authz, wait: wait, logger: logger}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      tr,
		FlushInterval:  -1, // stream: Git's progress and large packs pass as they come
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.upstreamError,
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return p
}

// ServeHTTP authorizes r by the upstream's rules and forwards it.
func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if reason := refusedUpgrade(r.Header); reason != "" {
		auth.WriteBadRequest(w, r, reason)
		return
	}
	uri := p.u.upstreamPath(r.URL)
	if r.URL.RawQuery != "" {
		uri += "?" + r.URL.RawQuery
	}
	c := auth.ClientOf(r)
	o := p.authz.Authorize(r.Context(), p.u.router, Request{
		Method: r.Method, URI: uri, Header: r.Header, IP: c.IP, Agent: c.Agent,
	})
	p.authz.logDecision(r, r.Method, uri, o)
	if o.Status != http.StatusOK {
		p.authz.writeDenial(w, r, o)
		return
	}
	r.Pattern = "upstream " + p.u.name // the metrics label of proxied requests
	ctx := r.Context()
	if o.Principal != nil {
		ctx = auth.WithPrincipal(ctx, o.Principal)
	}
	p.rp.ServeHTTP(w, r.WithContext(ctx))
}

// rewrite builds the outbound request: the upstream's URL, X-Forwarded-*,
// no credential, and identity headers only Latchkey set.
func (p *proxy) rewrite(pr *httputil.ProxyRequest) {
	if p.u.strip {
		esc := p.u.upstreamPath(pr.In.URL)
		path, err := url.PathUnescape(esc)
		if err != nil {
			path = esc
		}
		pr.Out.URL.Path, pr.Out.URL.RawPath = path, esc
	}
	pr.SetURL(p.u.target)
	// ReverseProxy drops X-Forwarded-For, -Host, -Proto and Forwarded as
	// spelled; the client's other accounts of itself go too.
	removeForwarding(pr.Out.Header)
	pr.SetXForwarded()
	h := pr.Out.Header
	// The client's address as the edge determined it (after trusted
	// proxies), not the chain the client sent.
	h.Set("X-Forwarded-For", auth.ClientOf(pr.In).IP)
	stripSessionCookie(h)
	removeIdentity(h) // and Authorization, under every spelling
	if principal, ok := auth.FromContext(pr.In.Context()); ok {
		setIdentity(h, principal)
	}
}

func (p *proxy) modifyResponse(resp *http.Response) error {
	if loc := resp.Header.Get("Location"); loc != "" {
		resp.Header.Set("Location", p.u.clientLocation(loc))
	}
	if principal, ok := auth.FromContext(resp.Request.Context()); ok {
		setExpiration(resp.Header, principal)
	}
	return nil
}

// upstreamError answers when the upstream could not be reached or did not
// answer in time. Details go to the log, not to the caller.
func (p *proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	log := p.logger.With("upstream", p.u.name)
	var ne net.Error
	var op *net.OpError
	switch {
	case r.Context().Err() != nil:
		// The client went away; nobody is left to answer.
		log.DebugContext(r.Context(), "client left before the upstream answered")
		w.WriteHeader(http.StatusBadGateway)
	case !(errors.As(err, &op) && op.Op == "dial") &&
		(errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())):
		log.WarnContext(r.Context(), "upstream timed out", "err", withoutURL(err))
		http.Error(w, "the upstream service did not answer within "+p.wait.String()+"; try again later", http.StatusGatewayTimeout)
	default:
		log.WarnContext(r.Context(), "upstream unreachable", "err", withoutURL(err))
		http.Error(w, "the upstream service could not be reached; try again later", http.StatusBadGateway)
	}
}

// withoutURL drops the request URL that the transport puts in its errors:
// its query may hold secrets, and logs never carry a query.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// stripSessionCookie removes the console's session cookie from Cookie
// headers, keeping the upstream's own cookies.
func stripSessionCookie(h http.Header) {
	values := h.Values("Cookie")
	if len(values) == 0 {
		return
	}
	var kept []string
	for _, line := range values {
		for _, c := range strings.Split(line, ";") {
			name, _, _ := strings.Cut(strings.TrimSpace(c), "=")
			name = strings.TrimPrefix(strings.TrimPrefix(name, "__Host-"), "__Secure-")
			if name == SessionCookie || strings.TrimSpace(c) == "" {
				continue
			}
			kept = append(kept, strings.TrimSpace(c))
		}
	}
	h.Del("Cookie")
	if len(kept) > 0 {
		h.Set("Cookie", strings.Join(kept, "; "))
	}
}

// newTransport bounds dialing, TLS and the wait for response headers, but
// not the whole exchange: a large push may stream for minutes.
func newTransport(headerTimeout time.Duration) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: headerTimeout,
	}
}
