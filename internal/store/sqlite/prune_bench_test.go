package sqlite

import (
	"testing"

	"github.com/latchkey/latchkey/internal/store/storetest"
)

// BenchmarkDeleteTokenUsageBefore is the cleanup job's daily deletion of
// per-day usage counts past store.UsageDaysKept, on 1M tokens seeded as
// the harness seeds them, each with three days of counts: in steady state
// one of them has just passed the cutoff (the daily run's work), or none
// has (a run on demand the same day). It reports the time per token and
// per run; the seeding takes about half a minute. On 3 December: 2.5 s a
// run with one old day per token, 0.94 s with none (each of the 1,000
// transactions holds the writer ~2.5 ms); in the first runs, right after
// the seeding's gigabyte of writes, the commits' fsyncs made it 92 s.
//
//	go test -run '^$' -bench DeleteTokenUsageBefore -benchtime 3x ./internal/store/sqlite
func BenchmarkDeleteTokenUsageBefore(b *testing.B) {
	const tokens = 1_000_000
	s := openSeededBench(b, tokens)
	// The package's tests make chunks of two tokens (prune_export_test.go);
	// measure the chunks the server uses.
	defer func(n int) { usagePruneChunk = n }(usagePruneChunk)
	usagePruneChunk = 1_000
	if _, err := s.w.ExecContext(b.Context(), `INSERT INTO token_usage (token_id, day, count)
		SELECT id, d.column1, 1 FROM tokens, (VALUES ('2030-06-02'), ('2030-06-03')) AS d`); err != nil {
		b.Fatal(err)
	}
	storetest.BenchmarkDeleteTokenUsageBefore(b, s, tokens, func(b *testing.B) {
		if _, err := s.w.ExecContext(b.Context(),
			`INSERT INTO token_usage (token_id, day, count) SELECT id, '2030-06-01', 1 FROM tokens`); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkUnusedTokens is the hourly search for tokens unused past the
// policy on 1M live tokens, none unused, against the whole-token pages it
// used to read (storetest.BenchmarkUnusedTokens). On 3 December: 0.41 s
// a run against 6.1 s.
//
//	go test -run '^$' -bench UnusedTokens -benchtime 3x ./internal/store/sqlite
func BenchmarkUnusedTokens(b *testing.B) {
	const tokens = 1_000_000
	storetest.BenchmarkUnusedTokens(b, openSeededBench(b, tokens), tokens)
}
