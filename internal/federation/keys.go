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
// MaxKeyAge. A forced fetch happens at most once per MinRefreshInterval.
// A failed fetch leaves the cached keys in place.
func (v *Verifier) keysFor(ctx context.Context, issuer, kid string) ([]jose.JSONWebKey, error) {
	v.mu.Lock()
	ks, ok := v.issuers[issuer]
	if !ok {
		ks = &keyset{}
		v.issuers[issuer] = ks
	}
	v.mu.Unlock()

	keys, fetched, _ := ks.snapshot()
	now := v.opts.Now()
	if len(keys) > 0 && hasKid(keys, kid) && now.Sub(fetched) < v.opts.MaxKeyAge {
		return keys, nil
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	// Another request may have refreshed while this one waited.
	if len(ks.keys) > 0 && hasKid(ks.keys, kid) && now.Sub(ks.fetched) < v.opts.MaxKeyAge {
		return ks.keys, nil
	}
	if !ks.tried.IsZero() && now.Sub(ks.tried) < v.opts.MinRefreshInterval {
		if len(ks.keys) == 0 {
			return nil, &Error{Code: CodeUnavailable, Check: "jwks", Msg: fmt.Sprintf("the keys of issuer %s could not be fetched; try again in a minute", issuer)}
		}
		return ks.keys, nil // the kid check below says what is missing
	}
	ks.tried = now
	fresh, err := v.fetchKeys(ctx, issuer)
	if err != nil {
		v.opts.Logger.WarnContext(ctx, "fetch federation issuer keys; cached keys stay in use", "issuer", issuer, "err", err)
		if len(ks.keys) == 0 || !hasKid(ks.keys, kid) {
			return nil, &Error{Code: CodeUnavailable, Check: "jwks", Msg: fmt.Sprintf(
				"the signing keys of issuer %s could not be fetched (%v); try again in a minute", issuer, err)}
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
