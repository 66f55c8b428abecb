package sts_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/sts"
	"github.com/latchkey/latchkey/internal/testenv"
)

// revokePath is where RFC 7009 revocation is served; spelled out so that
// the tests say what a client is configured with.
const revokePath = "/oauth2/revoke"

// verifyPath is forward-auth for a git clone, which repo:read allows.
const verifyPath = "/auth/verify/acme/web.git/info/refs?service=git-upload-pack"

// revokeForm posts form to /oauth2/revoke and returns status, headers and
// the raw body (not decoded: a 200 has none).
func revokeForm(t *testing.T, s *servertest.Server, method, contentType, body string, header ...string) (int, http.Header, string) {
	t.Helper()
	return sendRaw(t, s, method, revokePath, contentType, body, header...)
}

// status is what the server answers bearer at path (GET).
func status(t *testing.T, s *servertest.Server, path, bearer string) int {
	t.Helper()
	st, _, _ := s.Do(t, http.MethodGet, path, bearer, nil)
	return st
}

// TestOpenIDClientRevokesTokensItHolds runs
// testdata/openid-client/revoke.mjs: openid-client v6 discovers the
// revocation endpoint and revokes a PAT and a session token it holds, as a
// public client. The PAT is refused at once by /api/v1/me, by forward-auth
// (whose answer was cached) and by introspection; the session is signed
// out; the audit log says the token revoked itself through /oauth2/revoke.
// Unknown and garbage tokens answer 200 (RFC 7009 §2.2), a JWT
// unsupported_token_type, a confidential client revokes too, and a wrong
// client secret is invalid_client.
func TestOpenIDClientRevokesTokensItHolds(t *testing.T) {
	node := testenv.LookPath(t, "node", "the Debian package nodejs")
	modules := openIDClientModules(t)
	eachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		pat := patFor(t, s, admin, "laptop", []string{"repo:read"})
		pat2 := patFor(t, s, admin, "ci", []string{"repo:read"})
		rs := patFor(t, s, admin, "rs", []string{"introspect"})
		session := s.Login(t, servertest.AdminUser, servertest.AdminPassword)
		jwt, _ := exchange(t, s, rs.Secret)["access_token"].(string)
		// Warm every cache that answers for the PAT and the session.
		for _, path := range []string{"/api/v1/me", verifyPath} {
			if st := status(t, s, path, pat.Secret); st != 200 {
				t.Fatalf("before revocation: %s with the PAT: %d", path, st)
			}
		}
		if st := status(t, s, "/api/v1/me", session); st != 200 {
			t.Fatalf("before revocation: /api/v1/me with the session: %d", st)
		}

		cmd := exec.Command(node, "testdata/openid-client/revoke.mjs")
		cmd.Env = append(os.Environ(), "LK_URL="+s.URL, "LK_PAT="+pat.Secret, "LK_SESSION="+session, "LK_UNKNOWN="+unknownPAT(t),
			"LK_JWT="+jwt, "LK_CLIENT_SECRET="+rs.Secret, "LK_PAT2="+pat2.Secret, "NODE_PATH="+modules)
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("revoke.mjs: %v\n%s%s", err, out, stderr)
		}
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("revoke.mjs printed %s: %v", out, err)
		}
		disc, _ := got["discovered"].(map[string]any)
		if disc["revocation_endpoint"] != s.URL+revokePath {
			t.Errorf("discovered %v, want revocation_endpoint %s", disc, s.URL+revokePath)
		}
		for _, k := range []string{"pat", "pat_again", "session", "unknown", "garbage", "unknown_hint", "confidential"} {
			if got[k] != "revoked" {
				t.Errorf("%s: openid-client got %v, want a 200", k, got[k])
			}
		}
		if e, _ := got["jwt"].(map[string]any); e["error"] != "unsupported_token_type" || e["error_description"] == nil {
			t.Errorf("revoking a JWT: %v, want unsupported_token_type with a description", got["jwt"])
		}
		if e, _ := got["bad_client"].(map[string]any); e["error"] != "invalid_client" && e["status"] != float64(401) {
			t.Errorf("a wrong client secret: %v, want 401 invalid_client", got["bad_client"])
		}

		for _, path := range []string{"/api/v1/me", verifyPath} {
			if st := status(t, s, path, pat.Secret); st != 401 {
				t.Errorf("after revocation: %s with the PAT: %d, want 401", path, st)
			}
		}
		if st := status(t, s, "/api/v1/me", pat2.Secret); st != 401 {
			t.Errorf("after revocation by a confidential client: /api/v1/me: %d, want 401", st)
		}
		if ans := introspect(t, s, rs.Secret, pat.Secret); ans["active"] != false {
			t.Errorf("introspection after revocation: %v", ans)
		}
		if st := status(t, s, "/api/v1/me", session); st != 401 {
			t.Errorf("after revocation: /api/v1/me with the session: %d, want 401", st)
		}

		var audit struct {
			Items []struct {
				ActorName  string         `json:"actor_name"`
				Action     string         `json:"action"`
				TargetType string         `json:"target_type"`
				TargetID   string         `json:"target_id"`
				Details    map[string]any `json:"details"`
			} `json:"items"`
		}
		s.JSON(t, http.MethodGet, "/api/v1/audit?limit=100", admin, nil, 200, &audit)
		revoked := map[string]int{}
		for _, e := range audit.Items {
			if e.Details["via"] != revokePath {
				continue
			}
			if e.ActorName != servertest.AdminUser {
				t.Errorf("event %+v: actor %q, want the token's owner", e, e.ActorName)
			}
			revoked[e.Action+" "+e.TargetID]++
		}
		if revoked["token.revoke "+pat.ID()] != 1 || revoked["token.revoke "+pat2.ID()] != 1 || len(revoked) != 3 {
			t.Errorf("audit events through %s: %v; want one token.revoke per PAT and one for the session", revokePath, revoked)
		}
	})
}

// TestRevocationAnswersAsRFC7009Says sends what clients and attackers send
// to /oauth2/revoke. Every token that cannot be revoked now (unknown,
// malformed, expired, already revoked) gets the same 200 with an empty
// body (RFC 7009 §2.2); the request errors are RFC 6749 §5.2 JSON; every
// answer forbids caching.
func TestRevocationAnswersAsRFC7009Says(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		live := patFor(t, s, admin, "live", []string{"repo:read"})
		expired := patFor(t, s, admin, "expired", []string{"repo:read"})
		past := time.Now().Add(-time.Hour)
		if _, err := s.App.Store.UpdateToken(context.Background(), expired.ID(), func(tk *store.Token) error {
			tk.ExpiresAt = &past
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		gone := patFor(t, s, admin, "gone", []string{"repo:read"})
		if st, b, _ := s.Do(t, http.MethodDelete, "/api/v1/tokens/"+gone.ID(), admin, nil); st != 204 {
			t.Fatalf("revoke: %d %s", st, b)
		}
		noStore := func(t *testing.T, h http.Header) {
			t.Helper()
			if h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" {
				t.Errorf("Cache-Control %q Pragma %q, want no-store and no-cache", h.Get("Cache-Control"), h.Get("Pragma"))
			}
		}
		// The mistyped token differs from the real one in its last
		// character (a random one: "x" would be no typo one time in 62).
		typo := live.Secret[:len(live.Secret)-1] + "x"
		if typo == live.Secret {
			typo = live.Secret[:len(live.Secret)-1] + "y"
		}
		for name, tok := range map[string]string{
			"unknown": unknownPAT(t), "garbage": "junk", "bad checksum": typo,
			"expired": expired.Secret, "already revoked": gone.Secret, "unicode": "lk_pat_ünïcødé",
		} {
			t.Run(name, func(t *testing.T) {
				st, h, body := revokeForm(t, s, http.MethodPost, formCT, "token="+url.QueryEscape(tok))
				if st != 200 || body != "" {
					t.Fatalf("%d %q, want 200 with an empty body", st, body)
				}
				noStore(t, h)
			})
		}
		if st := status(t, s, "/api/v1/me", live.Secret); st != 200 {
			t.Fatalf("a token with a mistyped checksum revoked the real one: %d", st)
		}
		var ev struct {
			Items []map[string]any `json:"items"`
		}
		s.JSON(t, http.MethodGet, "/api/v1/audit?action=token.revoke&target_id="+expired.ID(), admin, nil, 200, &ev)
		if len(ev.Items) != 1 {
			t.Errorf("revoking the expired token by possession: %d audit events, want 1 (it stays revoked even if the policy changes)", len(ev.Items))
		}

		errs := []struct {
			name, method, ct, body, code string
			status                       int
			header                       []string
		}{
			{"repeated token", "POST", formCT, "token=" + live.Secret + "&token=" + unknownPAT(t), "invalid_request", 400, nil},
			{"repeated hint", "POST", formCT, "token=" + unknownPAT(t) + "&token_type_hint=a&token_type_hint=b", "invalid_request", 400, nil},
			{"missing token", "POST", formCT, "token_type_hint=access_token", "invalid_request", 400, nil},
			{"not a form", "POST", "application/json", `{"token":"x"}`, "invalid_request", 400, nil},
			{"bad form", "POST", formCT, "token=%zz", "invalid_request", 400, nil},
			{"JWT", "POST", formCT, "token=eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "unsupported_token_type", 400, nil},
			{"wrong client secret", "POST", formCT, "token=" + unknownPAT(t), "invalid_client", 401, []string{"Authorization", basic("cli", unknownPAT(t))}},
		}
		for _, tc := range errs {
			t.Run(tc.name, func(t *testing.T) {
				a := send(t, s, tc.method, revokePath, tc.ct, tc.body, tc.header...)
				if a.status != tc.status || a.body["error"] != tc.code || a.body["error_description"] == nil {
					t.Fatalf("%d %s, want %d %s with a description", a.status, a.raw, tc.status, tc.code)
				}
				noStore(t, a.header)
			})
		}
		t.Run("token in the URL", func(t *testing.T) {
			a := send(t, s, "POST", revokePath+"?token="+live.Secret, formCT, "")
			if a.status != 400 || a.body["error"] != "invalid_request" {
				t.Fatalf("%d %s", a.status, a.raw)
			}
		})
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut} {
			t.Run(m, func(t *testing.T) {
				st, h, _ := revokeForm(t, s, m, "", "")
				if st != 405 || h.Get("Allow") != "POST" {
					t.Fatalf("%d Allow %q, want 405 with Allow: POST", st, h.Get("Allow"))
				}
				noStore(t, h)
			})
		}
		if st := status(t, s, "/api/v1/me", live.Secret); st != 200 {
			t.Fatalf("refused requests revoked the token: %d", st)
		}
		t.Run("metadata", func(t *testing.T) {
			var md map[string]any
			s.JSON(t, http.MethodGet, sts.MetadataPath, "", nil, 200, &md)
			methods, _ := md["revocation_endpoint_auth_methods_supported"].([]any)
			if md["revocation_endpoint"] != s.URL+revokePath || len(methods) != 3 || methods[0] != "none" {
				t.Errorf("revocation_endpoint %v, auth methods %v", md["revocation_endpoint"], methods)
			}
		})
	})
}

// TestRevocationGuessesCountOnlyWhenNoTokenCouldMatch: strings that are no
// token of this server (malformed, checksum wrong) and well-formed tokens
// that match nothing count, silently, against the address's failed
// authentications, so revocation is no unlimited way to make the server
// look tokens up; a token that exists in any state (live, expired,
// revoked) never counts, so clients that revoke at logout, twice or late,
// cannot lock their office's address out. Once the address is blocked, a
// token whose verification is cached is still revoked, as it still works
// (auth.Edge.Verify).
func TestRevocationGuessesCountOnlyWhenNoTokenCouldMatch(t *testing.T) {
	s := start(t)
	admin := s.AdminSession(t)
	gone := patFor(t, s, admin, "gone", []string{"repo:read"})
	if st, b, _ := s.Do(t, http.MethodDelete, "/api/v1/tokens/"+gone.ID(), admin, nil); st != 204 {
		t.Fatalf("revoke: %d %s", st, b)
	}
	for i := 0; i < 60; i++ {
		if st, _, body := revokeForm(t, s, "POST", formCT, "token="+gone.Secret); st != 200 {
			t.Fatalf("revoking a revoked token for the %dth time: %d %s", i+1, st, body)
		}
	}
	cached := patFor(t, s, admin, "cached", []string{"repo:read"})
	if st := status(t, s, "/api/v1/me", cached.Secret); st != 200 {
		t.Fatalf("/api/v1/me: %d", st)
	}
	var st int
	var h http.Header
	for i := 0; i < 60 && st != 429; i++ {
		tok := unknownPAT(t)
		if i%2 == 0 {
			tok = "junk-" + tok
		}
		st, h, _ = revokeForm(t, s, "POST", formCT, "token="+tok)
	}
	if st != 429 || h.Get("Retry-After") == "" {
		t.Fatalf("60 guesses from one address: last answer %d (Retry-After %q), want 429 with Retry-After", st, h.Get("Retry-After"))
	}
	if st, _, body := revokeForm(t, s, "POST", formCT, "token="+cached.Secret); st != 200 {
		t.Fatalf("revoking a cached live token from the blocked address: %d %s", st, body)
	}
	// The address is still blocked, so the store says what became of it.
	if tk, err := s.App.Store.GetToken(context.Background(), cached.ID()); err != nil || tk.RevokedAt == nil {
		t.Fatalf("the cached token after revocation from the blocked address: %+v, %v; want it revoked", tk, err)
	}
}

// TestRevokingAPreviousSecretEndsOnlyItsGrace: the previous secret of a
// regenerated token, still working in its grace period, is a credential of
// its own: revoking it ends the grace period, and the new secret (which
// its holder may not have) keeps working.
func TestRevokingAPreviousSecretEndsOnlyItsGrace(t *testing.T) {
	s := start(t)
	admin := s.AdminSession(t)
	old := patFor(t, s, admin, "rolling", []string{"repo:read"})
	var regen struct {
		Secret string `json:"secret"`
	}
	s.JSON(t, http.MethodPost, "/api/v1/tokens/"+old.ID()+"/regenerate", admin, map[string]any{"grace_period": "10m"}, 200, &regen)
	if st := status(t, s, "/api/v1/me", old.Secret); st != 200 {
		t.Fatalf("the previous secret in its grace period: %d", st)
	}
	if st, _, body := revokeForm(t, s, "POST", formCT, "token="+old.Secret); st != 200 {
		t.Fatalf("revoke the previous secret: %d %s", st, body)
	}
	if st := status(t, s, "/api/v1/me", old.Secret); st != 401 {
		t.Errorf("the previous secret after its revocation: %d, want 401", st)
	}
	if st := status(t, s, "/api/v1/me", regen.Secret); st != 200 {
		t.Errorf("the new secret after the previous one was revoked: %d, want 200", st)
	}
}

// TestRevocationReachesOtherReplicas revokes a PAT through one replica's
// /oauth2/revoke while another has its verification cached: the other
// refuses it within the replication delay, as after DELETE
// /api/v1/tokens/{id}.
func TestRevocationReachesOtherReplicas(t *testing.T) {
	dsn := servertest.NewPostgresSchema(t, testenv.PostgresDSN(t))
	a := servertest.StartReplica(t, dsn, "--signing-key-secret", testSecret)
	b := servertest.StartReplica(t, dsn, "--signing-key-secret", testSecret)
	admin := a.AdminSession(t)
	pat := patFor(t, a, admin, "replicated", []string{"repo:read"})
	if st := status(t, b, verifyPath, pat.Secret); st != 200 {
		t.Fatalf("replica b before revocation: %d", st)
	}
	if st, _, body := revokeForm(t, a, "POST", formCT, "token="+pat.Secret); st != 200 {
		t.Fatalf("revoke on replica a: %d %s", st, body)
	}
	eventually(t, "replica b to refuse the revoked PAT", func() bool { return status(t, b, verifyPath, pat.Secret) == 401 })
}
