package auth_test

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
)

func TestUsageIsWrittenOnCloseWithCountsAndLastUse(t *testing.T) {
	forEachMode(t, func(t *testing.T, f *fixture) {
		it := f.create(f.member, "ci", "repo")
		for range 3 {
			if _, err := f.v.Verify(f.ctx, it.Secret, auth.Request{IP: "192.0.2.7", Agent: "git/2.45"}); err != nil {
				t.Fatal(err)
			}
		}
		f.clock.Advance(time.Second)
		if _, err := f.v.Verify(f.ctx, it.Secret, auth.Request{IP: "198.51.100.9", Agent: "curl/8"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.st.GetToken(f.ctx, it.Token.ID); got.LastUsedAt != nil {
			t.Fatal("last use written before any flush: verification must not write")
		}
		f.usage.Close(f.ctx)
		got, err := f.st.GetToken(f.ctx, it.Token.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.LastUsedAt == nil || !got.LastUsedAt.Equal(f.clock.Now()) || got.LastUsedIP != "198.51.100.9" || got.LastUsedAgent != "curl/8" {
			t.Fatalf("last use %v from %q (%q), want %v from 198.51.100.9 (curl/8)", got.LastUsedAt, got.LastUsedIP, got.LastUsedAgent, f.clock.Now())
		}
		if len(got.RecentIPs) != 2 || got.RecentIPs[0] != "198.51.100.9" || got.RecentIPs[1] != "192.0.2.7" {
			t.Fatalf("recent IPs %v, want [198.51.100.9 192.0.2.7]", got.RecentIPs)
		}
		days, err := f.st.TokenUsage(f.ctx, it.Token.ID, f.clock.Now().Add(-48*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(days) != 1 || days[0].Day != "2026-03-14" || days[0].Count != 4 {
			t.Fatalf("usage %+v, want 4 requests on 2026-03-14", days)
		}
	})
}

func TestUsageCountsEachUTCDaySeparately(t *testing.T) {
	f := newFixture(t, true)
	it := f.create(f.member, "ci", "repo")
	f.clock.Advance(12*time.Hour - time.Second) // 23:59:59
	for range 2 {
		f.mustVerifyOnce(it.Secret)
	}
	f.clock.Advance(2 * time.Second)
	for range 3 {
		f.mustVerifyOnce(it.Secret)
	}
	f.usage.Flush(f.ctx)
	days, err := f.st.TokenUsage(f.ctx, it.Token.ID, f.clock.Now().Add(-72*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []store.UsageDay{{Day: "2026-03-14", Count: 2}, {Day: "2026-03-15", Count: 3}}
	if fmt.Sprint(days) != fmt.Sprint(want) {
		t.Fatalf("usage %v, want %v", days, want)
	}
}

func (f *fixture) mustVerifyOnce(secret string) {
	f.t.Helper()
	if _, err := f.verify(secret); err != nil {
		f.t.Fatal(err)
	}
}

func TestUsageCountsRacingFlushesAreNotLost(t *testing.T) {
	f := newFixture(t, true)
	its := []string{f.create(f.member, "a", "repo").Secret, f.create(f.member, "b", "repo").Secret}
	const workers, each = 4, 500
	stop := make(chan struct{})
	var flusher sync.WaitGroup
	flusher.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				f.usage.Flush(f.ctx)
			}
		}
	})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if _, err := f.verify(its[(w+i)%2]); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	flusher.Wait()
	f.usage.Close(f.ctx)
	var total int64
	for _, s := range its {
		p := f.mustVerify(s) // (these three uses are not flushed)
		days, err := f.st.TokenUsage(f.ctx, p.Token.ID, f.clock.Now().Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range days {
			total += d.Count
		}
	}
	if total != workers*each {
		t.Fatalf("flushed %d uses, want %d", total, workers*each)
	}
}

func TestUsageMemoryIsBounded(t *testing.T) {
	f := newFixture(t, false)
	f.usage.SetLimit(3)
	secrets := make([]string, 6)
	for i := range secrets {
		secrets[i] = f.create(f.member, fmt.Sprintf("t%d", i), "repo").Secret
	}
	for _, s := range secrets {
		f.mustVerifyOnce(s)
	}
	if n := f.usage.Tracked(); n != 3 {
		t.Fatalf("tracking %d tokens, bound is 3", n)
	}
	f.usage.Flush(f.ctx)
	// Idle tokens are forgotten after two intervals, making room again.
	f.usage.Flush(f.ctx)
	f.usage.Flush(f.ctx)
	if n := f.usage.Tracked(); n != 0 {
		t.Fatalf("still tracking %d idle tokens after two idle intervals", n)
	}
	for _, s := range secrets[3:] {
		f.mustVerifyOnce(s)
	}
	f.usage.Flush(f.ctx)
	used := 0
	for _, s := range secrets {
		p := f.mustVerify(s)
		if got, _ := f.st.GetToken(f.ctx, p.Token.ID); got.LastUsedAt != nil {
			used++
		}
	}
	if used != 6 {
		t.Fatalf("%d of 6 tokens have a last use recorded, want all (3 before the bound, 3 after room was made)", used)
	}
}

func TestFirstUseFromANewAddressIsAudited(t *testing.T) {
	f := newFixture(t, true)
	it := f.create(f.member, "ci", "repo")
	f.mustVerifyOnce(it.Secret) // from 192.0.2.7
	f.usage.Flush(f.ctx)
	// The cached entry still holds the row read before the flush; the
	// audit compares with the addresses stored when the token was read.
	f.cache.TokenChanged(it.Token)
	for range 3 {
		if _, err := f.v.Verify(f.ctx, it.Secret, auth.Request{IP: "203.0.113.5", Agent: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	// Verification writes nothing: the event is reported by the flush.
	events, err := f.st.ListAudit(f.ctx, store.AuditFilter{Action: "token.new_ip"})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 0 {
		t.Fatalf("an audit event was written during verification: %+v", events)
	}
	f.usage.Flush(f.ctx)
	events, err = f.st.ListAudit(f.ctx, store.AuditFilter{Action: "token.new_ip"})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].TargetID != it.Token.ID || events[0].Details["ip"] != "203.0.113.5" {
		t.Fatalf("new-address audit events %+v, want one for 203.0.113.5", events)
	}
}

func TestBusyTokenIsWrittenOncePerMinuteNotEveryFlush(t *testing.T) {
	f := newFixture(t, true)
	// A real server's flusher: every 5s, so a busy token waits 12 flushes.
	usage := auth.NewUsage(f.st, 5*time.Second, nil)
	v := auth.NewChecker(f.cache, auth.Options{Prefix: "lk", Catalog: f.cat, Policy: f.svc.Policies, Usage: usage, Now: f.clock.Now})
	it := f.create(f.member, "ci", "repo")
	use := func() {
		t.Helper()
		if _, err := v.Verify(f.ctx, it.Secret, auth.Request{IP: "192.0.2.7", Agent: "ci"}); err != nil {
			t.Fatal(err)
		}
	}
	written := func() int64 {
		t.Helper()
		days, err := f.st.TokenUsage(f.ctx, it.Token.ID, f.clock.Now().Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, d := range days {
			n += d.Count
		}
		return n
	}
	use()
	usage.Flush(f.ctx)
	if n := written(); n != 1 {
		t.Fatalf("first use: %d written by the next flush, want 1", n)
	}
	for range 11 {
		use()
		usage.Flush(f.ctx)
	}
	if n := written(); n != 1 {
		t.Fatalf("a busy token was written again within 11 flushes: %d uses written, want 1", n)
	}
	use()
	usage.Flush(f.ctx)
	if n := written(); n != 13 {
		t.Fatalf("after 12 flushes: %d uses written, want 13", n)
	}
	use()
	usage.Close(f.ctx)
	if n := written(); n != 14 {
		t.Fatalf("after Close: %d uses written, want all 14", n)
	}
}

// A cached entry holds its usage cell weakly: once the flush has written
// the cell and the index has forgotten it as idle, it is collected while
// the entry stays cached (most entries of a cache over a million tokens
// are used once), and the token's next uses get a new cell and are all
// counted.
func TestAnIdleCachedTokenKeepsNoUsageCellAlive(t *testing.T) {
	f := newFixture(t, true)
	it := f.create(f.member, "ci", "repo")
	f.mustVerifyOnce(it.Secret)
	if cached, cell := auth.CachedUsageCell(f.cache, it.Secret, f.clock.Now()); !cached || !cell {
		t.Fatalf("after a use: cached %v, usage cell %v; want both", cached, cell)
	}
	for range 3 { // written, then forgotten as idle for two intervals
		f.usage.Flush(f.ctx)
	}
	if n := f.usage.Tracked(); n != 0 {
		t.Fatalf("still tracking %d idle tokens", n)
	}
	runtime.GC()
	if cached, cell := auth.CachedUsageCell(f.cache, it.Secret, f.clock.Now()); !cached || cell {
		t.Fatalf("idle and collected: cached %v, usage cell %v; want the entry cached and its cell gone", cached, cell)
	}
	f.mustVerifyOnce(it.Secret)
	f.mustVerifyOnce(it.Secret)
	f.usage.Close(f.ctx)
	days, err := f.st.TokenUsage(f.ctx, it.Token.ID, f.clock.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 1 || days[0].Count != 3 {
		t.Fatalf("usage %v, want 3 uses today", days)
	}
}
