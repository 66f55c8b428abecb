package sts_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/sts"
)

func TestExchangedJWTVerifiesWithAnIndependentLibrary(t *testing.T) {
	for _, alg := range []string{"ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, s *servertest.Server) { checkExchangedJWT(t, s, alg) }, "--jwt-algorithm", alg)
		})
	}
}

func checkExchangedJWT(t *testing.T, s *servertest.Server, alg string) {
	t.Helper()
	admin := s.AdminSession(t)
	pat := patFor(t, s, admin, "ci", []string{"repo", "introspect"})

	out := exchange(t, s, pat.Secret)
	if out["token_type"] != "Bearer" || out["issued_token_type"] != sts.TypeJWT || out["scope"] != "introspect repo" {
		t.Fatalf("answer = %v", out)
	}
	if exp, _ := out["expires_in"].(float64); exp < 890 || exp > 900 {
		t.Fatalf("expires_in = %v, want about 900 (the 15m default)", out["expires_in"])
	}
	raw := out["access_token"].(string)
	claims, tok, err := verifyIndependently(raw, fetchJWKS(t, s), s.URL, s.URL)
	if err != nil {
		t.Fatalf("golang-jwt refused the exchanged JWT: %v", err)
	}
	if tok.Method.Alg() != alg || tok.Header["typ"] != "at+jwt" {
		t.Fatalf("header = %v", tok.Header)
	}
	var me struct {
		User struct{ ID string } `json:"user"`
	}
	s.JSON(t, http.MethodGet, "/api/v1/me", admin, nil, http.StatusOK, &me)
	want := map[string]string{"iss": s.URL, "sub": me.User.ID, "scope": "introspect repo", "token_id": pat.ID(),
		"username": servertest.AdminUser, "kind": "pat", "client_id": pat.ID()}
	for k, v := range want {
		if got := claimString(claims, k); got != v {
			t.Errorf("claim %s = %q, want %q", k, got, v)
		}
	}
	iat, _ := claims.GetIssuedAt()
	exp, _ := claims.GetExpirationTime()
	nbf, _ := claims.GetNotBefore()
	if exp.Sub(iat.Time) != 15*time.Minute || !nbf.Equal(iat.Time) || claimString(claims, "jti") == "" {
		t.Fatalf("times: iat %v nbf %v exp %v, jti %q", iat, nbf, exp, claims["jti"])
	}
	if _, _, err := verifyIndependently(raw, fetchJWKS(t, s), s.URL, "another-service"); err == nil {
		t.Fatal("a JWT exchanged without audience verified for another audience")
	}
}

func TestExchangeNarrowsScopesAndRefusesWidening(t *testing.T) {
	s := start(t)
	admin := s.AdminSession(t)
	pat := patFor(t, s, admin, "narrow", []string{"repo=acme/*", "machine"})
	tests := []struct {
		scope   string
		want    string // granted scope, or "" when refused
		message string // part of the refusal
	}{
		{"repo:read=acme/web", "repo:read=acme/web", ""},
		{"repo:read=acme/*", "repo:read=acme/*", ""},
		{"machine repo=acme/web", "machine repo=acme/web", ""},
		{"machine=prod-*", "machine=prod-*", ""},
		{"", "machine repo=acme/*", ""}, // empty: the token's effective scopes
		{"repo", "", "does not hold: repo"},
		{"repo:read=other/*", "", "repo:read=other/*"},
		{"service", "", "does not hold: service"},
		{"*", "", "does not hold"},
		{"nonsense", "", "unknown scope"},
	}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
			status, out := post(t, s, sts.TokenPath, exchangeForm(pat.Secret, "scope", tt.scope), "")
			if tt.want != "" {
				if status != http.StatusOK || out["scope"] != tt.want {
					t.Fatalf("status %d, answer %v; want scope %q", status, out, tt.want)
				}
				claims, _, err := verifyIndependently(out["access_token"].(string), fetchJWKS(t, s), s.URL, s.URL)
				if err != nil || claims["scope"] != tt.want {
					t.Fatalf("JWT scope %v (err %v), want %q", claims["scope"], err, tt.want)
				}
				return
			}
			desc, _ := out["error_description"].(string)
			if status != http.StatusBadRequest || out["error"] != "invalid_scope" || !strings.Contains(desc, tt.message) {
				t.Fatalf("status %d, answer %v; want 400 invalid_scope mentioning %q", status, out, tt.message)
			}
		})
	}
}

func TestExchangeIsCappedByTheOwnersRole(t *testing.T) {
	s := start(t)
	admin := s.AdminSession(t)
	s.CreateUser(t, admin, "mia", "member-password-1", "member", "person")
	mia := s.Login(t, "mia", "member-password-1")
	pat := patFor(t, s, mia, "mine", []string{"repo", "tokens"})
	out := exchange(t, s, pat.Secret)
	if out["scope"] != "repo tokens" {
		t.Fatalf("scope = %v", out["scope"])
	}
	status, refused := post(t, s, sts.TokenPath, exchangeForm(pat.Secret, "scope", "admin:org"), "")
	if status != http.StatusBadRequest || refused["error"] != "invalid_scope" {
		t.Fatalf("a member's token got admin:org: %d %v", status, refused)
	}
}

func TestExchangeRefusesBadRequestsWithTheRFCError(t *testing.T) {
	s := start(t)
	admin := s.AdminSession(t)
	revoked := patFor(t, s, admin, "revoked", []string{"repo"})
	s.JSON(t, http.MethodDelete, "/api/v1/tokens/"+revoked.ID(), admin, nil, http.StatusNoContent, nil)
	expired := patFor(t, s, admin, "expired", []string{"repo"})
	past := time.Now().Add(-time.Minute)
	if _, err := s.App.Store.UpdateToken(context.Background(), expired.ID(), func(tk *store.Token) error {
		tk.ExpiresAt = &past
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	good := patFor(t, s, admin, "good", []string{"repo"})
	form := func(kv ...string) url.Values {
		f := exchangeForm(good.Secret)
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				f.Del(kv[i])
			} else {
				f.Set(kv[i], kv[i+1])
			}
		}
		return f
	}
	tests := []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"revoked PAT", exchangeForm(revoked.Secret), 400, "invalid_grant"},
		{"expired PAT", exchangeForm(expired.Secret), 400, "invalid_grant"},
		{"malformed token", exchangeForm("lk_pat_not-a-real-token"), 400, "invalid_grant"},
		{"well-formed unknown token", exchangeForm("lk_pat_" + strings.Repeat("a", 36)), 400, "invalid_grant"},
		{"session token", exchangeForm(admin), 400, "invalid_grant"},
		{"missing grant_type", form("grant_type", ""), 400, "invalid_request"},
		{"other grant_type", form("grant_type", "client_credentials"), 400, "unsupported_grant_type"},
		{"missing subject_token", form("subject_token", ""), 400, "invalid_request"},
		{"missing subject_token_type", form("subject_token_type", ""), 400, "invalid_request"},
		{"jwt subject_token_type", form("subject_token_type", sts.TypeJWT), 400, "invalid_request"},
		{"actor_token", form("actor_token", good.Secret, "actor_token_type", sts.TypeAccessToken), 400, "invalid_request"},
		{"refresh token requested", form("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token"), 400, "invalid_request"},
		{"relative resource", form("resource", "/api"), 400, "invalid_target"},
		{"eleven audiences", func() url.Values {
			f := form()
			for i := range 11 {
				f.Add("audience", fmt.Sprintf("api-%d", i))
			}
			return f
		}(), 400, "invalid_request"},
		{"repeated scope", func() url.Values { f := form(); f["scope"] = []string{"repo", "repo"}; return f }(), 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := post(t, s, sts.TokenPath, tt.form, "")
			if status != tt.status || out["error"] != tt.code || out["error_description"] == "" {
				t.Fatalf("status %d, answer %v; want %d %s with a description", status, out, tt.status, tt.code)
			}
		})
	}
	t.Run("subject token in the URL", func(t *testing.T) {
		status, out := post(t, s, sts.TokenPath+"?subject_token="+good.Secret, exchangeForm(good.Secret), "")
		if status != 400 || out["error"] != "invalid_request" {
			t.Fatalf("status %d %v", status, out)
		}
	})
	t.Run("JSON body", func(t *testing.T) {
		status, body, _ := s.Do(t, http.MethodPost, sts.TokenPath, "", map[string]string{"grant_type": sts.GrantTokenExchange})
		if status != 400 || !strings.Contains(string(body), "x-www-form-urlencoded") {
			t.Fatalf("status %d %s", status, body)
		}
	})
	t.Run("GET", func(t *testing.T) {
		status, _, h := s.Do(t, http.MethodGet, sts.TokenPath, "", nil)
		if status != http.StatusMethodNotAllowed || h.Get("Allow") != "POST" {
			t.Fatalf("status %d", status)
		}
	})
}

func TestExchangeRefusesASuspendedOwnersToken(t *testing.T) {
	s := start(t)
	admin := s.AdminSession(t)
	id := s.CreateUser(t, admin, "sam", "sam-password-123", "member", "person")
	pat := patFor(t, s, s.Login(t, "sam", "sam-password-123"), "sams", []string{"repo"})
	exchange(t, s, pat.Secret)
	s.JSON(t, http.MethodPatch, "/api/v1/users/"+id, admin, map[string]any{"suspended": true}, http.StatusOK, nil)
	status, out := post(t, s, sts.TokenPath, exchangeForm(pat.Secret), "")
	if status != 400 || out["error"] != "invalid_grant" {
		t.Fatalf("status %d %v", status, out)
	}
}

func TestJWTLifetimeNeverExceedsThePATs(t *testing.T) {
	s := start(t, "--jwt-lifetime", "2h")
	admin := s.AdminSession(t)
	short := patFor(t, s, admin, "short", []string{"repo"}, "expires_in", "10m")
	long := patFor(t, s, admin, "long", []string{"repo"}, "expires_in", "720h")
	patExp, err := time.Parse(time.RFC3339, short.Token["expires_at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	keys := fetchJWKS(t, s)

	out := exchange(t, s, short.Secret)
	claims, _, err := verifyIndependently(out["access_token"].(string), keys, s.URL, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	exp, _ := claims.GetExpirationTime()
	if exp.After(patExp) || patExp.Sub(exp.Time) > time.Second {
		t.Fatalf("JWT exp %v, PAT expires %v: the JWT must end with the PAT", exp, patExp)
	}
	if in := out["expires_in"].(float64); in > 600 || in < 590 {
		t.Fatalf("expires_in = %v, want about 600", in)
	}

	out = exchange(t, s, long.Secret)
	claims, _, _ = verifyIndependently(out["access_token"].(string), keys, s.URL, s.URL)
	exp, _ = claims.GetExpirationTime()
	iat, _ := claims.GetIssuedAt()
	if exp.Sub(iat.Time) != 2*time.Hour {
		t.Fatalf("lifetime %v, want the configured 2h", exp.Sub(iat.Time))
	}
}

func TestAudienceAndResourceBecomeTheAudClaim(t *testing.T) {
	s := start(t)
	admin := s.AdminSession(t)
	pat := patFor(t, s, admin, "aud", []string{"repo"})
	out := exchange(t, s, pat.Secret, "audience", "billing", "audience", "inventory", "resource", "https://api.example.com/v1",
		"requested_token_type", sts.TypeAccessToken)
	if out["issued_token_type"] != sts.TypeAccessToken {
		t.Fatalf("issued_token_type = %v", out["issued_token_type"])
	}
	keys := fetchJWKS(t, s)
	for _, aud := range []string{"billing", "inventory", "https://api.example.com/v1"} {
		claims, _, err := verifyIndependently(out["access_token"].(string), keys, s.URL, aud)
		if err != nil {
			t.Fatalf("audience %s: %v", aud, err)
		}
		if got, _ := claims.GetAudience(); !slices.Equal(got, jwt.ClaimStrings{"billing", "inventory", "https://api.example.com/v1"}) {
			t.Fatalf("aud = %v", got)
		}
	}
	if _, _, err := verifyIndependently(out["access_token"].(string), keys, s.URL, s.URL); err == nil {
		t.Fatal("a JWT for named audiences also verified for the default audience")
	}
}

func TestOptionalClientAuthenticationMustMatchTheSubject(t *testing.T) {
	s := start(t)
	admin := s.AdminSession(t)
	pat := patFor(t, s, admin, "subject", []string{"repo"})
	if status, out := post(t, s, sts.TokenPath, exchangeForm(pat.Secret), admin); status != http.StatusOK {
		t.Fatalf("same user's session as client: %d %v", status, out)
	}
	s.CreateUser(t, admin, "other", "other-password-1", "member", "person")
	other := s.Login(t, "other", "other-password-1")
	status, out := post(t, s, sts.TokenPath, exchangeForm(pat.Secret), other)
	if status != http.StatusUnauthorized || out["error"] != "invalid_client" {
		t.Fatalf("another user's credential as client: %d %v", status, out)
	}
	status, out = post(t, s, sts.TokenPath, exchangeForm(pat.Secret), "lk_pat_bogus")
	if status != http.StatusUnauthorized || out["error"] != "invalid_client" {
		t.Fatalf("a bogus client credential: %d %v", status, out)
	}
	// The same rules for a credential in the body (client_secret_post),
	// which was ignored: a token was issued whatever it held.
	for _, tc := range []struct {
		name, secret string
		status       int
		code         string
	}{
		{"same user's", admin, http.StatusOK, ""},
		{"another user's", other, http.StatusUnauthorized, "invalid_client"},
		{"bogus", "lk_pat_bogus", http.StatusUnauthorized, "invalid_client"},
		{"empty, as public clients of some libraries send it", "", http.StatusOK, ""},
	} {
		status, out := post(t, s, sts.TokenPath, exchangeForm(pat.Secret, "client_id", "ci", "client_secret", tc.secret), "")
		if status != tc.status || (tc.code != "" && out["error"] != tc.code) {
			t.Errorf("%s client_secret in the body: %d %v; want %d %s", tc.name, status, out, tc.status, tc.code)
		}
	}
	status, out = post(t, s, sts.TokenPath, exchangeForm(pat.Secret, "client_secret", admin), admin)
	if status != http.StatusBadRequest || out["error"] != "invalid_request" {
		t.Errorf("a client credential in the header and the body: %d %v; want 400 invalid_request", status, out)
	}
}

func TestExchangeIsAudited(t *testing.T) {
	s := start(t)
	admin := s.AdminSession(t)
	pat := patFor(t, s, admin, "audited", []string{"repo"})
	exchange(t, s, pat.Secret, "audience", "billing")
	var page struct {
		Items []struct {
			Action   string         `json:"action"`
			TargetID string         `json:"target_id"`
			Details  map[string]any `json:"details"`
		} `json:"items"`
	}
	s.JSON(t, http.MethodGet, "/api/v1/audit?action=token.exchange", admin, nil, http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].TargetID != pat.ID() || page.Items[0].Details["jti"] == nil {
		t.Fatalf("audit = %+v", page.Items)
	}
}

func TestRepeatedRefusalsAreRateLimited(t *testing.T) {
	s := start(t)
	var status int
	for range 25 {
		status, _ = post(t, s, sts.TokenPath, exchangeForm("lk_pat_"+strings.Repeat("b", 36)), "")
		if status == http.StatusTooManyRequests {
			return
		}
	}
	t.Fatalf("25 refused subject tokens in a row never got 429 (last status %d)", status)
}
