package federation_test

import (
	"context"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey/latchkey/internal/federation"
	"github.com/latchkey/latchkey/internal/federation/oidctest"
	"github.com/latchkey/latchkey/internal/store"
)

// BenchmarkExchangeVerify is the CPU an exchange spends before its store
// writes, keys cached: parse, algorithm and issuer checks, signature, time
// checks, and matching a GitHub Actions policy. Compare it with
// BenchmarkBareSignature, the signature check alone on the same token.
func BenchmarkExchangeVerify(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256"} {
		b.Run(alg, func(b *testing.B) {
			is, raw := benchIssuer(b, alg)
			v := federation.NewVerifier(federation.Options{})
			p := &store.FederationPolicy{Name: "p", Issuer: is.URL, Audience: "latchkey",
				Conditions: map[string]string{"repository": "acme/web", "ref": "refs/heads/main", "sub": "repo:acme/*:ref:refs/heads/main"}}
			trusted := func(s string) bool { return s == is.URL }
			if _, err := v.Verify(context.Background(), raw, trusted); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				tok, err := v.Verify(context.Background(), raw, trusted)
				if err != nil {
					b.Fatal(err)
				}
				if err := federation.Match(p, tok); err != nil {
					b.Fatal(err)
				}
				_ = federation.MatchedClaims(p, tok)
			}
		})
	}
}

// BenchmarkBareSignature is the floor: go-jose's signature check of the
// same token with the key in hand, nothing else.
func BenchmarkBareSignature(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256"} {
		b.Run(alg, func(b *testing.B) {
			is, raw := benchIssuer(b, alg)
			pub := is.PublicJWKS().Keys[0]
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				sig, err := jose.ParseSigned(raw, federation.Algorithms)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := sig.Verify(pub); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchIssuer(b *testing.B, alg string) (*oidctest.Issuer, string) {
	is := oidctest.Start(b)
	if alg == "ES256" {
		is.RotateEC(b, false)
	}
	c := oidctest.GitHubClaims("acme/web", "refs/heads/main", "", "latchkey")
	c["exp"] = time.Now().Add(time.Hour).Unix()
	return is, is.Mint(b, c)
}
