package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latchkey/latchkey/internal/store"
)

var _ store.Store = (*Store)(nil)

// Hot-path reads. pgx prepares each on first use per connection and caches
// it; each is a unique-index probe (the digest lookup a two-index OR).
const (
	getTokenByDigestSQL   = `SELECT ` + tokenColumns + ` FROM tokens WHERE digest = $1 OR prev_digest = $1 LIMIT 1`
	getTokenSQL           = `SELECT ` + tokenColumns + ` FROM tokens WHERE id = $1`
	getUserSQL            = `SELECT ` + userColumns + ` FROM users WHERE id = $1 AND deleted_at IS NULL`
	getSessionByDigestSQL = `SELECT ` + sessionColumns + ` FROM sessions WHERE digest = $1`
)

// Store is a store.Store on a PostgreSQL database (one schema of it). It is
// safe for concurrent use; Close releases it.
type Store struct {
	pool   *pgxpool.Pool
	verify *verifyReaders
	closed sync.Once
}

// Open connects to the database at dsn, applies pending migrations to the
// schema the DSN selects, and returns the store.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: parse dsn: %w", err)
	}
	if _, err := migrate(ctx, cfg.ConnConfig); err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping postgres: %w", translate(err))
	}
	return &Store{pool: pool, verify: startVerifyReaders(pool, int(cfg.MaxConns)/2)}, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", translate(err))
	}
	return nil
}

// Close stops the verification readers and closes every connection of
// the pool. Calls after the first do nothing.
func (s *Store) Close() error {
	s.closed.Do(func() {
		s.verify.stop()
		s.pool.Close()
	})
	return nil
}

// inTx runs fn in one transaction and commits when it returns nil. fn's
// error is returned as is; the transaction is rolled back on error and on
// panic alike. Called with the context of Atomically's fn, it runs fn in
// that transaction, which commits later or not at all.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if tx := s.joined(ctx); tx != nil {
		return fn(tx)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", translate(err))
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", translate(err))
	}
	return nil
}

// Atomically runs fn in one transaction (see store.Store). Every
// statement of a method called with fn's context runs in it, reads
// included, through db and inTx; so does a Publish, whose notification
// PostgreSQL then delivers at the commit, or never.
func (s *Store) Atomically(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		return fn(context.WithValue(ctx, txKey{}, &txOf{s: s, tx: tx}))
	})
}

// txKey is the context key of the transaction Atomically runs fn in.
type txKey struct{}

// txOf is a transaction of Atomically and the store it belongs to: a
// context passed from one store to another does not join the first's.
type txOf struct {
	s  *Store
	tx pgx.Tx
}

// joined returns the transaction of Atomically that ctx carries for s,
// or nil.
func (s *Store) joined(ctx context.Context) pgx.Tx {
	if t, ok := ctx.Value(txKey{}).(*txOf); ok && t.s == s {
		return t.tx
	}
	return nil
}

// conn is what a statement runs on: the pool, or a transaction.
type conn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// db is where a statement of a call with ctx runs: the transaction of
// Atomically that ctx carries, else the pool. Every statement goes
// through it: one run on the pool while fn holds a row lock would wait
// on fn's own transaction for ever.
func (s *Store) db(ctx context.Context) conn {
	if tx := s.joined(ctx); tx != nil {
		return tx
	}
	return s.pool
}

// translate maps driver errors to the store's sentinel errors, keeping the
// original in the chain.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	if translated(err) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		case pe.Code == "23503": // foreign_key_violation
			return fmt.Errorf("referenced row: %w: %w", store.ErrNotFound, err)
		case pe.Code == "53100": // disk_full
			return fmt.Errorf("%w: %w", store.ErrDiskFull, err)
		case pe.Code == "53300": // too_many_connections
			// The server answered, refusing a connection: not a network
			// fault. Still worth a retry (ErrTooManyConnections is an
			// ErrUnavailable), in words that name the limit.
			return fmt.Errorf("%w: %w", store.ErrTooManyConnections, err)
		case pe.Code == "25006": // read_only_sql_transaction: a standby, or read-only mode
			// The database answered and reads work; writes wait for an
			// operator, not for a retry.
			return fmt.Errorf("%w: %w", store.ErrNoWrites, err)
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "57P"), // shutting down, cannot connect now
			strings.HasPrefix(pe.Code, "53"):  // out of connections or memory
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		case pe.Code == "57014", // query_canceled
			pe.Code == "55P03": // lock_not_available
			// The database gave up on the statement, not on the data: a
			// statement_timeout or lock_timeout the operator set, or a
			// cancelled query. Worth retrying in a moment
			// (ErrStatementTimeout is an ErrUnavailable), but the database
			// answered, so not reported as unreachable.
			return fmt.Errorf("%w: %w", store.ErrStatementTimeout, err)
		case pe.Code == "40001", // serialization_failure
			pe.Code == "40P01": // deadlock_detected
			// The database is up: it rolled this change back for a
			// concurrent one. Worth retrying at once (ErrContention is an
			// ErrUnavailable), but not reported as an outage.
			return fmt.Errorf("%w: %w", store.ErrContention, err)
		}
		return err
	}
	if unreachable(err) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// translated reports whether err already carries a sentinel.
func translated(err error) bool {
	for _, s := range []error{store.ErrNotFound, store.ErrConflict, store.ErrUnavailable, store.ErrDiskFull} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// unreachable reports whether err means the server could not be talked to:
// no connection, a connection lost mid-query, or a timeout reaching it.
func unreachable(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		strings.Contains(err.Error(), "conn closed")
}

// ts is how a time is written: truncated to microseconds. pgx would
// truncate too; doing it here makes the rule explicit.
func ts(t time.Time) time.Time { return store.Truncate(t) }

// tsPtr writes an optional time; nil becomes NULL.
func tsPtr(t *time.Time) *time.Time { return store.TruncatePtr(t) }

// tsCeil is the value for a bound b in "stored < b" or "stored >= b":
// rounding up keeps the comparison exact for a b with sub-microsecond
// digits.
func tsCeil(t time.Time) time.Time {
	c := store.Truncate(t)
	if t.Nanosecond()%1000 != 0 {
		c = c.Add(time.Microsecond)
	}
	return c
}

// utc brings a time read from the database (in the session's zone) to UTC.
func utc(t time.Time) time.Time { return t.UTC() }

// utcPtr is utc for an optional time.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

// list writes a list as a non-NULL text[].
func list(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// bytesOrNil writes an empty byte slice as NULL.
func bytesOrNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// where builds the WHERE clause of a List query. Conditions are written
// with "?" for each argument; add numbers them $1, $2, … in order. Only
// the conditions a filter uses are included, so each combination is its
// own statement with its own plan (and its own entry in pgx's cache).
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	for _, a := range args {
		w.args = append(w.args, a)
		cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1)
	}
	w.conds = append(w.conds, cond)
}

// query returns "<head> WHERE … <order> LIMIT $n" and its arguments.
func (w *where) query(head, order string, limit int) (string, []any) {
	q := head
	if len(w.conds) > 0 {
		q += ` WHERE ` + strings.Join(w.conds, ` AND `)
	}
	args := append(w.args, limit)
	return q + ` ` + order + ` LIMIT $` + strconv.Itoa(len(args)), args
}
