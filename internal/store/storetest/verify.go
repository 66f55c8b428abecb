package storetest

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// verifyTests cover the reads and writes of verification without a cache:
// the joined token-and-owner read, set-based usage and its audit events.
func verifyTests() []test {
	return []test{
		{"GetTokenAndOwnerByDigestIsOneReadOfBoth", testGetTokenAndOwner},
		{"RecordTokenUseAppendsItsAuditEventsInTheSameTransaction", testRecordTokenUseAudit},
		{"RecordTokenUseOfManyTokensAtOnce", testRecordTokenUseMany},
	}
}

func testGetTokenAndOwner(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	tk := mustToken(t, s, u.ID, "ci", func(t *store.Token) { t.PrevDigest, t.PrevExpiresAt = digest(), ptr(base.Add(time.Hour)) })
	for what, d := range map[string][]byte{"current digest": tk.Digest, "previous digest": tk.PrevDigest} {
		got, owner, err := s.GetTokenAndOwnerByDigest(ctx, d)
		noErr(t, "GetTokenAndOwnerByDigest by "+what, err)
		equal(t, "token by "+what, tk, got)
		want, err := s.GetUser(ctx, u.ID)
		noErr(t, "GetUser", err)
		equal(t, "owner by "+what, want, owner)
	}
	_, _, err := s.GetTokenAndOwnerByDigest(ctx, digest())
	wantErr(t, "GetTokenAndOwnerByDigest of an unknown digest", err, store.ErrNotFound)

	// A suspended owner comes back suspended; a deleted one as nil.
	_, err = s.UpdateUser(ctx, u.ID, func(u *store.User) error { u.Suspended = true; return nil })
	noErr(t, "UpdateUser", err)
	_, owner, err := s.GetTokenAndOwnerByDigest(ctx, tk.Digest)
	noErr(t, "GetTokenAndOwnerByDigest, owner suspended", err)
	if owner == nil || !owner.Suspended {
		t.Fatalf("owner of a suspended user = %+v, want suspended", owner)
	}
	noErr(t, "DeleteUser", s.DeleteUser(ctx, u.ID, base.Add(time.Minute)))
	got, owner, err := s.GetTokenAndOwnerByDigest(ctx, tk.Digest)
	noErr(t, "GetTokenAndOwnerByDigest, owner deleted", err)
	if owner != nil || got.RevokedAt == nil {
		t.Fatalf("after deleting the owner: owner %+v, token revoked_at %v; want nil owner and a revoked token", owner, got.RevokedAt)
	}
}

func testRecordTokenUseAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	tk := mustToken(t, s, u.ID, "ci")
	at := base.Add(time.Hour)
	ev := &store.AuditEvent{At: at, Action: "token.new_ip", TargetType: "token", TargetID: tk.ID,
		IP: "192.0.2.7", Agent: "curl/8", Details: map[string]any{"ip": "192.0.2.7", "name": "ci"}}
	noErr(t, "RecordTokenUse", s.RecordTokenUse(ctx, []store.TokenUse{
		{TokenID: tk.ID, At: at, IP: "192.0.2.7", Counts: map[string]int64{"2031-03-04": 2}, Audit: []*store.AuditEvent{ev}},
	}))
	events, err := s.ListAudit(ctx, store.AuditFilter{TargetID: tk.ID})
	noErr(t, "ListAudit", err)
	if len(events) != 1 || events[0].Action != "token.new_ip" || events[0].IP != "192.0.2.7" ||
		events[0].Agent != "curl/8" || events[0].Details["ip"] != "192.0.2.7" || !events[0].At.Equal(micro(at)) {
		t.Fatalf("audit events after RecordTokenUse: %+v", events)
	}
	// A batch that fails (a malformed day) writes none of its events.
	bad := *ev
	bad.ID = 0
	if err := s.RecordTokenUse(ctx, []store.TokenUse{
		{TokenID: tk.ID, At: at, Counts: map[string]int64{"someday": 1}, Audit: []*store.AuditEvent{&bad}},
	}); err == nil {
		t.Fatal("RecordTokenUse with a malformed day: got no error")
	}
	events, err = s.ListAudit(ctx, store.AuditFilter{TargetID: tk.ID})
	noErr(t, "ListAudit", err)
	if len(events) != 1 {
		t.Fatalf("a failed batch appended audit events: %d events", len(events))
	}
}

func testRecordTokenUseMany(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	const n = 2_500 // more than one statement's chunk
	ts := make([]*store.Token, n)
	uses := make([]store.TokenUse, 0, n+1)
	at := base.Add(2 * time.Hour)
	for i := range ts {
		ts[i] = newToken(u.ID, "t"+time.Duration(i).String())
		uses = append(uses, store.TokenUse{TokenID: ts[i].ID, At: at, IP: "10.1.0.1", Agent: "a",
			Counts: map[string]int64{"2031-03-04": int64(i + 1), "2031-03-05": 1}})
	}
	noErr(t, "CreateTokens", s.CreateTokens(ctx, ts))
	uses = append(uses, store.TokenUse{TokenID: newID(), At: at, Counts: map[string]int64{"2031-03-04": 1}})
	noErr(t, "RecordTokenUse", s.RecordTokenUse(ctx, uses))
	noErr(t, "RecordTokenUse again", s.RecordTokenUse(ctx, uses))
	for _, i := range []int{0, 1, n / 2, n - 1} {
		got, err := s.GetToken(ctx, ts[i].ID)
		noErr(t, "GetToken", err)
		equal(t, "LastUsedAt", ptr(micro(at)), got.LastUsedAt)
		equal(t, "RecentIPs", []string{"10.1.0.1"}, got.RecentIPs)
		days, err := s.TokenUsage(ctx, ts[i].ID, base.Add(-48*time.Hour))
		noErr(t, "TokenUsage", err)
		equal(t, "usage days", []store.UsageDay{{Day: "2031-03-04", Count: 2 * int64(i+1)}, {Day: "2031-03-05", Count: 2}}, days)
	}
}
