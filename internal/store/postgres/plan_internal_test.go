package postgres

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/testenv"
)

// TestHotPathQueriesHaveIndexPaths pins that every verification-path
// lookup can be answered from an index (with sequential scans disabled,
// the plan must not need one), so lookups stay flat as tables grow.
func TestHotPathQueriesHaveIndexPaths(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	ctx := t.Context()
	s, err := Open(ctx, NewTestSchema(t, dsn))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, `RESET enable_seqscan`)
	for _, q := range []string{
		getTokenByDigestSQL, getTokenSQL, getUserSQL, getSessionByDigestSQL,
		`SELECT ` + userColumns + ` FROM users WHERE lower(username) = lower($1) AND deleted_at IS NULL`,
		`SELECT ` + tokenColumns + ` FROM tokens WHERE user_id = $1 ORDER BY id DESC LIMIT 100`,
	} {
		args := []any{[]byte("x")}
		if !strings.Contains(q, "digest") {
			args = []any{"x"}
		}
		rows, err := conn.Query(ctx, `EXPLAIN `+q, args...)
		if err != nil {
			t.Fatalf("explain %s: %v", q, err)
		}
		plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		joined := strings.Join(plan, "\n")
		t.Logf("%.60s…\n%s", strings.Join(strings.Fields(q), " "), joined)
		if strings.Contains(joined, "Seq Scan") {
			t.Errorf("query %q needs a sequential scan:\n%s", q, joined)
		}
	}
}
