package auth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// TestLargeFlushesAreJournaledAndFolded: on SQLite, a flush of many first
// uses is appended to the usage journal rather than written into the
// tokens; Fold (which the unused-token cleanup calls first) and Close apply
// it, each use counted once.
func TestLargeFlushesAreJournaledAndFolded(t *testing.T) {
	const n = 1_200 // well over the smallest journaled batch
	ctx, st, tokens, now := journalFixture(t, n)
	usage := auth.NewUsage(st, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, tk := range tokens {
		usage.Record(tk, now, "192.0.2.7", "git/2.45")
	}
	usage.Flush(ctx)
	if waiting, err := st.JournaledTokenUses(ctx); err != nil || waiting != n {
		t.Fatalf("after a flush of %d first uses the journal holds %d, %v", n, waiting, err)
	}
	if got, _ := st.GetToken(ctx, tokens[7].ID); got.LastUsedAt != nil {
		t.Fatalf("journaled use already in the token: %v", got.LastUsedAt)
	}
	if err := usage.Fold(ctx); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 7, n - 1} {
		got, err := st.GetToken(ctx, tokens[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.LastUsedAt == nil || !got.LastUsedAt.Equal(now) || got.LastUsedIP != "192.0.2.7" || got.LastUsedAgent != "git/2.45" {
			t.Fatalf("token %d after Fold: last use %v from %q (%q)", i, got.LastUsedAt, got.LastUsedIP, got.LastUsedAgent)
		}
	}

	// Uses journaled by the last flush of Close are folded before it returns.
	later := now.Add(time.Minute)
	for _, tk := range tokens {
		usage.Record(tk, later, "198.51.100.9", "curl/8")
	}
	usage.Close(ctx)
	if waiting, err := st.JournaledTokenUses(ctx); err != nil || waiting != 0 {
		t.Fatalf("after Close the journal holds %d, %v", waiting, err)
	}
	for _, i := range []int{0, n / 2, n - 1} {
		got, _ := st.GetToken(ctx, tokens[i].ID)
		days, err := st.TokenUsage(ctx, tokens[i].ID, now.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if got.LastUsedAt == nil || !got.LastUsedAt.Equal(later) || len(days) != 1 || days[0].Count != 2 {
			t.Fatalf("token %d after Close: last use %v, days %+v; want %v and 2 uses", i, got.LastUsedAt, days, later)
		}
		if len(got.RecentIPs) != 2 || got.RecentIPs[0] != "198.51.100.9" {
			t.Fatalf("token %d recent IPs %v", i, got.RecentIPs)
		}
	}
}

// unfoldable is a store whose journal cannot be folded (as when the fold's
// sort finds no temporary space).
type unfoldable struct{ *sqlite.Store }

func (unfoldable) FoldTokenUse(context.Context) (int, error) {
	return 0, errors.New("disk I/O error: no space for the sort")
}

// TestAJournalThatCannotBeFoldedStopsGrowing: after a failed fold, large
// flushes are written into the tokens directly, so last uses stay current
// and the journal does not grow without bound.
func TestAJournalThatCannotBeFoldedStopsGrowing(t *testing.T) {
	ctx, st, tokens, now := journalFixture(t, 800)
	usage := auth.NewUsage(unfoldable{st}, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	use := func(at time.Time) {
		for _, tk := range tokens {
			usage.Record(tk, at, "192.0.2.7", "git/2.45")
		}
		usage.Flush(ctx)
	}
	use(now)
	if err := usage.Fold(ctx); err == nil {
		t.Fatal("the fold of an unfoldable journal succeeded")
	}
	use(now.Add(time.Minute))
	if waiting, err := st.JournaledTokenUses(ctx); err != nil || waiting != int64(len(tokens)) {
		t.Fatalf("journal holds %d uses, %v; want only the %d of the flush before the failed fold", waiting, err, len(tokens))
	}
	got, err := st.GetToken(ctx, tokens[3].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("after a failed fold the next flush did not reach the token: last use %v", got.LastUsedAt)
	}
}

// journalFixture opens a SQLite store holding n tokens of one member,
// made at now.
func journalFixture(t *testing.T, n int) (context.Context, *sqlite.Store, []*store.Token, time.Time) {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	owner := &store.User{ID: uuid.NewString(), Username: "mia", Role: store.RoleMember, Kind: store.KindPerson,
		LoginType: "password", CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(ctx, owner); err != nil {
		t.Fatal(err)
	}
	tokens := make([]*store.Token, n)
	for i := range tokens {
		d := uuid.New()
		tokens[i] = &store.Token{ID: uuid.NewString(), UserID: owner.ID, Kind: store.TokenPersonal, Name: fmt.Sprint("t", i),
			Digest: append(d[:], d[:]...), Hint: "abcd", CreatedAt: now, UpdatedAt: now}
	}
	if err := st.CreateTokens(ctx, tokens); err != nil {
		t.Fatal(err)
	}
	return ctx, st, tokens, now
}
