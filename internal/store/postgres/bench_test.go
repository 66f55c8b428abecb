package postgres_test

import (
	"os"
	"testing"

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
