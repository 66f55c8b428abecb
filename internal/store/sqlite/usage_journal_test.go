package sqlite

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// journalBatches is a workload for the journal tests: three flushes over
// n tokens, each token used in two of them, over two days, from addresses
// that change, so latest use, recent addresses, day counts and new-address
// events all depend on how batches merge.
func journalBatches(tokens []*store.Token) [][]store.TokenUse {
	base := time.Date(2031, 3, 4, 10, 0, 0, 0, time.UTC)
	var out [][]store.TokenUse
	for b := range 3 {
		var batch []store.TokenUse
		for i, tk := range tokens {
			if (i+b)%3 == 0 {
				continue // each token misses one batch
			}
			at := base.Add(time.Duration(b)*14*time.Hour + time.Duration(i)*time.Millisecond)
			ip := fmt.Sprintf("10.0.%d.%d", b, i%7)
			use := store.TokenUse{
				TokenID: tk.ID, At: at, IP: ip, Agent: fmt.Sprintf("agent/%d", b), IPs: []string{ip},
				Counts:       map[string]int64{at.Format(time.DateOnly): int64(i%5 + 1)},
				NewAddresses: []store.AddressUse{{IP: ip, Agent: "agent", At: at}},
			}
			if i%2 == 0 { // the journal's short form: the new address is the use
				use.NewAddresses[0].Agent = use.Agent
			}
			batch = append(batch, use)
		}
		out = append(out, batch)
	}
	return out
}

// usageOf is what a token's usage looks like to a reader: the row's last
// use, its day counts and its new-address audit events.
type usageOf struct {
	lastUsed      string // RFC 3339 with microseconds; "" = never
	ip, agent     string
	recent        []string
	days          []store.UsageDay
	newAddrEvents []string
}

func readUsage(t *testing.T, s *Store, tokens []*store.Token) []usageOf {
	t.Helper()
	ctx := t.Context()
	out := make([]usageOf, len(tokens))
	for i, tk := range tokens {
		got, err := s.GetToken(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		days, err := s.TokenUsage(ctx, tk.ID, time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		events, err := s.ListAudit(ctx, store.AuditFilter{TargetID: tk.ID, Action: store.NewAddressAction, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var addrs []string
		for _, e := range events {
			addrs = append(addrs, fmt.Sprint(e.Details["ip"]))
		}
		slices.Sort(addrs)
		last := ""
		if got.LastUsedAt != nil {
			last = got.LastUsedAt.Format(time.RFC3339Nano)
		}
		out[i] = usageOf{last, got.LastUsedIP, got.LastUsedAgent, got.RecentIPs, days, addrs}
	}
	return out
}

func seedJournalTokens(t *testing.T, s *Store, n int) []*store.Token {
	t.Helper()
	u := testUser(t, s)
	tokens := make([]*store.Token, n)
	for i := range tokens {
		tokens[i] = testToken(u.ID, fmt.Sprintf("t%d", i))
	}
	if err := s.CreateTokens(t.Context(), tokens); err != nil {
		t.Fatal(err)
	}
	return tokens
}

// TestFoldedJournalEqualsRecordedUse journals a workload on one store and
// records it directly on another: after the fold, every token reads the
// same on both (latest use, address, agent, recent addresses, day counts,
// new-address audit events), and before it the journaled store shows no
// use yet.
func TestFoldedJournalEqualsRecordedUse(t *testing.T) {
	ctx := t.Context()
	direct, journaled := openTest(t, options{}), openTest(t, options{})
	const n = 4_500 // three fold transactions
	dTokens := seedJournalTokens(t, direct, n)
	jTokens := seedJournalTokens(t, journaled, n)
	dBatches, jBatches := journalBatches(dTokens), journalBatches(jTokens)
	for b := range dBatches {
		if err := direct.RecordTokenUse(ctx, dBatches[b]); err != nil {
			t.Fatal(err)
		}
		if err := journaled.JournalTokenUse(ctx, jBatches[b]); err != nil {
			t.Fatal(err)
		}
	}
	// A use of a token that is not stored is dropped, as RecordTokenUse
	// skips it.
	if err := journaled.JournalTokenUse(ctx, []store.TokenUse{{TokenID: testToken("nobody", "x").ID, At: time.Now(), Counts: map[string]int64{"2031-03-04": 1}}}); err != nil {
		t.Fatal(err)
	}
	sample := []int{0, 1, 2, 3, n / 2, n - 1}
	pick := func(ts []*store.Token) []*store.Token {
		var out []*store.Token
		for _, i := range sample {
			out = append(out, ts[i])
		}
		return out
	}
	for i, u := range readUsage(t, journaled, pick(jTokens)) {
		if u.lastUsed != "" || len(u.days) > 0 || len(u.newAddrEvents) > 0 {
			t.Fatalf("token %d shows use before the fold: %+v", sample[i], u)
		}
	}
	if waiting, err := journaled.JournaledTokenUses(ctx); err != nil || waiting != int64(len(jBatches[0])+len(jBatches[1])+len(jBatches[2])+1) {
		t.Fatalf("JournaledTokenUses = %d, %v", waiting, err)
	}

	folded, err := journaled.FoldTokenUse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(jBatches[0]) + len(jBatches[1]) + len(jBatches[2]); folded != want {
		t.Errorf("FoldTokenUse applied %d uses; want %d", folded, want)
	}
	want, got := readUsage(t, direct, pick(dTokens)), readUsage(t, journaled, pick(jTokens))
	for i := range want {
		if fmt.Sprint(want[i]) != fmt.Sprint(got[i]) {
			t.Errorf("token %d:\nrecorded %+v\nfolded   %+v", sample[i], want[i], got[i])
		}
		if want[i].lastUsed == "" || len(want[i].days) == 0 {
			t.Errorf("token %d: the workload left no use to compare: %+v", sample[i], want[i])
		}
	}
	if waiting, err := journaled.JournaledTokenUses(ctx); err != nil || waiting != 0 {
		t.Errorf("after the fold the journal holds %d uses, %v", waiting, err)
	}
	if n, err := journaled.FoldTokenUse(ctx); err != nil || n != 0 {
		t.Errorf("a fold of an empty journal = %d, %v", n, err)
	}
}

// TestInterruptedFoldResumesWithoutCountingTwice stops a fold after its
// first transaction, as a crash would, reopens the file and folds again:
// every use is counted exactly once, and the uses journaled meanwhile wait
// for their own fold.
func TestInterruptedFoldResumesWithoutCountingTwice(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "db")
	s, err := open(ctx, path, options{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 5_000
	tokens := seedJournalTokens(t, s, n)
	day := "2031-03-04"
	batch := make([]store.TokenUse, n)
	for i, tk := range tokens {
		batch[i] = store.TokenUse{TokenID: tk.ID, At: time.Date(2031, 3, 4, 12, 0, 0, 0, time.UTC), Counts: map[string]int64{day: 3}}
	}
	for range 2 {
		if err := s.JournalTokenUse(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	crash := errors.New("crash")
	foldFailAfter = func(chunks int) error {
		if chunks == 1 {
			return crash
		}
		return nil
	}
	t.Cleanup(func() { foldFailAfter = nil })
	if _, err := s.FoldTokenUse(ctx); !errors.Is(err, crash) {
		t.Fatalf("interrupted fold: %v", err)
	}
	foldFailAfter = nil
	// Uses journaled after the interrupted fold began are not part of it.
	late := []store.TokenUse{{TokenID: tokens[0].ID, At: time.Date(2031, 3, 4, 13, 0, 0, 0, time.UTC), Counts: map[string]int64{day: 100}}}
	if err := s.JournalTokenUse(ctx, late); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = open(ctx, path, options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.FoldTokenUse(ctx); err != nil {
		t.Fatal(err)
	}
	check := func(when string, first int64) {
		for _, i := range []int{0, 1, 1999, 2000, 2001, n - 1} {
			days, err := s.TokenUsage(ctx, tokens[i].ID, time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			want := int64(6)
			if i == 0 {
				want = first
			}
			if len(days) != 1 || days[0].Count != want {
				t.Errorf("%s: token %d counts %+v; want %d on %s", when, i, days, want, day)
			}
		}
	}
	check("after resuming", 6)
	if _, err := s.FoldTokenUse(ctx); err != nil {
		t.Fatal(err)
	}
	check("after the next fold", 106)
	if waiting, err := s.JournaledTokenUses(ctx); err != nil || waiting != 0 {
		t.Errorf("journal holds %d uses, %v", waiting, err)
	}
}

// TestFoldHoldsNoReadAcrossItsCommits: between a fold's chunks no read of
// the fold is open, so a checkpoint can copy every frame the chunks
// committed, and the WAL starts over instead of growing by every page the
// fold writes. A fold that kept its read of the journal open across its
// commits pinned its first snapshot: the frames of every chunk stayed
// uncopied (the WAL grew to 170-270 MB folding 300,000 uses of 1M tokens).
func TestFoldHoldsNoReadAcrossItsCommits(t *testing.T) {
	ctx := t.Context()
	s, err := open(ctx, filepath.Join(t.TempDir(), "db"), options{noCkpt: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 3*foldChunk + 10
	tokens := seedJournalTokens(t, s, n)
	batch := make([]store.TokenUse, n)
	for i, tk := range tokens {
		batch[i] = store.TokenUse{TokenID: tk.ID, At: time.Date(2031, 3, 4, 12, 0, 0, 0, time.UTC),
			Counts: map[string]int64{"2031-03-04": 1}}
	}
	if err := s.JournalTokenUse(ctx, batch); err != nil {
		t.Fatal(err)
	}
	var checked int
	foldFailAfter = func(chunks int) error {
		if chunks == 0 {
			return nil // nothing committed yet
		}
		var busy, logged, copied int
		if err := s.w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logged, &copied); err != nil {
			return err
		}
		if copied != logged {
			t.Errorf("before chunk %d: a checkpoint copied %d of %d WAL frames: a read holds an older snapshot", chunks+1, copied, logged)
		}
		checked++
		return nil
	}
	t.Cleanup(func() { foldFailAfter = nil })
	if got, err := s.FoldTokenUse(ctx); err != nil || got != n {
		t.Fatalf("fold: %d uses, %v; want %d", got, err, n)
	}
	if checked != 3 {
		t.Fatalf("checked %d times between chunks, want 3", checked)
	}
}
