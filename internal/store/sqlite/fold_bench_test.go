package sqlite

import (
	"fmt"
	mrand "math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// BenchmarkFold is the usage fold the uncached verification of many
// distinct tokens leads to: first uses, one per token, of tokens chosen at
// random among 1M seeded as the harness seeds them, journaled in batches
// as auth.Usage journals them and then folded, 250,000 (auth's foldRows)
// and 500,000 at a time. Each iteration journals and folds a new day's
// uses (same-day: uses of one day, fold after fold); the fold alone is
// timed, and reported per use. The seeding takes about half a minute.
func BenchmarkFold(b *testing.B) {
	const tokens = 1_000_000
	s := openSeededBench(b, tokens)
	day := time.Now().UTC().Truncate(24 * time.Hour)
	for _, run := range []struct {
		name    string
		uses    int
		nextDay bool
	}{
		{"uses=250000", 250_000, true}, {"uses=500000", 500_000, true},
		// Every fold of the same day, as in a ten-minute soak: a token
		// used again adds to the day its last use counts.
		{"same-day/uses=250000", 250_000, false},
	} {
		uses := run.uses
		b.Run(run.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				if run.nextDay {
					day = day.AddDate(0, 0, 1)
				}
				journalFirstUses(b, s, mrand.Perm(tokens)[:uses], day)
				b.StartTimer()
				n, err := s.FoldTokenUse(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				if n != uses {
					b.Fatalf("folded %d uses, want %d", n, uses)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*uses), "ns/use")
		})
	}
}

// journalFirstUses journals a use at at of each of the seeded tokens idx,
// from one address, in batches of 10,000.
func journalFirstUses(b *testing.B, s *Store, idx []int, at time.Time) {
	b.Helper()
	batch := make([]store.TokenUse, 0, 10_000)
	for k, i := range idx {
		batch = append(batch, store.TokenUse{
			TokenID: seedTokenID(i), At: at, IP: "127.0.0.1", IPs: []string{"127.0.0.1"},
			Counts:       map[string]int64{at.Format(time.DateOnly): 1},
			NewAddresses: []store.AddressUse{{IP: "127.0.0.1", At: at}},
		})
		if len(batch) == cap(batch) || k == len(idx)-1 {
			if err := s.JournalTokenUse(b.Context(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// openSeededBench opens a store in a temporary directory, closed when b
// ends, with n tokens seeded by seedVerifyBench.
func openSeededBench(b *testing.B, n int) *Store {
	b.Helper()
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	seedVerifyBench(b, s, n)
	return s
}

// seedTokenID is the id of the i-th token seedVerifyBench creates.
func seedTokenID(i int) string { return fmt.Sprintf("00000000-0000-7000-8000-%012x", i) }
