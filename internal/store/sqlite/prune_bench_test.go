package sqlite

import (
	"path/filepath"
	"testing"
	"time"
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
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	seedVerifyBench(b, s, tokens)
	if _, err := s.w.ExecContext(b.Context(), `INSERT INTO token_usage (token_id, day, count)
		SELECT id, d.column1, 1 FROM tokens, (VALUES ('2030-06-02'), ('2030-06-03')) AS d`); err != nil {
		b.Fatal(err)
	}
	cutoff := time.Date(2030, time.June, 2, 0, 0, 0, 0, time.UTC)
	// The package's tests make chunks of two tokens (prune_export_test.go);
	// measure the chunks the server uses.
	defer func(n int) { usagePruneChunk = n }(usagePruneChunk)
	usagePruneChunk = 1_000
	for _, run := range []struct {
		name string
		old  int // old days per token
	}{{"one-old-day-per-token", 1}, {"nothing-old", 0}} {
		b.Run(run.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				if run.old > 0 {
					if _, err := s.w.ExecContext(b.Context(),
						`INSERT INTO token_usage (token_id, day, count) SELECT id, '2030-06-01', 1 FROM tokens`); err != nil {
						b.Fatal(err)
					}
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
