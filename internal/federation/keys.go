package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// keyset is one issuer's cached signing keys.
type keyset struct {
	mu      sync.Mutex // serialises fetches; readers take snapshots
	keys    []jose.JSONWebKey
	fetched time.Time // last successful fetch; zero = never
	tried   time.Time // last fetch attempt
}

func (ks *keyset) snapshot() ([]jose.JSONWebKey, time.Time, time.Time) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return ks.keys, ks.fetched, ks.tried
}

// keysFor returns the issuer's keys, fetching them when none are cached,
// when kid is not among them (a rotation), or when they are older than
// MaxKeyAge, or when refresh is set (a token without kid that no cached
// key verifies). A forced fetch happens at most once per
// MinRefreshInterval. A failed fetch leaves the cached keys in place.
func (v *Verifier) keysFor(ctx context.Context, issuer, kid string, refresh bool) ([]jose.JSONWebKey, error) {
	v.mu.Lock()
	ks, ok := v.issuers[issuer]
	if !ok {
		ks = &keyset{}
		v.issuers[issuer] = ks
	}
	v.mu.Unlock()

	keys, fetched, _ := ks.snapshot()
	now := v.opts.Now()
	if !refresh && len(keys) > 0 && hasKid(keys, kid) && now.Sub(fetched) < v.opts.MaxKeyAge {
		return keys, nil
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	// Another request may have refreshed while this one waited.
	if !refresh && len(ks.keys) > 0 && hasKid(ks.keys, kid) && now.Sub(ks.fetched) < v.opts.MaxKeyAge {
		return ks.keys, nil
	}
	if !ks.tried.IsZero() && now.Sub(ks.tried) < v.opts.MinRefreshInterval {
		if len(ks.keys) == 0 {
			return nil, &Error{Code: CodeUnavailable, Check: "jwks", Msg: fmt.Sprintf("the keys of issuer %s could not be fetched; try again in a minute", issuer)}
		}
		return ks.keys, nil // the kid check below says what is missing
	}
	ks.tried = now
	// The fetch serves every later caller, not only this one: it must not
	// end when this caller goes away. Otherwise a client that sends a token
	// with an unknown kid and hangs up at once makes the fetch fail, and
	// with it, for MinRefreshInterval, every token signed with a key the
	// issuer has just rotated to; repeated, the new key is never fetched.
	// Each attempt is bounded by FetchTimeout.
	fresh, err := v.fetchKeys(context.WithoutCancel(ctx), issuer)
	if err != nil {
		// The details (addresses, statuses) are for the operator's log; the
		// caller, who may be anyone holding a token of the issuer, learns
		// only that the issuer's keys are out of reach.
		v.opts.Logger.WarnContext(ctx, "fetch federation issuer keys; cached keys stay in use", "issuer", issuer, "err", err)
		if len(ks.keys) == 0 || !hasKid(ks.keys, kid) {
			return nil, &Error{Code: CodeUnavailable, Check: "jwks", Msg: fmt.Sprintf(
				"the signing keys of issuer %s could not be fetched; try again in a minute (the server log says why)", issuer)}
		}
		return ks.keys, nil
	}
	ks.keys, ks.fetched = fresh, now
	v.fetches.Add(1)
	return ks.keys, nil
}

func hasKid(keys []jose.JSONWebKey, kid string) bool {
	if kid == "" {
		return len(keys) > 0
	}
	for _, k := range keys {
		if k.KeyID == kid {
			return true
		}
	}
	return false
}

// fetchKeys reads the issuer's discovery document and its JWKS, retrying
// each a bounded number of times.
func (v *Verifier) fetchKeys(ctx context.Context, issuer string) ([]jose.JSONWebKey, error) {
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := v.getJSON(ctx, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", &disc); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	if disc.Issuer != issuer {
		return nil, fmt.Errorf("discovery document names issuer %q, not %q", disc.Issuer, issuer)
	}
	if err := CheckIssuerURL(disc.JWKSURI); err != nil {
		return nil, fmt.Errorf("discovery jwks_uri: %w", err)
	}
	// Plain http is for loopback test issuers only: an https issuer cannot
	// send the fetch to a plain-http service on Latchkey's own host.
	if schemeOf(issuer) != "http" && schemeOf(disc.JWKSURI) != "https" {
		return nil, fmt.Errorf("discovery jwks_uri %q: an https issuer's keys must be served over https", disc.JWKSURI)
	}
	var set jose.JSONWebKeySet
	if err := v.getJSON(ctx, disc.JWKSURI, &set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	var keys []jose.JSONWebKey
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if !k.Valid() || !k.IsPublic() {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("the JWKS at %s has no public signing key", disc.JWKSURI)
	}
	return keys, nil
}

func (v *Verifier) getJSON(ctx context.Context, u string, out any) error {
	var last error
	for attempt := range v.opts.Retries {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
			}
		}
		retry, err := v.getOnce(ctx, u, out)
		if err == nil {
			return nil
		}
		last = err
		if !retry {
			break
		}
	}
	return last
}

func (v *Verifier) getOnce(ctx context.Context, u string, out any) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, v.opts.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.opts.HTTPClient.Do(req)
	if err != nil {
		return true, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests, fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out); err != nil {
		return false, fmt.Errorf("GET %s: not JSON: %w", u, err)
	}
	return false, nil
}

// schemeOf is u's scheme, lower-case ("" when u does not parse).
func schemeOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Scheme
}

// maxRedirects bounds the redirects one key fetch follows.
const maxRedirects = 3

// checkRedirect lets a key fetch follow a redirect only where an issuer
// could be: https, or, from a loopback http issuer, plain http on a
// loopback host; never to a URL with credentials. An issuer (or whoever
// answers for it) cannot turn the fetch into a request to a plain-http
// service on the server's network or host, such as a cloud metadata
// endpoint, 0.0.0.0 (which reaches loopback services) or 127.0.0.1.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	u := req.URL
	if u.User != nil {
		return fmt.Errorf("refused a redirect to a URL with credentials")
	}
	if u.Scheme == "https" || (u.Scheme == "http" && isLoopback(u.Hostname()) && via[0].URL.Scheme == "http") {
		return nil
	}
	return fmt.Errorf("refused a redirect to %s://%s: key fetches follow redirects only to https (or http on loopback)", u.Scheme, u.Host)
}

// CheckIssuerURL refuses anything but an https URL, or http on a loopback
// host, with no query, fragment or credentials.
func CheckIssuerURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL; give the issuer as https://host[/path], exactly as the tokens' iss claim", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q must not carry credentials, a query or a fragment", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("%q must use https (plain http is allowed only for a loopback issuer)", raw)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
