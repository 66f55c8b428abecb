package storetest

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func miscTests() []test {
	return []test{
		{"PolicyIsNotFoundUntilPutThenUpserts", testPolicy},
		{"AuditIsListedNewestFirstWithFilters", testAudit},
		{"AuditPagesByIDDescending", testAuditPaging},
		{"SigningKeysListNewestFirst", testSigningKeys},
		{"CancelledContextFailsEveryMethod", testCancelledContext},
		{"PingAnswers", func(t *testing.T, s store.Store) { noErr(t, "Ping", s.Ping(t.Context())) }},
	}
}

func testPolicy(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetPolicy(ctx)
	wantErr(t, "GetPolicy before PutPolicy", err, store.ErrNotFound)
	p := &store.Policy{
		DefaultLifetime: 180 * 24 * time.Hour, MaxLifetime: 366*24*time.Hour + 1, AllowNoExpiry: true,
		Creation: "everyone", RevokeUnusedFor: 0, UpdatedAt: base,
	}
	noErr(t, "PutPolicy", s.PutPolicy(ctx, p))
	want := *p
	want.UpdatedAt = micro(base)
	got, err := s.GetPolicy(ctx)
	noErr(t, "GetPolicy", err)
	equal(t, "GetPolicy", &want, got)

	p2 := &store.Policy{DefaultLifetime: time.Hour, Creation: "admins", RevokeUnusedFor: 90 * 24 * time.Hour, UpdatedAt: base.Add(time.Hour)}
	noErr(t, "PutPolicy again", s.PutPolicy(ctx, p2))
	want = *p2
	want.UpdatedAt = micro(p2.UpdatedAt)
	got, err = s.GetPolicy(ctx)
	noErr(t, "GetPolicy", err)
	equal(t, "GetPolicy after the second PutPolicy", &want, got)
}

func testAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	events := []*store.AuditEvent{
		{At: base, ActorID: "u1", ActorName: "alice", Action: "token.create", TargetType: "token", TargetID: "t1",
			IP: "192.0.2.1", Agent: "cli", Details: map[string]any{"name": "ci", "scopes": []any{"repo"}, "n": 2.5, "nested": map[string]any{"ok": true}}},
		{At: base.Add(time.Minute), ActorID: "u1", Action: "token.revoke", TargetType: "token", TargetID: "t1"},
		{At: base.Add(2 * time.Minute), ActorID: "u2", Action: "tokens.purge", TargetType: "token", TargetID: "t2"},
		{At: base.Add(3 * time.Minute), ActorID: "u2", Action: "user.suspend", TargetType: "user", TargetID: "u1", Details: map[string]any{}},
		{At: base.Add(4 * time.Minute), Action: "token", TargetID: "t2"},
	}
	var last int64
	for i, e := range events {
		noErr(t, "AppendAudit", s.AppendAudit(ctx, e))
		if e.ID <= last {
			t.Fatalf("AppendAudit #%d: ID %d does not increase past %d", i, e.ID, last)
		}
		last = e.ID
	}
	all, err := s.ListAudit(ctx, store.AuditFilter{})
	noErr(t, "ListAudit", err)
	if len(all) != len(events) {
		t.Fatalf("ListAudit = %d events, want %d", len(all), len(events))
	}
	for i, got := range all {
		e := *events[len(events)-1-i]
		e.At = micro(e.At)
		if len(e.Details) == 0 {
			e.Details = nil
		}
		equal(t, "event "+strconv.FormatInt(e.ID, 10), &e, got)
	}
	ids := func(f store.AuditFilter) []string {
		got, err := s.ListAudit(ctx, f)
		noErr(t, "ListAudit", err)
		if got == nil {
			t.Fatalf("ListAudit(%+v) returned nil, want a non-nil slice", f)
		}
		out := []string{}
		for _, e := range got {
			out = append(out, e.TargetType+":"+e.Action)
		}
		return out
	}
	for _, c := range []struct {
		f    store.AuditFilter
		want []string
	}{
		{store.AuditFilter{ActorID: "u1"}, []string{"token:token.revoke", "token:token.create"}},
		{store.AuditFilter{TargetID: "t2"}, []string{":token", "token:tokens.purge"}},
		{store.AuditFilter{Action: "token.create"}, []string{"token:token.create"}},
		{store.AuditFilter{Action: "token."}, []string{"token:token.revoke", "token:token.create"}},
		{store.AuditFilter{Action: "token"}, []string{":token"}},
		{store.AuditFilter{Action: "user."}, []string{"user:user.suspend"}},
		{store.AuditFilter{Action: "nothing."}, []string{}},
		{store.AuditFilter{Since: micro(base.Add(2 * time.Minute)).In(zone)}, []string{":token", "user:user.suspend", "token:tokens.purge"}},
		{store.AuditFilter{Since: micro(base.Add(2 * time.Minute)).Add(time.Nanosecond)}, []string{":token", "user:user.suspend"}},
		{store.AuditFilter{Until: micro(base.Add(time.Minute))}, []string{"token:token.create"}},
		{store.AuditFilter{Since: base.Add(time.Minute).In(time.UTC), Until: micro(base.Add(3 * time.Minute)), ActorID: "u2"}, []string{"token:tokens.purge"}},
		{store.AuditFilter{Cursor: events[2].ID}, []string{"token:token.revoke", "token:token.create"}},
		{store.AuditFilter{Limit: 2}, []string{":token", "user:user.suspend"}},
	} {
		equal(t, fmt.Sprintf("ListAudit(%+v)", c.f), c.want, ids(c.f))
	}
}

func testAuditPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	var want []string
	for i := range 250 {
		e := &store.AuditEvent{At: base.Add(time.Duration(i) * time.Second), Action: "auth.login", ActorID: "u" + strconv.Itoa(i%2)}
		noErr(t, "AppendAudit", s.AppendAudit(ctx, e))
		want = append([]string{strconv.FormatInt(e.ID, 10)}, want...)
	}
	for _, limit := range []int{1, 7, 100, 1000} {
		got := pageAll(t, limit, func(cursor string) ([]string, error) {
			var c int64
			if cursor != "" {
				c, _ = strconv.ParseInt(cursor, 10, 64)
			}
			evs, err := s.ListAudit(ctx, store.AuditFilter{Cursor: c, Limit: limit})
			if err != nil || evs == nil {
				return nil, err
			}
			out := make([]string, len(evs))
			for i, e := range evs {
				out[i] = strconv.FormatInt(e.ID, 10)
			}
			return out, nil
		})
		sameOrder(t, fmt.Sprintf("ListAudit paged by %d", limit), want, got)
	}
	page, err := s.ListAudit(ctx, store.AuditFilter{})
	noErr(t, "ListAudit", err)
	if len(page) != store.DefaultPageLimit {
		t.Fatalf("ListAudit with Limit 0 = %d events, want %d", len(page), store.DefaultPageLimit)
	}
}

func testSigningKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	keys, err := s.ListSigningKeys(ctx)
	noErr(t, "ListSigningKeys", err)
	if keys == nil || len(keys) != 0 {
		t.Fatalf("ListSigningKeys on an empty store = %#v, want a non-nil empty slice", keys)
	}
	mk := func(id string, created time.Time) *store.SigningKey {
		k := &store.SigningKey{ID: id, Algorithm: "ES256", PublicJWK: []byte(`{"kty":"EC","kid":"` + id + `"}`),
			PrivateEnc: []byte{0, 1, 2, 0xff, 0}, CreatedAt: created}
		noErr(t, "CreateSigningKey", s.CreateSigningKey(ctx, k))
		return k
	}
	k1 := mk("k1", base)
	k3 := mk("k3", base.Add(time.Hour))
	k2 := mk("k2", base.Add(time.Hour)) // same time as k3: ties break by ID, descending
	k0 := mk("k0", base.Add(2*time.Hour+1))
	wantErr(t, "CreateSigningKey with a taken ID", s.CreateSigningKey(ctx, &store.SigningKey{ID: "k1", Algorithm: "EdDSA", PublicJWK: []byte("{}"), PrivateEnc: []byte{1}, CreatedAt: base}), store.ErrConflict)
	keys, err = s.ListSigningKeys(ctx)
	noErr(t, "ListSigningKeys", err)
	want := []*store.SigningKey{k0, k3, k2, k1}
	for _, k := range want {
		k.CreatedAt = micro(k.CreatedAt)
	}
	equal(t, "ListSigningKeys", want, keys)

	retired := base.Add(3 * time.Hour)
	got, err := s.UpdateSigningKey(ctx, "k1", func(k *store.SigningKey) error {
		k.RetiredAt = &retired
		k.CreatedAt, k.ID = base.Add(10*time.Hour), "other" // identity is not mutable
		return nil
	})
	noErr(t, "UpdateSigningKey", err)
	k1.RetiredAt = ptr(micro(retired))
	equal(t, "UpdateSigningKey", k1, got)
	sentinel := errors.New("no")
	if _, err := s.UpdateSigningKey(ctx, "k1", func(*store.SigningKey) error { return sentinel }); err != sentinel {
		t.Fatalf("UpdateSigningKey with failing updater: got %v, want the updater's error unchanged", err)
	}
	_, err = s.UpdateSigningKey(ctx, "nope", func(*store.SigningKey) error { return nil })
	wantErr(t, "UpdateSigningKey of an unknown key", err, store.ErrNotFound)

	noErr(t, "DeleteSigningKey", s.DeleteSigningKey(ctx, "k2"))
	wantErr(t, "DeleteSigningKey twice", s.DeleteSigningKey(ctx, "k2"), store.ErrNotFound)
	keys, err = s.ListSigningKeys(ctx)
	noErr(t, "ListSigningKeys", err)
	equal(t, "ListSigningKeys after delete", []*store.SigningKey{k0, k3, k1}, keys)
}

func testCancelledContext(t *testing.T, s store.Store) {
	u := mustUser(t, s, "alice")
	tk := mustToken(t, s, u.ID, "ci")
	ss := newSession(u.ID, base.Add(time.Hour))
	noErr(t, "CreateSession", s.CreateSession(t.Context(), ss))
	ctx := cancelled(t)
	calls := map[string]func() error{
		"CreateUser":        func() error { return s.CreateUser(ctx, newUser("bob")) },
		"GetUser":           func() error { _, err := s.GetUser(ctx, u.ID); return err },
		"GetUserByUsername": func() error { _, err := s.GetUserByUsername(ctx, u.Username); return err },
		"ListUsers":         func() error { _, err := s.ListUsers(ctx, store.UserFilter{}); return err },
		"CountUsers":        func() error { _, err := s.CountUsers(ctx); return err },
		"UpdateUser":        func() error { _, err := s.UpdateUser(ctx, u.ID, func(*store.User) error { return nil }); return err },
		"DeleteUser":        func() error { return s.DeleteUser(ctx, u.ID, base) },
		"CreateToken":       func() error { return s.CreateToken(ctx, newToken(u.ID, "x")) },
		"CreateTokens":      func() error { return s.CreateTokens(ctx, []*store.Token{newToken(u.ID, "y")}) },
		"GetToken":          func() error { _, err := s.GetToken(ctx, tk.ID); return err },
		"GetTokenByDigest":  func() error { _, err := s.GetTokenByDigest(ctx, tk.Digest); return err },
		"ListTokens":        func() error { _, err := s.ListTokens(ctx, store.TokenFilter{}); return err },
		"UpdateToken":       func() error { _, err := s.UpdateToken(ctx, tk.ID, func(*store.Token) error { return nil }); return err },
		"RecordTokenUse":    func() error { return s.RecordTokenUse(ctx, []store.TokenUse{{TokenID: tk.ID, At: base}}) },
		"TokenUsage":        func() error { _, err := s.TokenUsage(ctx, tk.ID, base); return err },
		"CreateSession":     func() error { return s.CreateSession(ctx, newSession(u.ID, base)) },
		"GetSessionByDigest": func() error {
			_, err := s.GetSessionByDigest(ctx, ss.Digest)
			return err
		},
		"UpdateSession": func() error {
			_, err := s.UpdateSession(ctx, ss.ID, func(*store.Session) error { return nil })
			return err
		},
		"DeleteExpiredSessions": func() error { _, err := s.DeleteExpiredSessions(ctx, base); return err },
		"GetPolicy":             func() error { _, err := s.GetPolicy(ctx); return err },
		"PutPolicy":             func() error { return s.PutPolicy(ctx, &store.Policy{Creation: "everyone", UpdatedAt: base}) },
		"AppendAudit":           func() error { return s.AppendAudit(ctx, &store.AuditEvent{At: base, Action: "x"}) },
		"ListAudit":             func() error { _, err := s.ListAudit(ctx, store.AuditFilter{}); return err },
		"CreateSigningKey": func() error {
			return s.CreateSigningKey(ctx, &store.SigningKey{ID: "k", Algorithm: "ES256", PublicJWK: []byte("{}"), PrivateEnc: []byte{1}, CreatedAt: base})
		},
		"ListSigningKeys": func() error { _, err := s.ListSigningKeys(ctx); return err },
		"UpdateSigningKey": func() error {
			_, err := s.UpdateSigningKey(ctx, "k", func(*store.SigningKey) error { return nil })
			return err
		},
		"DeleteSigningKey": func() error { return s.DeleteSigningKey(ctx, "k") },
		"ClaimNotification": func() error {
			_, err := s.ClaimNotification(ctx, tk.ID, "token.expiring", base)
			return err
		},
		"ReleaseNotification":       func() error { return s.ReleaseNotification(ctx, tk.ID, "token.expiring", base) },
		"DeleteNotificationsBefore": func() error { _, err := s.DeleteNotificationsBefore(ctx, base); return err },
		"Ping":                      func() error { return s.Ping(ctx) },
	}
	for name, call := range calls {
		err := call()
		if err == nil {
			t.Errorf("%s with a cancelled context: got no error", name)
		} else if !errors.Is(err, ctx.Err()) {
			t.Errorf("%s with a cancelled context: got %v, want errors.Is(err, context.Canceled)", name, err)
		}
	}
	// Nothing was written.
	got, err := s.GetUser(t.Context(), u.ID)
	noErr(t, "GetUser", err)
	equal(t, "user after cancelled calls", u, got)
	n, err := s.CountUsers(t.Context())
	noErr(t, "CountUsers", err)
	if n != 1 {
		t.Fatalf("CountUsers after cancelled calls = %d, want 1", n)
	}
}
