package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

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

// The columns of the verification read, in the order of verifyScan.dest:
// verifyTokenColumns (every token column but the digests), the digest not
// asked for, then verifyOwnerColumns.
//
// The driver costs a few allocations per non-empty TEXT value and some
// work per column, so: the lists and claims a token usually has none of
// come back as ” rather than '[]' or '{}' (the same to decodeList and
// store.DecodeClaims); the owner's id is the token's user_id; a NULL
// created_at says no live owner matched the LEFT JOIN; and the password
// hash, which nothing that verifies a token reads, is left out.
var (
	verifyTokenColumns = []string{
		"t.id", "t.user_id", "t.kind", "t.name", "t.description", "t.scopes", "t.hint", "t.prev_expires_at",
		"iif(t.ip_allowlist = '[]', '', t.ip_allowlist)", "t.created_at", "t.updated_at", "t.expires_at",
		"t.revoked_at", "t.regenerated_at", "t.last_used_at", "t.last_used_ip", "t.last_used_agent",
		"iif(t.recent_ips = '[]', '', t.recent_ips)", "t.federation_policy_id",
		"iif(t.federation_claims = '{}', '', t.federation_claims)",
	}
	verifyOwnerColumns = []string{
		"u.created_at", "coalesce(u.username, '')", "coalesce(u.role, '')", "coalesce(u.kind, '')",
		"coalesce(u.login_type, '')", "coalesce(u.suspended, 0)", "coalesce(u.updated_at, 0)",
		"coalesce(u.email, '')",
	}
)

// verifyColumnCount is the width of the verification read.
const verifyColumnCount = 29

// tokenAndOwnerSQL is the verification read of the row where where holds,
// other being the digest not asked for.
//
// Every result column is an expression (a column behind the no-op unary
// +) named "": the driver copies each column's name and declared type into
// new Go strings on every query, and an empty name or the absent declared
// type of an expression costs nothing. The values are the same.
func tokenAndOwnerSQL(other, where string) string {
	cols := slices.Concat(verifyTokenColumns, []string{other}, verifyOwnerColumns)
	for i, c := range cols {
		cols[i] = `+` + c + ` AS ""`
	}
	return `SELECT ` + strings.Join(cols, ", ") + `
	FROM tokens AS t LEFT JOIN users AS u ON u.id = t.user_id AND u.deleted_at IS NULL
	WHERE ` + where
}

// GetTokenAndOwnerByDigest returns the token whose current or previous
// digest equals digest and its owner (nil when deleted), in one read. The
// owner's PasswordHash is left empty.
func (s *Store) GetTokenAndOwnerByDigest(ctx context.Context, digest []byte) (*store.Token, *store.User, error) {
	t, u, err := tokenAndOwner(ctx, s.getTokenAndOwner, digest, false)
	if errors.Is(err, store.ErrNotFound) {
		t, u, err = tokenAndOwner(ctx, s.getTokenAndOwnerPrev, digest, true)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get token and owner by digest: %w", err)
	}
	return t, u, nil
}

// tokenAndOwner runs st, the read by the current digest or (prev) by the
// previous one.
//
// A request's context is cancellable, and a cancellable context costs the
// read more than the read itself: database/sql and the driver each start a
// goroutine to watch it, and the driver installs a progress handler. The
// read is one index probe, over long before a cancellation could stop it:
// it waits for a pooled reader only as long as other such reads take, and
// for a lock only while another connection recovers the WAL index (bounded
// by busy_timeout). So it runs detached from the cancellation, keeping the
// context's values; a context already done does not read.
func tokenAndOwner(ctx context.Context, st *sql.Stmt, digest []byte, prev bool) (*store.Token, *store.User, error) {
	if ctx.Done() != nil {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		ctx = context.WithoutCancel(ctx)
	}
	rows, err := st.QueryContext(ctx, digest)
	if err != nil {
		return nil, nil, translate(err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, nil, translate(err)
		}
		return nil, nil, store.ErrNotFound
	}
	var r verifyScan
	if err := rows.Scan(r.dest()...); err != nil {
		return nil, nil, translate(err)
	}
	t, err := r.tok.token()
	if err != nil {
		return nil, nil, err
	}
	asked := bytes.Clone(digest)
	if prev {
		t.Digest, t.PrevDigest = r.other, asked
	} else {
		t.Digest, t.PrevDigest = asked, r.other
	}
	if len(t.PrevDigest) == 0 {
		t.PrevDigest = nil
	}
	return t, r.owner.user(t.UserID), nil
}

// verifyScan is a row of the verification read as the driver returns it,
// with its scan destinations: one allocation.
type verifyScan struct {
	tok   tokenScan
	other []byte
	owner ownerScan
	d     [verifyColumnCount]any
}

// dest returns the destinations of verifyColumns.
func (r *verifyScan) dest() []any {
	t, o := &r.tok.t, &r.owner
	return append(r.d[:0], &t.ID, &t.UserID, &t.Kind, &t.Name, &t.Description, &r.tok.scopes, &t.Hint,
		&r.tok.prevExp, &r.tok.allow, &r.tok.created, &r.tok.updated, &r.tok.expires, &r.tok.revoked,
		&r.tok.regenerated, &r.tok.lastUsed, &t.LastUsedIP, &t.LastUsedAgent, &r.tok.recent,
		&t.FederationPolicyID, &r.tok.claims, &r.other,
		&o.created, &o.username, &o.role, &o.kind, &o.loginType, &o.suspended, &o.updated, &o.email)
}

// ownerScan is the owner's columns of verifyColumns as scanned.
type ownerScan struct {
	created                                sql.NullInt64
	username, role, kind, loginType, email string
	suspended                              bool
	updated                                int64
}

// user is the scanned owner, whose id is id; nil when no live user matched.
func (o *ownerScan) user(id string) *store.User {
	if !o.created.Valid {
		return nil
	}
	return &store.User{
		ID: id, Username: o.username, Role: store.Role(o.role), Kind: store.UserKind(o.kind),
		LoginType: o.loginType, Suspended: o.suspended, CreatedAt: fromMicros(o.created.Int64),
		UpdatedAt: fromMicros(o.updated), Email: o.email,
	}
}
