package servertest

import (
	"testing"

	"github.com/latchkey/latchkey/internal/store/postgres"
)

// NewPostgresSchema returns a DSN on a fresh schema of dsn's database,
// dropped when the test ends.
func NewPostgresSchema(t testing.TB, dsn string) string {
	t.Helper()
	return postgres.NewTestSchema(t, dsn)
}
