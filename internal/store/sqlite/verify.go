package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	zsqlite "zombiezen.com/go/sqlite"

	"github.com/latchkey/latchkey/internal/store"
)

// getTokenAndOwnerByDigestSQL is the uncached verification read: the token
// by its current digest (a unique index) joined with its live owner (primary
// key), in one statement. getTokenAndOwnerByPrevDigestSQL is the same by
// the previous digest of a regenerated token (a small partial index), asked
// only when the first finds nothing: a valid secret costs one probe, not
// the two of an OR over both indexes. Each reads only the digest it was not
// asked for.
var (
	getTokenAndOwnerByDigestSQL     = tokenAndOwnerSQL("t.prev_digest", "t.digest = ?")
	getTokenAndOwnerByPrevDigestSQL = tokenAndOwnerSQL("t.digest", "t.prev_digest = ?")
)

// The columns of the verification read, in the order verifyRow reads
// them: verifyTokenColumns (every token column but the digests), the digest
// not asked for, then verifyOwnerColumns.
//
// The token's last use (token_last_use) is not read: verification does not
// need it (usage tracking decides what a new address is when the store
// writes a use, store.NewAddresses), and joining it would cost every read
// a third B-tree descent and, at a million tokens, a third page from disk.
// The token comes back with no last use and no recent addresses.
//
// Each non-empty TEXT value becomes a Go string, so the lists and claims a
// token usually has none of come back as ” rather than '[]' or '{}' (the
// same to decodeList and store.DecodeClaims); the owner's id is the token's
// user_id; a NULL created_at says no live owner matched the LEFT JOIN; and
// the password hash, which nothing that verifies a token reads, is left out.
var (
	verifyTokenColumns = []string{
		"t.id", "t.user_id", "t.kind", "t.name", "t.description", "t.scopes", "t.hint", "t.prev_expires_at",
		"iif(t.ip_allowlist = '[]', '', t.ip_allowlist)", "t.created_at", "t.updated_at", "t.expires_at",
		"t.revoked_at", "t.regenerated_at", "t.federation_policy_id",
		"iif(t.federation_claims = '{}', '', t.federation_claims)",
	}
	verifyOwnerColumns = []string{
		"u.created_at", "u.username", "u.role", "u.kind", "u.login_type", "u.suspended", "u.updated_at", "u.email",
	}
)

// tokenAndOwnerSQL is the verification read of the row where where holds,
// other being the digest not asked for.
func tokenAndOwnerSQL(other, where string) string {
	cols := slices.Concat(verifyTokenColumns, []string{other}, verifyOwnerColumns)
	return `SELECT ` + strings.Join(cols, ", ") + `
	FROM tokens AS t LEFT JOIN users AS u ON u.id = t.user_id AND u.deleted_at IS NULL
	WHERE ` + where
}

// verifyReaders are the connections the uncached verification reads on.
//
// They are not database/sql connections. An uncached verification is one
// index probe and a join, and through database/sql and modernc's driver
// about as much again went around it: the driver opens every connection
// serialized (each of the 29 column reads, the step and the reset take the
// connection's mutex, emulated in Go), copies every column's name and
// declared type into new strings on each query, and database/sql converts
// each value through a []driver.Value. zombiezen.com/go/sqlite opens its
// connections on the same SQLite (modernc's, in this process: one set of
// file locks) without a mutex, which is sound because a connection here is
// used by one goroutine at a time, and reads a column with one call. On 1M
// tokens, two goroutines, the read went from 21.5 to 12.3 µs, and uncached
// verifications over HTTP from 0.28 to 0.36 of the floor
// (bench/results/dec1eve-sqlite-read-ab-1M.jsonl).
//
// Each connection keeps both statements prepared, and the read resets its
// statement without clearing the binding: zombiezen's Prepare of a kept
// statement calls sqlite3_clear_bindings, which since SQLite 3.54 expires a
// statement whose plan depends on a parameter (a "col = ?" of a join), so
// every read would parse and plan the statement again (22–90 µs). The
// connections are read-only (query_only): a verification never writes.
//
// Consecutive reads on a connection share one read transaction (a
// snapshot) while nothing has been written since it began. Beginning and
// ending a read transaction costs more than the read itself when the pages
// are cached: two fcntl locks on the WAL index and its header check, 11 of
// 16.5 µs per uncached verification of 1,000 tokens on this machine. A
// snapshot ends, and the next read begins a new one, when
//
//   - the store has written since it began (Store.changes, counted after
//     every write of this process): a verification never misses a write
//     that was acknowledged before it started, such as a revocation;
//   - it is snapshotMaxAge old, which bounds how late a write of another
//     process (latchkey admin, latchkey keys) is seen;
//   - the connection has been idle for snapshotMaxAge (the release timer),
//     so an idle server holds back no checkpoint.
type verifyReaders struct {
	idle chan *verifyConn // the connections not in use
	n    int              // connections opened
	done chan struct{}    // closed by close
	once sync.Once

	releaseMu sync.Mutex  // guards release, and armed's changes
	release   *time.Timer // ends the snapshots of idle connections
	armed     atomic.Bool // release is running
}

// snapshotMaxAge is how long a verification connection keeps one read
// snapshot at most, and how long an idle connection keeps it.
const snapshotMaxAge = 10 * time.Millisecond

// verifyConn is a verification connection, its two statements and its
// read snapshot.
type verifyConn struct {
	c                *zsqlite.Conn
	byDigest, byPrev *zsqlite.Stmt
	lastUse          *zsqlite.Stmt // getTokenLastUseSQL
	begin, end       *zsqlite.Stmt // BEGIN, COMMIT: the connection's read transaction

	inTx   bool      // a read transaction is open (begun by begin)
	change uint64    // Store.changes when it began
	began  time.Time // when it began
	used   time.Time // when the connection was last given back
}

// verifyConns is the number of verification connections: one per CPU, at
// least two, so that a read waiting for the disk does not stop every
// other. On 2 CPUs, 1M tokens, four made uncached verification 7–10%
// slower than two, and the process 7–12 MB larger
// (bench/results/dec1eve-uncached-flat-1M.jsonl).
func verifyConns() int { return max(2, runtime.GOMAXPROCS(0)) }

// openVerifyReaders opens n connections to the database at uri (a file:
// URI) and prepares the verification reads on each.
func openVerifyReaders(uri string, n int) (*verifyReaders, error) {
	p := &verifyReaders{idle: make(chan *verifyConn, n), done: make(chan struct{})}
	for range n {
		vc, err := openVerifyConn(uri)
		if err != nil {
			p.close()
			return nil, fmt.Errorf("open sqlite verification reader: %w", err)
		}
		p.n++
		p.idle <- vc
	}
	return p, nil
}

func openVerifyConn(uri string) (*verifyConn, error) {
	// query_only: a verification never writes.
	c, err := openConn(uri)
	if err != nil {
		return nil, err
	}
	vc := &verifyConn{c: c}
	err = execConn(c, "PRAGMA query_only = 1")
	if err == nil {
		vc.byDigest, err = c.Prepare(getTokenAndOwnerByDigestSQL)
	}
	if err == nil {
		vc.byPrev, err = c.Prepare(getTokenAndOwnerByPrevDigestSQL)
	}
	if err == nil {
		vc.lastUse, err = c.Prepare(getTokenLastUseSQL)
	}
	if err == nil {
		vc.begin, err = c.Prepare("BEGIN DEFERRED")
	}
	if err == nil {
		vc.end, err = c.Prepare("COMMIT")
	}
	if err == nil && (vc.byDigest.ColumnCount() != verifyColumns || vc.byPrev.ColumnCount() != verifyColumns) {
		err = fmt.Errorf("the verification reads have %d (by digest) and %d (by previous digest) columns, verifyRow reads %d",
			vc.byDigest.ColumnCount(), vc.byPrev.ColumnCount(), verifyColumns)
	}
	if err != nil {
		c.Close() // finalizes what it prepared
		return nil, err
	}
	return vc, nil
}

// openConn opens a zombiezen connection to the database at uri (the
// verification reads', a fold's), on the SQLite of this process.
// Read-write, not read-only: a read-only connection cannot recover the WAL
// index after a crash.
func openConn(uri string) (*zsqlite.Conn, error) {
	c, err := zsqlite.OpenConn(uri, zsqlite.OpenReadWrite, zsqlite.OpenURI)
	if err != nil {
		return nil, err
	}
	c.SetBusyTimeout(5 * time.Second) // as busy_timeout on the other connections
	return c, nil
}

// execConn runs one statement whose rows are not needed, with its integer
// parameters bound to args.
func execConn(c *zsqlite.Conn, q string, args ...int64) error {
	st, _, err := c.PrepareTransient(q)
	if err != nil {
		return err
	}
	defer st.Finalize()
	for i, a := range args {
		st.BindInt64(i+1, a)
	}
	_, err = st.Step()
	return err
}

// errClosed is what a read after Close gets.
var errClosed = fmt.Errorf("%w: the store is closed", store.ErrUnavailable)

// take waits for an idle connection, as long as ctx and the store last.
func (p *verifyReaders) take(ctx context.Context) (*verifyConn, error) {
	select {
	case vc := <-p.idle:
		return vc, nil
	default:
	}
	select {
	case vc := <-p.idle:
		return vc, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.done:
		return nil, errClosed
	}
}

// give returns a connection taken with take. A connection that keeps its
// snapshot arms the release timer.
func (p *verifyReaders) give(vc *verifyConn) {
	if !vc.inTx {
		p.idle <- vc
		return
	}
	vc.used = time.Now()
	p.idle <- vc
	p.arm()
}

// arm starts the release timer unless it is running.
func (p *verifyReaders) arm() {
	if p.armed.Load() {
		return
	}
	p.releaseMu.Lock()
	defer p.releaseMu.Unlock()
	if p.armed.Load() {
		return
	}
	p.armed.Store(true)
	if p.release == nil {
		p.release = time.AfterFunc(snapshotMaxAge, p.releaseIdle)
	} else {
		p.release.Reset(snapshotMaxAge)
	}
}

// releaseIdle ends the snapshot of every idle connection unused for
// snapshotMaxAge, and arms the timer again while one keeps a snapshot.
// Connections in use arm it when given back.
func (p *verifyReaders) releaseIdle() {
	p.releaseMu.Lock()
	p.armed.Store(false)
	p.releaseMu.Unlock()
	var (
		taken []*verifyConn
		left  bool
	)
	now := time.Now()
	for range p.n {
		var vc *verifyConn
		select {
		case vc = <-p.idle:
		default:
		}
		if vc == nil {
			break
		}
		taken = append(taken, vc)
		if vc.inTx && now.Sub(vc.used) >= snapshotMaxAge {
			vc.endSnapshot()
		}
		left = left || vc.inTx
	}
	for _, vc := range taken {
		p.idle <- vc
	}
	if left {
		select {
		case <-p.done:
		default:
			p.arm()
		}
	}
}

// snapshot makes the connection's read transaction one that sees every
// write counted by change (the store's count of writes, loaded before the
// call): it keeps the open one when nothing was written since it began and
// it is younger than snapshotMaxAge, else it ends it and begins another,
// which takes its snapshot at the next read.
func (vc *verifyConn) snapshot(change uint64) error {
	now := time.Now()
	if vc.inTx && (vc.change != change || now.Sub(vc.began) >= snapshotMaxAge) {
		vc.endSnapshot()
	}
	if vc.inTx {
		return nil
	}
	defer vc.begin.Reset()
	if _, err := vc.begin.Step(); err != nil {
		return zsqliteError(err)
	}
	vc.inTx, vc.change, vc.began = true, change, now
	return nil
}

// endSnapshot ends the connection's read transaction. A read that failed
// may have ended it already; COMMIT then fails, and is not needed.
func (vc *verifyConn) endSnapshot() {
	vc.inTx = false
	if vc.c.AutocommitEnabled() {
		return
	}
	_, _ = vc.end.Step()
	_ = vc.end.Reset()
}

// close closes every connection, waiting for those in use to come back
// (a read ends within the busy timeout). Reads after it fail with
// errClosed; a second call does nothing.
func (p *verifyReaders) close() error {
	var errs []error
	p.once.Do(func() {
		close(p.done)
		p.releaseMu.Lock()
		if p.release != nil {
			p.release.Stop()
		}
		p.releaseMu.Unlock()
		for range p.n {
			errs = append(errs, (<-p.idle).c.Close())
		}
	})
	return errors.Join(errs...)
}

// GetTokenAndOwnerByDigest returns the token whose current or previous
// digest equals digest and its owner (nil when deleted), in one read. The
// owner's PasswordHash is left empty.
//
// The read runs to its end once started: it is one index probe, over long
// before a cancellation could stop it, and a lock wait is bounded by the
// busy timeout. A context already done, or done while every connection is
// busy, does not read.
func (s *Store) GetTokenAndOwnerByDigest(ctx context.Context, digest []byte) (*store.Token, *store.User, error) {
	vc, err := s.readConn(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("get token and owner by digest: %w", err)
	}
	defer s.verify.give(vc)
	t, u, err := tokenAndOwner(vc.byDigest, digest, false)
	if errors.Is(err, store.ErrNotFound) {
		t, u, err = tokenAndOwner(vc.byPrev, digest, true)
	}
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			vc.endSnapshot() // the next read begins afresh
		}
		return nil, nil, fmt.Errorf("get token and owner by digest: %w", err)
	}
	return t, u, nil
}

// readConn takes a verification connection whose snapshot sees every
// write this store acknowledged before the call; the caller gives it back
// (s.verify.give). A context already done, or done while every connection
// is busy, gets no connection.
func (s *Store) readConn(ctx context.Context) (*verifyConn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	change := s.changes.Load() // before the snapshot it may begin
	vc, err := s.verify.take(ctx)
	if err != nil {
		return nil, err
	}
	if err := vc.snapshot(change); err != nil {
		s.verify.give(vc)
		return nil, fmt.Errorf("begin: %w", err)
	}
	return vc, nil
}

// getTokenLastUseSQL is GetTokenLastUse's read: one search of a narrow
// table by its primary key.
const getTokenLastUseSQL = `SELECT last_used_at, last_used_ip, last_used_agent, recent_ips FROM token_last_use WHERE token_id = ?`

// GetTokenLastUse returns the token's stored last use (see store.Store),
// read on the verification connections like GetTokenAndOwnerByDigest, of
// which it is the missing part: /api/v1/me shows it, once per Principal.
func (s *Store) GetTokenLastUse(ctx context.Context, id string) (*store.Token, error) {
	vc, err := s.readConn(ctx)
	if err != nil {
		return nil, fmt.Errorf("get token last use: %w", err)
	}
	defer s.verify.give(vc)
	t, err := lastUseOf(vc.lastUse, id)
	if err != nil {
		vc.endSnapshot() // the next read begins afresh
		return nil, fmt.Errorf("get token last use: %w", err)
	}
	return t, nil
}

// lastUseOf runs st, getTokenLastUseSQL, for the token id.
func lastUseOf(st *zsqlite.Stmt, id string) (*store.Token, error) {
	defer st.Reset() // an error of the step is reported below
	st.BindText(1, id)
	row, err := st.Step()
	if err != nil {
		return nil, zsqliteError(err)
	}
	t := &store.Token{ID: id, RecentIPs: []string{}}
	if !row {
		return t, nil
	}
	if at := nullInt(st, 0); at.Valid {
		v := fromMicros(at.Int64)
		t.LastUsedAt = &v
	}
	t.LastUsedIP, t.LastUsedAgent = st.ColumnText(1), st.ColumnText(2)
	if t.RecentIPs, err = decodeList(st.ColumnText(3)); err != nil {
		return nil, fmt.Errorf("token %s recent ips: %w", id, err)
	}
	return t, nil
}

// verifiedToken is a token as the verification read returns it: the row,
// the digest it was found by and its expiry (or another of its times) in
// one allocation, which the verification cache keeps as one object rather
// than three.
type verifiedToken struct {
	t      store.Token
	digest [sha256.Size]byte
	times  [1]time.Time
}

// tokenAndOwner runs st, the read by the current digest or (prev) by the
// previous one.
func tokenAndOwner(st *zsqlite.Stmt, digest []byte, prev bool) (*store.Token, *store.User, error) {
	defer st.Reset() // an error of the step is reported below
	st.BindBytes(1, digest)
	row, err := st.Step()
	if err != nil {
		return nil, nil, zsqliteError(err)
	}
	if !row {
		return nil, nil, store.ErrNotFound
	}
	var r verifyRow
	r.read(st)
	v := new(verifiedToken)
	t := &v.t
	if err := r.tok.fill(t, v.times[:]); err != nil {
		return nil, nil, err
	}
	var asked []byte
	if len(digest) <= len(v.digest) {
		asked = v.digest[:len(digest):len(digest)]
		copy(asked, digest)
	} else {
		asked = bytes.Clone(digest)
	}
	if prev {
		t.Digest, t.PrevDigest = r.other, asked
	} else {
		t.Digest, t.PrevDigest = asked, r.other
	}
	if len(t.PrevDigest) == 0 {
		t.PrevDigest = nil
	}
	return t, r.owner.user(), nil
}

// zsqliteError maps an error of zombiezen's connections as translate does
// the driver's.
func zsqliteError(err error) error {
	return storageError(int(zsqlite.ErrCode(err)), err)
}

// verifyRow is a row of the verification read.
type verifyRow struct {
	tok   tokenScan
	other []byte
	owner ownerScan
}

// verifyColumns is how many columns read reads, by position (0 to 24). A
// column added to verifyTokenColumns or verifyOwnerColumns and not to read
// makes Open fail rather than every value after it shift.
const verifyColumns = 25

// The TEXT columns of the verification read, by position: the token's
// (but its user_id and scopes), and the owner's after the token's user_id
// (the owner's id).
var (
	verifyTokenText = [...]int{0, 2, 3, 4, 6, 8, 14, 15}
	verifyOwnerText = [...]int{1, 18, 19, 20, 21, 24}
)

// read reads the current row of st, a verification read.
//
// The token's TEXT values are substrings of one string, and the owner's of
// another (columnStrings): a few allocations where there were one per
// non-empty value, eleven in a usual row. The token's user_id is the
// owner's id, and its scopes are a string of their own: the verifier
// replaces both with what it shares among tokens (the cached owner's id,
// the scope lists of its scope memo), and a buffer holding them would
// keep them alive in every cached token. The strings a token the
// verification cache keeps are then one object where they were three.
func (r *verifyRow) read(st *zsqlite.Stmt) {
	t, k := &r.tok.t, &r.tok
	var tok [len(verifyTokenText)]string
	columnStrings(st, verifyTokenText[:], tok[:])
	t.ID, t.Kind, t.Name, t.Description, t.Hint = tok[0], store.TokenKind(tok[1]), tok[2], tok[3], tok[4]
	k.allow, t.FederationPolicyID, k.claims = tok[5], tok[6], tok[7]
	k.scopes = st.ColumnText(5)
	k.prevExp = nullInt(st, 7)
	k.created, k.updated = st.ColumnInt64(9), st.ColumnInt64(10)
	k.expires, k.revoked, k.regenerated = nullInt(st, 11), nullInt(st, 12), nullInt(st, 13)
	if n := st.ColumnLen(16); n > 0 {
		r.other = make([]byte, n)
		st.ColumnBytes(16, r.other)
	}
	o := &r.owner
	if o.created = nullInt(st, 17); !o.created.Valid {
		t.UserID = st.ColumnText(1) // no live owner: the owner's columns are NULL
		return
	}
	var own [len(verifyOwnerText)]string
	columnStrings(st, verifyOwnerText[:], own[:])
	o.id, o.username, o.role, o.kind, o.loginType, o.email = own[0], own[1], own[2], own[3], own[4], own[5]
	o.suspended, o.updated = st.ColumnInt64(22) != 0, st.ColumnInt64(23)
	t.UserID = o.id
}

// columnStrings sets out[i] to the text of column cols[i] of st's current
// row (NULL reads as ""). The values are substrings of one string: one
// allocation for them all, none when they are all empty. A value kept
// alone keeps the others alive; the callers keep them together.
func columnStrings(st *zsqlite.Stmt, cols []int, out []string) {
	var (
		ends  [16]int // where each value ends in buf
		stack [512]byte
	)
	n := 0
	for _, c := range cols {
		n += st.ColumnLen(c)
	}
	if n == 0 {
		clear(out)
		return
	}
	buf := stack[:0]
	if n > len(stack) {
		buf = make([]byte, 0, n)
	}
	for i, c := range cols {
		at := len(buf)
		buf = buf[:at+st.ColumnLen(c)]
		st.ColumnBytes(c, buf[at:])
		ends[i] = len(buf)
	}
	all := string(buf)
	start := 0
	for i := range cols {
		out[i] = all[start:ends[i]]
		start = ends[i]
	}
}

// nullInt reads an INTEGER column that may be NULL.
func nullInt(st *zsqlite.Stmt, col int) sql.NullInt64 {
	if st.ColumnType(col) == zsqlite.TypeNull {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: st.ColumnInt64(col), Valid: true}
}

// ownerScan is the owner's columns of the verification read.
type ownerScan struct {
	created                                    sql.NullInt64
	id, username, role, kind, loginType, email string
	suspended                                  bool
	updated                                    int64
}

// user is the scanned owner; nil when no live user matched.
func (o *ownerScan) user() *store.User {
	if !o.created.Valid {
		return nil
	}
	return &store.User{
		ID: o.id, Username: o.username, Role: store.Role(o.role), Kind: store.UserKind(o.kind),
		LoginType: o.loginType, Suspended: o.suspended, CreatedAt: fromMicros(o.created.Int64),
		UpdatedAt: fromMicros(o.updated), Email: o.email,
	}
}
