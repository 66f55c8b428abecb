package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/latchkey/latchkey/internal/store"
)

// getTokenAndOwnerByDigestSQL is the uncached verification read: the token
// by its current digest (a unique index) joined with its live owner (primary
// key), in one statement. getTokenAndOwnerByPrevDigestSQL is the same by
// the previous digest of a regenerated token (a small partial index), asked
// only when the first finds nothing: a valid secret costs one probe, not
// the two of an OR over both indexes.
var (
	getTokenAndOwnerByDigestSQL     = tokenAndOwnerSQL("t.digest = ?")
	getTokenAndOwnerByPrevDigestSQL = tokenAndOwnerSQL("t.prev_digest = ?")
)

func tokenAndOwnerSQL(where string) string {
	cols := strings.Split(tokenColumns, ",")
	for i, c := range cols {
		cols[i] = "t." + strings.TrimSpace(c)
	}
	return `SELECT ` + strings.Join(cols, ", ") + `,
	u.id, u.username, u.role, u.kind, u.login_type, u.password_hash, u.suspended, u.created_at,
	u.updated_at, u.email
	FROM tokens AS t LEFT JOIN users AS u ON u.id = t.user_id AND u.deleted_at IS NULL
	WHERE ` + where
}

// GetTokenAndOwnerByDigest returns the token whose current or previous
// digest equals digest and its owner (nil when deleted), in one read.
func (s *Store) GetTokenAndOwnerByDigest(ctx context.Context, digest []byte) (*store.Token, *store.User, error) {
	t, u, err := s.tokenAndOwner(ctx, s.getTokenAndOwner, digest)
	if errors.Is(err, store.ErrNotFound) {
		t, u, err = s.tokenAndOwner(ctx, s.getTokenAndOwnerPrev, digest)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get token and owner by digest: %w", err)
	}
	return t, u, nil
}

func (s *Store) tokenAndOwner(ctx context.Context, st *sql.Stmt, digest []byte) (*store.Token, *store.User, error) {
	var (
		owner     ownerRow
		tokenScan rowScanner
	)
	tokenScan.extra = owner.dest()
	tokenScan.row = st.QueryRowContext(ctx, digest)
	t, err := scanToken(&tokenScan)
	if err != nil {
		return nil, nil, err
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
