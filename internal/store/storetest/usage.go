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
		{"UnusedTokenIDsJudgeLastActivityOfLiveTokens", testUnusedTokenIDs},
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

// testUnusedTokenIDs: a live token is unused when its creation,
// regeneration and last use are all before the cutoff; revoked and
// expired tokens are never listed. Pages follow the id order; a cutoff
// with sub-microsecond digits keeps the comparison exact.
func testUnusedTokenIDs(t *testing.T, s store.Store) {
	ctx := t.Context()
	const day = 24 * time.Hour
	u := mustUser(t, s, "alice")
	// Whole microseconds, as stored: a token used or created exactly at
	// the cutoff is not before it.
	cutoff, now := store.Truncate(base.Add(10*day)), store.Truncate(base.Add(30*day))
	var unused, unusedAtCutoff []string // ids in creation (= id) order
	token := func(name string, listed, listedPastCutoff bool, mods ...func(*store.Token)) *store.Token {
		tk := mustToken(t, s, u.ID, name, mods...)
		if listed {
			unused = append(unused, tk.ID)
		}
		if listedPastCutoff {
			unusedAtCutoff = append(unusedAtCutoff, tk.ID)
		}
		return tk
	}
	used := func(tk *store.Token, at time.Time) {
		noErr(t, "RecordTokenUse "+tk.Name, s.RecordTokenUse(ctx, []store.TokenUse{{TokenID: tk.ID, At: at, IP: "192.0.2.1"}}))
	}
	token("never used", true, true)
	used(token("used recently", false, false), cutoff.Add(time.Hour))
	used(token("used long ago", true, true), base.Add(time.Hour))
	used(token("used at the cutoff", false, true), cutoff)
	token("created after the cutoff", false, false, func(tk *store.Token) { tk.CreatedAt = cutoff.Add(time.Hour) })
	token("created at the cutoff", false, true, func(tk *store.Token) { tk.CreatedAt = cutoff })
	token("created just before", true, true, func(tk *store.Token) { tk.CreatedAt = cutoff.Add(-time.Microsecond) })
	token("regenerated recently", false, false, func(tk *store.Token) { tk.RegeneratedAt = ptr(cutoff.Add(time.Hour)) })
	token("regenerated long ago", true, true, func(tk *store.Token) { tk.RegeneratedAt = ptr(base.Add(time.Hour)) })
	token("revoked", false, false, func(tk *store.Token) { tk.RevokedAt = ptr(base.Add(2 * time.Hour)) })
	token("expired", false, false, func(tk *store.Token) { tk.ExpiresAt = ptr(base.Add(20 * day)) })
	token("expires now", false, false, func(tk *store.Token) { tk.ExpiresAt = ptr(now) })
	token("expires soon", true, true, func(tk *store.Token) { tk.ExpiresAt = ptr(now.Add(time.Hour)) })
	token("never expires", true, true, func(tk *store.Token) { tk.ExpiresAt = nil })

	all := func(before time.Time, limit int) []string {
		t.Helper()
		got, after := []string{}, ""
		for range 100 {
			ids, err := s.UnusedTokenIDs(ctx, before, now, after, limit)
			noErr(t, "UnusedTokenIDs", err)
			got = append(got, ids...)
			if len(ids) < limit {
				return got
			}
			after = ids[len(ids)-1]
		}
		t.Fatal("UnusedTokenIDs never ran out of pages")
		return nil
	}
	equal(t, "unused tokens, one page", unused, all(cutoff, 1000))
	equal(t, "unused tokens, pages of 2", unused, all(cutoff, 2))
	equal(t, "unused tokens, cutoff 500ns later", unusedAtCutoff, all(cutoff.Add(500*time.Nanosecond), 3))
	ids, err := s.UnusedTokenIDs(ctx, cutoff, now, unused[len(unused)-1], 10)
	noErr(t, "UnusedTokenIDs after the last", err)
	equal(t, "unused tokens after the last one", []string{}, ids)
}
