package storetest

import (
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/store"
)

// BenchmarkCreateTokens seeds tokens with CreateTokens in batches of 10,000
// into the store open returns and reports tokens/s. Run it with
// -benchtime=100x to seed 1,000,000 tokens.
func BenchmarkCreateTokens(b *testing.B, open func(b *testing.B) store.Store) {
	const batch = 10_000
	s, u := benchStore(b, open)
	var elapsed time.Duration
	for i := 0; b.Loop(); i++ {
		ts := benchTokens(u.ID, batch, i*batch)
		start := time.Now()
		if err := s.CreateTokens(b.Context(), ts); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(b.N*batch)/elapsed.Seconds(), "tokens/s")
}

// BenchmarkGetTokenByDigest measures the uncached verification lookup on a
// store of 100,000 tokens, from parallel readers, and reports lookups/s.
func BenchmarkGetTokenByDigest(b *testing.B, open func(b *testing.B) store.Store) {
	s, u := benchStore(b, open)
	const n = 100_000
	ts := benchTokens(u.ID, n, 0)
	if err := s.CreateTokens(b.Context(), ts); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.GetTokenByDigest(b.Context(), ts[i%n].Digest); err != nil {
				b.Error(err)
				return
			}
			i += 7919
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

func benchStore(b *testing.B, open func(b *testing.B) store.Store) (store.Store, *store.User) {
	b.Helper()
	s := open(b)
	now := time.Now()
	u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Username: "bench", Role: store.RoleMember,
		Kind: store.KindPerson, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(b.Context(), u); err != nil {
		b.Fatal(err)
	}
	return s, u
}

func benchTokens(userID string, n, from int) []*store.Token {
	now := time.Now()
	exp := now.Add(90 * 24 * time.Hour)
	ts := make([]*store.Token, n)
	for i := range ts {
		d := make([]byte, 32)
		_, _ = rand.Read(d)
		ts[i] = &store.Token{
			ID: uuid.Must(uuid.NewV7()).String(), UserID: userID, Kind: store.TokenPersonal,
			Name: fmt.Sprintf("token-%09d", from+i), Scopes: []string{"repo", "repo:read=acme/*"},
			Digest: d, Hint: "abcd", CreatedAt: now, UpdatedAt: now, ExpiresAt: &exp,
		}
	}
	return ts
}

// BenchmarkDeleteTokenUsageBefore times the cleanup job's daily deletion
// of per-day usage counts on s, whose tokens each have counts on
// 2030-06-02 and 2030-06-03: with one day past the cutoff per token
// (addOld gives each token a count on 2030-06-01 before each run: the
// daily run's work), and with none (a second run the same day). It
// reports the time per token and per run.
func BenchmarkDeleteTokenUsageBefore(b *testing.B, s store.Store, tokens int, addOld func(b *testing.B)) {
	cutoff := time.Date(2030, time.June, 2, 0, 0, 0, 0, time.UTC)
	for _, run := range []struct {
		name string
		old  int // old days per token
	}{{"one-old-day-per-token", 1}, {"nothing-old", 0}} {
		b.Run(run.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				if run.old > 0 {
					addOld(b)
				}
				b.StartTimer()
				n, err := s.DeleteTokenUsageBefore(b.Context(), cutoff)
				if err != nil {
					b.Fatal(err)
				}
				if n != tokens*run.old {
					b.Fatalf("deleted %d days, want %d", n, tokens*run.old)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tokens), "ns/token")
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
		})
	}
}

// BenchmarkUnusedTokens times the hourly cleanup's search for tokens unused
// for 90 days over a store of tokens live tokens, none unused (the steady
// state: the search finds nothing), two ways: UnusedTokenIDs, and the
// pages of whole tokens (ListTokens of the active and expiring states)
// that the search used to read and judge in Go, as the baseline.
func BenchmarkUnusedTokens(b *testing.B, s store.Store, tokens int) {
	now := time.Now()
	cutoff := now.Add(-90 * 24 * time.Hour)
	b.Run("list-tokens-pages", func(b *testing.B) {
		for b.Loop() {
			read := 0
			for _, state := range []store.TokenState{store.StateActive, store.StateExpiring} {
				cursor := ""
				for {
					page, err := s.ListTokens(b.Context(), store.TokenFilter{State: state, Now: now, Cursor: cursor, Limit: store.MaxPageLimit})
					if err != nil {
						b.Fatal(err)
					}
					read += len(page)
					if len(page) < store.MaxPageLimit {
						break
					}
					cursor = page[len(page)-1].ID
				}
			}
			if read != tokens {
				b.Fatalf("read %d live tokens, want %d", read, tokens)
			}
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
	})
	b.Run("unused-token-ids", func(b *testing.B) {
		for b.Loop() {
			ids, err := s.UnusedTokenIDs(b.Context(), cutoff, now, "", store.MaxPageLimit)
			if err != nil {
				b.Fatal(err)
			}
			if len(ids) != 0 {
				b.Fatalf("%d tokens unused, want none", len(ids))
			}
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
	})
}
