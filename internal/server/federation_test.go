package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/federation/oidctest"
	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/testenv"
)

const fedSecretArg = "--signing-key-secret=federation-test-secret"

// exchange posts a federated token exchange and returns the status and the
// decoded answer.
func exchange(t *testing.T, s *servertest.Server, jwt string, extra url.Values) (int, map[string]any) {
	t.Helper()
	form := url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token":      {jwt},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:id_token"},
	}
	for k, v := range extra {
		form[k] = v
	}
	resp, err := s.Client.Post(s.URL+"/oauth2/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("exchange answer is not JSON: %s", body)
	}
	if tail := jwt[max(0, len(jwt)-16):]; strings.Contains(string(body), tail) {
		t.Errorf("the answer echoes the subject token: %s", body)
	}
	return resp.StatusCode, out
}

// fedSetup creates a service account and a GitHub-Actions-style policy on s.
func fedSetup(t *testing.T, s *servertest.Server, is *oidctest.Issuer, name string, conditions map[string]string) (admin, policyID string) {
	t.Helper()
	admin = s.AdminSession(t)
	if st, _, _ := s.Do(t, http.MethodGet, "/api/v1/users/deployer", admin, nil); st == http.StatusNotFound {
		s.CreateUser(t, admin, "deployer", "", "admin", "service")
	}
	var p map[string]any
	s.JSON(t, http.MethodPost, "/api/v1/federation/policies", admin, map[string]any{
		"name": name, "issuer": is.URL, "audience": "latchkey", "conditions": conditions,
		"service_account": "deployer", "scopes": []string{"repo", "tokens"}, "max_lifetime": "10m",
	}, http.StatusCreated, &p)
	id, _ := p["id"].(string)
	if id == "" || p["max_lifetime"] != "10m0s" || p["issuer"] != is.URL {
		t.Fatalf("created policy = %v", p)
	}
	return admin, id
}

func TestFederatedExchangeWorksOnEverySurfaceAndIsAudited(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		is := oidctest.Start(t)
		admin, policyID := fedSetup(t, s, is, "web-deploy", map[string]string{
			"repository": "acme/web", "ref": "refs/heads/main", "sub": "repo:acme/*:ref:refs/heads/main",
		})
		st, out := exchange(t, s, is.Mint(t, oidctest.GitHubClaims("acme/web", "refs/heads/main", "", "latchkey")), nil)
		if st != http.StatusOK {
			t.Fatalf("exchange: %d %v", st, out)
		}
		secret, _ := out["access_token"].(string)
		if !strings.HasPrefix(secret, "lk_fed_") || out["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" ||
			out["token_type"] != "Bearer" || out["expires_in"].(float64) < 590 || out["expires_in"].(float64) > 600 {
			t.Fatalf("exchange answer = %v", out)
		}

		// The API.
		var me struct {
			User  struct{ Username string }
			Token struct {
				ID   string
				Kind string
			}
		}
		s.JSON(t, http.MethodGet, "/api/v1/me", secret, nil, http.StatusOK, &me)
		if me.User.Username != "deployer" || me.Token.Kind != "fed" {
			t.Fatalf("/api/v1/me = %+v", me)
		}
		// Forward-auth.
		if st, body, _ := s.Do(t, http.MethodGet, "/auth/verify/acme/web.git/info/refs", secret, nil); st != http.StatusOK {
			t.Errorf("/auth/verify with the fed token: %d %s", st, body)
		}
		// Exchange to a JWT (the PAT exchange takes fed tokens as subject).
		var jwtOut map[string]any
		form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {secret},
			"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}
		resp, err := s.Client.Post(s.URL+"/oauth2/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(resp.Body).Decode(&jwtOut)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.Count(jwtOut["access_token"].(string), ".") != 2 {
			t.Errorf("exchange of the fed token for a JWT: %d %v", resp.StatusCode, jwtOut)
		}

		// Introspection (RFC 7662) by a resource server holding introspect.
		rs := s.CreateToken(t, admin, map[string]any{"name": "resource-server", "scopes": []string{"introspect"}})
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth2/introspect", strings.NewReader(url.Values{"token": {secret}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+rs.Secret)
		iresp, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var intro map[string]any
		_ = json.NewDecoder(iresp.Body).Decode(&intro)
		iresp.Body.Close()
		if intro["active"] != true || intro["username"] != "deployer" {
			t.Errorf("introspection of the fed token: %d %v", iresp.StatusCode, intro)
		}

		// The admin's view of the token.
		var tok map[string]any
		s.JSON(t, http.MethodGet, "/api/v1/tokens/"+me.Token.ID, admin, nil, http.StatusOK, &tok)
		fed, _ := tok["federation"].(map[string]any)
		claims, _ := fed["claims"].(map[string]any)
		if tok["kind"] != "fed" || fed["policy_id"] != policyID || claims["repository"] != "acme/web" || claims["run_id"] != "5123456789" {
			t.Errorf("token object = %v", tok)
		}
		var page struct{ Items []map[string]any }
		s.JSON(t, http.MethodGet, "/api/v1/tokens?all=true&kind=fed", admin, nil, http.StatusOK, &page)
		if len(page.Items) != 1 || page.Items[0]["id"] != me.Token.ID {
			t.Errorf("all fed tokens = %v", page.Items)
		}
		var audit struct{ Items []map[string]any }
		s.JSON(t, http.MethodGet, "/api/v1/audit?action=token.federate", admin, nil, http.StatusOK, &audit)
		if len(audit.Items) != 1 || !strings.Contains(mustJSON(audit.Items[0]), `"repository":"acme/web"`) {
			t.Errorf("audit of the exchange = %v", audit.Items)
		}

		// Deleting the policy kills the token.
		s.JSON(t, http.MethodDelete, "/api/v1/federation/policies/"+policyID, admin, nil, http.StatusNoContent, nil)
		if st, _, _ := s.Do(t, http.MethodGet, "/api/v1/me", secret, nil); st != http.StatusUnauthorized {
			t.Errorf("fed token after its policy was deleted: %d; want 401", st)
		}
	}, fedSecretArg)
}

func TestFederatedExchangeRefusals(t *testing.T) {
	s := servertest.Start(t)
	is := oidctest.Start(t)
	admin, _ := fedSetup(t, s, is, "web-deploy", map[string]string{"repository": "acme/web", "ref": "refs/heads/main", "event_name": "push"})
	gh := func(mods map[string]any) string {
		c := oidctest.GitHubClaims("acme/web", "refs/heads/main", "", "latchkey")
		for k, v := range mods {
			c[k] = v
		}
		return is.Mint(t, c)
	}
	replayed := gh(nil)
	if st, out := exchange(t, s, replayed, nil); st != http.StatusOK {
		t.Fatalf("first exchange: %d %v", st, out)
	}
	other := oidctest.Start(t)
	// Naming the policy, the caller learns which of its checks failed
	// (TestFederatedRefusalNamesNoPolicyAndPointsToTheLog: not otherwise).
	named := url.Values{"policy": {"web-deploy"}}
	for _, tc := range []struct {
		name   string
		jwt    string
		extra  url.Values
		status int
		code   string
		says   string
	}{
		{"replayed jti", replayed, nil, 400, "invalid_grant", "already exchanged"},
		{"other repository", gh(map[string]any{"repository": "acme/api"}), named, 400, "invalid_grant", "condition:repository"},
		{"other branch", gh(map[string]any{"ref": "refs/heads/dev"}), named, 400, "invalid_grant", "condition:ref"},
		{"other event", gh(map[string]any{"event_name": "pull_request"}), named, 400, "invalid_grant", "condition:event_name"},
		{"wrong audience", gh(map[string]any{"aud": "sts.amazonaws.com"}), nil, 400, "invalid_grant", "audience"},
		{"untrusted issuer", other.Mint(t, oidctest.GitHubClaims("acme/web", "refs/heads/main", "", "latchkey")), nil, 400, "invalid_grant", "not trusted"},
		{"scope beyond the policy", gh(nil), url.Values{"scope": {"admin:org"}}, 400, "invalid_scope", "does not grant"},
		{"unknown policy name", gh(nil), url.Values{"policy": {"nope"}}, 400, "invalid_grant", "no enabled federation policy named"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, out := exchange(t, s, tc.jwt, tc.extra)
			if st != tc.status || out["error"] != tc.code || !strings.Contains(out["error_description"].(string), tc.says) {
				t.Errorf("answer %d %v; want %d %s saying %q", st, out, tc.status, tc.code, tc.says)
			}
		})
	}
	t.Run("scope narrows", func(t *testing.T) {
		st, out := exchange(t, s, gh(nil), url.Values{"scope": {"repo:read"}})
		if st != http.StatusOK || out["scope"] != "repo:read" {
			t.Fatalf("answer %d %v", st, out)
		}
		if st, _, _ := s.Do(t, http.MethodGet, "/api/v1/tokens", out["access_token"].(string), nil); st != http.StatusForbidden {
			t.Errorf("narrowed token may list tokens: %d", st)
		}
	})
	t.Run("two matching policies need policy=", func(t *testing.T) {
		fedSetup(t, s, is, "web-any", map[string]string{"repository": "acme/*"})
		st, out := exchange(t, s, gh(nil), nil)
		if st != 400 || out["error"] != "invalid_request" || !strings.Contains(out["error_description"].(string), "policy=") {
			t.Fatalf("ambiguous: %d %v", st, out)
		}
		if st, out := exchange(t, s, gh(nil), url.Values{"policy": {"web-any"}}); st != http.StatusOK {
			t.Fatalf("with policy=web-any: %d %v", st, out)
		}
	})
	t.Run("disabling a policy revokes its tokens and stops it", func(t *testing.T) {
		_, out := exchange(t, s, gh(nil), url.Values{"policy": {"web-any"}})
		secret := out["access_token"].(string)
		var list struct{ Items []map[string]any }
		s.JSON(t, http.MethodGet, "/api/v1/federation/policies", admin, nil, http.StatusOK, &list)
		var id string
		for _, p := range list.Items {
			if p["name"] == "web-any" {
				id = p["id"].(string)
			}
		}
		s.JSON(t, http.MethodPatch, "/api/v1/federation/policies/"+id, admin, map[string]any{"disabled": true}, http.StatusOK, nil)
		if st, _, _ := s.Do(t, http.MethodGet, "/api/v1/me", secret, nil); st != http.StatusUnauthorized {
			t.Errorf("token of a disabled policy: %d; want 401", st)
		}
		if st, out := exchange(t, s, gh(nil), url.Values{"policy": {"web-any"}}); st != 400 {
			t.Errorf("exchange with a disabled policy: %d %v", st, out)
		}
	})
	t.Run("issuer down with no cached key is a clear 503", func(t *testing.T) {
		down := oidctest.Start(t)
		fedSetup(t, s, down, "down", map[string]string{"repository": "acme/web"})
		down.SetDown(true)
		st, out := exchange(t, s, down.Mint(t, oidctest.GitHubClaims("acme/web", "refs/heads/main", "", "latchkey")), nil)
		if st != http.StatusServiceUnavailable || out["error"] != "temporarily_unavailable" {
			t.Errorf("answer %d %v; want 503 temporarily_unavailable", st, out)
		}
	})
}

func TestFederationPolicyAPIValidatesAndIsForAdmins(t *testing.T) {
	s := servertest.Start(t)
	is := oidctest.Start(t)
	admin := s.AdminSession(t)
	s.CreateUser(t, admin, "deployer", "", "member", "service")
	s.CreateUser(t, admin, "alice", "alice-password-1", "member", "person")
	alice := s.Login(t, "alice", "alice-password-1")
	good := func(mod map[string]any) map[string]any {
		b := map[string]any{"name": "p", "issuer": is.URL, "audience": "latchkey", "conditions": map[string]string{"repository": "acme/web"},
			"service_account": "deployer", "scopes": []string{"repo:read"}}
		for k, v := range mod {
			b[k] = v
		}
		return b
	}
	for _, tc := range []struct {
		name   string
		bearer string
		body   map[string]any
		status int
		says   string
	}{
		{"member", alice, good(nil), 403, "owner or admin"},
		{"no conditions", admin, good(map[string]any{"conditions": map[string]string{}}), 422, "condition"},
		{"http issuer not on loopback", admin, good(map[string]any{"issuer": "http://issuer.example.com"}), 422, "https"},
		{"person as service account", admin, good(map[string]any{"service_account": "alice"}), 422, "service"},
		{"scope beyond the account's role", admin, good(map[string]any{"scopes": []string{"admin:org"}}), 403, "role"},
		{"bad glob", admin, good(map[string]any{"conditions": map[string]string{"ref": "refs/[x"}}), 422, "glob"},
		{"bad lifetime", admin, good(map[string]any{"max_lifetime": "48h"}), 422, "max_lifetime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body, _ := s.Do(t, http.MethodPost, "/api/v1/federation/policies", tc.bearer, tc.body)
			if st != tc.status || !strings.Contains(string(body), tc.says) {
				t.Errorf("answer %d %s; want %d saying %q", st, body, tc.status, tc.says)
			}
		})
	}
	var p map[string]any
	s.JSON(t, http.MethodPost, "/api/v1/federation/policies", admin, good(nil), http.StatusCreated, &p)
	if p["max_lifetime"] != "15m0s" {
		t.Errorf("default max_lifetime = %v; want 15m0s", p["max_lifetime"])
	}
	s.JSON(t, http.MethodPost, "/api/v1/federation/policies", admin, good(nil), http.StatusConflict, nil)
	s.JSON(t, http.MethodGet, "/api/v1/federation/policies/"+p["id"].(string), alice, nil, http.StatusForbidden, nil)
	var patched map[string]any
	s.JSON(t, http.MethodPatch, "/api/v1/federation/policies/"+p["id"].(string), admin,
		map[string]any{"conditions": map[string]string{"sub": "repo:acme/web:*"}}, http.StatusOK, &patched)
	if c := patched["conditions"].(map[string]any); len(c) != 1 || c["sub"] != "repo:acme/web:*" {
		t.Errorf("patched conditions = %v", c)
	}
	s.JSON(t, http.MethodGet, "/api/v1/federation/policies/00000000-0000-7000-8000-000000000000", admin, nil, http.StatusNotFound, nil)
	// A cursor this server did not return is refused, not read as the end
	// of the list.
	for _, cursor := range []string{"abc", "zzzz", "eyJ4IjoxfQ"} {
		st, body, _ := s.Do(t, http.MethodGet, "/api/v1/federation/policies?limit=1&cursor="+cursor, admin, nil)
		if st != http.StatusUnprocessableEntity || !strings.Contains(string(body), "next_cursor") {
			t.Errorf("cursor %q: %d %s; want 422 naming next_cursor", cursor, st, body)
		}
	}
}

// TestDeletingAPolicyKillsItsTokensOnAnotherReplica: replica B has the fed
// token cached for an hour; only the invalidation feed can make it refuse.
func TestDeletingAPolicyKillsItsTokensOnAnotherReplica(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	shared := servertest.NewPostgresSchema(t, dsn)
	a := servertest.StartReplica(t, shared, "--cache-ttl=1h", fedSecretArg)
	b := servertest.StartReplica(t, shared, "--cache-ttl=1h", fedSecretArg)
	is := oidctest.Start(t)
	admin, policyID := fedSetup(t, a, is, "gitlab-deploy", map[string]string{"project_path": "acme/web", "ref": "main"})
	st, out := exchange(t, b, is.Mint(t, oidctest.GitLabClaims("acme/web", "main", "production", "latchkey")), nil)
	if st != http.StatusOK {
		t.Fatalf("exchange on B: %d %v", st, out)
	}
	secret := out["access_token"].(string)
	b.JSON(t, http.MethodGet, "/api/v1/me", secret, nil, http.StatusOK, nil)
	a.JSON(t, http.MethodDelete, "/api/v1/federation/policies/"+policyID, admin, nil, http.StatusNoContent, nil)
	eventually(t, "fed token refused on B after its policy was deleted on A", func() bool {
		st, _, _ := b.Do(t, http.MethodGet, "/api/v1/me", secret, nil)
		return st == http.StatusUnauthorized
	})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestOnlyOwnersMayLetAFederationPolicyActAsAnOwner: a policy's tokens act
// as its service account, so an admin who could point a policy at an
// owner (or widen one that is) would mint owner tokens from an issuer of
// their choosing, which on-behalf token creation refuses them. Disabling,
// renaming, describing and deleting such a policy stay theirs.
func TestOnlyOwnersMayLetAFederationPolicyActAsAnOwner(t *testing.T) {
	s := servertest.Start(t)
	is := oidctest.Start(t)
	owner := s.AdminSession(t)
	s.CreateUser(t, owner, "root-bot", "", "owner", "service")
	s.CreateUser(t, owner, "ci-bot", "", "member", "service")
	s.CreateUser(t, owner, "carol", "carol-password-1", "admin", "person")
	carol := s.Login(t, "carol", "carol-password-1")
	policy := func(name, account string) map[string]any {
		return map[string]any{"name": name, "issuer": is.URL, "audience": "latchkey", "conditions": map[string]string{"sub": "carol"},
			"service_account": account, "scopes": []string{"repo:read"}}
	}
	expect := func(what string, st int, body []byte, want int) {
		t.Helper()
		if st != want || (want == http.StatusForbidden && !strings.Contains(string(body), "only owners")) {
			t.Errorf("%s: %d %s; want %d", what, st, body, want)
		}
	}
	st, body, _ := s.Do(t, http.MethodPost, "/api/v1/federation/policies", carol, policy("carol-root", "root-bot"))
	expect("an admin creating a policy acting as an owner", st, body, http.StatusForbidden)

	var mine map[string]any
	s.JSON(t, http.MethodPost, "/api/v1/federation/policies", carol, policy("carol-ci", "ci-bot"), http.StatusCreated, &mine)
	st, body, _ = s.Do(t, http.MethodPatch, "/api/v1/federation/policies/"+mine["id"].(string), carol, map[string]any{"service_account": "root-bot"})
	expect("an admin pointing a policy at an owner", st, body, http.StatusForbidden)

	var owners map[string]any
	s.JSON(t, http.MethodPost, "/api/v1/federation/policies", owner, policy("owner-root", "root-bot"), http.StatusCreated, &owners)
	path := "/api/v1/federation/policies/" + owners["id"].(string)
	for _, tc := range []struct {
		what string
		body map[string]any
		want int
	}{
		{"another issuer", map[string]any{"issuer": "http://127.0.0.1:1"}, http.StatusForbidden},
		{"other conditions", map[string]any{"conditions": map[string]string{"sub": "*"}}, http.StatusForbidden},
		{"another audience", map[string]any{"audience": "other"}, http.StatusForbidden},
		{"broader scopes", map[string]any{"scopes": []string{"repo"}}, http.StatusForbidden},
		{"a longer lifetime", map[string]any{"max_lifetime": "1h"}, http.StatusForbidden},
		{"a description", map[string]any{"description": "owned by the platform team"}, http.StatusOK},
		{"disabling", map[string]any{"disabled": true}, http.StatusOK},
		{"enabling", map[string]any{"disabled": false}, http.StatusForbidden},
	} {
		st, body, _ := s.Do(t, http.MethodPatch, path, carol, tc.body)
		expect("an admin changing an owner's policy: "+tc.what, st, body, tc.want)
	}
	var got map[string]any
	s.JSON(t, http.MethodGet, path, owner, nil, http.StatusOK, &got)
	if got["issuer"] != is.URL || got["disabled"] != true || got["scopes"].([]any)[0] != "repo:read" {
		t.Errorf("the owner's policy after the admin's refused changes: %v", got)
	}
	s.JSON(t, http.MethodPatch, path, owner, map[string]any{"disabled": false, "scopes": []string{"repo"}}, http.StatusOK, nil)
	s.JSON(t, http.MethodDelete, path, carol, nil, http.StatusNoContent, nil)
}
