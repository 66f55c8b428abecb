package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/store"
)

// getTokenAndOwnerByDigestSQL is the uncached verification read: the token
// by either digest and its live owner by primary key, in one round trip.
// t.* is tokenColumns, in their order. The owner's password hash is not
// read: nothing that verifies a token needs it.
//
// The plan is one probe per index touched, nothing more:
//   - The digests are two branches of a UNION ALL under LIMIT 1, not an OR:
//     the first branch's index scan answers a current secret and the
//     second (a small partial index) runs only when it finds nothing,
//     where an OR combines both indexes into a bitmap and rechecks the heap
//     row.
//   - The owner is a LATERAL subquery probed once for the one token row.
//     OFFSET 0 keeps the planner from flattening it into a join, which it
//     hashes: every read would scan and hash the whole users table to find
//     one row. (With few users the probe may still be a sequential scan of
//     their one or two pages; with many it is the primary key.)
const getTokenAndOwnerByDigestSQL = `SELECT t.*,
	u.id, u.username, u.role, u.kind, u.login_type, u.suspended, u.created_at, u.updated_at, u.email
	FROM ((SELECT ` + tokenColumns + ` FROM tokens WHERE digest = $1)
		UNION ALL (SELECT ` + tokenColumns + ` FROM tokens WHERE prev_digest = $1) LIMIT 1) AS t
	LEFT JOIN LATERAL (SELECT id, username, role, kind, login_type, suspended, created_at, updated_at, email
		FROM users WHERE users.id = t.user_id AND users.deleted_at IS NULL OFFSET 0) AS u ON true`

// GetTokenAndOwnerByDigest returns the token whose current or previous
// digest equals digest and its owner (nil when deleted), in one read. The
// owner's PasswordHash is left empty.
func (s *Store) GetTokenAndOwnerByDigest(ctx context.Context, digest []byte) (*store.Token, *store.User, error) {
	var o ownerRow
	t, err := scanToken(joinedRow{row: s.pool.QueryRow(ctx, getTokenAndOwnerByDigestSQL, digest), extra: o.dest()})
	if err != nil {
		return nil, nil, fmt.Errorf("get token and owner by digest: %w", err)
	}
	return t, o.user(), nil
}

// joinedRow appends extra destinations to the token's, so scanToken can
// read a joined row.
type joinedRow struct {
	row   pgx.Row
	extra []any
}

func (r joinedRow) Scan(dest ...any) error { return r.row.Scan(append(dest, r.extra...)...) }

// ownerRow is a user's columns from a LEFT JOIN: all NULL when no live
// user matched.
type ownerRow struct {
	id, username, role, kind, loginType, email *string
	suspended                                  *bool
	created, updated                           *time.Time
}

func (o *ownerRow) dest() []any {
	return []any{&o.id, &o.username, &o.role, &o.kind, &o.loginType, &o.suspended, &o.created, &o.updated, &o.email}
}

func (o *ownerRow) user() *store.User {
	if o.id == nil {
		return nil
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	u := &store.User{
		ID: *o.id, Username: str(o.username), Role: store.Role(str(o.role)), Kind: store.UserKind(str(o.kind)),
		LoginType: str(o.loginType), Suspended: o.suspended != nil && *o.suspended,
		Email: str(o.email),
	}
	if o.created != nil {
		u.CreatedAt = utc(*o.created)
	}
	if o.updated != nil {
		u.UpdatedAt = utc(*o.updated)
	}
	return u
}
