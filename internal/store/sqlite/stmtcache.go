package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"modernc.org/sqlite"
)

// stmtCacheMax bounds the statements one connection keeps prepared. The
// store runs a few dozen distinct texts; texts built per call (a list with
// a varying number of placeholders) can come on top, and when the bound is
// reached a kept statement that is not in use, picked at random, makes room.
const stmtCacheMax = 128

// stmtCacheMaxText is the longest text kept: the multi-row INSERTs of a
// bulk load compile to large programs that are rarely run twice.
const stmtCacheMaxText = 4 << 10

// A connection keeps the statements it runs prepared.
//
// modernc's driver compiles the SQL text on every ExecContext and
// QueryContext and finalizes it afterwards. On the write connection, which
// runs every write of the process from one goroutine (writer.go), that
// compilation was about 30% of the writer's CPU when creating tokens: the
// token INSERT and the audit INSERT compiled again for every token. A
// cachingConn keeps one compiled statement per text and resets it between
// uses, as database/sql does with a *sql.Stmt; SQLite recompiles it by
// itself after a schema change.
//
// A statement whose rows are still open when the same text is run again (a
// query nested in the loop over its own rows) is not disturbed: the nested
// call gets a statement of its own, finalized after it.

// cachingConnector opens connections that keep their statements.
type cachingConnector struct {
	driver.Connector // modernc's, for one DSN
}

func newCachingConnector(dsn string) (driver.Connector, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return cachingConnector{c}, nil
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	cc, err := newCachingConn(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return cc, nil
}

// innerConn is what cachingConn needs of the driver's connection.
type innerConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type cachingConn struct {
	inner innerConn
	stmts map[string]*cachedStmt
}

// cachedStmt is a compiled statement and whether rows read from it are
// still open.
type cachedStmt struct {
	st   stmt
	busy bool
}

// stmt is what cachingConn needs of the driver's statement.
type stmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

func newCachingConn(conn driver.Conn) (*cachingConn, error) {
	inner, ok := conn.(innerConn)
	if !ok {
		return nil, fmt.Errorf("sqlite driver connection %T lacks an interface the statement cache needs", conn)
	}
	return &cachingConn{inner: inner, stmts: make(map[string]*cachedStmt)}, nil
}

// Ensure the interfaces database/sql looks for are there.
var (
	_ driver.ExecerContext      = (*cachingConn)(nil)
	_ driver.QueryerContext     = (*cachingConn)(nil)
	_ driver.ConnBeginTx        = (*cachingConn)(nil)
	_ driver.ConnPrepareContext = (*cachingConn)(nil)
	_ driver.Pinger             = (*cachingConn)(nil)
	_ driver.SessionResetter    = (*cachingConn)(nil)
	_ driver.Validator          = (*cachingConn)(nil)
)

// take returns the compiled statement for query: the kept one when it is
// free (cs then is it, marked busy), or else a new one the caller must
// finalize (cs nil).
func (c *cachingConn) take(ctx context.Context, query string) (cs *cachedStmt, st stmt, err error) {
	if cs := c.stmts[query]; cs != nil && !cs.busy {
		cs.busy = true
		return cs, cs.st, nil
	}
	ds, err := c.inner.PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	st, ok := ds.(stmt)
	if !ok {
		ds.Close()
		return nil, nil, fmt.Errorf("sqlite driver statement %T lacks ExecContext or QueryContext", ds)
	}
	if _, kept := c.stmts[query]; kept || len(query) > stmtCacheMaxText || !c.room() {
		return nil, st, nil
	}
	cs = &cachedStmt{st: st, busy: true}
	c.stmts[query] = cs
	return cs, st, nil
}

// room makes room for one more kept statement, finalizing one not in use
// (map order picks it at random) when the bound is reached. It reports
// false when every kept statement is in use.
func (c *cachingConn) room() bool {
	if len(c.stmts) < stmtCacheMax {
		return true
	}
	for q, cs := range c.stmts {
		if !cs.busy {
			delete(c.stmts, q)
			cs.st.Close() // a finalize error is about the last run, already reported
			return true
		}
	}
	return false
}

// give ends a use of st taken with take.
func (c *cachingConn) give(cs *cachedStmt, st stmt) error {
	if cs != nil {
		cs.busy = false
		return nil
	}
	return st.Close()
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, st, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := st.ExecContext(ctx, args)
	if cerr := c.give(cs, st); err == nil && cerr != nil {
		return nil, cerr
	}
	return res, err
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, st, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, args)
	if err != nil {
		c.give(cs, st)
		return nil, err
	}
	return &cachedRows{Rows: rows, c: c, cs: cs, st: st}, nil
}

// PrepareContext is not cached: database/sql closes what it prepares.
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.inner.PrepareContext(ctx, query)
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) {
	return c.inner.PrepareContext(context.Background(), query)
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner.BeginTx(ctx, opts)
}

// Begin is the deprecated form database/sql no longer calls when BeginTx
// is there.
func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.inner.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *cachingConn) Ping(ctx context.Context) error { return c.inner.Ping(ctx) }

func (c *cachingConn) ResetSession(ctx context.Context) error { return c.inner.ResetSession(ctx) }

func (c *cachingConn) IsValid() bool { return c.inner.IsValid() }

// Close finalizes the kept statements, then closes the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for q, cs := range c.stmts {
		errs = append(errs, cs.st.Close())
		delete(c.stmts, q)
	}
	errs = append(errs, c.inner.Close())
	return errors.Join(errs...)
}

// cachedRows hands the statement back when the rows close. It has the
// driver rows' Columns, Next and Close only: no query of the store asks for
// column types.
type cachedRows struct {
	driver.Rows
	c      *cachingConn
	cs     *cachedStmt
	st     stmt
	closed bool
}

func (r *cachedRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.Rows.Close()
	if gerr := r.c.give(r.cs, r.st); err == nil {
		err = gerr
	}
	return err
}
