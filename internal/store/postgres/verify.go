package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/latchkey/latchkey/internal/store"
)

// GetTokenAndOwnerByDigest returns the token whose current or previous
// digest equals digest and its owner (nil when deleted), in one read that
// it may share with other verifications (getTokensAndOwnersSQL in
// verifybatch.go, which also says what its plan is). The owner's
// PasswordHash is left empty.
func (s *Store) GetTokenAndOwnerByDigest(ctx context.Context, digest []byte) (*store.Token, *store.User, error) {
	return s.verify.lookup(ctx, digest)
}

// verifyScan is a row of the verification read, scanned in one allocation
// of its destinations. The owner's columns come from a LEFT JOIN, all NULL
// when no live user matched; they scan into pgtype values, which hold
// NULL without a pointer allocated per column.
type verifyScan struct {
	tok   tokenScan
	owner ownerRow
}

func (r *verifyScan) dest() []any {
	o := &r.owner
	d := r.tok.dest(make([]any, 0, len(tokenColumnNames)+8))
	return append(d, &o.username, &o.role, &o.kind, &o.loginType, &o.suspended, &o.created, &o.updated, &o.email)
}

// ownerRow is the owner's columns of the verification read.
type ownerRow struct {
	username, role, kind, loginType, email pgtype.Text
	suspended                              pgtype.Bool
	created, updated                       pgtype.Timestamptz
}

// user is the owner with id, or nil when no live user matched.
func (o *ownerRow) user(id string) *store.User {
	if !o.created.Valid {
		return nil
	}
	return &store.User{
		ID: id, Username: o.username.String, Role: store.Role(o.role.String), Kind: store.UserKind(o.kind.String),
		LoginType: o.loginType.String, Suspended: o.suspended.Bool, Email: o.email.String,
		CreatedAt: utc(o.created.Time), UpdatedAt: utc(o.updated.Time),
	}
}
