package sqlite

import (
	"bytes"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/store"
)

// BenchmarkVerificationRead is the uncached verification's read alone, on
// two goroutines, of tokens in random order among 1k and 1M seeded as the
// harness seeds them (in digest order, in batches). The 1M case seeds for
// about half a minute before it measures.
func BenchmarkVerificationRead(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			s, err := Open(b.Context(), filepath.Join(b.TempDir(), "db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			digests := seedVerifyBench(b, s, n)
			b.SetParallelism(1) // GOMAXPROCS goroutines: one per verification connection on 2 CPUs
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				r := mrand.New(mrand.NewPCG(mrand.Uint64(), 1))
				for pb.Next() {
					if _, _, err := s.GetTokenAndOwnerByDigest(b.Context(), digests[r.IntN(n)]); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
		})
	}
}

// seedVerifyBench creates n tokens of one user in s as the harness seeds
// them (in digest order, in batches of 10,000; the i-th has the id
// seedTokenID(i)) and returns their digests, in that order.
func seedVerifyBench(b *testing.B, s *Store, n int) [][]byte {
	b.Helper()
	now := time.Now()
	u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Username: "bench", Role: store.RoleMember,
		Kind: store.KindPerson, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(b.Context(), u); err != nil {
		b.Fatal(err)
	}
	digests := make([][]byte, n)
	for i := range digests {
		digests[i] = make([]byte, 32)
		rand.Read(digests[i])
	}
	slices.SortFunc(digests, bytes.Compare)
	exp := now.Add(365 * 24 * time.Hour)
	for start := 0; start < n; start += 10_000 {
		ts := make([]*store.Token, 0, 10_000)
		for i := start; i < min(start+10_000, n); i++ {
			ts = append(ts, &store.Token{ID: seedTokenID(i), UserID: u.ID,
				Kind: store.TokenPersonal, Name: fmt.Sprintf("seed-%07d", i), Scopes: []string{"repo", "read:user"},
				Digest: digests[i], Hint: "abcd", CreatedAt: now, UpdatedAt: now, ExpiresAt: &exp})
		}
		if err := s.CreateTokens(b.Context(), ts); err != nil {
			b.Fatal(err)
		}
	}
	return digests
}
