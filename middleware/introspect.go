package middleware

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// introspector checks raw Latchkey tokens with RFC 7662 introspection and
// remembers each answer for CacheTTL (never past the token's expiry), so a
// busy client costs one call per TTL. Only digests of tokens are kept.
type introspector struct {
	o Options

	mu    sync.Mutex
	cache map[[32]byte]cached
}

type cached struct {
	p     *Principal // nil: inactive
	until time.Time
}

func newIntrospector(o Options) *introspector {
	return &introspector{o: o, cache: make(map[[32]byte]cached)}
}

// introspection is the part of an RFC 7662 answer the middleware reads.
type introspection struct {
	Active   bool   `json:"active"`
	Sub      string `json:"sub"`
	Username string `json:"username"`
	Scope    string `json:"scope"`
	TokenID  string `json:"token_id"`
	Kind     string `json:"kind"`
	Exp      int64  `json:"exp"`
	// IPAllowlist is set for a token allowlisted to some addresses.
	IPAllowlist []string `json:"ip_allowlist"`
}

var errInactive = refuse("the token is not valid: it may be mistyped, expired or revoked")

func (in *introspector) principal(ctx context.Context, raw string) (*Principal, error) {
	if !wellFormed(raw) {
		// Not a Latchkey token: a typo or a made-up string, refused
		// without asking Latchkey (or filling the cache).
		return nil, errInactive
	}
	key := sha256.Sum256([]byte(raw))
	now := in.o.Now()
	in.mu.Lock()
	c, ok := in.cache[key]
	in.mu.Unlock()
	if !ok || !now.Before(c.until) {
		p, err := in.ask(ctx, raw)
		if err != nil {
			return nil, err
		}
		c = cached{p: p, until: now.Add(in.o.CacheTTL)}
		if p != nil && !p.ExpiresAt.IsZero() && p.ExpiresAt.Before(c.until) {
			c.until = p.ExpiresAt
		}
		in.store(key, c)
	}
	if c.p == nil || (!c.p.ExpiresAt.IsZero() && !now.Before(c.p.ExpiresAt)) {
		return nil, errInactive
	}
	return c.p.clone(), nil
}

func (in *introspector) store(key [32]byte, c cached) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.cache) >= in.o.CacheSize {
		now := in.o.Now()
		for k, v := range in.cache {
			if !now.Before(v.until) {
				delete(in.cache, k)
			}
		}
		if len(in.cache) >= in.o.CacheSize {
			clear(in.cache)
		}
	}
	in.cache[key] = c
}

// ask calls the introspection endpoint. nil, nil means inactive.
func (in *introspector) ask(ctx context.Context, raw string) (*Principal, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	form := url.Values{"token": {raw}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.o.IntrospectionURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+in.o.IntrospectionToken)
	resp, err := in.o.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: introspection: %v", errUnavailable, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("%w: introspection refused the middleware's own credential (%s): "+
			"IntrospectionToken must be a valid Latchkey token with the introspect scope", errUnavailable, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: introspection answered %s", errUnavailable, resp.Status)
	}
	var ans introspection
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&ans); err != nil {
		return nil, fmt.Errorf("%w: introspection answer: %v", errUnavailable, err)
	}
	// Sessions are console and CLI logins, not credentials for services;
	// personal, admin and federated (a CI job's) tokens are.
	if !ans.Active || (ans.Kind != "pat" && ans.Kind != "adm" && ans.Kind != "fed") || ans.Sub == "" {
		return nil, nil
	}
	p := &Principal{Subject: ans.Sub, Username: ans.Username, Scopes: strings.Fields(ans.Scope), TokenID: ans.TokenID, Kind: ans.Kind, IPAllowlist: ans.IPAllowlist}
	if ans.Exp > 0 {
		p.ExpiresAt = time.Unix(ans.Exp, 0)
	}
	return p, nil
}

// Latchkey tokens are <prefix>_<kind>_<30 base62 random><6 base62 checksum>,
// the checksum being the CRC-32 (IEEE) of everything before it.
const (
	randomLen   = 30
	checksumLen = 6
	base62      = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// wellFormed reports whether raw has the shape of a Latchkey token and a
// valid checksum, which anyone can check offline.
func wellFormed(raw string) bool {
	tail := randomLen + checksumLen
	if len(raw) < tail+4 || raw[len(raw)-tail-1] != '_' || !strings.Contains(raw[:len(raw)-tail-1], "_") {
		return false
	}
	var v uint64
	for i := len(raw) - tail; i < len(raw); i++ {
		d := strings.IndexByte(base62, raw[i])
		if d < 0 {
			return false
		}
		if i >= len(raw)-checksumLen {
			v = v*62 + uint64(d)
		}
	}
	return v == uint64(crc32.ChecksumIEEE([]byte(raw[:len(raw)-checksumLen])))
}
