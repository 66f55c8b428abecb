package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/testenv"
)

// TestDSNEnv names the environment variable that points tests at a
// PostgreSQL server; tests that need one skip when it is unset.
const TestDSNEnv = "LATCHKEY_TEST_POSTGRES_DSN"

// NewTestSchema creates a fresh, empty schema lk_test_<random> in the
// database at dsn, over a separate admin connection, drops it (CASCADE)
// when t ends, and returns dsn with search_path set to it. Open the
// returned DSN to get a store, migrated, that sees only that schema.
func NewTestSchema(t testing.TB, dsn string) (dsnWithSchema string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "lk_test_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("postgres test schema: connect: %v%s", err, testenv.PostgresHint(err))
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("postgres test schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("postgres test schema: connect to drop %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("postgres test schema: drop %s: %v", schema, err)
		}
	})
	return withParam(dsn, "search_path", schema)
}

// withParam returns dsn with a run-time parameter set, for both DSN forms
// pgx accepts: a postgres:// URL or keyword=value pairs.
func withParam(dsn, key, value string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			q := u.Query()
			q.Set(key, value)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return strings.TrimSpace(dsn) + " " + key + "=" + value
}
