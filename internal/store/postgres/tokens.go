package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/store"
)

const tokenColumns = `id, user_id, kind, name, description, scopes, digest, hint, prev_digest, prev_expires_at,
	ip_allowlist, created_at, updated_at, expires_at, revoked_at, regenerated_at, last_used_at,
	last_used_ip, last_used_agent, recent_ips, federation_policy_id, federation_claims`

// tokenColumnNames lists tokenColumns for CopyFrom.
var tokenColumnNames = []string{"id", "user_id", "kind", "name", "description", "scopes", "digest", "hint",
	"prev_digest", "prev_expires_at", "ip_allowlist", "created_at", "updated_at", "expires_at", "revoked_at",
	"regenerated_at", "last_used_at", "last_used_ip", "last_used_agent", "recent_ips",
	"federation_policy_id", "federation_claims"}

// tokenArgs returns t's values in tokenColumns order, t already normalised.
func tokenArgs(t *store.Token) []any {
	return []any{
		t.ID, t.UserID, string(t.Kind), t.Name, t.Description, t.Scopes, t.Digest, t.Hint,
		t.PrevDigest, t.PrevExpiresAt, t.IPAllowlist, t.CreatedAt, t.UpdatedAt, t.ExpiresAt, t.RevokedAt,
		t.RegeneratedAt, t.LastUsedAt, t.LastUsedIP, t.LastUsedAgent, t.RecentIPs,
		t.FederationPolicyID, store.EncodeClaims(t.FederationClaims),
	}
}

func scanToken(row pgx.Row) (*store.Token, error) {
	var ts tokenScan
	if err := row.Scan(ts.dest(make([]any, 0, len(tokenColumnNames)))...); err != nil {
		return nil, translate(err)
	}
	return ts.token()
}

// tokenScan is a token row being read: the token, and its claims column
// to decode.
type tokenScan struct {
	t      store.Token
	claims string
}

// dest appends the destinations of tokenColumns, in their order, to d.
func (ts *tokenScan) dest(d []any) []any {
	t := &ts.t
	return append(d, &t.ID, &t.UserID, &t.Kind, &t.Name, &t.Description, &t.Scopes, &t.Digest, &t.Hint,
		&t.PrevDigest, &t.PrevExpiresAt, &t.IPAllowlist, &t.CreatedAt, &t.UpdatedAt, &t.ExpiresAt, &t.RevokedAt,
		&t.RegeneratedAt, &t.LastUsedAt, &t.LastUsedIP, &t.LastUsedAgent, &t.RecentIPs,
		&t.FederationPolicyID, &ts.claims)
}

// token finishes the read: claims decoded, lists non-nil, times in UTC.
// The optional times were allocated by the scan, so they are brought to
// UTC in place rather than copied.
func (ts *tokenScan) token() (*store.Token, error) {
	t := &ts.t
	var err error
	if t.FederationClaims, err = store.DecodeClaims(ts.claims); err != nil {
		return nil, fmt.Errorf("token %s federation claims: %w", t.ID, err)
	}
	t.Scopes, t.IPAllowlist, t.RecentIPs = list(t.Scopes), list(t.IPAllowlist), list(t.RecentIPs)
	if len(t.PrevDigest) == 0 {
		t.PrevDigest = nil
	}
	t.CreatedAt, t.UpdatedAt = utc(t.CreatedAt), utc(t.UpdatedAt)
	for _, p := range [...]*time.Time{t.PrevExpiresAt, t.ExpiresAt, t.RevokedAt, t.RegeneratedAt, t.LastUsedAt} {
		if p != nil {
			*p = p.UTC()
		}
	}
	return t, nil
}

// normToken brings t to the stored form in place: times truncated to UTC
// microseconds, nil lists empty, an empty previous digest nil.
func normToken(t *store.Token) {
	t.CreatedAt, t.UpdatedAt = ts(t.CreatedAt), ts(t.UpdatedAt)
	t.PrevExpiresAt, t.ExpiresAt, t.RevokedAt = tsPtr(t.PrevExpiresAt), tsPtr(t.ExpiresAt), tsPtr(t.RevokedAt)
	t.RegeneratedAt, t.LastUsedAt = tsPtr(t.RegeneratedAt), tsPtr(t.LastUsedAt)
	t.Scopes, t.IPAllowlist, t.RecentIPs = list(t.Scopes), list(t.IPAllowlist), list(t.RecentIPs)
	t.PrevDigest = bytesOrNil(t.PrevDigest)
}

// CreateToken inserts t. A duplicate ID or digest, or a live token of the
// same user with the same name, is store.ErrConflict; an unknown user is
// store.ErrNotFound.
func (s *Store) CreateToken(ctx context.Context, t *store.Token) error {
	normToken(t)
	if _, err := s.db(ctx).Exec(ctx, insertTokenSQL, tokenArgs(t)...); err != nil {
		return fmt.Errorf("create token: %w", translate(err))
	}
	return nil
}

// insertTokenSQL inserts one token.
const insertTokenSQL = `INSERT INTO tokens (` + tokenColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
		$10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`

// CreateTokenWithAudit inserts t and appends e in one round trip: the two
// statements go as one pipelined batch ending in a single Sync, which
// PostgreSQL runs as one implicit transaction, so either both are stored or
// neither is.
func (s *Store) CreateTokenWithAudit(ctx context.Context, t *store.Token, e *store.AuditEvent) error {
	normToken(t)
	args, err := auditArgs(e)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(insertTokenSQL, tokenArgs(t)...)
	b.Queue(insertAuditSQL, args...).QueryRow(func(r pgx.Row) error { return r.Scan(&e.ID) })
	if err := s.db(ctx).SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("create token: %w", translate(err))
	}
	return nil
}

// CreateTokens inserts ts in one transaction with COPY, PostgreSQL's bulk
// path (faster than multi-row INSERTs); any failure inserts none of them.
func (s *Store) CreateTokens(ctx context.Context, ts []*store.Token) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("create tokens: %w", translate(err))
	}
	if len(ts) == 0 {
		return nil
	}
	for _, t := range ts {
		normToken(t)
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"tokens"}, tokenColumnNames,
			pgx.CopyFromSlice(len(ts), func(i int) ([]any, error) { return tokenArgs(ts[i]), nil }))
		if err != nil {
			return fmt.Errorf("create tokens: %w", translate(err))
		}
		return nil
	})
}

// GetToken returns the token with id, revoked or not.
func (s *Store) GetToken(ctx context.Context, id string) (*store.Token, error) {
	t, err := scanToken(s.db(ctx).QueryRow(ctx, getTokenSQL, id))
	if err != nil {
		return nil, fmt.Errorf("get token: %w", translate(err))
	}
	return t, nil
}

// GetTokenLastUse returns the token's stored last use (see store.Store):
// here the verification read already has it, so only /api/v1/me of a
// token verified before its first use written asks.
func (s *Store) GetTokenLastUse(ctx context.Context, id string) (*store.Token, error) {
	t := &store.Token{ID: id}
	err := s.db(ctx).QueryRow(ctx, `SELECT last_used_at, last_used_ip, last_used_agent, recent_ips FROM tokens WHERE id = $1`, id).
		Scan(&t.LastUsedAt, &t.LastUsedIP, &t.LastUsedAgent, &t.RecentIPs)
	if errors.Is(err, pgx.ErrNoRows) {
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("get token last use: %w", translate(err))
	}
	t.RecentIPs = list(t.RecentIPs)
	if t.LastUsedAt != nil {
		*t.LastUsedAt = t.LastUsedAt.UTC()
	}
	return t, nil
}

// GetTokenByDigest returns the token whose current digest, or else whose
// previous digest, equals digest. The caller checks PrevExpiresAt. (A
// 256-bit digest cannot be one token's current and another's previous.)
func (s *Store) GetTokenByDigest(ctx context.Context, digest []byte) (*store.Token, error) {
	t, err := scanToken(s.db(ctx).QueryRow(ctx, getTokenByDigestSQL, digest))
	if err != nil {
		return nil, fmt.Errorf("get token by digest: %w", translate(err))
	}
	return t, nil
}

// ListTokens returns tokens newest first (by ID), before f.Cursor, matching
// the filter. States are evaluated at f.Now (the current time if zero) with
// the same boundaries as store.Token.State.
func (s *Store) ListTokens(ctx context.Context, f store.TokenFilter) ([]*store.Token, error) {
	var w where
	if f.UserID != "" {
		w.add(`user_id = ?`, f.UserID)
	}
	if f.Kind != "" {
		w.add(`kind = ?`, string(f.Kind))
	}
	if f.Scope != "" {
		// "repo" matches "repo" and "repo=<resources>".
		w.add(`EXISTS (SELECT 1 FROM unnest(scopes) AS s WHERE s = ? OR starts_with(s, ?))`, f.Scope, f.Scope+"=")
	}
	if f.State != "" {
		now := f.Now
		if now.IsZero() {
			now = time.Now()
		}
		n, soon := ts(now), ts(now.Add(store.ExpiringWindow))
		switch f.State {
		case store.StateRevoked:
			w.add(`revoked_at IS NOT NULL`)
		case store.StateExpired:
			w.add(`revoked_at IS NULL AND expires_at <= ?`, n)
		case store.StateExpiring:
			w.add(`revoked_at IS NULL AND expires_at > ? AND expires_at <= ?`, n, soon)
		case store.StateActive:
			w.add(`revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)`, soon)
		default:
			return nil, fmt.Errorf("list tokens: unknown state %q", f.State)
		}
	}
	if f.Cursor != "" {
		w.add(`id < ?`, f.Cursor)
	}
	q, args := w.query(`SELECT `+tokenColumns+` FROM tokens`, `ORDER BY id DESC`, store.PageLimit(f.Limit))
	rows, err := s.db(ctx).Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", translate(err))
	}
	out, err := collect(rows, scanToken)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", translate(err))
	}
	return out, nil
}

// unusedTokensSQL walks tokens in id order, their primary key.
const unusedTokensSQL = `SELECT id FROM tokens
	WHERE id > $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
	AND created_at < $3 AND (regenerated_at IS NULL OR regenerated_at < $3)
	AND (last_used_at IS NULL OR last_used_at < $3)
	ORDER BY id LIMIT $4`

// UnusedTokenIDs implements store.Store.
func (s *Store) UnusedTokenIDs(ctx context.Context, before, now time.Time, after string, limit int) ([]string, error) {
	rows, err := s.db(ctx).Query(ctx, unusedTokensSQL, after, ts(now), tsCeil(before), store.PageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list unused tokens: %w", translate(err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list unused tokens: %w", translate(err))
	}
	if ids == nil {
		ids = []string{}
	}
	return ids, nil
}

// UpdateToken runs fn on the token with id, locked FOR UPDATE, and writes
// back every field but ID, UserID, Kind and CreatedAt in the same
// transaction.
func (s *Store) UpdateToken(ctx context.Context, id string, fn func(*store.Token) error) (*store.Token, error) {
	var out *store.Token
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		t, err := scanToken(tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return fmt.Errorf("update token: %w", translate(err))
		}
		if err := fn(t); err != nil {
			return err
		}
		normToken(t)
		out, err = scanToken(tx.QueryRow(ctx, `UPDATE tokens SET name = $1, description = $2, scopes = $3,
			digest = $4, hint = $5, prev_digest = $6, prev_expires_at = $7, ip_allowlist = $8, updated_at = $9,
			expires_at = $10, revoked_at = $11, regenerated_at = $12, last_used_at = $13, last_used_ip = $14,
			last_used_agent = $15, recent_ips = $16 WHERE id = $17 RETURNING `+tokenColumns,
			t.Name, t.Description, t.Scopes, t.Digest, t.Hint, t.PrevDigest, t.PrevExpiresAt, t.IPAllowlist,
			t.UpdatedAt, t.ExpiresAt, t.RevokedAt, t.RegeneratedAt, t.LastUsedAt, t.LastUsedIP,
			t.LastUsedAgent, t.RecentIPs, id))
		if err != nil {
			return fmt.Errorf("update token: %w", translate(err))
		}
		return nil
	})
	return out, err
}
