package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latchkey/latchkey/internal/store"
)

// Uncached verifications are read in batches. Each read was a round trip
// of its own: a socket write and read on both sides and a statement for a
// backend to run, for one index probe. Under load that overhead, not the
// probe, was most of what the server spent on a verification. The lookups
// waiting at one moment now share one statement and one round trip.
//
// The batching adds no wait: a reader takes every lookup queued when it
// becomes free, so a lone lookup is read at once, alone, and lookups
// gather into batches only while every reader is busy, that is when the
// database is the bottleneck anyway.
const (
	// maxVerifyBatch bounds the digests of one statement.
	maxVerifyBatch = 64
	// verifyBatchTimeout bounds one batch's statement, so a database that
	// stops answering fails the waiting verifications (503) instead of
	// holding them and every reader.
	verifyBatchTimeout = 10 * time.Second
)

// getTokensAndOwnersSQL reads, for each digest of $1, the token whose
// current or previous digest it is, with its live owner: the single read
// (one digest, the current first) run once per element of the array. Each
// probe is an equality on a value from the array, so every plan, generic
// or custom, probes the indexes: digest = ANY($1) was planned as a scan
// of a million-row table once PostgreSQL switched the prepared statement
// to its generic plan. Per digest:
//   - The two digests are two branches of a UNION ALL under LIMIT 1, not
//     an OR: the first branch's index scan answers a current secret and
//     the second (a small partial index) runs only when it finds nothing,
//     where an OR combines both indexes into a bitmap and rechecks the
//     heap row.
//   - The owner is a LATERAL subquery probed once for the token row.
//     OFFSET 0 keeps the planner from flattening it into a join, which it
//     hashes: every read would scan and hash the whole users table. (With
//     few users the probe may still be a scan of their one or two pages;
//     with many it is the primary key.)
//
// The asked digest comes first in each row. The owner's id is the token's
// user_id and is not read again; a NULL created_at says no live owner
// matched.
const getTokensAndOwnersSQL = `SELECT d.digest, t.*,
	u.username, u.role, u.kind, u.login_type, u.suspended, u.created_at, u.updated_at, u.email
	FROM unnest($1::bytea[]) AS d (digest)
	CROSS JOIN LATERAL ((SELECT ` + tokenColumns + ` FROM tokens WHERE tokens.digest = d.digest)
		UNION ALL (SELECT ` + tokenColumns + ` FROM tokens WHERE tokens.prev_digest = d.digest) LIMIT 1) AS t
	LEFT JOIN LATERAL (SELECT username, role, kind, login_type, suspended, created_at, updated_at, email
		FROM users WHERE users.id = t.user_id AND users.deleted_at IS NULL OFFSET 0) AS u ON true`

// verifyLookup is one verification waiting for its row.
type verifyLookup struct {
	ctx    context.Context
	digest []byte
	done   chan struct{} // closed once tok, owner and err are set

	tok   *store.Token
	owner *store.User
	err   error
}

// verifyReaders run the batched verification reads of a store.
type verifyReaders struct {
	pool   *pgxpool.Pool
	queue  chan *verifyLookup
	ctx    context.Context // ends when the store closes
	cancel context.CancelFunc
	wg     sync.WaitGroup
	reads  atomic.Int64 // statements run, for tests
}

// startVerifyReaders starts n readers on pool. Half the pool's connections
// leaves the other half to every other query.
func startVerifyReaders(pool *pgxpool.Pool, n int) *verifyReaders {
	v := newVerifyReaders(pool)
	v.start(max(n, 1))
	return v
}

func newVerifyReaders(pool *pgxpool.Pool) *verifyReaders {
	ctx, cancel := context.WithCancel(context.Background())
	return &verifyReaders{pool: pool, queue: make(chan *verifyLookup, 4*maxVerifyBatch), ctx: ctx, cancel: cancel}
}

// start starts n more readers.
func (v *verifyReaders) start(n int) {
	for range n {
		v.wg.Add(1)
		go v.run()
	}
}

// stop ends the readers; lookups waiting or queued fail.
func (v *verifyReaders) stop() {
	v.cancel()
	v.wg.Wait()
}

// errStoreClosed answers lookups made after, or queued at, Close.
var errStoreClosed = errors.New("the store is closed")

// lookup reads the token whose current or previous digest is digest, and
// its owner, through the readers.
func (v *verifyReaders) lookup(ctx context.Context, digest []byte) (*store.Token, *store.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	l := &verifyLookup{ctx: ctx, digest: digest, done: make(chan struct{})}
	select {
	case v.queue <- l:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-v.ctx.Done():
		return nil, nil, fmt.Errorf("%w: %w", store.ErrUnavailable, errStoreClosed)
	}
	select {
	case <-l.done:
		return l.tok, l.owner, l.err
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-v.ctx.Done():
		return nil, nil, fmt.Errorf("%w: %w", store.ErrUnavailable, errStoreClosed)
	}
}

// run reads batches until the store closes: one lookup, and every other
// one queued behind it, up to maxVerifyBatch.
func (v *verifyReaders) run() {
	defer v.wg.Done()
	batch := make([]*verifyLookup, 0, maxVerifyBatch)
	for {
		select {
		case l := <-v.queue:
			batch = append(batch[:0], l)
		case <-v.ctx.Done():
			return
		}
	gather:
		for len(batch) < maxVerifyBatch {
			select {
			case l := <-v.queue:
				batch = append(batch, l)
			default:
				break gather
			}
		}
		v.read(batch)
		for _, l := range batch {
			close(l.done)
		}
		clear(batch) // let the answered lookups go
	}
}

// read answers every lookup of batch whose caller still waits.
func (v *verifyReaders) read(batch []*verifyLookup) {
	digests := make([][]byte, 0, len(batch))
	waiting := batch[:0:0]
	for _, l := range batch {
		if err := l.ctx.Err(); err != nil {
			l.err = err
			continue
		}
		waiting = append(waiting, l)
		if !slices.ContainsFunc(digests, func(d []byte) bool { return bytes.Equal(d, l.digest) }) {
			digests = append(digests, l.digest)
		}
	}
	if len(waiting) == 0 {
		return
	}
	fail := func(err error) {
		for _, l := range waiting {
			l.err = fmt.Errorf("get token and owner by digest: %w", translate(err))
		}
	}
	ctx, cancel := context.WithTimeout(v.ctx, verifyBatchTimeout)
	defer cancel()
	v.reads.Add(1)
	rows, err := v.pool.Query(ctx, getTokensAndOwnersSQL, digests)
	if err != nil {
		fail(err)
		return
	}
	defer rows.Close()
	type read struct {
		asked []byte
		tok   *store.Token
		owner *store.User
	}
	var found []read
	for rows.Next() {
		var r verifyScan
		var asked []byte
		if err := rows.Scan(append([]any{&asked}, r.dest()...)...); err != nil {
			fail(err)
			return
		}
		t, err := r.tok.token()
		if err != nil {
			fail(err)
			return
		}
		found = append(found, read{asked, t, r.owner.user(t.UserID)})
	}
	if err := rows.Err(); err != nil {
		fail(err)
		return
	}
	// Two lookups of one digest each get a copy of their own: the caller
	// may change the token it is given.
	given := make([]bool, len(found))
	for _, l := range waiting {
		i := slices.IndexFunc(found, func(r read) bool { return bytes.Equal(r.asked, l.digest) })
		if i < 0 {
			l.err = fmt.Errorf("get token and owner by digest: %w", store.ErrNotFound)
			continue
		}
		l.tok, l.owner = found[i].tok, found[i].owner
		if given[i] {
			l.tok, l.owner = cloneToken(l.tok), cloneUser(l.owner)
		}
		given[i] = true
	}
}

// cloneToken is a copy of t that shares nothing mutable with it.
func cloneToken(t *store.Token) *store.Token {
	c := *t
	c.Scopes, c.IPAllowlist, c.RecentIPs = slices.Clone(t.Scopes), slices.Clone(t.IPAllowlist), slices.Clone(t.RecentIPs)
	c.Digest, c.PrevDigest = bytes.Clone(t.Digest), bytes.Clone(t.PrevDigest)
	c.FederationClaims = maps.Clone(t.FederationClaims)
	for _, p := range []**time.Time{&c.PrevExpiresAt, &c.ExpiresAt, &c.RevokedAt, &c.RegeneratedAt, &c.LastUsedAt} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	return &c
}

// cloneUser is a copy of u (nil for nil).
func cloneUser(u *store.User) *store.User {
	if u == nil {
		return nil
	}
	c := *u
	if u.DeletedAt != nil {
		at := *u.DeletedAt
		c.DeletedAt = &at
	}
	return &c
}
