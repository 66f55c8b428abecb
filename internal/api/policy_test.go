package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
)

type policyJSON struct {
	DefaultLifetime string `json:"default_lifetime"`
	MaxLifetime     string `json:"max_lifetime"`
	AllowNoExpiry   bool   `json:"allow_no_expiry"`
	Creation        string `json:"creation"`
}

func putPolicy(t testing.TB, s *servertest.Server, auth string, p policyJSON) policyJSON {
	t.Helper()
	return decode[policyJSON](t, send(t, s, call{Method: http.MethodPut, Path: "/api/v1/policy", Auth: auth, Body: p}), http.StatusOK)
}

func TestPolicyIsReadByAnyoneSignedInAndChangedByAdmins(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		r := send(t, s, call{Method: http.MethodGet, Path: "/api/v1/policy", Auth: w.Member})
		keys := rawKeys(t, r.Body)
		for _, k := range []string{"default_lifetime", "max_lifetime", "allow_no_expiry", "creation"} {
			if _, ok := keys[k]; !ok {
				t.Errorf("policy lacks %q: %s", k, r.Body)
			}
		}
		got := decode[policyJSON](t, r, http.StatusOK)
		if got != (policyJSON{DefaultLifetime: "4320h", MaxLifetime: "", AllowNoExpiry: true, Creation: "everyone"}) {
			t.Errorf("initial policy %+v", got)
		}
		want401(t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/policy"}))
		next := policyJSON{DefaultLifetime: "720h", MaxLifetime: "2160h", AllowNoExpiry: false, Creation: "admins"}
		p := wantProblem(t, send(t, s, call{Method: http.MethodPut, Path: "/api/v1/policy", Auth: w.Member, Body: next}), http.StatusForbidden)
		if !strings.Contains(p.Detail, "admin") {
			t.Errorf("403 does not explain: %s", p.Detail)
		}
		if got := putPolicy(t, s, w.Admin, next); got != next {
			t.Errorf("PUT answered %+v, want %+v", got, next)
		}
		if got := decode[policyJSON](t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/policy", Auth: w.Member}), http.StatusOK); got != next {
			t.Errorf("GET after PUT %+v, want %+v", got, next)
		}
		// Day counts are accepted too, and answered as Go durations, which
		// time.ParseDuration reads.
		if got := putPolicy(t, s, w.Admin, policyJSON{DefaultLifetime: "7d", MaxLifetime: "90d", Creation: "everyone"}); got.DefaultLifetime != "168h" || got.MaxLifetime != "2160h" {
			t.Errorf("durations written as %q / %q", got.DefaultLifetime, got.MaxLifetime)
		}
	})
}

func TestMaxLifetimeRefusesLongerTokensWithAClearError(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		putPolicy(t, s, w.Owner, policyJSON{MaxLifetime: "30d", AllowNoExpiry: true, Creation: "everyone"})
		create := func(body map[string]any) reply {
			return send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: w.Member, Body: body})
		}
		for _, body := range []map[string]any{
			{"name": "long", "expires_in": "31d"},
			{"name": "long", "expires_in": "744h"},
			{"name": "long", "expires_at": time.Now().AddDate(0, 0, 45).UTC().Format(time.RFC3339)},
		} {
			p := wantProblem(t, create(body), http.StatusUnprocessableEntity)
			if !strings.Contains(p.Detail, "30d") || !strings.Contains(p.Detail, "maximum") {
				t.Errorf("%v: refusal does not name the 30d maximum: %s", body, p.Detail)
			}
		}
		p := wantProblem(t, create(map[string]any{"name": "never", "no_expiry": true}), http.StatusUnprocessableEntity)
		if !strings.Contains(p.Detail, "expiration") {
			t.Errorf("no_expiry refusal: %s", p.Detail)
		}
		exact := decode[issued](t, create(map[string]any{"name": "exact", "expires_in": "30d"}), http.StatusCreated)
		if d := exact.Token.ExpiresAt.Sub(exact.Token.CreatedAt); absDur(d-30*24*time.Hour) > time.Second {
			t.Errorf("30d token lives %s", d)
		}
		// Without an expiration, the default is capped at the maximum.
		def := decode[issued](t, create(map[string]any{"name": "default"}), http.StatusCreated)
		if d := def.Token.ExpiresAt.Sub(def.Token.CreatedAt); absDur(d-30*24*time.Hour) > time.Second {
			t.Errorf("default token lives %s under a 30d maximum", d)
		}
		// Regeneration obeys the maximum too.
		p = wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens/" + exact.Token.ID + "/regenerate", Auth: w.Member,
			Body: map[string]any{"expires_in": "60d"}}), http.StatusUnprocessableEntity)
		if !strings.Contains(p.Detail, "30d") {
			t.Errorf("regenerate refusal: %s", p.Detail)
		}
	})
}

func TestNoExpiryOnlyWhenThePolicyAllowsIt(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		putPolicy(t, s, w.Owner, policyJSON{DefaultLifetime: "7d", AllowNoExpiry: false, Creation: "everyone"})
		p := wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: w.Member,
			Body: map[string]any{"name": "never", "no_expiry": true}}), http.StatusUnprocessableEntity)
		if !strings.Contains(p.Detail, "policy") {
			t.Errorf("refusal does not point at the policy: %s", p.Detail)
		}
		def := createToken(t, s, w.Member, map[string]any{"name": "default"})
		if def.Token.ExpiresAt == nil || absDur(def.Token.ExpiresAt.Sub(def.Token.CreatedAt)-7*24*time.Hour) > time.Second {
			t.Errorf("default lifetime 7d gave expires_at %v", def.Token.ExpiresAt)
		}
		putPolicy(t, s, w.Owner, policyJSON{DefaultLifetime: "7d", AllowNoExpiry: true, Creation: "everyone"})
		if got := createToken(t, s, w.Member, map[string]any{"name": "never", "no_expiry": true}); got.Token.ExpiresAt != nil {
			t.Errorf("no_expiry allowed but expires_at %v", got.Token.ExpiresAt)
		}
	})
}

func TestCreationByAdminsOnlyStopsMembers(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		before := createToken(t, s, w.Member, map[string]any{"name": "before", "scopes": []string{"tokens"}})
		putPolicy(t, s, w.Owner, policyJSON{AllowNoExpiry: true, Creation: "admins"})
		for _, auth := range []string{w.Member, bearer(before.Secret)} {
			p := wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: auth,
				Body: map[string]any{"name": "after"}}), http.StatusForbidden)
			if !strings.Contains(p.Detail, "admins") {
				t.Errorf("403 does not explain the policy: %s", p.Detail)
			}
		}
		// Existing tokens keep working and can still be managed.
		me(t, s, bearer(before.Secret))
		decode[tokenJSON](t, send(t, s, call{Method: http.MethodPatch, Path: "/api/v1/tokens/" + before.Token.ID, Auth: w.Member,
			Body: map[string]any{"description": "still mine"}}), http.StatusOK)
		// Admins still create, for themselves and on behalf of members.
		createToken(t, s, w.Admin, map[string]any{"name": "admin-own"})
		if got := createToken(t, s, w.Admin, map[string]any{"name": "for-mia", "user_id": w.MemberID}); got.Token.UserID != w.MemberID {
			t.Errorf("on-behalf token owned by %s", got.Token.UserID)
		}
	})
}

func TestLoweringMaxLifetimeCapsExistingTokensAtUseTime(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		day := 24 * time.Hour
		created := time.Now().Add(-40 * day).Truncate(time.Second)
		oldNever, oldNeverSecret := plantToken(t, s, w.MemberID, "old-never", created, nil, "repo")
		oldLong, oldLongSecret := plantToken(t, s, w.MemberID, "old-long", created, ptr(created.Add(90*day)), "repo")
		fresh := createToken(t, s, w.Member, map[string]any{"name": "fresh", "no_expiry": true})
		for _, sec := range []string{oldNeverSecret, oldLongSecret, fresh.Secret} {
			me(t, s, bearer(sec)) // all work, and may now be cached
		}

		putPolicy(t, s, w.Owner, policyJSON{MaxLifetime: "30d", AllowNoExpiry: true, Creation: "everyone"})
		// Counted from creation: the 40-day-old tokens are past the cap at once.
		for _, sec := range []string{oldNeverSecret, oldLongSecret} {
			p := want401(t, meStatus(t, s, bearer(sec)))
			if !strings.Contains(p.Detail, "expired") {
				t.Errorf("401 does not say expired: %s", p.Detail)
			}
		}
		for _, id := range []string{oldNever, oldLong} {
			got := getToken(t, s, w.Member, id)
			if got.State != "expired" || got.ExpiresAt == nil || !got.ExpiresAt.Equal(created.Add(30*day)) {
				t.Errorf("capped old token: state %s expires_at %v, want expired at %v", got.State, got.ExpiresAt, created.Add(30*day))
			}
		}
		// The fresh token now expires 30 days after its creation, and says so.
		r := meStatus(t, s, bearer(fresh.Secret))
		if r.Status != http.StatusOK {
			t.Fatalf("fresh token under the cap: %s", r)
		}
		wantExp := fresh.Token.CreatedAt.Add(30 * day)
		if h, _ := time.Parse(time.RFC3339, r.Header.Get("Latchkey-Token-Expiration")); absDur(h.Sub(wantExp)) > time.Second {
			t.Errorf("Latchkey-Token-Expiration %q, want %s", r.Header.Get("Latchkey-Token-Expiration"), wantExp)
		}
		if got := getToken(t, s, w.Member, fresh.Token.ID); got.ExpiresAt == nil || !got.ExpiresAt.Equal(wantExp) || got.State != "active" {
			t.Errorf("fresh token shown with expires_at %v state %s, want %v active", got.ExpiresAt, got.State, wantExp)
		}
		expired := decode[tokenList](t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/tokens" + q("state", "expired"), Auth: w.Member}), http.StatusOK)
		if len(expired.Items) != 2 {
			t.Errorf("state=expired lists %d tokens, want the 2 capped ones", len(expired.Items))
		}

		// The cap is applied at use time, not written: raising it again restores them.
		putPolicy(t, s, w.Owner, policyJSON{AllowNoExpiry: true, Creation: "everyone"})
		me(t, s, bearer(oldNeverSecret))
		me(t, s, bearer(oldLongSecret))
	})
}

func TestPolicyPutKeepsFieldsLeftOut(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		put := func(body map[string]any) policyJSON {
			return decode[policyJSON](t, send(t, s, call{Method: http.MethodPut, Path: "/api/v1/policy", Auth: w.Owner, Body: body}), http.StatusOK)
		}
		if got := put(map[string]any{"creation": "admins"}); got != (policyJSON{DefaultLifetime: "4320h", AllowNoExpiry: true, Creation: "admins"}) {
			t.Errorf("after setting only creation: %+v", got)
		}
		// Lowering only the maximum below the default lowers the default with it.
		if got := put(map[string]any{"max_lifetime": "720h"}); got != (policyJSON{DefaultLifetime: "720h", MaxLifetime: "720h", AllowNoExpiry: true, Creation: "admins"}) {
			t.Errorf("after setting only max_lifetime: %+v", got)
		}
		if got := put(map[string]any{"allow_no_expiry": false, "max_lifetime": ""}); got != (policyJSON{DefaultLifetime: "720h", AllowNoExpiry: false, Creation: "admins"}) {
			t.Errorf("after clearing max_lifetime: %+v", got)
		}
		// Asking for a default above the maximum in the same request is a contradiction.
		p := wantProblem(t, send(t, s, call{Method: http.MethodPut, Path: "/api/v1/policy", Auth: w.Owner,
			Body: map[string]any{"default_lifetime": "90d", "max_lifetime": "30d"}}), http.StatusUnprocessableEntity)
		if !strings.Contains(p.Detail, "max_lifetime") {
			t.Errorf("contradiction not explained: %s", p.Detail)
		}
	})
}

func TestMaxLifetimeFlagAloneCapsTheDefault(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		w := newWorld(t, s)
		got := decode[policyJSON](t, send(t, s, call{Method: http.MethodGet, Path: "/api/v1/policy", Auth: w.Member}), http.StatusOK)
		if got.MaxLifetime != "720h" || got.DefaultLifetime != "720h" {
			t.Errorf("policy under --max-token-lifetime=720h: %+v", got)
		}
		wantProblem(t, send(t, s, call{Method: http.MethodPost, Path: "/api/v1/tokens", Auth: w.Member, Body: map[string]any{"name": "x", "expires_in": "31d"}}), http.StatusUnprocessableEntity)
		tk := createToken(t, s, w.Member, map[string]any{"name": "default"})
		if d := tk.Token.ExpiresAt.Sub(tk.Token.CreatedAt); absDur(d-720*time.Hour) > time.Second {
			t.Errorf("default token lives %s", d)
		}
	}, "--max-token-lifetime=720h")
}
