package middleware

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// keySet caches the issuer's published keys. It fetches them on first use,
// again once they are older than JWKSRefresh, and early when a JWT names an
// unknown kid (the issuer rotated), at most once per JWKSMinRefresh so that
// made-up kids cannot turn the middleware against the issuer. If a fetch
// fails, the keys already known keep working.
type keySet struct {
	o Options

	fetch sync.Mutex // one fetch at a time

	mu      sync.Mutex
	keys    map[string]jose.JSONWebKey
	fetched time.Time // last successful fetch
	tried   time.Time // last attempt
}

func newKeySet(o Options) *keySet { return &keySet{o: o} }

// key returns the verification key with kid.
func (s *keySet) key(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	now := s.o.Now()
	k, known, stale, mayFetch := s.lookup(kid, now)
	if known && !stale {
		return k, nil
	}
	if mayFetch {
		if err := s.refresh(ctx); err != nil {
			s.o.Logger.WarnContext(ctx, "latchkey middleware: fetch JWKS", "url", s.o.JWKSURL, "err", err)
		}
		k, known, _, _ = s.lookup(kid, now)
	}
	if known {
		return k, nil
	}
	s.mu.Lock()
	never := s.fetched.IsZero()
	s.mu.Unlock()
	if never {
		return jose.JSONWebKey{}, fmt.Errorf("%w: the signing keys at %s could not be fetched", errUnavailable, s.o.JWKSURL)
	}
	return jose.JSONWebKey{}, refuse("the token is signed with an unknown key (kid " + quoted(kid) + "): it was not issued by " + s.o.Issuer + ", or its key has been retired")
}

// lookup reads the cache: the key, whether it is known, whether the cache
// is stale, and whether a fetch is allowed now.
func (s *keySet) lookup(kid string, now time.Time) (jose.JSONWebKey, bool, bool, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[kid]
	stale := s.fetched.IsZero() || now.Sub(s.fetched) >= s.o.JWKSRefresh
	mayFetch := s.tried.IsZero() || now.Sub(s.tried) >= s.o.JWKSMinRefresh
	return k, ok && kid != "", stale, mayFetch
}

// refresh fetches the JWKS, unless another goroutine just did.
func (s *keySet) refresh(ctx context.Context) error {
	s.fetch.Lock()
	defer s.fetch.Unlock()
	now := s.o.Now()
	s.mu.Lock()
	recent := !s.tried.IsZero() && now.Sub(s.tried) < s.o.JWKSMinRefresh
	if !recent {
		s.tried = now
	}
	s.mu.Unlock()
	if recent {
		return nil
	}
	keys, err := s.download(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.keys, s.fetched = keys, now
	s.mu.Unlock()
	return nil
}

// download fetches and validates the key set: public signature keys with a
// kid, of the algorithms Latchkey signs with.
func (s *keySet) download(ctx context.Context) (map[string]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.o.JWKSURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.o.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("decode JWKS: %w", err)
	}
	keys := make(map[string]jose.JSONWebKey, len(set.Keys))
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			continue // a key of a kind this package does not know; skip it
		}
		if alg := keyAlgorithm(k); alg != "" && k.KeyID != "" && k.IsPublic() && (k.Use == "" || k.Use == "sig") {
			k.Algorithm = alg
			keys[k.KeyID] = k
		}
	}
	return keys, nil
}

// keyAlgorithm returns the algorithm k verifies: ES256 for a P-256 key,
// EdDSA for an Ed25519 key, "" for any other (or a key whose declared alg
// contradicts its type).
func keyAlgorithm(k jose.JSONWebKey) string {
	var alg string
	switch pub := k.Key.(type) {
	case *ecdsa.PublicKey:
		if pub.Curve == elliptic.P256() {
			alg = string(jose.ES256)
		}
	case ed25519.PublicKey:
		alg = string(jose.EdDSA)
	}
	if k.Algorithm != "" && k.Algorithm != alg {
		return ""
	}
	return alg
}
