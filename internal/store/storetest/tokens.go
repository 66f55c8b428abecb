package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func tokenTests() []test {
	return []test{
		{"TokenRoundTripsEveryField", testTokenRoundTrip},
		{"TokenListsComeBackNonNil", testTokenEmptyLists},
		{"TokenUniquenessRules", testTokenConflicts},
		{"TokenForUnknownUserIsNotFound", testTokenUnknownUser},
		{"GetTokenByDigestMatchesCurrentOrPreviousDigest", testTokenByDigest},
		{"UpdateTokenWritesMutableFieldsInOneTransaction", testUpdateToken},
		{"CreateTokensInsertsAllOrNothing", testCreateTokens},
		{"CreateTokenWithAuditStoresBothOrNeither", testCreateTokenWithAudit},
	}
}

func wantToken(tk store.Token) *store.Token {
	tk.CreatedAt, tk.UpdatedAt = micro(tk.CreatedAt), micro(tk.UpdatedAt)
	tk.PrevExpiresAt, tk.ExpiresAt, tk.RevokedAt = microPtr(tk.PrevExpiresAt), microPtr(tk.ExpiresAt), microPtr(tk.RevokedAt)
	tk.RegeneratedAt, tk.LastUsedAt = microPtr(tk.RegeneratedAt), microPtr(tk.LastUsedAt)
	for _, l := range []*[]string{&tk.Scopes, &tk.IPAllowlist, &tk.RecentIPs} {
		if *l == nil {
			*l = []string{}
		}
	}
	if len(tk.PrevDigest) == 0 {
		tk.PrevDigest = nil
	}
	return &tk
}

// fullToken sets every field of a token, times in zone with nanoseconds.
func fullToken(userID string) *store.Token {
	tk := newToken(userID, "deploy")
	tk.Kind = store.TokenAdmin
	tk.Description = "CI deploys, ünïcode ✓"
	tk.Scopes = []string{"repo", "repo:read=acme/*", "admin:ssh_key"}
	tk.PrevDigest = digest()
	tk.PrevExpiresAt = ptr(base.Add(10*time.Minute + 1))
	tk.IPAllowlist = []string{"10.0.0.0/8", "2001:db8::/32"}
	tk.UpdatedAt = base.Add(time.Second + 999)
	tk.ExpiresAt = ptr(base.In(time.UTC).Add(30*24*time.Hour + 1500))
	tk.RevokedAt = ptr(base.Add(2 * time.Hour).In(time.FixedZone("UTC-8", -8*3600)))
	tk.RegeneratedAt = ptr(base.Add(time.Minute + 3))
	tk.LastUsedAt = ptr(base.Add(time.Hour + 4))
	tk.LastUsedIP, tk.LastUsedAgent = "203.0.113.7", "git/2.45"
	tk.RecentIPs = []string{"203.0.113.7", "198.51.100.1"}
	return tk
}

func testTokenRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	tk := fullToken(u.ID)
	want := wantToken(*tk)
	noErr(t, "CreateToken", s.CreateToken(ctx, tk))
	equal(t, "CreateToken normalises its argument", want, tk)

	got, err := s.GetToken(ctx, tk.ID)
	noErr(t, "GetToken", err)
	equal(t, "GetToken", want, got)
	got, err = s.GetTokenByDigest(ctx, tk.Digest)
	noErr(t, "GetTokenByDigest", err)
	equal(t, "GetTokenByDigest", want, got)
	list, err := s.ListTokens(ctx, store.TokenFilter{})
	noErr(t, "ListTokens", err)
	if len(list) != 1 {
		t.Fatalf("ListTokens: got %d tokens, want 1", len(list))
	}
	equal(t, "ListTokens", want, list[0])
}

func testTokenEmptyLists(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	tk := newToken(u.ID, "bare")
	tk.Scopes, tk.ExpiresAt = nil, nil
	tk.PrevDigest = []byte{}
	noErr(t, "CreateToken", s.CreateToken(ctx, tk))
	got, err := s.GetToken(ctx, tk.ID)
	noErr(t, "GetToken", err)
	want := wantToken(*tk)
	equal(t, "GetToken of a token with no lists", want, got)
	if got.Scopes == nil || got.IPAllowlist == nil || got.RecentIPs == nil {
		t.Fatalf("GetToken: lists must be non-nil, got %#v %#v %#v", got.Scopes, got.IPAllowlist, got.RecentIPs)
	}
	usage, err := s.TokenUsage(ctx, tk.ID, base)
	noErr(t, "TokenUsage", err)
	if usage == nil || len(usage) != 0 {
		t.Fatalf("TokenUsage of an unused token = %#v, want a non-nil empty slice", usage)
	}
	list, err := s.ListTokens(ctx, store.TokenFilter{UserID: newID()})
	noErr(t, "ListTokens", err)
	if list == nil || len(list) != 0 {
		t.Fatalf("ListTokens with no match = %#v, want a non-nil empty slice", list)
	}
}

func testTokenConflicts(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	first := mustToken(t, s, a.ID, "ci")

	dupID := newToken(a.ID, "other")
	dupID.ID = first.ID
	wantErr(t, "CreateToken with a taken ID", s.CreateToken(ctx, dupID), store.ErrConflict)
	dupDigest := newToken(b.ID, "other")
	dupDigest.Digest = first.Digest
	wantErr(t, "CreateToken with a taken digest", s.CreateToken(ctx, dupDigest), store.ErrConflict)
	wantErr(t, "CreateToken with a live name of the same user", s.CreateToken(ctx, newToken(a.ID, "ci")), store.ErrConflict)
	mustToken(t, s, b.ID, "ci") // names are per user

	// A revoked token's name can be reused; the revoked one stays.
	_, err := s.UpdateToken(ctx, first.ID, func(tk *store.Token) error {
		tk.RevokedAt = ptr(base.Add(time.Minute))
		return nil
	})
	noErr(t, "revoke", err)
	second := mustToken(t, s, a.ID, "ci")
	wantErr(t, "CreateToken with the reused name again", s.CreateToken(ctx, newToken(a.ID, "ci")), store.ErrConflict)
	// Un-revoking the old token would make two live tokens with one name.
	_, err = s.UpdateToken(ctx, first.ID, func(tk *store.Token) error { tk.RevokedAt = nil; return nil })
	wantErr(t, "un-revoke onto a taken name", err, store.ErrConflict)
	// Two revoked tokens may share a name.
	_, err = s.UpdateToken(ctx, second.ID, func(tk *store.Token) error {
		tk.RevokedAt = ptr(base.Add(2 * time.Minute))
		return nil
	})
	noErr(t, "revoke the second", err)
	list, err := s.ListTokens(ctx, store.TokenFilter{UserID: a.ID})
	noErr(t, "ListTokens", err)
	if len(list) != 2 {
		t.Fatalf("ListTokens: got %d, want both revoked tokens", len(list))
	}
}

func testTokenUnknownUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	wantErr(t, "CreateToken for an unknown user", s.CreateToken(ctx, newToken(newID(), "x")), store.ErrNotFound)
	wantErr(t, "CreateTokens for an unknown user", s.CreateTokens(ctx, []*store.Token{newToken(newID(), "x")}), store.ErrNotFound)
	_, err := s.GetToken(ctx, newID())
	wantErr(t, "GetToken", err, store.ErrNotFound)
	_, err = s.UpdateToken(ctx, newID(), func(*store.Token) error { t.Error("updater called for a missing token"); return nil })
	wantErr(t, "UpdateToken", err, store.ErrNotFound)
}

func testTokenByDigest(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	tk := mustToken(t, s, u.ID, "rolling")
	other := mustToken(t, s, u.ID, "other")
	oldDigest := tk.Digest
	newDigest := digest()
	grace := base.Add(10 * time.Minute)
	_, err := s.UpdateToken(ctx, tk.ID, func(x *store.Token) error {
		x.PrevDigest, x.PrevExpiresAt, x.Digest, x.Hint = x.Digest, &grace, newDigest, "wxyz"
		x.RegeneratedAt = &base
		return nil
	})
	noErr(t, "regenerate", err)
	for name, d := range map[string][]byte{"current": newDigest, "previous": oldDigest} {
		got, err := s.GetTokenByDigest(ctx, d)
		noErr(t, "GetTokenByDigest "+name, err)
		if got.ID != tk.ID || got.Hint != "wxyz" {
			t.Fatalf("GetTokenByDigest(%s) = %s %q, want %s", name, got.ID, got.Hint, tk.ID)
		}
		equal(t, "PrevExpiresAt", ptr(micro(grace)), got.PrevExpiresAt)
	}
	got, err := s.GetTokenByDigest(ctx, other.Digest)
	noErr(t, "GetTokenByDigest other", err)
	if got.ID != other.ID {
		t.Fatalf("GetTokenByDigest(other) = %s, want %s", got.ID, other.ID)
	}
	_, err = s.GetTokenByDigest(ctx, digest())
	wantErr(t, "GetTokenByDigest unknown", err, store.ErrNotFound)
	// Revoked tokens are still found: the caller decides.
	_, err = s.UpdateToken(ctx, tk.ID, func(x *store.Token) error { x.RevokedAt = &base; return nil })
	noErr(t, "revoke", err)
	got, err = s.GetTokenByDigest(ctx, newDigest)
	noErr(t, "GetTokenByDigest revoked", err)
	if got.RevokedAt == nil {
		t.Fatalf("GetTokenByDigest of a revoked token: RevokedAt is nil")
	}
}

func testUpdateToken(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, v := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	tk := mustToken(t, s, u.ID, "ci")
	taken := mustToken(t, s, u.ID, "taken")

	full := fullToken(u.ID)
	got, err := s.UpdateToken(ctx, tk.ID, func(x *store.Token) error {
		equal(t, "updater sees the stored token", tk, x)
		id, user, kind, created := x.ID, x.UserID, x.Kind, x.CreatedAt
		*x = *full
		x.Name = "renamed"
		x.ID, x.UserID, x.Kind, x.CreatedAt = id, user, kind, created
		return nil
	})
	noErr(t, "UpdateToken", err)
	want := wantToken(*full)
	want.ID, want.UserID, want.Kind, want.CreatedAt, want.Name = tk.ID, tk.UserID, tk.Kind, tk.CreatedAt, "renamed"
	equal(t, "UpdateToken result", want, got)
	stored, err := s.GetToken(ctx, tk.ID)
	noErr(t, "GetToken", err)
	equal(t, "GetToken after UpdateToken", want, stored)

	// Identity fields cannot change.
	got, err = s.UpdateToken(ctx, tk.ID, func(x *store.Token) error {
		x.ID, x.UserID, x.Kind, x.CreatedAt = newID(), v.ID, store.TokenPersonal, base.Add(time.Hour)
		return nil
	})
	noErr(t, "UpdateToken of identity fields", err)
	equal(t, "identity fields after UpdateToken", want, got)

	sentinel := errors.New("updater refused")
	_, err = s.UpdateToken(ctx, tk.ID, func(x *store.Token) error { x.Description = "nope"; return sentinel })
	if err != sentinel {
		t.Fatalf("UpdateToken with failing updater: got %v, want the updater's error unchanged", err)
	}
	wrapped := fmt.Errorf("scope check: %w", sentinel)
	_, err = s.UpdateToken(ctx, tk.ID, func(x *store.Token) error { return wrapped })
	if !errors.Is(err, sentinel) {
		t.Fatalf("UpdateToken with wrapped updater error: got %v", err)
	}
	// Live token reverted: un-revoke so the name rule applies.
	_, err = s.UpdateToken(ctx, tk.ID, func(x *store.Token) error { x.RevokedAt = nil; x.Name = taken.Name; return nil })
	wantErr(t, "UpdateToken to a taken name", err, store.ErrConflict)
	_, err = s.UpdateToken(ctx, tk.ID, func(x *store.Token) error { x.Digest = taken.Digest; return nil })
	wantErr(t, "UpdateToken to a taken digest", err, store.ErrConflict)
	stored, err = s.GetToken(ctx, tk.ID)
	noErr(t, "GetToken", err)
	equal(t, "token after failed updates", want, stored)
}

func testCreateTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	noErr(t, "CreateTokens of none", s.CreateTokens(ctx, nil))

	const n = 1234 // several chunks and a remainder on every backend
	ts := make([]*store.Token, n)
	wants := make([]*store.Token, n)
	for i := range ts {
		ts[i] = newToken(u.ID, fmt.Sprintf("bulk-%04d", i))
		if i%2 == 0 {
			ts[i].ExpiresAt, ts[i].Scopes = nil, nil
		}
		if i%3 == 0 {
			ts[i] = fullToken(u.ID)
			ts[i].Name = fmt.Sprintf("bulk-%04d", i)
		}
		wants[i] = wantToken(*ts[i])
	}
	noErr(t, "CreateTokens", s.CreateTokens(ctx, ts))
	for i, tk := range ts {
		equal(t, "CreateTokens normalises its argument", wants[i], tk)
	}
	for _, i := range []int{0, 1, 2, 3, 499, 500, 501, 999, 1000, n - 1} {
		got, err := s.GetTokenByDigest(ctx, ts[i].Digest)
		noErr(t, "GetTokenByDigest", err)
		equal(t, fmt.Sprintf("token %d of the batch", i), wants[i], got)
	}
	got := pageAll(t, store.MaxPageLimit, func(cursor string) ([]string, error) {
		return tokenIDs(s.ListTokens(ctx, store.TokenFilter{Cursor: cursor, Limit: store.MaxPageLimit}))
	})
	if len(got) != n {
		t.Fatalf("ListTokens after CreateTokens: %d tokens, want %d", len(got), n)
	}

	// A conflict anywhere in the batch inserts nothing.
	bad := make([]*store.Token, 700)
	for i := range bad {
		bad[i] = newToken(u.ID, fmt.Sprintf("second-%04d", i))
	}
	bad[650].Name = "second-0001"
	wantErr(t, "CreateTokens with a duplicate name", s.CreateTokens(ctx, bad), store.ErrConflict)
	bad[650].Name = "second-0650"
	bad[699].Digest = ts[5].Digest
	wantErr(t, "CreateTokens with a taken digest", s.CreateTokens(ctx, bad), store.ErrConflict)
	_, err := s.GetTokenByDigest(ctx, bad[0].Digest)
	wantErr(t, "token of a failed batch", err, store.ErrNotFound)
}

func tokenIDs(ts []*store.Token, err error) ([]string, error) {
	if err != nil || ts == nil {
		return nil, err
	}
	ids := make([]string, len(ts))
	for i, tk := range ts {
		ids[i] = tk.ID
	}
	return ids, nil
}

// testCreateTokenWithAudit creates a token with its audit event, then a
// second one whose name is taken: the first stores both, the second
// neither, and the store goes on taking writes.
func testCreateTokenWithAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	event := func(tk *store.Token) *store.AuditEvent {
		return &store.AuditEvent{At: base, ActorID: u.ID, ActorName: u.Username, Action: "token.create",
			TargetType: "token", TargetID: tk.ID, IP: "192.0.2.1", Details: map[string]any{"name": tk.Name}}
	}
	first := newToken(u.ID, "ci")
	e := event(first)
	noErr(t, "CreateTokenWithAudit", s.CreateTokenWithAudit(ctx, first, e))
	if e.ID == 0 {
		t.Error("the audit event got no ID")
	}
	got, err := s.GetToken(ctx, first.ID)
	noErr(t, "GetToken", err)
	if got.Name != "ci" {
		t.Errorf("stored token named %q", got.Name)
	}
	events, err := s.ListAudit(ctx, store.AuditFilter{TargetID: first.ID})
	noErr(t, "ListAudit", err)
	if len(events) != 1 || events[0].Action != "token.create" || events[0].ActorID != u.ID || events[0].Details["name"] != "ci" {
		t.Fatalf("audit events of the created token: %+v", events)
	}

	dup := newToken(u.ID, "ci")
	wantErr(t, "CreateTokenWithAudit with a live name", s.CreateTokenWithAudit(ctx, dup, event(dup)), store.ErrConflict)
	events, err = s.ListAudit(ctx, store.AuditFilter{TargetID: dup.ID})
	noErr(t, "ListAudit", err)
	if len(events) != 0 {
		t.Fatalf("the refused token left %d audit events", len(events))
	}
	wantErr(t, "GetToken of the refused token", func() error { _, err := s.GetToken(ctx, dup.ID); return err }(), store.ErrNotFound)

	other := newToken(u.ID, "deploy")
	noErr(t, "CreateTokenWithAudit after a refusal", s.CreateTokenWithAudit(ctx, other, event(other)))
}
