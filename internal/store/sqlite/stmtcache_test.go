package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/store"
)

// openCaching opens a one-connection pool of caching connections on a new
// file, as the store's writer is.
func openCaching(t *testing.T) (*sql.DB, *cachingConn) {
	t.Helper()
	c, err := newCachingConnector(dsn(filepath.Join(t.TempDir(), "db")))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	var cc *cachingConn
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Raw(func(dc any) error { cc = dc.(*cachingConn); return nil }); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	return db, cc
}

// TestCachedStatementIsReusedAndSurvivesErrors runs one INSERT text again
// and again, one of them breaking the unique rule: the failure is the
// caller's, and the same compiled statement then inserts the rest.
func TestCachedStatementIsReusedAndSurvivesErrors(t *testing.T) {
	db, cc := openCaching(t)
	const insert = `INSERT INTO t (name) VALUES (?)`
	for i, name := range []string{"a", "b", "a", "c"} {
		_, err := db.Exec(insert, name)
		if i == 2 {
			if err == nil {
				t.Fatal("a second 'a' was inserted despite the unique rule")
			}
			if !errors.Is(translate(err), store.ErrConflict) {
				t.Fatalf("duplicate insert: %v, want a conflict", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("insert %q: %v", name, err)
		}
	}
	var names string
	if err := db.QueryRow(`SELECT group_concat(name, ',') FROM (SELECT name FROM t ORDER BY id)`).Scan(&names); err != nil {
		t.Fatal(err)
	}
	if names != "a,b,c" {
		t.Fatalf("rows are %q, want a,b,c", names)
	}
	if cs := cc.stmts[insert]; cs == nil || cs.busy {
		t.Fatalf("the INSERT is not kept prepared and free after its uses: %+v", cs)
	}
}

// TestNestedUseOfACachedQueryReadsItsOwnRows runs a query inside the loop
// over the same query's rows, in one transaction: each loop sees all its
// rows, undisturbed by the other.
func TestNestedUseOfACachedQueryReadsItsOwnRows(t *testing.T) {
	db, _ := openCaching(t)
	for _, n := range []string{"x", "y", "z"} {
		if _, err := db.Exec(`INSERT INTO t (name) VALUES (?)`, n); err != nil {
			t.Fatal(err)
		}
	}
	const q = `SELECT name FROM t WHERE id >= ? ORDER BY id`
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	outer, err := tx.Query(q, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for outer.Next() {
		var o string
		if err := outer.Scan(&o); err != nil {
			t.Fatal(err)
		}
		inner, err := tx.Query(q, 2)
		if err != nil {
			t.Fatal(err)
		}
		var in []string
		for inner.Next() {
			var s string
			if err := inner.Scan(&s); err != nil {
				t.Fatal(err)
			}
			in = append(in, s)
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s%v", o, in))
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	want := "[x[y z] y[y z] z[y z]]"
	if fmt.Sprint(got) != want {
		t.Fatalf("nested reads gave %v, want %s", got, want)
	}
}

// TestCachedQuerySeesASchemaChange keeps a SELECT * compiled, adds a
// column, and runs it again: it returns the new column.
func TestCachedQuerySeesASchemaChange(t *testing.T) {
	db, _ := openCaching(t)
	if _, err := db.Exec(`INSERT INTO t (name) VALUES ('a')`); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT * FROM t`
	columns := func() []string {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		return cols
	}
	if got := columns(); len(got) != 2 {
		t.Fatalf("columns %v before the change", got)
	}
	if _, err := db.Exec(`ALTER TABLE t ADD COLUMN note TEXT NOT NULL DEFAULT 'n'`); err != nil {
		t.Fatal(err)
	}
	if got := columns(); fmt.Sprint(got) != "[id name note]" {
		t.Fatalf("columns after ALTER TABLE: %v, want [id name note]", got)
	}
}

// TestStatementCacheIsBounded runs more distinct texts than the bound:
// every one of them works, the connection keeps at most the bound, the
// last text run is among those kept, and a long text is not kept.
func TestStatementCacheIsBounded(t *testing.T) {
	db, cc := openCaching(t)
	var last string
	for i := range stmtCacheMax + 20 {
		last = fmt.Sprintf(`SELECT %d + count(*) FROM t`, i)
		var n int
		if err := db.QueryRow(last).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != i {
			t.Fatalf("query %d answered %d", i, n)
		}
	}
	if len(cc.stmts) != stmtCacheMax {
		t.Fatalf("the connection keeps %d statements, want the bound %d", len(cc.stmts), stmtCacheMax)
	}
	if cc.stmts[last] == nil {
		t.Fatal("the last text run was not kept: a full cache no longer makes room")
	}
	long := `SELECT count(*) FROM t WHERE name NOT IN (` + strings.Repeat(`'x', `, stmtCacheMaxText/5) + `'y')`
	var n int
	if err := db.QueryRow(long).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if cc.stmts[long] != nil {
		t.Fatalf("a %d-byte text was kept", len(long))
	}
}

// TestCloseFinalizesKeptStatements closes a pool whose connection keeps
// compiled statements: the connection lets go of every one of them.
func TestCloseFinalizesKeptStatements(t *testing.T) {
	db, cc := openCaching(t)
	if _, err := db.Exec(`INSERT INTO t (name) VALUES (?)`, "a"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if len(cc.stmts) == 0 {
		t.Fatal("no statement was kept")
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if len(cc.stmts) != 0 {
		t.Fatalf("the closed connection still keeps %d statements", len(cc.stmts))
	}
}

// TestStoreCloseFinalizesKeptStatements closes a store whose connections
// hold compiled statements: Close reports no error, and the file opens
// again with its data.
func TestStoreCloseFinalizesKeptStatements(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	ctx := context.Background()
	s, err := open(ctx, path, options{})
	if err != nil {
		t.Fatal(err)
	}
	u := testUser(t, s)
	if err := s.CreateToken(ctx, testToken(u.ID, "kept")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close with kept statements: %v", err)
	}
	s, err = open(ctx, path, options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts, err := s.ListTokens(ctx, store.TokenFilter{UserID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].Name != "kept" {
		t.Fatalf("after reopening: %d tokens", len(ts))
	}
}
