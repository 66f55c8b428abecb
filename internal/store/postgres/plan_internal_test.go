package postgres

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestHotPathQueriesHaveIndexPaths pins that every verification-path
// lookup can be answered from an index (with sequential scans disabled,
// the plan must not need one), so lookups stay flat as tables grow.
func TestHotPathQueriesHaveIndexPaths(t *testing.T) {
	ctx := t.Context()
	s := openInternal(t)
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
		getTokenByDigestSQL, getTokenAndOwnerByDigestSQL, getTokenSQL, getUserSQL, getSessionByDigestSQL,
		`SELECT ` + userColumns + ` FROM users WHERE lower(username) = lower($1) AND deleted_at IS NULL`,
		`SELECT ` + tokenColumns + ` FROM tokens WHERE user_id = $1 ORDER BY id DESC LIMIT 100`,
	} {
		args := []any{[]byte("x")}
		if !strings.Contains(q, "digest") {
			args = []any{"x"}
		}
		joined := explain(t, conn, q, args...)
		t.Logf("%.60s…\n%s", strings.Join(strings.Fields(q), " "), joined)
		if strings.Contains(joined, "Seq Scan") {
			t.Errorf("query %q needs a sequential scan:\n%s", q, joined)
		}
	}
}

// TestVerificationReadProbesOneDigestIndexAndTheOwner pins the shape of
// the uncached verification read's plan: the current digest's index alone
// answers (the previous digest's is asked only when it finds nothing), and
// the owner is looked up for the token's row rather than hashed from a
// scan of every user.
func TestVerificationReadProbesOneDigestIndexAndTheOwner(t *testing.T) {
	ctx := t.Context()
	s := openInternal(t)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	plan := explain(t, conn, getTokenAndOwnerByDigestSQL, []byte("x"))
	t.Log(plan)
	for _, bad := range []string{"BitmapOr", "Bitmap Heap Scan", "Hash"} {
		if strings.Contains(plan, bad) {
			t.Errorf("the verification read's plan has a %s:\n%s", bad, plan)
		}
	}
	if !strings.Contains(plan, "tokens_digest_key") || !strings.Contains(plan, "Nested Loop Left Join") {
		t.Errorf("the verification read's plan does not probe tokens_digest_key then the owner:\n%s", plan)
	}
}

// explain returns the plan PostgreSQL chooses for q with args, one line
// per node.
func explain(t *testing.T, conn *pgxpool.Conn, q string, args ...any) string {
	t.Helper()
	rows, err := conn.Query(t.Context(), `EXPLAIN `+q, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}
