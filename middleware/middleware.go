package middleware

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
)

// New returns middleware that authenticates every request: it accepts a
// Latchkey JWT (from token exchange) verified offline, and, when
// IntrospectionURL is set, a raw Latchkey token verified by introspection;
// it puts the Principal in the request context (PrincipalFrom) and answers
// 401 in application/problem+json, with a WWW-Authenticate challenge, when
// the credential is missing or not valid. It panics if opts are unusable.
func New(opts Options) func(http.Handler) http.Handler {
	a := newAuthenticator(opts.withDefaults())
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, ok := credential(r.Header)
			if !ok {
				if a.opts.AllowAnonymous && r.Header.Get("Authorization") == "" {
					next.ServeHTTP(w, r)
					return
				}
				challenge(w, a.opts.Realm, http.StatusUnauthorized, "", "send a Latchkey token: Authorization: Bearer <token>")
				return
			}
			p, err := a.authenticate(r.Context(), raw)
			if err == nil && !allowedFrom(p.IPAllowlist, a.opts.ClientIP(r)) {
				err = refuse("this token may not be used from your address (it is allowlisted to " + strings.Join(p.IPAllowlist, ", ") + ")")
			}
			if err != nil {
				a.refuse(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}

// authenticator verifies credentials.
type authenticator struct {
	opts    Options
	keys    *keySet
	intro   *introspector // nil unless raw tokens are accepted
	closure closure
}

func newAuthenticator(o Options) *authenticator {
	a := &authenticator{opts: o, keys: newKeySet(o), closure: defaultClosure}
	if o.Implies != nil {
		a.closure = newClosure(o.Implies)
	}
	if o.IntrospectionURL != "" {
		a.intro = newIntrospector(o)
	}
	return a
}

// Errors of authentication. A refusal says why; unavailable means the
// credential could not be checked at all.
var (
	errRefused     = errors.New("invalid_token")
	errUnavailable = errors.New("temporarily unable to verify credentials")
)

// refusal is a credential refused, with a reason safe to show the caller.
type refusal struct{ reason string }

func (r *refusal) Error() string        { return r.reason }
func (r *refusal) Is(target error) bool { return target == errRefused }

func refuse(reason string) error { return &refusal{reason: reason} }

// authenticate verifies raw and returns its principal.
func (a *authenticator) authenticate(ctx context.Context, raw string) (*Principal, error) {
	var p *Principal
	var err error
	switch {
	case strings.Count(raw, ".") == 2:
		p, err = a.verifyJWT(ctx, raw)
	case a.intro != nil:
		p, err = a.intro.principal(ctx, raw)
	default:
		return nil, refuse("this service accepts only exchanged Latchkey JWTs; exchange your token first: " +
			"latchkey tokens exchange --audience " + a.opts.Audience)
	}
	if err != nil {
		return nil, err
	}
	p.Raw, p.realm = raw, a.opts.Realm
	p.grants = parseGrants(p.Scopes, a.closure)
	return p, nil
}

func (a *authenticator) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errRefused) {
		challenge(w, a.opts.Realm, http.StatusUnauthorized, "invalid_token", err.Error())
		return
	}
	a.opts.Logger.WarnContext(r.Context(), "latchkey middleware could not verify a credential", "err", err)
	w.Header().Set("Retry-After", "5")
	writeProblem(w, http.StatusServiceUnavailable, "the credential could not be verified right now; try again shortly")
}

// credential reads "Authorization: Bearer <t>" (or "token <t>"). Tokens are
// never read from the URL. Two Authorization headers are none: which one
// names the caller is ambiguous, so the request is refused.
func credential(h http.Header) (string, bool) {
	vs := h["Authorization"]
	if len(vs) != 1 {
		return "", false
	}
	scheme, rest, ok := strings.Cut(vs[0], " ")
	if !ok || !(strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "token")) {
		return "", false
	}
	rest = strings.TrimSpace(rest)
	return rest, rest != ""
}

// allowedFrom reports whether ip is inside the allowlist; an empty list
// allows every address, an entry that does not parse allows none.
func allowedFrom(allowlist []string, ip string) bool {
	if len(allowlist) == 0 {
		return true
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, e := range allowlist {
		if p, err := netip.ParsePrefix(e); err == nil && p.Contains(addr) {
			return true
		}
		if a, err := netip.ParseAddr(e); err == nil && a.Unmap() == addr {
			return true
		}
	}
	return false
}
