package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
)

// TestPragmasHoldOnEveryPooledConnection pins that the pragmas come from
// the DSN, so connections the pools open later get them too.
func TestPragmasHoldOnEveryPooledConnection(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check := func(pool string, db *sql.DB, n int, queryOnly string) {
		conns := make([]*sql.Conn, n)
		for i := range conns {
			if conns[i], err = db.Conn(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for i, c := range conns {
			for pragma, want := range map[string]string{
				"journal_mode": "wal", "busy_timeout": "5000", "foreign_keys": "1",
				"synchronous": "2", "query_only": queryOnly, // FULL: durable commits
			} {
				var got string
				if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
					t.Fatalf("%s conn %d: PRAGMA %s: %v", pool, i, pragma, err)
				}
				if got != want {
					t.Errorf("%s conn %d: PRAGMA %s = %s, want %v", pool, i, pragma, got, want)
				}
			}
		}
		for _, c := range conns {
			c.Close()
		}
	}
	check("writer", s.w, 1, "0")
	check("reader", s.r, readerConns(), "1")
	if _, err := s.r.ExecContext(ctx, `DELETE FROM users`); err == nil {
		t.Fatal("a reader connection accepted a write")
	}
}
