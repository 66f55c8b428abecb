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
//
// A fetch serves every caller, not only the request that started it: it
// runs detached from that request, so a client that hangs up cannot cancel
// it, and requests that need keys it may bring wait for it instead of
// being refused while it is under way.
type keySet struct {
	o Options

	mu       sync.Mutex
	keys     map[string]jose.JSONWebKey
	fetched  time.Time     // last successful fetch
	tried    time.Time     // last attempt
	inflight chan struct{} // closed when the fetch under way ends; nil when none is
}

func newKeySet(o Options) *keySet { return &keySet{o: o} }

// key returns the verification key with kid.
func (s *keySet) key(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	now := s.o.Now()
	k, known, stale := s.lookup(kid, now)
	if known && !stale {
		return k, nil
	}
	if done := s.startFetch(ctx, now, known); done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return jose.JSONWebKey{}, fmt.Errorf("%w: %w", errUnavailable, ctx.Err())
		}
		k, known, _ = s.lookup(kid, now)
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

// lookup reads the cache: the key, whether it is known, and whether the
// cache is stale.
func (s *keySet) lookup(kid string, now time.Time) (jose.JSONWebKey, bool, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[kid]
	stale := s.fetched.IsZero() || now.Sub(s.fetched) >= s.o.JWKSRefresh
	return k, ok && kid != "", stale
}

// startFetch returns a channel closed when a fetch that may bring the key
// ends, starting one if none is under way and the last attempt is older
// than JWKSMinRefresh; nil when there is nothing to wait for. A caller that
// already holds a (stale) key does not wait for a fetch another started.
func (s *keySet) startFetch(ctx context.Context, now time.Time, known bool) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight != nil {
		if known {
			return nil
		}
		return s.inflight
	}
	if !s.tried.IsZero() && now.Sub(s.tried) < s.o.JWKSMinRefresh {
		return nil
	}
	s.tried = now
	done := make(chan struct{})
	s.inflight = done
	ctx = context.WithoutCancel(ctx)
	go func() {
		keys, err := s.download(ctx)
		s.mu.Lock()
		if err == nil {
			s.keys, s.fetched = keys, now
		}
		s.inflight = nil
		s.mu.Unlock()
		close(done)
		if err != nil {
			s.o.Logger.WarnContext(ctx, "latchkey middleware: fetch JWKS", "url", s.o.JWKSURL, "err", err)
		}
	}()
	return done
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
