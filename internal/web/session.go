package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/service"
)

// Cookie names. The session cookie holds the secret of a session token
// (kind ses); the login cookie holds the double-submit CSRF value of the
// login form, which is posted before any session exists.
const (
	SessionCookie = "latchkey_session"
	loginCookie   = "latchkey_login_csrf"
	csrfField     = "csrf_token"
	maxFormBytes  = 64 << 10
)

// visit is a signed-in request: who is calling and the CSRF token their
// forms must carry.
type visit struct {
	p     *auth.Principal
	actor service.Actor
	csrf  string
}

// admin reports whether the visitor may use the admin pages.
func (v *visit) admin() bool { return v != nil && v.actor.IsAdmin() }

type visitHandler func(w http.ResponseWriter, r *http.Request, v *visit)

// securityHeaders are set on every console response. The CSP allows no
// inline script or style at all; the console's only script and stylesheet
// are served from /static/.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
	"Referrer-Policy":            "no-referrer",
	"X-Frame-Options":            "DENY",
	"X-Content-Type-Options":     "nosniff",
	"Permissions-Policy":         "camera=(), microphone=(), geolocation=(), payment=()",
	"Cross-Origin-Opener-Policy": "same-origin",
}

// hstsValue is the console's Strict-Transport-Security over HTTPS: one
// year, this host only.
const hstsValue = "max-age=31536000"

// protect wraps every console handler: security headers, no caching of
// pages (they may hold secrets), refusal of cross-origin state changes, a
// bounded form body, and a 500 page instead of a stack trace on panic.
func (h *Handler) protect(next http.Handler) http.Handler {
	guarded := h.csrf.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		for k, v := range securityHeaders {
			hd.Set(k, v)
		}
		hd.Set("Cache-Control", "no-store")
		if h.overHTTPS(r) {
			// A browser that saw the console over HTTPS never goes back to
			// it over plain HTTP, where anyone on the path could answer
			// with a lookalike login page. Subdomains are not included:
			// they may be other people's services.
			hd.Set("Strict-Transport-Security", hstsValue)
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		}
		defer func() {
			if rec := recover(); rec != nil {
				if rec == http.ErrAbortHandler {
					panic(rec)
				}
				h.d.Logger.ErrorContext(r.Context(), "console handler panicked", "path", r.URL.Path, "panic", rec)
				h.renderError(w, r, nil, http.StatusInternalServerError, "Something went wrong",
					"The server could not complete this request. It has been logged; try again in a moment.")
			}
		}()
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			if err := repeatedQuery(r, singleValued); err != nil {
				h.refuseRepeated(w, r, h.session(w, r), err)
				return
			}
		}
		guarded.ServeHTTP(w, r)
	})
}

// signedIn wraps a page that needs a session: without one, GETs go to the
// login page (and come back afterwards); every other method must carry the
// session's CSRF token.
func (h *Handler) signedIn(fn visitHandler) http.Handler {
	return h.protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := h.session(w, r)
		if v == nil && h.limited(w, r) {
			return
		}
		if v == nil {
			q := url.Values{}
			if h.sessionSecretOf(r) != "" {
				q.Set("msg", "ended")
			}
			if r.Method == http.MethodGet {
				q.Set("next", r.URL.RequestURI())
			}
			target := "/login"
			if len(q) > 0 {
				target += "?" + q.Encode()
			}
			seeOther(w, r, target)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !h.validCSRF(r, v.csrf) {
				h.forbidden(w, r, v, "This form did not carry a valid security token, so it was refused. Reload the page and send the form again.")
				return
			}
		} else if v.p.ExpiresAt != nil {
			h.setSessionCookie(w, r, h.sessionSecretOf(r), *v.p.ExpiresAt)
		}
		fn(w, r, v)
	}))
}

// adminOnly answers 403 to visitors who may not administer the organisation.
func (h *Handler) adminOnly(fn visitHandler) visitHandler {
	return func(w http.ResponseWriter, r *http.Request, v *visit) {
		if !v.admin() {
			h.forbidden(w, r, v, "This page is for owners and admins. Ask an admin if you need something done here.")
			return
		}
		fn(w, r, v)
	}
}

// session verifies the session cookie and returns the visit, or nil when
// there is no valid session (a stale cookie is cleared).
func (h *Handler) session(w http.ResponseWriter, r *http.Request) *visit {
	secret := h.sessionSecretOf(r)
	if secret == "" {
		return nil
	}
	c := auth.ClientOf(r)
	p, err := h.d.Verifier.Verify(r.Context(), secret, c.Request())
	if errors.Is(err, auth.ErrRateLimited) {
		return nil // the cookie may be fine: keep it (limited answers)
	}
	if err != nil || p.Session == nil {
		if err != nil && !errors.Is(err, auth.ErrUnauthenticated) {
			h.d.Logger.WarnContext(r.Context(), "verify console session", "err", err)
		}
		h.clearCookie(w, r, SessionCookie)
		return nil
	}
	return &visit{p: p, actor: actorOf(p, c), csrf: csrfToken(secret)}
}

// limited answers 429 when the client's address used up its failed
// authentications, and reports whether it did.
func (h *Handler) limited(w http.ResponseWriter, r *http.Request) bool {
	if h.d.LoginLimiter == nil {
		return false
	}
	var rl *auth.RateLimited
	if !errors.As(h.d.LoginLimiter.Err(auth.ClientOf(r).IP), &rl) {
		return false
	}
	w.Header().Set("Retry-After", rl.Seconds())
	h.renderError(w, r, nil, http.StatusTooManyRequests, "Too many failed attempts", rl.Error())
	return true
}

// actorOf is the principal as the services see it, with the request's origin.
func actorOf(p *auth.Principal, c *auth.Client) service.Actor {
	return service.Actor{User: p.User, Scopes: p.Scopes, CredentialID: p.CredentialID(), Session: p.Session != nil, IP: c.IP, Agent: c.Agent}
}

// sessionCookieName is the session cookie's name for r. Over HTTPS at the
// root of a host it carries the __Host- prefix: browsers then accept it only
// when it is Secure, host-only and on "/", so a sibling subdomain or a page
// served over plain HTTP cannot plant a session of its own in the console
// (cookies are not isolated by subdomain or scheme).
func (h *Handler) sessionCookieName(r *http.Request) string {
	if h.overHTTPS(r) && basePath(r) == "" {
		return "__Host-" + SessionCookie
	}
	return SessionCookie
}

// sessionSecretOf is the session cookie's value: only the cookie of the name
// r's scheme and mount point call for, never a plain-named copy over HTTPS.
func (h *Handler) sessionSecretOf(r *http.Request) string {
	c, err := r.Cookie(h.sessionCookieName(r))
	if err != nil {
		return ""
	}
	return c.Value
}

// overHTTPS reports whether the browser reached the console over HTTPS:
// served with TLS here, a public URL that says https, or a trusted proxy
// (--trusted-proxies) that terminated TLS and says so in X-Forwarded-Proto.
// Cookies are then Secure.
func (h *Handler) overHTTPS(r *http.Request) bool {
	if h.secure || r.TLS != nil {
		return true
	}
	if !auth.ClientOf(r).ViaProxy {
		return false
	}
	proto := r.Header.Get("X-Forwarded-Proto")
	if i := strings.LastIndexByte(proto, ','); i >= 0 {
		proto = proto[i+1:] // what the proxy nearest Latchkey wrote
	}
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}

// cookiePath is where the session cookie lives: the console's mount point,
// so other applications a proxy serves on the same host never receive it.
func cookiePath(r *http.Request) string { return basePath(r) + "/" }

// csrfToken derives a session's CSRF token from its secret. Only a holder of
// the HttpOnly cookie can compute it; it needs no server-side state, so it
// survives restarts and works on every replica.
func csrfToken(sessionSecret string) string {
	m := hmac.New(sha256.New, []byte(sessionSecret))
	m.Write([]byte("latchkey console csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validCSRF compares the form's token with want in constant time.
func (h *Handler) validCSRF(r *http.Request, want string) bool {
	got := r.PostFormValue(csrfField)
	return got != "" && hmac.Equal([]byte(got), []byte(want))
}

func (h *Handler) setSessionCookie(w http.ResponseWriter, r *http.Request, secret string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: h.sessionCookieName(r), Value: secret, Path: cookiePath(r), Expires: expires,
		HttpOnly: true, Secure: h.overHTTPS(r), SameSite: http.SameSiteLaxMode,
	})
}

func (h *Handler) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	path := cookiePath(r)
	if name == SessionCookie {
		name = h.sessionCookieName(r)
	}
	if name == loginCookie {
		path = basePath(r) + "/login"
	}
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: path, MaxAge: -1,
		HttpOnly: true, Secure: h.overHTTPS(r), SameSite: http.SameSiteLaxMode,
	})
}

// loginCSRF returns the login form's double-submit value, setting the
// cookie when the browser has none yet.
func (h *Handler) loginCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	v := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{
		Name: loginCookie, Value: v, Path: basePath(r) + "/login", MaxAge: 3600,
		HttpOnly: true, Secure: h.overHTTPS(r), SameSite: http.SameSiteLaxMode,
	})
	return v
}

// basePathRE is what a path prefix may look like: segments of URL-safe
// characters, none of them "." or "..", so it can be put in links and
// redirects as it is.
var basePathRE = regexp.MustCompile(`^(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*){1,8}$`)

// basePath is the path prefix the console is reached under, from the
// X-Forwarded-Prefix of a trusted proxy (--trusted-proxies) that mounts it
// there; from any other peer the header is ignored, like every forwarding
// header. Handlers work with unprefixed paths; links, redirects and cookie
// paths get the prefix. A value that is not a plain path is ignored.
func basePath(r *http.Request) string {
	if !auth.ClientOf(r).ViaProxy {
		return ""
	}
	p := strings.TrimRight(r.Header.Get("X-Forwarded-Prefix"), "/")
	if len(p) > 100 || !basePathRE.MatchString(p) {
		return ""
	}
	return p
}

// seeOther redirects to a console path, under the prefix the console is
// reached at.
func seeOther(w http.ResponseWriter, r *http.Request, path string) {
	http.Redirect(w, r, basePath(r)+path, http.StatusSeeOther)
}

// safeNext returns next when it is a path on this site, else "/tokens", so
// the login page cannot be used to redirect people elsewhere.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/tokens"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(u.Path, "/login") {
		return "/tokens"
	}
	return u.RequestURI()
}
