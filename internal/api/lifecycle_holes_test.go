package api_test

// One test per numbered finding of issue 11 ("close the holes in the token
// and session lifecycle"), each over a real server on both backends.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
)

func patch(t testing.TB, s *servertest.Server, auth, id string, body map[string]any) reply {
	t.Helper()
	return send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/tokens/" + id, Auth: auth, Body: body})
}

// Finding 1: with creation=admins a member may only revoke and narrow.
func TestAdminsOnlyPolicyLetsMembersOnlyNarrowAndRevokeTheirTokens(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		tk := createToken(t, s, w.Member, map[string]any{"name": "ci", "scopes": []string{"repo:read=acme/*"}, "expires_in": "30d"})
		putPolicy(t, s, w.Owner, policyJSON{DefaultLifetime: "30d", AllowNoExpiry: true, Creation: "admins"})

		p := wantProblem(t, patch(t, s, w.Member, tk.Token.ID, map[string]any{"scopes": []string{"repo", "tokens"}}), http.StatusForbidden)
		if !strings.Contains(p.Detail, "admin") {
			t.Errorf("widening 403 does not explain the policy: %s", p.Detail)
		}
		wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens/" + tk.Token.ID + "/regenerate", Auth: w.Member,
			Body: map[string]any{"no_expiry": true}}), http.StatusForbidden)
		wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens/" + tk.Token.ID + "/regenerate", Auth: w.Member}), http.StatusForbidden)
		if got := getToken(t, s, w.Member, tk.Token.ID); strings.Join(got.Scopes, " ") != "repo:read=acme/*" {
			t.Fatalf("scopes changed to %v", got.Scopes)
		}
		// Narrowing and restricting addresses stay allowed; so does revoking.
		r := patch(t, s, w.Member, tk.Token.ID, map[string]any{"scopes": []string{"repo:read=acme/web"}, "ip_allowlist": []string{"10.0.0.0/8"}})
		if got := decode[tokenJSON](t, r, http.StatusOK); strings.Join(got.Scopes, " ") != "repo:read=acme/web" {
			t.Errorf("narrowed scopes = %v", got.Scopes)
		}
		// Loosening the allowlist again widens the token: refused.
		wantProblem(t, patch(t, s, w.Member, tk.Token.ID, map[string]any{"ip_allowlist": []string{}}), http.StatusForbidden)
		if r := send(t, s, call{Method: http.MethodDelete, Path: "/api/v1/tokens/" + tk.Token.ID, Auth: w.Member}); r.Status != http.StatusNoContent {
			t.Fatalf("revoke under creation=admins: %s", r)
		}
		// Admins still do everything.
		adm := createToken(t, s, w.Admin, map[string]any{"name": "adm", "scopes": []string{"repo:read"}})
		decode[tokenJSON](t, patch(t, s, w.Admin, adm.Token.ID, map[string]any{"scopes": []string{"repo"}}), http.StatusOK)
		regenerate(t, s, w.Admin, adm.Token.ID, nil)
	})
}

// Finding 2: an admin may not widen an owner's token on any write.
func TestAdminCannotWidenAnOwnersToken(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		tk := createToken(t, s, w.Owner, map[string]any{"name": "owner-ci", "scopes": []string{"repo:read"}, "ip_allowlist": []string{"10.1.0.0/16"}})
		wantProblem(t, patch(t, s, w.Admin, tk.Token.ID, map[string]any{"scopes": []string{"*"}}), http.StatusForbidden)
		wantProblem(t, patch(t, s, w.Admin, tk.Token.ID, map[string]any{"scopes": []string{"repo", "admin:org"}}), http.StatusForbidden)
		wantProblem(t, patch(t, s, w.Admin, tk.Token.ID, map[string]any{"ip_allowlist": []string{}}), http.StatusForbidden)
		wantProblem(t, patch(t, s, w.Admin, tk.Token.ID, map[string]any{"ip_allowlist": []string{"0.0.0.0/0"}}), http.StatusForbidden)
		got := getToken(t, s, w.Owner, tk.Token.ID)
		if strings.Join(got.Scopes, " ") != "repo:read" || strings.Join(got.IPAllowlist, " ") != "10.1.0.0/16" {
			t.Fatalf("owner's token changed: scopes %v allowlist %v", got.Scopes, got.IPAllowlist)
		}
		// Narrowing an owner's token is still allowed (an admin may also revoke it).
		decode[tokenJSON](t, patch(t, s, w.Admin, tk.Token.ID, map[string]any{"ip_allowlist": []string{"10.1.2.0/24"}}), http.StatusOK)
		// The owner widens her own token.
		decode[tokenJSON](t, patch(t, s, w.Owner, tk.Token.ID, map[string]any{"scopes": []string{"repo"}, "ip_allowlist": []string{}}), http.StatusOK)
	})
}

// Finding 3: a leaked previous secret stops at once on every path.
func TestLeakedPreviousSecretStopsAtOnceOnEveryPath(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		caller := createToken(t, s, w.Other, map[string]any{"name": "rs", "scopes": []string{"introspect"}})
		tk := createToken(t, s, w.Member, map[string]any{"name": "deploy", "scopes": []string{"repo", "tokens"}})
		regen := regenerate(t, s, w.Member, tk.Token.ID, map[string]any{"grace_period": "1h"})
		old := tk.Secret
		// Every path accepts (and caches) the old secret during the grace.
		for _, a := range []string{bearer(old), basic("x", old), "token " + old} {
			me(t, s, a)
		}
		if r := send(t, s, call{Method: http.MethodGet, Path: "/auth/verify/acme/web.git/info/refs?service=git-upload-pack", Auth: bearer(old)}); r.Status != http.StatusOK {
			t.Fatalf("verify during grace: %s", r)
		}
		if r := introspect(t, s, bearer(caller.Secret), old); !strings.Contains(string(r.Body), `"active":true`) {
			t.Fatalf("introspect during grace: %s", r)
		}
		report := []map[string]string{{"token": old, "type": "latchkey_pat", "url": "https://example.com/leak"}}
		decode[[]map[string]any](t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/leaks", Body: report}), http.StatusOK)
		for _, a := range []string{bearer(old), basic("x", old), "token " + old} {
			want401(t, meStatus(t, s, a))
		}
		if r := send(t, s, call{Method: http.MethodGet, Path: "/auth/verify/acme/web.git/info/refs?service=git-upload-pack", Auth: bearer(old)}); r.Status != http.StatusUnauthorized {
			t.Errorf("verify after leak report: %s", r)
		}
		if r := introspect(t, s, bearer(caller.Secret), old); !strings.Contains(string(r.Body), `"active":false`) {
			t.Errorf("introspect after leak report: %s", r)
		}
		form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {old},
			"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}
		if r := send(t, s, call{Method: http.MethodPost, Path: "/oauth2/token", Body: form.Encode(), ContentType: "application/x-www-form-urlencoded"}); r.Status == http.StatusOK {
			t.Errorf("exchange of the leaked secret succeeded: %s", r)
		}
		me(t, s, bearer(regen.Secret))
	}, "--signing-key-secret", "test-signing-key-secret-0123456789")
}

type sessionJSON struct {
	ID         string     `json:"id"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	IP         string     `json:"ip"`
	UserAgent  string     `json:"user_agent"`
	Current    bool       `json:"current"`
}

type sessionList struct {
	Items      []sessionJSON `json:"items"`
	NextCursor string        `json:"next_cursor"`
}

func listSessions(t testing.TB, s *servertest.Server, auth, query string) sessionList {
	t.Helper()
	r := send(t, s, call{Method: http.MethodGet, Path: "/api/v1/sessions" + query, Auth: auth})
	keys := rawKeys(t, r.Body)
	if _, ok := keys["next_cursor"]; !ok {
		t.Errorf("session list lacks next_cursor: %s", r.Body)
	}
	return decode[sessionList](t, r, http.StatusOK)
}

func loginAs(t testing.TB, s *servertest.Server, user, password, agent string) string {
	t.Helper()
	r := send(t, s, call{Method: http.MethodPost, Path: "/api/v1/auth/login", Agent: agent,
		Body: map[string]string{"username": user, "password": password}})
	return bearer(decode[struct {
		Token string `json:"token"`
	}](t, r, http.StatusOK).Token)
}

// Finding 4: sessions are listed and ended, and end with password changes,
// suspension and the session that minted them.
func TestSessionsAreListedEndedAndDieWithPasswordChangesAndSuspension(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		laptop := loginAs(t, s, "mia", memberPassword, "laptop-browser/1.0")
		phone := loginAs(t, s, "mia", memberPassword, "phone-app/2.0")
		list := listSessions(t, s, laptop, "")
		if len(list.Items) != 3 {
			t.Fatalf("mia has %d sessions listed, want 3: %+v", len(list.Items), list.Items)
		}
		raw := send(t, s, call{Method: http.MethodGet, Path: "/api/v1/sessions", Auth: laptop})
		var shape struct {
			Items []map[string]json.RawMessage `json:"items"`
		}
		_ = json.Unmarshal(raw.Body, &shape)
		for _, k := range []string{"id", "created_at", "expires_at", "last_used_at", "ip", "user_agent", "current"} {
			if _, ok := shape.Items[0][k]; !ok {
				t.Errorf("session object lacks %q: %s", k, raw.Body)
			}
		}
		var current, phoneID string
		for _, it := range list.Items {
			if it.Current {
				current = it.ID
			}
			if it.UserAgent == "phone-app/2.0" {
				phoneID = it.ID
			}
			if it.IP != "127.0.0.1" {
				t.Errorf("session ip %q", it.IP)
			}
		}
		if current == "" || phoneID == "" || current == phoneID {
			t.Fatalf("current %q phone %q in %+v", current, phoneID, list.Items)
		}
		// Another member cannot see or end mia's sessions: they look absent.
		wantProblem(t, send(t, s, call{Method: http.MethodDelete, Path: "/api/v1/sessions/" + phoneID, Auth: w.Other}), http.StatusNotFound)
		wantProblem(t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/sessions?user_id=" + w.MemberID, Auth: w.Other}), http.StatusForbidden)
		if got := listSessions(t, s, w.Admin, "?user_id="+w.MemberID); len(got.Items) != 3 {
			t.Errorf("admin sees %d of mia's sessions, want 3", len(got.Items))
		}
		// End one.
		if r := send(t, s, call{Method: http.MethodDelete, Path: "/api/v1/sessions/" + phoneID, Auth: laptop}); r.Status != http.StatusNoContent {
			t.Fatalf("end one session: %s", r)
		}
		want401(t, meStatus(t, s, phone))
		// Log out everywhere else.
		if r := send(t, s, call{Method: http.MethodDelete, Path: "/api/v1/sessions", Auth: laptop}); r.Status != http.StatusNoContent {
			t.Fatalf("end other sessions: %s", r)
		}
		want401(t, meStatus(t, s, w.Member))
		me(t, s, laptop)
		if got := listSessions(t, s, laptop, ""); len(got.Items) != 1 || !got.Items[0].Current {
			t.Errorf("after logging out elsewhere: %+v", got.Items)
		}

		// Own password change: every other session ends, this one stays.
		other := loginAs(t, s, "mia", memberPassword, "x")
		decode[map[string]any](t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/users/" + w.MemberID, Auth: laptop,
			Body: map[string]any{"password": "a-brand-new-password"}}), http.StatusOK)
		want401(t, meStatus(t, s, other))
		me(t, s, laptop)
		// Admin reset: every session ends.
		decode[map[string]any](t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/users/" + w.MemberID, Auth: w.Admin,
			Body: map[string]any{"password": memberPassword}}), http.StatusOK)
		want401(t, meStatus(t, s, laptop))

		// Suspension then restore: the sessions stay ended.
		otto := loginAs(t, s, "otto", memberPassword, "y")
		decode[map[string]any](t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/users/" + w.OtherID, Auth: w.Admin,
			Body: map[string]any{"suspended": true}}), http.StatusOK)
		decode[map[string]any](t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/users/" + w.OtherID, Auth: w.Admin,
			Body: map[string]any{"suspended": false}}), http.StatusOK)
		want401(t, meStatus(t, s, otto))
		want401(t, meStatus(t, s, w.Other))
	})
}

// Finding 5: patterns per grant and pattern bytes per token are capped.
func TestHugePatternListsAreRefusedWithAClearError(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		pats := make([]string, 5000)
		for i := range pats {
			pats[i] = "acme/r" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "-" + itoa(i)
		}
		p := wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: w.Member,
			Body: map[string]any{"name": "huge", "scopes": []string{"repo:read=" + strings.Join(pats, ",")}}}), http.StatusUnprocessableEntity)
		if !strings.Contains(p.text(), "patterns") {
			t.Errorf("422 does not say what is too many: %s", p.text())
		}
		// Many grants, each under the per-grant cap, still hit the byte cap.
		var scopes []string
		for _, sc := range []string{"repo", "repo:read", "machine", "service", "job"} {
			scopes = append(scopes, sc+"="+strings.Join(pats[:30], ","))
		}
		long := make([]string, 30)
		for i := range long {
			long[i] = "acme/" + strings.Repeat("y", 150) + itoa(i)
		}
		scopes = append(scopes, "repo:read="+strings.Join(long, ","))
		p = wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: w.Member,
			Body: map[string]any{"name": "wide", "scopes": scopes}}), http.StatusUnprocessableEntity)
		if !strings.Contains(p.text(), "bytes") {
			t.Errorf("422 does not explain the byte cap: %s", p.text())
		}
		// The same caps hold on update.
		tk := createToken(t, s, w.Member, map[string]any{"name": "ok", "scopes": []string{"repo:read=acme/*"}})
		wantProblem(t, patch(t, s, w.Member, tk.Token.ID, map[string]any{"scopes": []string{"repo:read=" + strings.Join(pats, ",")}}), http.StatusUnprocessableEntity)
	})
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// Finding 6: a leak report is bounded, throttled and audited once.
func TestLeakReportsAreBoundedThrottledAndAuditedOnce(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		tk := createToken(t, s, w.Member, map[string]any{"name": "gone"})
		send(t, s, call{Method: http.MethodDelete, Path: "/api/v1/tokens/" + tk.Token.ID, Auth: w.Member})
		before := len(auditAll(t, s, w.Owner, ""))
		big := make([]map[string]string, 1000)
		for i := range big {
			big[i] = map[string]string{"token": tk.Secret}
		}
		r := send(t, s, call{Method: http.MethodPost, Path: "/api/v1/leaks", Body: big, From: "127.0.0.7"})
		if r.Status != http.StatusRequestEntityTooLarge && r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("1,000-secret report: %s; want 413 or 422", r)
		}
		if p := wantProblem(t, r, r.Status); !strings.Contains(p.text(), "at most") {
			t.Errorf("oversized report not explained: %s", p.text())
		}
		// A report within the bound writes one audit event, however many copies.
		live := createToken(t, s, w.Member, map[string]any{"name": "live"})
		before = len(auditAll(t, s, w.Owner, ""))
		batch := []map[string]string{}
		for range 50 {
			batch = append(batch, map[string]string{"token": tk.Secret}, map[string]string{"token": live.Secret, "url": "https://e.com/x"})
		}
		decode[[]map[string]any](t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/leaks", Body: batch, From: "127.0.0.7"}), http.StatusOK)
		want401(t, meStatus(t, s, bearer(live.Secret)))
		after := auditAll(t, s, w.Owner, "")
		if n := len(after) - before; n != 1 {
			t.Errorf("the report wrote %d audit events, want 1 summarising it", n)
		}
		// Reports that revoke nothing new count as failures: the limiter stops them.
		limited := false
		for range 40 {
			r := send(t, s, call{Method: http.MethodPost, Path: "/api/v1/leaks", Body: batch[:2], From: "127.0.0.8"})
			if r.Status == http.StatusTooManyRequests {
				limited = true
				break
			}
		}
		if !limited {
			t.Errorf("40 reports of already-revoked tokens were never throttled")
		}
		if n := len(auditAll(t, s, w.Owner, "")) - len(after); n > 25 {
			t.Errorf("throttled reports still wrote %d audit events", n)
		}
	})
}

// Finding 7: a suspended account answers like a wrong password; failed
// logins never store what may be a password; JWT revocation is precise.
func TestSuspendedLoginLooksLikeAWrongPasswordAndFailuresStoreNoSecrets(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		decode[map[string]any](t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/users/" + w.OtherID, Auth: w.Admin,
			Body: map[string]any{"suspended": true}}), http.StatusOK)
		right := send(t, s, call{Method: http.MethodPost, Path: "/api/v1/auth/login", Body: map[string]string{"username": "otto", "password": memberPassword}})
		wrong := send(t, s, call{Method: http.MethodPost, Path: "/api/v1/auth/login", Body: map[string]string{"username": "otto", "password": "not-the-password"}})
		if right.Status != http.StatusUnauthorized || wrong.Status != right.Status {
			t.Fatalf("suspended account: right password %d, wrong %d; want both 401", right.Status, wrong.Status)
		}
		var pr, pw problemBody
		_ = json.Unmarshal(right.Body, &pr)
		_ = json.Unmarshal(wrong.Body, &pw)
		if pr.Detail != pw.Detail {
			t.Errorf("answers differ: %q vs %q", pr.Detail, pw.Detail)
		}
		// A password typed into the user-name field is not stored.
		send(t, s, call{Method: http.MethodPost, Path: "/api/v1/auth/login", Body: map[string]string{"username": "Tr0ub4dor-and-3", "password": "x"}})
		for _, e := range auditAll(t, s, w.Owner, "&action=auth.login_failed") {
			b, _ := json.Marshal(e)
			if strings.Contains(string(b), "Tr0ub4dor") {
				t.Errorf("failed-login event stores an unknown user name: %s", b)
			}
		}
	})
}

func TestJWTMintedBeforeANoGraceRegenerateInTheSameSecondIsInactive(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		caller := createToken(t, s, w.Other, map[string]any{"name": "rs", "scopes": []string{"introspect"}})
		tk := createToken(t, s, w.Member, map[string]any{"name": "x", "scopes": []string{"repo:read"}})
		for attempt := 0; ; attempt++ {
			// Start right after a second boundary so both steps share a second.
			time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 20*time.Millisecond)))
			form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {tk.Secret},
				"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}
			r := send(t, s, call{Method: http.MethodPost, Path: "/oauth2/token", Body: form.Encode(), ContentType: "application/x-www-form-urlencoded"})
			jwt := decode[struct {
				AccessToken string `json:"access_token"`
			}](t, r, http.StatusOK).AccessToken
			start := time.Now()
			regen := regenerate(t, s, w.Member, tk.Token.ID, nil)
			tk.Secret = regen.Secret
			if time.Now().Truncate(time.Second) != start.Truncate(time.Second) && attempt < 3 {
				continue
			}
			if r := introspect(t, s, bearer(caller.Secret), jwt); !strings.Contains(string(r.Body), `"active":false`) {
				t.Fatalf("JWT minted before the regenerate is still active: %s", r)
			}
			return
		}
	}, "--signing-key-secret", "test-signing-key-secret-0123456789")
}

// Finding 9: expired tokens are not regenerated; "no expiration" turned off
// caps never-expiring tokens at use time, shown everywhere, previewed first.
func TestExpiredTokensAreNotRegeneratedAndNoExpiryPolicyReachesOldTokens(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		past := time.Now().Add(-48 * time.Hour)
		expiredID, _ := plantToken(t, s, w.MemberID, "old", past.Add(-24*time.Hour), &past, "repo")
		p := wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens/" + expiredID + "/regenerate", Auth: w.Member}), http.StatusConflict)
		if !strings.Contains(p.Detail, "create a new") {
			t.Errorf("refusal does not say to create a new token: %s", p.Detail)
		}

		created := time.Now().Add(-200 * 24 * time.Hour)
		foreverID, forever := plantToken(t, s, w.MemberID, "forever", created, nil, "repo")
		recentID, recent := plantToken(t, s, w.MemberID, "recent", time.Now().Add(-time.Hour), nil, "repo")
		me(t, s, bearer(forever))
		next := policyJSON{DefaultLifetime: "90d", AllowNoExpiry: false, Creation: "everyone"}
		prev := decode[map[string]any](t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/policy/preview", Auth: w.Owner, Body: next}), http.StatusOK)
		if prev["tokens_affected"] != float64(2) || prev["tokens_expiring_now"] != float64(1) {
			t.Errorf("preview = %v, want 2 affected, 1 expiring at once", prev)
		}
		if got := getToken(t, s, w.Member, foreverID); got.ExpiresAt != nil {
			t.Fatalf("preview changed the policy: expires_at %v", got.ExpiresAt)
		}
		putPolicy(t, s, w.Owner, next)
		want401(t, meStatus(t, s, bearer(forever)))
		me(t, s, bearer(recent))
		got := getToken(t, s, w.Member, recentID)
		if got.ExpiresAt == nil || absDur(got.ExpiresAt.Sub(time.Now().Add(90*24*time.Hour-time.Hour))) > time.Minute {
			t.Errorf("effective expiry of a never-expiring token under the new policy: %v, want creation + 90d", got.ExpiresAt)
		}
		if got := getToken(t, s, w.Member, foreverID); got.State != "expired" {
			t.Errorf("a 200-day-old never-expiring token is %q, want expired", got.State)
		}
	})
}
