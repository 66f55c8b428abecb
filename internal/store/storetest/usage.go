package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func usageTests() []test {
	return []test{
		{"RecordTokenUseKeepsLatestUseAndRecentIPs", testRecordTokenUse},
		{"RecordTokenUseAddsDailyCounts", testTokenUsageCounts},
		{"DeleteTokenUsageBeforeDeletesOnlyOlderDays", testDeleteTokenUsageBefore},
	}
}

func testRecordTokenUse(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	tk := mustToken(t, s, u.ID, "ci")
	other := mustToken(t, s, u.ID, "other")
	t1 := base.Add(time.Hour + 123)

	noErr(t, "RecordTokenUse", s.RecordTokenUse(ctx, []store.TokenUse{
		{TokenID: newID(), At: t1, IP: "192.0.2.1", Counts: map[string]int64{"2031-03-04": 1}}, // deleted token: skipped
		{TokenID: tk.ID, At: t1, IP: "10.0.0.3", Agent: "curl/8", IPs: []string{"10.0.0.3", "10.0.0.2", "10.0.0.1"}},
	}))
	got, err := s.GetToken(ctx, tk.ID)
	noErr(t, "GetToken", err)
	equal(t, "LastUsedAt", ptr(micro(t1)), got.LastUsedAt)
	if got.LastUsedIP != "10.0.0.3" || got.LastUsedAgent != "curl/8" {
		t.Fatalf("last use = %q %q, want 10.0.0.3 curl/8", got.LastUsedIP, got.LastUsedAgent)
	}
	equal(t, "RecentIPs", []string{"10.0.0.3", "10.0.0.2", "10.0.0.1"}, got.RecentIPs)
	untouched, err := s.GetToken(ctx, other.ID)
	noErr(t, "GetToken", err)
	equal(t, "token not in the batch", other, untouched)

	// An older batch (a late flush from another replica) does not move
	// the last use back, but its IPs are remembered after the newer ones.
	t0 := base.Add(time.Minute)
	noErr(t, "RecordTokenUse older", s.RecordTokenUse(ctx, []store.TokenUse{
		{TokenID: tk.ID, At: t0, IP: "172.16.0.9", Agent: "old-agent", IPs: []string{"172.16.0.9", "10.0.0.1"}},
	}))
	got, err = s.GetToken(ctx, tk.ID)
	noErr(t, "GetToken", err)
	equal(t, "LastUsedAt after an older batch", ptr(micro(t1)), got.LastUsedAt)
	if got.LastUsedIP != "10.0.0.3" || got.LastUsedAgent != "curl/8" {
		t.Fatalf("last use after an older batch = %q %q, want 10.0.0.3 curl/8", got.LastUsedIP, got.LastUsedAgent)
	}
	equal(t, "RecentIPs after an older batch", []string{"10.0.0.3", "10.0.0.2", "10.0.0.1", "172.16.0.9"}, got.RecentIPs)

	// A newer batch goes first; the list keeps the 5 most recent distinct IPs.
	t2 := t1.Add(time.Hour).In(time.UTC)
	noErr(t, "RecordTokenUse newer", s.RecordTokenUse(ctx, []store.TokenUse{
		{TokenID: tk.ID, At: t2, IP: "2001:db8::1", Agent: "git/2", IPs: []string{"2001:db8::1", "10.0.0.1", "203.0.113.5"}},
	}))
	got, err = s.GetToken(ctx, tk.ID)
	noErr(t, "GetToken", err)
	equal(t, "LastUsedAt after a newer batch", ptr(micro(t2)), got.LastUsedAt)
	if got.LastUsedIP != "2001:db8::1" || got.LastUsedAgent != "git/2" {
		t.Fatalf("last use after a newer batch = %q %q", got.LastUsedIP, got.LastUsedAgent)
	}
	equal(t, "RecentIPs after a newer batch",
		[]string{"2001:db8::1", "10.0.0.1", "203.0.113.5", "10.0.0.3", "10.0.0.2"}, got.RecentIPs)

	// Recording use touches nothing else.
	want := *tk
	want.LastUsedAt, want.LastUsedIP, want.LastUsedAgent, want.RecentIPs = got.LastUsedAt, got.LastUsedIP, got.LastUsedAgent, got.RecentIPs
	equal(t, "token after RecordTokenUse", &want, got)

	noErr(t, "RecordTokenUse of nothing", s.RecordTokenUse(ctx, nil))
	if err := s.RecordTokenUse(ctx, []store.TokenUse{{TokenID: tk.ID, At: t2, Counts: map[string]int64{"yesterday": 1}}}); err == nil {
		t.Fatalf("RecordTokenUse with a malformed day: got no error")
	}
}

func testTokenUsageCounts(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	tk := mustToken(t, s, u.ID, "ci")
	other := mustToken(t, s, u.ID, "other")
	at := base.Add(time.Hour)
	noErr(t, "RecordTokenUse", s.RecordTokenUse(ctx, []store.TokenUse{
		{TokenID: tk.ID, At: at, IP: "10.0.0.1", Counts: map[string]int64{"2031-03-01": 5, "2031-03-03": 7, "2031-03-02": 1}},
		{TokenID: other.ID, At: at, IP: "10.0.0.1", Counts: map[string]int64{"2031-03-03": 100}},
	}))
	noErr(t, "RecordTokenUse", s.RecordTokenUse(ctx, []store.TokenUse{
		{TokenID: tk.ID, At: at, IP: "10.0.0.1", Counts: map[string]int64{"2031-03-03": 3, "2031-03-04": 2}},
	}))
	got, err := s.TokenUsage(ctx, tk.ID, time.Time{})
	noErr(t, "TokenUsage", err)
	equal(t, "TokenUsage since the beginning", []store.UsageDay{
		day("2031-03-01", 5), day("2031-03-02", 1), day("2031-03-03", 10), day("2031-03-04", 2),
	}, got)
	// 2031-03-03 01:00 at UTC+05:30 is 2031-03-02 19:30 UTC: since is
	// taken as its UTC date.
	since := time.Date(2031, time.March, 3, 1, 0, 0, 0, zone)
	got, err = s.TokenUsage(ctx, tk.ID, since)
	noErr(t, "TokenUsage", err)
	equal(t, "TokenUsage since a zoned time", []store.UsageDay{
		day("2031-03-02", 1), day("2031-03-03", 10), day("2031-03-04", 2),
	}, got)
	got, err = s.TokenUsage(ctx, tk.ID, time.Date(2031, time.March, 5, 0, 0, 0, 0, time.UTC))
	noErr(t, "TokenUsage", err)
	equal(t, "TokenUsage after the last day", []store.UsageDay{}, got)

	// Later batches: a day before the latest one used, the latest again,
	// then a later one, and the other token's day alone. Each adds to
	// its day, whichever days came before.
	for _, counts := range []map[string]int64{{"2031-03-02": 4}, {"2031-03-04": 1}, {"2031-03-05": 6}, {"2031-03-04": 2}} {
		noErr(t, "RecordTokenUse", s.RecordTokenUse(ctx, []store.TokenUse{{TokenID: tk.ID, At: at, IP: "10.0.0.1", Counts: counts}}))
	}
	noErr(t, "RecordTokenUse", s.RecordTokenUse(ctx, []store.TokenUse{{TokenID: other.ID, At: at, IP: "10.0.0.1",
		Counts: map[string]int64{"2031-03-03": 1}}}))
	got, err = s.TokenUsage(ctx, tk.ID, time.Time{})
	noErr(t, "TokenUsage", err)
	equal(t, "TokenUsage after later batches", []store.UsageDay{
		day("2031-03-01", 5), day("2031-03-02", 5), day("2031-03-03", 10), day("2031-03-04", 5), day("2031-03-05", 6),
	}, got)
	got, err = s.TokenUsage(ctx, tk.ID, time.Date(2031, time.March, 5, 0, 0, 0, 0, time.UTC))
	noErr(t, "TokenUsage", err)
	equal(t, "TokenUsage of the latest day", []store.UsageDay{day("2031-03-05", 6)}, got)
	got, err = s.TokenUsage(ctx, other.ID, time.Time{})
	noErr(t, "TokenUsage", err)
	equal(t, "TokenUsage of the other token", []store.UsageDay{day("2031-03-03", 101)}, got)
}

func day(d string, n int64) store.UsageDay { return store.UsageDay{Day: d, Count: n} }

// testDeleteTokenUsageBefore: the days before the cutoff's UTC date go,
// of every token (the backends go through the tokens in chunks, which
// their own tests make smaller than this user's seven tokens); the days
// on and after it stay, and so does everything else.
func testDeleteTokenUsageBefore(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	bob := mustUser(t, s, "bob")
	at := base.Add(time.Hour) // 2031-03-04 00:36 UTC: the day of the last use
	var toks []*store.Token
	var uses []store.TokenUse
	for i := range 7 {
		owner := u
		if i%3 == 1 {
			owner = bob
		}
		tk := mustToken(t, s, owner.ID, fmt.Sprintf("t%d", i))
		toks = append(toks, tk)
		counts := map[string]int64{"2030-03-01": 1, "2031-03-02": 2, "2031-03-03": 3, "2031-03-04": 4}
		if i == 3 {
			counts = map[string]int64{"2031-03-04": 5} // nothing old
		}
		uses = append(uses, store.TokenUse{TokenID: tk.ID, At: at, IP: "10.0.0.1", Counts: counts})
	}
	noErr(t, "RecordTokenUse", s.RecordTokenUse(ctx, uses))
	untouched := mustToken(t, s, u.ID, "never used")

	n, err := s.DeleteTokenUsageBefore(ctx, time.Date(2030, time.March, 1, 0, 0, 0, 0, time.UTC))
	noErr(t, "DeleteTokenUsageBefore the oldest day", err)
	equal(t, "days deleted before the oldest day", 0, n)

	// 2031-03-03 01:00 at UTC+05:30 is 2031-03-02 19:30 UTC: the days
	// before 2031-03-02 go, that day stays.
	n, err = s.DeleteTokenUsageBefore(ctx, time.Date(2031, time.March, 3, 1, 0, 0, 0, zone))
	noErr(t, "DeleteTokenUsageBefore", err)
	equal(t, "days deleted", 6, n)
	for i, tk := range toks {
		got, err := s.TokenUsage(ctx, tk.ID, time.Time{})
		noErr(t, "TokenUsage", err)
		want := []store.UsageDay{day("2031-03-02", 2), day("2031-03-03", 3), day("2031-03-04", 4)}
		if i == 3 {
			want = []store.UsageDay{day("2031-03-04", 5)}
		}
		equal(t, fmt.Sprintf("TokenUsage of token %d after the deletion", i), want, got)
		stored, err := s.GetToken(ctx, tk.ID)
		noErr(t, "GetToken", err)
		equal(t, "LastUsedAt after the deletion", ptr(micro(at)), stored.LastUsedAt)
	}
	got, err := s.TokenUsage(ctx, untouched.ID, time.Time{})
	noErr(t, "TokenUsage", err)
	equal(t, "TokenUsage of a token never used", []store.UsageDay{}, got)

	n, err = s.DeleteTokenUsageBefore(ctx, time.Date(2031, time.March, 2, 23, 0, 0, 0, time.UTC))
	noErr(t, "DeleteTokenUsageBefore again", err)
	equal(t, "days deleted the second time", 0, n)
}
