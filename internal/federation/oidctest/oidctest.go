// Package oidctest runs a real OIDC issuer on loopback for tests: a
// discovery document and a JWKS served over HTTP by httptest, and tokens
// signed with go-jose keys the issuer generates, with claims shaped like
// GitHub Actions' and GitLab CI's documented ID tokens. Keys can be rotated
// and the issuer taken down, to test caching and refresh.
package oidctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Issuer is a running test issuer.
type Issuer struct {
	URL  string // the issuer, e.g. http://127.0.0.1:12345
	srv  *httptest.Server
	mu   sync.Mutex
	keys []jose.JSONWebKey // private keys; the first signs
	down atomic.Bool
	// JWKSHits counts requests for the JWKS.
	JWKSHits atomic.Int64
	seq      atomic.Int64
}

// Start runs an issuer with one RSA signing key until the test ends.
func Start(t testing.TB) *Issuer {
	t.Helper()
	is := &Issuer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if is.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": is.URL, "jwks_uri": is.URL + "/.well-known/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public", "pairwise"},
		})
	})
	mux.HandleFunc("GET /.well-known/jwks", func(w http.ResponseWriter, r *http.Request) {
		is.JWKSHits.Add(1)
		if is.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(is.PublicJWKS())
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	is.URL = is.srv.URL
	is.Rotate(t, false)
	return is
}

// Rotate adds a new RSA signing key that signs from now on; with keepOld
// the previous keys stay published (as issuers do during a rotation).
func (is *Issuer) Rotate(t testing.TB, keepOld bool) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is.addKey(jose.JSONWebKey{Key: k, KeyID: fmt.Sprintf("rsa-%d", is.seq.Add(1)), Algorithm: string(jose.RS256), Use: "sig"}, keepOld)
}

// RotateEC adds a new P-256 key that signs (ES256) from now on.
func (is *Issuer) RotateEC(t testing.TB, keepOld bool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	is.addKey(jose.JSONWebKey{Key: k, KeyID: fmt.Sprintf("ec-%d", is.seq.Add(1)), Algorithm: string(jose.ES256), Use: "sig"}, keepOld)
}

func (is *Issuer) addKey(k jose.JSONWebKey, keepOld bool) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if keepOld {
		is.keys = append([]jose.JSONWebKey{k}, is.keys...)
	} else {
		is.keys = []jose.JSONWebKey{k}
	}
}

// SetDown makes the discovery and JWKS endpoints answer 503 (or recover).
func (is *Issuer) SetDown(down bool) { is.down.Store(down) }

// PublicJWKS is the key set the issuer publishes.
func (is *Issuer) PublicJWKS() jose.JSONWebKeySet {
	is.mu.Lock()
	defer is.mu.Unlock()
	var set jose.JSONWebKeySet
	for _, k := range is.keys {
		set.Keys = append(set.Keys, k.Public())
	}
	return set
}

// SigningKey is the current private key.
func (is *Issuer) SigningKey() jose.JSONWebKey {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.keys[0]
}

// Mint signs claims with the current key. Standard claims not set are
// filled in: iss, iat, nbf, exp (5 minutes), jti (unique).
func (is *Issuer) Mint(t testing.TB, claims map[string]any) string {
	t.Helper()
	return MintWith(t, is.SigningKey(), is.fill(claims))
}

func (is *Issuer) fill(claims map[string]any) map[string]any {
	out := map[string]any{}
	now := time.Now()
	out["iss"] = is.URL
	out["iat"] = now.Unix()
	out["nbf"] = now.Unix()
	out["exp"] = now.Add(5 * time.Minute).Unix()
	out["jti"] = fmt.Sprintf("jti-%d-%d", now.UnixNano(), is.seq.Add(1))
	for k, v := range claims {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

// MintWith signs claims as they are with key (alg from the key).
func MintWith(t testing.TB, key jose.JSONWebKey, claims map[string]any) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm), Key: key},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// GitHubClaims returns the claims of a GitHub Actions ID token for a push
// to ref of repository (owner/name), as documented by GitHub ("About
// security hardening with OpenID Connect"), with aud audience.
func GitHubClaims(repository, ref, environment, audience string) map[string]any {
	owner := repository
	for i := range repository {
		if repository[i] == '/' {
			owner = repository[:i]
			break
		}
	}
	sub := "repo:" + repository + ":ref:" + ref
	if environment != "" {
		sub = "repo:" + repository + ":environment:" + environment
	}
	c := map[string]any{
		"aud": audience, "sub": sub,
		"ref": ref, "ref_type": "branch", "ref_protected": "true", "sha": "example-sha-2b7a9c1f",
		"repository": repository, "repository_id": "74", "repository_owner": owner, "repository_owner_id": "65",
		"repository_visibility": "private", "run_id": "5123456789", "run_number": "10", "run_attempt": "1",
		"runner_environment": "github-hosted", "actor": "octocat", "actor_id": "12", "event_name": "push",
		"workflow": "deploy", "workflow_ref": repository + "/.github/workflows/deploy.yml@" + ref,
		"workflow_sha": "example-sha-2b7a9c1f", "job_workflow_ref": repository + "/.github/workflows/deploy.yml@" + ref,
		"job_workflow_sha": "example-sha-2b7a9c1f", "head_ref": "", "base_ref": "",
	}
	if environment != "" {
		c["environment"] = environment
	}
	return c
}

// GitLabClaims returns the claims of a GitLab CI id_token for a pipeline
// of project (group/project) on ref, as documented by GitLab ("OpenID
// Connect (OIDC) Authentication Using ID Tokens").
func GitLabClaims(project, ref, environment, audience string) map[string]any {
	ns := project
	for i := len(project) - 1; i >= 0; i-- {
		if project[i] == '/' {
			ns = project[:i]
			break
		}
	}
	c := map[string]any{
		"aud": audience, "sub": "project_path:" + project + ":ref_type:branch:ref:" + ref,
		"namespace_id": "72", "namespace_path": ns, "project_id": "20", "project_path": project,
		"user_id": "1", "user_login": "sample-user", "user_email": "sample-user@example.com",
		"user_identities": []any{map[string]any{"provider": "github", "extern_uid": "2435223452345"}},
		"pipeline_id":     "574", "pipeline_source": "push", "job_id": "302", "ref": ref, "ref_type": "branch",
		"ref_path": "refs/heads/" + ref, "ref_protected": "true", "runner_id": 1, "runner_environment": "gitlab-hosted",
		"sha": "714a629c0b401fdce83e847fc9589983fc6f46bc", "project_visibility": "private",
		"ci_config_ref_uri": "gitlab.example.com/" + project + "//.gitlab-ci.yml@refs/heads/" + ref,
		"ci_config_sha":     "714a629c0b401fdce83e847fc9589983fc6f46bc",
	}
	if environment != "" {
		c["environment"], c["environment_protected"], c["deployment_tier"] = environment, "true", "production"
	}
	return c
}
