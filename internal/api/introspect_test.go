package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
)

func introspect(t testing.TB, s *servertest.Server, auth, tok string) reply {
	t.Helper()
	return send(t, s, call{Method: http.MethodPost, Path: "/oauth2/introspect", Auth: auth,
		Body: url.Values{"token": {tok}}.Encode(), ContentType: "application/x-www-form-urlencoded"})
}

type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope"`
	Username  string `json:"username"`
	Sub       string `json:"sub"`
	TokenType string `json:"token_type"`
	Exp       int64  `json:"exp"`
	Iat       int64  `json:"iat"`
	ClientID  string `json:"client_id"`
	TokenID   string `json:"token_id"`
}

func TestIntrospectionAnswersActiveTokensWithTheirClaims(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		caller := createToken(t, s, w.Other, map[string]any{"name": "resource-server", "scopes": []string{"introspect"}})
		subject := createToken(t, s, w.Member, map[string]any{"name": "ci", "scopes": []string{"repo:read=acme/*", "job"}, "expires_in": "30d"})
		r := introspect(t, s, bearer(caller.Secret), subject.Secret)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q", ct)
		}
		if h, _ := time.Parse(time.RFC3339, r.Header.Get("Latchkey-Token-Expiration")); absDur(h.Sub(*caller.Token.ExpiresAt)) > time.Second {
			t.Errorf("Latchkey-Token-Expiration %q, want the caller's expiry %v", r.Header.Get("Latchkey-Token-Expiration"), caller.Token.ExpiresAt)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
		got := decode[introspection](t, r, http.StatusOK)
		if !got.Active || got.Username != "mia" || got.Sub != w.MemberID || got.TokenID != subject.Token.ID {
			t.Errorf("introspection = %+v", got)
		}
		if got.Scope != "job repo:read=acme/*" {
			t.Errorf("scope %q, want the space-separated grants \"job repo:read=acme/*\"", got.Scope)
		}
		if got.Exp != subject.Token.ExpiresAt.Unix() || absDur(time.Unix(got.Iat, 0).Sub(subject.Token.CreatedAt)) > time.Second {
			t.Errorf("exp %d iat %d, want %d and about %d", got.Exp, got.Iat, subject.Token.ExpiresAt.Unix(), subject.Token.CreatedAt.Unix())
		}
		// A session with the full role may introspect too (admins hold introspect).
		if r := introspect(t, s, w.Owner, subject.Secret); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"active":true`) {
			t.Errorf("owner session introspecting: %s", r)
		}
		// Effective scopes: a demoted owner's admin scope is not reported.
		adm := createToken(t, s, w.Admin, map[string]any{"name": "adm", "scopes": []string{"admin:org", "repo"}})
		send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/users/" + w.AdminID, Auth: w.Owner, Body: map[string]any{"role": "member"}})
		if r := introspect(t, s, bearer(caller.Secret), adm.Secret); strings.Contains(string(r.Body), "admin:org") {
			t.Errorf("introspection reports a scope the owner's role no longer has: %s", r.Body)
		}
	})
}

func TestIntrospectionOfDeadTokensIsJustInactive(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		caller := createToken(t, s, w.Other, map[string]any{"name": "rs", "scopes": []string{"introspect"}})
		revoked := createToken(t, s, w.Member, map[string]any{"name": "revoked"})
		send(t, s, call{Method: http.MethodDelete, Path: "/api/v1/tokens/" + revoked.Token.ID, Auth: w.Member})
		regenerated := createToken(t, s, w.Member, map[string]any{"name": "regenerated"})
		regenerate(t, s, w.Member, regenerated.Token.ID, nil)
		_, expired := plantToken(t, s, w.MemberID, "expired", time.Now().AddDate(0, 0, -10), ptr(time.Now().Add(-time.Hour)))
		suspendedID := s.CreateUser(t, strings.TrimPrefix(w.Owner, "Bearer "), "sus", memberPassword, "member", "person")
		suspended := createToken(t, s, w.Owner, map[string]any{"name": "sus", "user_id": suspendedID})
		send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/users/sus", Auth: w.Owner, Body: map[string]any{"suspended": true}})
		for name, tok := range map[string]string{
			"revoked":          revoked.Secret,
			"regenerated away": regenerated.Secret,
			"expired":          expired,
			"owner suspended":  suspended.Secret,
			"gibberish":        "not a token at all",
			"bad checksum":     revoked.Secret[:len(revoked.Secret)-2] + "zz",
		} {
			r := introspect(t, s, bearer(caller.Secret), tok)
			if r.Status != http.StatusOK {
				t.Errorf("%s: status %d: %s", name, r.Status, r.Body)
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(r.Body, &m); err != nil || len(m) != 1 || m["active"] != false {
				t.Errorf("%s: %s, want exactly {\"active\":false}", name, r.Body)
			}
		}
	})
}

func TestIntrospectionCallerMustHoldTheIntrospectScope(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		subject := createToken(t, s, w.Member, map[string]any{"name": "subject"})
		noScope := createToken(t, s, w.Other, map[string]any{"name": "rs", "scopes": []string{"repo", "tokens"}})
		caller := createToken(t, s, w.Other, map[string]any{"name": "ok", "scopes": []string{"introspect"}})

		e := wantOAuthError(t, introspect(t, s, bearer(noScope.Secret), subject.Secret), http.StatusForbidden, "insufficient_scope")
		if !strings.Contains(e.Description, "introspect") {
			t.Errorf("403 does not name the introspect scope: %s", e.Description)
		}
		wantOAuthError(t, introspect(t, s, "", subject.Secret), http.StatusUnauthorized, "invalid_client")
		wantOAuthError(t, introspect(t, s, "Bearer nonsense", subject.Secret), http.StatusUnauthorized, "invalid_client")
		send(t, s, call{Method: http.MethodDelete, Path: "/api/v1/tokens/" + noScope.Token.ID, Auth: w.Other})
		wantOAuthError(t, introspect(t, s, bearer(noScope.Secret), subject.Secret), http.StatusUnauthorized, "invalid_client")

		// Malformed introspection requests from a proper caller.
		auth := bearer(caller.Secret)
		for _, c := range []struct {
			name   string
			call   call
			status int
		}{
			{"GET", call{Method: http.MethodGet, Path: "/oauth2/introspect"}, http.StatusMethodNotAllowed},
			{"JSON body", call{Method: http.MethodPost, Path: "/oauth2/introspect", Body: map[string]string{"token": subject.Secret}}, http.StatusBadRequest},
			{"no token parameter", call{Method: http.MethodPost, Path: "/oauth2/introspect", Body: "token_type_hint=access_token", ContentType: "application/x-www-form-urlencoded"}, http.StatusBadRequest},
			{"empty body", call{Method: http.MethodPost, Path: "/oauth2/introspect", Body: "", ContentType: "application/x-www-form-urlencoded"}, http.StatusBadRequest},
			{"bad form encoding", call{Method: http.MethodPost, Path: "/oauth2/introspect", Body: "token=%zz", ContentType: "application/x-www-form-urlencoded"}, http.StatusBadRequest},
			{"token in the URL", call{Method: http.MethodPost, Path: "/oauth2/introspect?token=" + subject.Secret, Body: "", ContentType: "application/x-www-form-urlencoded"}, http.StatusBadRequest},
		} {
			c.call.Auth = auth
			r := send(t, s, c.call)
			wantOAuthError(t, r, c.status, "invalid_request")
		}
	})
}

type oauthErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// wantOAuthError checks an RFC 6749 §5.2 error: application/json with
// error and error_description, and on 401 a challenge.
func wantOAuthError(t testing.TB, r reply, status int, code string) oauthErrorBody {
	t.Helper()
	var e oauthErrorBody
	if r.Status != status || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Errorf("status %d %q, want %d application/json: %s", r.Status, r.Header.Get("Content-Type"), status, r.Body)
	}
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error != code || e.Description == "" {
		t.Errorf("body %s, want error %q with a description", r.Body, code)
	}
	if status == http.StatusUnauthorized && len(r.Header.Values("WWW-Authenticate")) == 0 {
		t.Errorf("401 without a WWW-Authenticate challenge")
	}
	return e
}
