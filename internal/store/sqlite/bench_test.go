package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func openBench(b *testing.B) store.Store {
	b.Helper()
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkCreateTokens seeds with batched multi-row INSERTs; -benchtime=100x
// seeds 1,000,000 tokens.
func BenchmarkCreateTokens(b *testing.B) { storetest.BenchmarkCreateTokens(b, openBench) }

// BenchmarkGetTokenByDigest is the uncached verification lookup.
func BenchmarkGetTokenByDigest(b *testing.B) { storetest.BenchmarkGetTokenByDigest(b, openBench) }
