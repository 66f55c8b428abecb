package postgres_test

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func openBench(b *testing.B) store.Store {
	b.Helper()
	dsn := os.Getenv(postgres.TestDSNEnv)
	if dsn == "" {
		b.Skipf("set %s to benchmark PostgreSQL", postgres.TestDSNEnv)
	}
	s, err := postgres.Open(b.Context(), postgres.NewTestSchema(b, dsn))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkCreateTokens seeds with COPY in batches of 10,000.
func BenchmarkCreateTokens(b *testing.B) { storetest.BenchmarkCreateTokens(b, openBench) }

// BenchmarkGetTokenByDigest is the uncached verification lookup.
func BenchmarkGetTokenByDigest(b *testing.B) { storetest.BenchmarkGetTokenByDigest(b, openBench) }

// openSeeded opens the store on the seeded schema with the server
// benchmark's pool of 8 connections.
func openSeeded(b *testing.B) store.Store {
	b.Helper()
	s, err := postgres.Open(b.Context(), withParam(seededDSN(b), "pool_max_conns", "8"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkGetTokenAndOwnerByDigest is the uncached verification read on
// 1M tokens, from 8 readers per core over a pool of 8 connections, each
// lookup a different token.
func BenchmarkGetTokenAndOwnerByDigest(b *testing.B) {
	s := openSeeded(b)
	var next atomic.Int64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(7919) % seededTokens)
			t, u, err := s.GetTokenAndOwnerByDigest(b.Context(), seededDigest(i))
			if err != nil || u == nil || t.UserID != u.ID {
				b.Errorf("token %d: %v, owner %v", i, err, u)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkRecordTokenUse is a usage flush of 20,000 tokens used for the
// first time, on 1M tokens, in calls of 2,000 uses as auth.Usage makes
// them, and reports uses/s. Each operation takes the next 20,000 tokens of
// a fixed random order, so most uses are first uses until the 1M run out.
//
// It also reports the share of the updates of tokens that were HOT (heap
// only: no index entry written), from the table's statistics, which lag by
// up to a second.
func BenchmarkRecordTokenUse(b *testing.B) {
	const perOp, perCall = 20_000, 2_000
	s := openSeeded(b)
	ids := seededIDs(b, seededDSN(b))
	upd0, hot0 := tokenUpdates(b)
	day := time.Now().UTC().Format(time.DateOnly)
	next := 0
	uses := make([]store.TokenUse, perCall)
	for b.Loop() {
		for range perOp / perCall {
			at := time.Now()
			for i := range uses {
				id := ids[next%len(ids)]
				next++
				ip := fmt.Sprintf("10.%d.%d.%d", next>>16&255, next>>8&255, next&255)
				uses[i] = store.TokenUse{TokenID: id, At: at, IP: ip, Agent: "wrk/4.2.0", IPs: []string{ip},
					Counts: map[string]int64{day: 1}, NewAddresses: []store.AddressUse{{IP: ip, Agent: "wrk/4.2.0", At: at}}}
			}
			if err := s.RecordTokenUse(b.Context(), uses); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "uses/s")
	if upd, hot := tokenUpdates(b); upd > upd0 {
		b.ReportMetric(100*float64(hot-hot0)/float64(upd-upd0), "hot-%")
	}
}

// tokenUpdates returns the seeded tokens table's update counts so far: all
// and HOT.
func tokenUpdates(b *testing.B) (all, hot int64) {
	b.Helper()
	conn, err := pgx.Connect(b.Context(), seededDSN(b))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(b.Context())
	if err := conn.QueryRow(b.Context(), `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
		WHERE relid = 'tokens'::regclass`).Scan(&all, &hot); err != nil {
		b.Fatal(err)
	}
	return all, hot
}

// BenchmarkDeleteTokenUsageBefore is the cleanup job's daily deletion of
// per-day usage counts past store.UsageDaysKept on the 1M seeded tokens,
// each with three days of counts of which one has just passed the cutoff
// (the daily run's work), or none has (a second run the same day), in the
// server's chunks of 1,000 tokens. The counts are deleted again after.
//
//	go test -run '^$' -bench DeleteTokenUsageBefore -benchtime 1x ./internal/store/postgres
func BenchmarkDeleteTokenUsageBefore(b *testing.B) {
	s := openSeeded(b)
	defer postgres.SetUsagePruneChunk(1_000)()
	conn, err := pgx.Connect(b.Context(), seededDSN(b))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(b.Context())
	exec := func(q string) {
		b.Helper()
		if _, err := conn.Exec(b.Context(), q); err != nil {
			b.Fatal(err)
		}
	}
	exec(`INSERT INTO token_usage (token_id, day, count) SELECT id, d::date, 1 FROM tokens, (VALUES ('2030-06-02'), ('2030-06-03')) AS v(d)`)
	defer exec(`DELETE FROM token_usage WHERE day BETWEEN '2030-06-01' AND '2030-06-03'`)
	exec(`VACUUM ANALYZE token_usage`)
	storetest.BenchmarkDeleteTokenUsageBefore(b, s, seededTokens, func(*testing.B) {
		exec(`INSERT INTO token_usage (token_id, day, count) SELECT id, '2030-06-01', 1 FROM tokens`)
	})
}

// BenchmarkUnusedTokens is the hourly search for tokens unused past the
// policy on the 1M seeded tokens, none unused, against the whole-token
// pages it used to read (storetest.BenchmarkUnusedTokens). On 3 December:
// 0.18 s a run against 4.2 s.
//
//	go test -run '^$' -bench UnusedTokens -benchtime 3x ./internal/store/postgres
func BenchmarkUnusedTokens(b *testing.B) {
	storetest.BenchmarkUnusedTokens(b, openSeeded(b), seededTokens)
}
