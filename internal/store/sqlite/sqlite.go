package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchkey/latchkey/internal/store"
)

var _ store.Store = (*Store)(nil)

// Store is a store.Store on one SQLite database file. It is safe for
// concurrent use; Close releases it.
type Store struct {
	w  *sql.DB // the one write connection
	r  *sql.DB // query-only readers
	wr *writer // group commit on w; nil when opened without it
	// uri names the database file, for connections opened later (a fold's).
	uri string
	// path is the database file's, for telling a read-only file from
	// other I/O errors (readOnly).
	path string

	// Prepared hot-path reads on the reader pool.
	getTokenByDigest   *sql.Stmt
	getToken           *sql.Stmt
	getUser            *sql.Stmt
	getSessionByDigest *sql.Stmt
	// The uncached verification read's own connections (verify.go).
	verify *verifyReaders
	// foldMu runs one fold of the usage journal at a time.
	foldMu sync.Mutex
	// ckpt copies the WAL back off the writer's path (checkpoint.go); nil
	// when opened without it.
	ckpt *checkpointer
	// wal notices a WAL file deleted under the store (walguard.go).
	wal *walGuard
	// changes counts the writes of this store, each counted once it has
	// committed or failed: a verification connection keeps its read
	// snapshot only while the count is the one it began with (verify.go).
	changes atomic.Uint64
}

// pragmas apply to every connection of both pools. busy_timeout covers
// other processes holding the file (a `latchkey migrate` run, a backup).
// synchronous=FULL makes every commit wait until the WAL is on disk, so a
// write acknowledged to a client survives a power cut or an OS crash; group
// commit (writer.go) pays that wait once for many concurrent writes.
var pragmas = []string{
	"busy_timeout(5000)",
	"foreign_keys(1)",
	"synchronous(FULL)",
	"journal_mode(WAL)",
}

// writerCacheKiB is the write connection's page cache. The usage flush
// touches pages all over a large tokens table; a big cache only holds them
// in memory longer (the OS page cache has them anyway).
const writerCacheKiB = 8 << 10

// options are how Open sets up the write path; the defaults are the
// durable ones. Benchmarks compare the others.
type options struct {
	synchronous string // "FULL" (default) or "NORMAL"
	noGroup     bool   // one commit per write transaction
	noStmtCache bool   // the driver compiles every statement each time
	noCkpt      bool   // the writer checkpoints every 1,000 pages itself, as SQLite does by default
}

// readerConns is the size of the reader pool: one per CPU, at least 4. (The
// usage journal's fold reads on a connection of its own, foldConn.)
func readerConns() int { return max(4, runtime.GOMAXPROCS(0)) }

// dsn builds a driver name for path with the shared pragmas and extra ones.
func dsn(path string, extra ...string) string {
	q := url.Values{}
	for _, p := range append(append([]string{}, pragmas...), extra...) {
		if strings.HasPrefix(p, "synchronous(") && slices.ContainsFunc(extra, func(e string) bool { return strings.HasPrefix(e, "synchronous(") }) {
			continue // overridden
		}
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	return fileURI(path) + "?" + q.Encode()
}

// fileURI is path as a file: URI, so that characters such as '?' in it are
// not taken for parameters.
func fileURI(path string) string { return "file:" + (&url.URL{Path: path}).EscapedPath() }

// Open opens (creating if needed) the database file at path, applies
// pending migrations and prepares the hot-path queries.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, options{})
}

// connector opens the connections of one pool.
func (o options) connector(dsn string) (driver.Connector, error) {
	if o.noStmtCache {
		return sqlite.NewConnector(dsn)
	}
	return newCachingConnector(dsn)
}

func open(ctx context.Context, path string, o options) (*Store, error) {
	if path == "" || strings.HasPrefix(path, ":memory:") {
		return nil, errors.New("open sqlite store: need a file path (an in-memory database cannot be shared by the two pools)")
	}
	if _, err := Migrate(ctx, path); err != nil {
		return nil, err
	}
	var syncExtra []string
	if o.synchronous != "" {
		syncExtra = []string{"synchronous(" + o.synchronous + ")"}
	}
	extra := append([]string{fmt.Sprintf("cache_size(-%d)", writerCacheKiB)}, syncExtra...)
	if !o.noCkpt {
		extra = append(extra, fmt.Sprintf("wal_autocheckpoint(%d)", writerCheckpointPages))
	}
	wc, err := o.connector(dsn(path, extra...))
	if err != nil {
		return nil, fmt.Errorf("open sqlite writer: %w", err)
	}
	w := sql.OpenDB(wc)
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	rc, err := o.connector(dsn(path, "query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite readers: %w", err)
	}
	r := sql.OpenDB(rc)
	n := readerConns()
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)
	s := &Store{w: w, r: r, uri: fileURI(path), path: path}
	if !o.noGroup {
		s.wr = newWriter(w)
	}
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if s.verify, err = openVerifyReaders(fileURI(path), verifyConns()); err != nil {
		s.Close()
		return nil, err
	}
	if !o.noCkpt {
		if s.ckpt, err = startCheckpointer(o, dsn(path, syncExtra...)); err != nil {
			s.Close()
			return nil, err
		}
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.wal = newWALGuard(path)
	return s, nil
}

// Hot-path reads, prepared at Open. Each is one unique-index probe; the
// digest lookup is a two-index OR (a 256-bit digest cannot be both one
// token's current and another's previous digest, so no ordering is needed).
const (
	getTokenByDigestSQL   = selectToken + ` WHERE digest = ?1 OR prev_digest = ?1 LIMIT 1`
	getTokenSQL           = selectToken + ` WHERE id = ?`
	getUserSQL            = `SELECT ` + userColumns + ` FROM users WHERE id = ? AND deleted_at IS NULL`
	getSessionByDigestSQL = `SELECT ` + sessionColumns + ` FROM sessions WHERE digest = ?`
)

func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&s.getTokenByDigest, getTokenByDigestSQL},
		{&s.getToken, getTokenSQL},
		{&s.getUser, getUserSQL},
		{&s.getSessionByDigest, getSessionByDigestSQL},
	} {
		st, err := s.r.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", p.query, err)
		}
		*p.dst = st
	}
	return nil
}

// Ping checks that both pools can reach the database file.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite writer: %w", err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite readers: %w", err)
	}
	return nil
}

// Close closes the prepared statements and both pools.
func (s *Store) Close() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.getTokenByDigest, s.getToken, s.getUser, s.getSessionByDigest} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if s.verify != nil {
		errs = append(errs, s.verify.close())
	}
	if s.wr != nil {
		s.wr.stop()
	}
	if s.ckpt != nil {
		errs = append(errs, s.ckpt.close())
	}
	errs = append(errs, s.r.Close(), s.w.Close())
	return errors.Join(errs...)
}

// inTx runs fn in one IMMEDIATE transaction on the write connection and
// commits when fn returns nil. fn's error is returned as is, but for an
// I/O error of a file that cannot be written, said to be one (readOnly).
// With group
// commit, fn runs in a savepoint of a transaction shared with concurrent
// callers, and inTx returns once that transaction is committed.
//
// Called with the context of Atomically's fn, it runs fn in that
// transaction, which commits later or not at all.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	if tx := s.joined(ctx); tx != nil {
		return fn(tx)
	}
	defer s.changes.Add(1) // once committed or failed
	defer func() { err = readOnly(s.path, err) }()
	if s.wr != nil {
		if err := s.wr.do(ctx, fn); err != nil {
			return err
		}
		return s.wal.secure(ctx, s.w)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	// Roll back on error and on panic (or runtime.Goexit) in fn alike, so
	// the one write connection is never left inside a transaction.
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", translate(err))
	}
	return s.wal.secure(ctx, s.w)
}

// Atomically runs fn in one write transaction (see store.Store): the
// write methods called with fn's context run their statements in it
// (inTx, execAuto), on the writer's goroutine. A write there that did not
// join would wait for the writer, which waits for fn: every write path
// goes through inTx or execAuto.
func (s *Store) Atomically(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return fn(context.WithValue(ctx, txKey{}, &txOf{s: s, tx: tx}))
	})
}

// txKey is the context key of the transaction Atomically runs fn in.
type txKey struct{}

// txOf is a transaction of Atomically and the store it belongs to: a
// context passed from one store to another does not join the first's.
type txOf struct {
	s  *Store
	tx *sql.Tx
}

// joined returns the transaction of Atomically that ctx carries for s,
// or nil.
func (s *Store) joined(ctx context.Context) *sql.Tx {
	if t, ok := ctx.Value(txKey{}).(*txOf); ok && t.s == s {
		return t.tx
	}
	return nil
}

// execAuto runs one write statement on the write connection, outside
// group commit (it commits on its own), and counts the write.
func (s *Store) execAuto(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if tx := s.joined(ctx); tx != nil {
		return tx.ExecContext(ctx, query, args...)
	}
	defer s.changes.Add(1) // once committed or failed
	res, err := s.w.ExecContext(ctx, query, args...)
	if err != nil {
		return res, err
	}
	return res, s.wal.secure(ctx, s.w)
}

// exec runs one write statement in its own write transaction.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = tx.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}

// translate maps driver errors to the store's sentinel errors, keeping the
// original in the chain.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if translated(err) {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("referenced row: %w: %w", store.ErrNotFound, err)
		}
		return storageError(se.Code(), err)
	}
	return err
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// micros is how a time is stored: unix microseconds, which truncates.
func micros(t time.Time) int64 { return t.UnixMicro() }

// microsCeil is the stored form of a bound b in "stored < b" or
// "stored >= b": rounding up keeps the comparison exact for a b with
// sub-microsecond digits.
func microsCeil(t time.Time) int64 {
	m := t.UnixMicro()
	if t.Nanosecond()%1000 != 0 {
		m++
	}
	return m
}

// microsPtr stores an optional time; nil becomes NULL.
func microsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

// fromMicros reads a stored time back in UTC.
func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// fromNullMicros reads an optional stored time back.
func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// blobOrNull stores an empty byte slice as NULL.
func blobOrNull(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
