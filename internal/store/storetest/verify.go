package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// verifyTests cover the reads and writes of verification without a cache:
// the joined token-and-owner read, set-based usage and its audit events.
func verifyTests() []test {
	return []test{
		{"GetTokenAndOwnerByDigestIsOneReadOfBoth", testGetTokenAndOwner},
		{"GetTokenLastUseIsTheStoredLastUse", testGetTokenLastUse},
		{"RecordTokenUseAuditsFirstUseFromANewAddress", testRecordTokenUseAudit},
		{"RecordTokenUseOfManyTokensAtOnce", testRecordTokenUseMany},
	}
}

func testGetTokenAndOwner(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := newUser("alice")
	u.Email = "alice@example.com"
	noErr(t, "CreateUser", s.CreateUser(ctx, u))
	// Every field set, so that a column the read leaves out shows; a long
	// description, so that the row's text is more than a few hundred bytes.
	tk := mustToken(t, s, u.ID, "ci", func(t *store.Token) {
		t.Description = strings.Repeat("deploys the app é ", 60)
		t.Scopes = []string{"repo:read=acme/*", "tokens", `odd "scope" \ é`}
		t.PrevDigest, t.PrevExpiresAt = digest(), ptr(base.Add(time.Hour))
		t.IPAllowlist, t.RecentIPs = []string{"10.0.0.0/8", "2001:db8::/32"}, []string{"10.1.2.3", "10.1.2.4"}
		t.RegeneratedAt, t.LastUsedAt = ptr(base.Add(time.Minute)), ptr(base.Add(2*time.Minute))
		t.LastUsedIP, t.LastUsedAgent = "10.1.2.3", "curl/8"
		t.FederationPolicyID, t.FederationClaims = newID(), map[string]string{"repository": "acme/app"}
	})
	want, err := s.GetUser(ctx, u.ID)
	noErr(t, "GetUser", err)
	want.PasswordHash = "" // the verification read leaves it out
	for what, d := range map[string][]byte{"current digest": tk.Digest, "previous digest": tk.PrevDigest} {
		got, owner, err := s.GetTokenAndOwnerByDigest(ctx, d)
		noErr(t, "GetTokenAndOwnerByDigest by "+what, err)
		wantTk := tk
		if got.LastUsedAt == nil && got.LastUsedIP == "" && got.LastUsedAgent == "" && len(got.RecentIPs) == 0 {
			// The store may leave the last use out, all of it; every other
			// field must be there.
			c := *tk
			c.LastUsedAt, c.LastUsedIP, c.LastUsedAgent, c.RecentIPs = nil, "", "", got.RecentIPs
			wantTk = &c
		}
		equal(t, "token by "+what, wantTk, got)
		equal(t, "owner by "+what, want, owner)
	}
	revoked := mustToken(t, s, u.ID, "old", func(t *store.Token) { t.RevokedAt, t.ExpiresAt = ptr(base), nil })
	got, _, err := s.GetTokenAndOwnerByDigest(ctx, revoked.Digest)
	noErr(t, "GetTokenAndOwnerByDigest of a revoked token", err)
	equal(t, "revoked token", revoked, got)
	_, _, err = s.GetTokenAndOwnerByDigest(ctx, digest())
	wantErr(t, "GetTokenAndOwnerByDigest of an unknown digest", err, store.ErrNotFound)
	done, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err = s.GetTokenAndOwnerByDigest(done, tk.Digest)
	wantErr(t, "GetTokenAndOwnerByDigest with a cancelled context", err, context.Canceled)

	// A suspended owner comes back suspended; a deleted one as nil.
	_, err = s.UpdateUser(ctx, u.ID, func(u *store.User) error { u.Suspended = true; return nil })
	noErr(t, "UpdateUser", err)
	_, owner, err := s.GetTokenAndOwnerByDigest(ctx, tk.Digest)
	noErr(t, "GetTokenAndOwnerByDigest, owner suspended", err)
	if owner == nil || !owner.Suspended {
		t.Fatalf("owner of a suspended user = %+v, want suspended", owner)
	}
	noErr(t, "DeleteUser", s.DeleteUser(ctx, u.ID, base.Add(time.Minute)))
	got, owner, err = s.GetTokenAndOwnerByDigest(ctx, tk.Digest)
	noErr(t, "GetTokenAndOwnerByDigest, owner deleted", err)
	if owner != nil || got.RevokedAt == nil || got.UserID != u.ID || got.ID != tk.ID || got.Name != tk.Name {
		t.Fatalf("after deleting the owner: owner %+v, token %s %q of %s revoked_at %v; want nil owner and token %s %q of %s, revoked",
			owner, got.ID, got.Name, got.UserID, got.RevokedAt, tk.ID, tk.Name, u.ID)
	}
}

func testGetTokenLastUse(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := newUser("ben")
	noErr(t, "CreateUser", s.CreateUser(ctx, u))
	used := mustToken(t, s, u.ID, "used", func(t *store.Token) {
		t.LastUsedAt, t.LastUsedIP, t.LastUsedAgent = ptr(base.Add(time.Minute)), "10.1.2.3", "curl/8"
		t.RecentIPs = []string{"10.1.2.3", "10.1.2.4"}
	})
	later := mustToken(t, s, u.ID, "later")
	got, err := s.GetTokenLastUse(ctx, used.ID)
	noErr(t, "GetTokenLastUse", err)
	equal(t, "last use", &store.Token{ID: used.ID, LastUsedAt: store.TruncatePtr(used.LastUsedAt), LastUsedIP: "10.1.2.3", LastUsedAgent: "curl/8",
		RecentIPs: []string{"10.1.2.3", "10.1.2.4"}}, got)

	// A use written later is read back.
	at := base.Add(time.Hour)
	noErr(t, "RecordTokenUse", s.RecordTokenUse(ctx, []store.TokenUse{{TokenID: later.ID, At: at, IP: "10.9.9.9", Agent: "git/2",
		IPs: []string{"10.9.9.9"}, Counts: map[string]int64{}}}))
	got, err = s.GetTokenLastUse(ctx, later.ID)
	noErr(t, "GetTokenLastUse after a use", err)
	stored := store.Truncate(at)
	equal(t, "last use after a use", &store.Token{ID: later.ID, LastUsedAt: &stored, LastUsedIP: "10.9.9.9", LastUsedAgent: "git/2",
		RecentIPs: []string{"10.9.9.9"}}, got)

	other := mustToken(t, s, u.ID, "other")
	got, err = s.GetTokenLastUse(ctx, other.ID)
	noErr(t, "GetTokenLastUse of a token never used", err)
	equal(t, "never used", &store.Token{ID: other.ID, RecentIPs: []string{}}, got)
	got, err = s.GetTokenLastUse(ctx, newID())
	noErr(t, "GetTokenLastUse of an unknown token", err)
	if got.LastUsedAt != nil || got.LastUsedIP != "" {
		t.Errorf("unknown token has a last use: %+v", got)
	}
}

func testRecordTokenUseAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	tk := mustToken(t, s, u.ID, "ci")
	at := base.Add(time.Hour)
	addr := func(ip string, at time.Time) store.AddressUse {
		return store.AddressUse{IP: ip, Agent: "curl/8", At: at}
	}
	events := func() []*store.AuditEvent {
		t.Helper()
		ev, err := s.ListAudit(ctx, store.AuditFilter{TargetID: tk.ID})
		noErr(t, "ListAudit", err)
		return ev
	}
	// The very first use is not "from a new address".
	noErr(t, "RecordTokenUse first", s.RecordTokenUse(ctx, []store.TokenUse{
		{TokenID: tk.ID, At: at, IP: "192.0.2.7", Counts: map[string]int64{"2031-03-04": 1},
			NewAddresses: []store.AddressUse{addr("192.0.2.7", at)}},
	}))
	if ev := events(); len(ev) != 0 {
		t.Fatalf("the first use of a token was audited as a new address: %+v", ev)
	}
	// A known address is not new; a new one is, once, even when two uses
	// of the batch name it.
	at2 := at.Add(time.Minute)
	noErr(t, "RecordTokenUse again", s.RecordTokenUse(ctx, []store.TokenUse{
		{TokenID: tk.ID, At: at2, IP: "198.51.100.1", Counts: map[string]int64{"2031-03-04": 2},
			NewAddresses: []store.AddressUse{addr("192.0.2.7", at2), addr("198.51.100.1", at2)}},
		{TokenID: tk.ID, At: at2, IP: "198.51.100.1", NewAddresses: []store.AddressUse{addr("198.51.100.1", at2)}},
	}))
	ev := events()
	if len(ev) != 1 || ev[0].Action != store.NewAddressAction || ev[0].IP != "198.51.100.1" || ev[0].Agent != "curl/8" ||
		ev[0].TargetType != "token" || !ev[0].At.Equal(micro(at2)) || ev[0].Details["ip"] != "198.51.100.1" ||
		ev[0].Details["name"] != "ci" || ev[0].Details["user_id"] != u.ID {
		t.Fatalf("audit events after a use from a new address: %+v", ev)
	}
	// A batch that fails (a malformed day) writes none of its events.
	if err := s.RecordTokenUse(ctx, []store.TokenUse{
		{TokenID: tk.ID, At: at2, Counts: map[string]int64{"someday": 1}, NewAddresses: []store.AddressUse{addr("203.0.113.9", at2)}},
	}); err == nil {
		t.Fatal("RecordTokenUse with a malformed day: got no error")
	}
	if ev := events(); len(ev) != 1 {
		t.Fatalf("a failed batch appended audit events: %d events", len(ev))
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
