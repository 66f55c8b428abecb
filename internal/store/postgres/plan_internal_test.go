package postgres

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

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
		getTokenByDigestSQL, getTokensAndOwnersSQL, getTokenSQL, getUserSQL, getSessionByDigestSQL,
		`SELECT ` + userColumns + ` FROM users WHERE lower(username) = lower($1) AND deleted_at IS NULL`,
		`SELECT ` + tokenColumns + ` FROM tokens WHERE user_id = $1 ORDER BY id DESC LIMIT 100`,
		pruneUsageBoundSQL, pruneUsageSQL, deleteExpiredFedSQL, unusedTokensSQL,
	} {
		args := []any{[]byte("x")}
		switch {
		case q == unusedTokensSQL:
			args = []any{"", time.Now(), time.Now(), 1000}
		case q == deleteExpiredFedSQL:
			args = []any{time.Now(), 1000}
		case q == pruneUsageBoundSQL:
			args = []any{"x", 1000}
		case q == pruneUsageSQL:
			args = []any{"x", "y", "2031-03-04"}
		case strings.Contains(q, "$1::bytea[]"):
			args = []any{[][]byte{[]byte("x"), []byte("y")}}
		case !strings.Contains(q, "digest"):
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
// the uncached verification read's plan, for one digest and for a batch,
// in the generic plan PostgreSQL switches a prepared statement to: each
// asked digest probes the current digest's index (the previous digest's
// only when it finds nothing), and the owner is looked up for each token
// row rather than hashed from a scan of every user.
func TestVerificationReadProbesOneDigestIndexAndTheOwner(t *testing.T) {
	ctx := t.Context()
	s := openInternal(t)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// On the test's empty tables a scan is cheaper than probes; what must
	// hold is that probes are possible as they grow.
	for _, set := range []string{"enable_seqscan = off", "plan_cache_mode = force_generic_plan"} {
		if _, err := conn.Exec(ctx, `SET `+set); err != nil {
			t.Fatal(err)
		}
	}
	defer conn.Exec(ctx, `RESET ALL`)
	if _, err := conn.Exec(ctx, `PREPARE verify_read AS `+getTokensAndOwnersSQL); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, `DEALLOCATE verify_read`)
	for _, n := range []int{1, maxVerifyBatch} {
		digests := make([][]byte, n)
		for i := range digests {
			digests[i] = []byte{byte(i), 'x'}
		}
		elems := make([]string, n)
		for i, d := range digests {
			elems[i] = `"\\x` + hex.EncodeToString(d) + `"`
		}
		plan := explain(t, conn, `EXECUTE verify_read('{`+strings.Join(elems, ",")+`}')`)
		t.Logf("%d digests:\n%s", n, plan)
		if !strings.Contains(plan, "Index Cond: (digest = d.digest)") {
			t.Errorf("the generic plan for %d digests does not probe the index once per asked digest:\n%s", n, plan)
		}
		for _, bad := range []string{"BitmapOr", "Hash", "Seq Scan on tokens"} {
			if strings.Contains(plan, bad) {
				t.Errorf("the verification read's plan for %d digests has a %s:\n%s", n, bad, plan)
			}
		}
		if !strings.Contains(plan, "tokens_digest_key") || !strings.Contains(plan, "Nested Loop Left Join") {
			t.Errorf("the verification read's plan for %d digests does not probe tokens_digest_key then the owner:\n%s", n, plan)
		}
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
