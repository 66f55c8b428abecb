package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/latchkey/latchkey/internal/store"
)

// getTokenAndOwnerByDigestSQL is the uncached verification read: the token
// by either digest (two unique indexes) and its live owner by primary key,
// in one statement. t.* is the subquery's tokenColumns, in their order.
const getTokenAndOwnerByDigestSQL = `SELECT t.*,
	u.id, u.username, u.role, u.kind, u.login_type, u.password_hash, u.suspended, u.created_at,
	u.updated_at, u.email
	FROM (SELECT ` + tokenColumns + ` FROM tokens WHERE digest = ?1 OR prev_digest = ?1 LIMIT 1) AS t
	LEFT JOIN users AS u ON u.id = t.user_id AND u.deleted_at IS NULL`

// GetTokenAndOwnerByDigest returns the token whose current or previous
// digest equals digest and its owner (nil when deleted), in one read.
func (s *Store) GetTokenAndOwnerByDigest(ctx context.Context, digest []byte) (*store.Token, *store.User, error) {
	var (
		owner     ownerRow
		tokenScan rowScanner
	)
	row := s.getTokenAndOwner.QueryRowContext(ctx, digest)
	tokenScan.extra = owner.dest()
	tokenScan.row = row
	t, err := scanToken(&tokenScan)
	if err != nil {
		return nil, nil, fmt.Errorf("get token and owner by digest: %w", err)
	}
	return t, owner.user(), nil
}

// rowScanner appends extra destinations to the token's, so scanToken can
// read a joined row.
type rowScanner struct {
	row   *sql.Row
	extra []any
}

func (r *rowScanner) Scan(dest ...any) error { return r.row.Scan(append(dest, r.extra...)...) }

// ownerRow is a user's columns from a LEFT JOIN: all NULL when no live
// user matched.
type ownerRow struct {
	id, username, role, kind, loginType, hash, email sql.NullString
	suspended                                        sql.NullBool
	created, updated                                 sql.NullInt64
}

func (o *ownerRow) dest() []any {
	return []any{&o.id, &o.username, &o.role, &o.kind, &o.loginType, &o.hash, &o.suspended,
		&o.created, &o.updated, &o.email}
}

func (o *ownerRow) user() *store.User {
	if !o.id.Valid {
		return nil
	}
	return &store.User{
		ID: o.id.String, Username: o.username.String, Role: store.Role(o.role.String),
		Kind: store.UserKind(o.kind.String), LoginType: o.loginType.String, PasswordHash: o.hash.String,
		Suspended: o.suspended.Bool, CreatedAt: fromMicros(o.created.Int64), UpdatedAt: fromMicros(o.updated.Int64),
		Email: o.email.String,
	}
}
