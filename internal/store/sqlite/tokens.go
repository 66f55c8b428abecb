package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// tokenColumns are the columns of the tokens table, in tokenArgs' order.
// A token's last use is not among them: it lives in token_last_use
// (migration 00008), so that usage tracking never rewrites a tokens row.
const tokenColumns = `id, user_id, kind, name, description, scopes, digest, hint, prev_digest, prev_expires_at,
	ip_allowlist, created_at, updated_at, expires_at, revoked_at, regenerated_at, federation_policy_id, federation_claims`

// tokenColumnCount is the number of columns in tokenColumns.
const tokenColumnCount = 18

// selectToken reads tokens with their last use, the columns scanToken
// reads: tokenColumns, then the last use (none for a token never used,
// which has no token_last_use row). Callers append WHERE, ORDER BY, LIMIT.
const selectToken = `SELECT ` + tokenColumns + `, l.last_used_at, coalesce(l.last_used_ip, ''),
	coalesce(l.last_used_agent, ''), coalesce(l.recent_ips, '[]')
	FROM tokens LEFT JOIN token_last_use AS l ON l.token_id = tokens.id`

// tokenArgs returns t's values in tokenColumns order.
func tokenArgs(t *store.Token) []any {
	return []any{
		t.ID, t.UserID, t.Kind, t.Name, t.Description, encodeList(t.Scopes), t.Digest, t.Hint,
		blobOrNull(t.PrevDigest), microsPtr(t.PrevExpiresAt), encodeList(t.IPAllowlist),
		micros(t.CreatedAt), micros(t.UpdatedAt), microsPtr(t.ExpiresAt), microsPtr(t.RevokedAt),
		microsPtr(t.RegeneratedAt), t.FederationPolicyID, store.EncodeClaims(t.FederationClaims),
	}
}

// hasLastUse reports whether t carries a last use to store.
func hasLastUse(t *store.Token) bool {
	return t.LastUsedAt != nil || t.LastUsedIP != "" || t.LastUsedAgent != "" || len(t.RecentIPs) > 0
}

// sameLastUse reports whether a and b carry the same last use.
func sameLastUse(a, b *store.Token) bool {
	return microsPtr(a.LastUsedAt) == microsPtr(b.LastUsedAt) && a.LastUsedIP == b.LastUsedIP &&
		a.LastUsedAgent == b.LastUsedAgent && slices.Equal(a.RecentIPs, b.RecentIPs)
}

// upsertLastUseSQL stores one token's last use, or replaces it.
const upsertLastUseSQL = `INSERT INTO token_last_use (token_id, last_used_at, last_used_ip, last_used_agent, recent_ips)
	VALUES (?, ?, ?, ?, ?) ON CONFLICT (token_id) DO UPDATE SET last_used_at = excluded.last_used_at,
	last_used_ip = excluded.last_used_ip, last_used_agent = excluded.last_used_agent, recent_ips = excluded.recent_ips`

// writeLastUse stores t's last use in tx: its token_last_use row, or none
// when t carries none. A row that counts a day's requests keeps the count
// with its last use cleared.
func writeLastUse(ctx context.Context, tx *sql.Tx, t *store.Token) error {
	var err error
	if hasLastUse(t) {
		_, err = tx.ExecContext(ctx, upsertLastUseSQL, t.ID, microsPtr(t.LastUsedAt), t.LastUsedIP, t.LastUsedAgent,
			encodeList(t.RecentIPs))
	} else if _, err = tx.ExecContext(ctx, `DELETE FROM token_last_use WHERE token_id = ? AND day_count = 0`, t.ID); err == nil {
		_, err = tx.ExecContext(ctx, `UPDATE token_last_use SET last_used_at = NULL, last_used_ip = '', last_used_agent = '',
			recent_ips = '[]' WHERE token_id = ?`, t.ID)
	}
	if err != nil {
		return fmt.Errorf("last use: %w", translate(err))
	}
	return nil
}

func scanToken(sc scanner) (*store.Token, error) {
	var r struct {
		tokenScan
		dest [tokenColumnCount + 4]any
	}
	if err := sc.Scan(r.tokenScan.dest(r.dest[:0])...); err != nil {
		return nil, translate(err)
	}
	return r.token()
}

// tokenScan holds a row of selectToken as the driver returns it: one
// allocation for every scan destination rather than one for each.
type tokenScan struct {
	t                                                store.Token
	scopes, allow, recent, claims                    string
	created, updated                                 int64
	prevExp, expires, revoked, regenerated, lastUsed sql.NullInt64
}

// dest appends the destinations of selectToken's columns to d.
func (r *tokenScan) dest(d []any) []any {
	t := &r.t
	return append(d, &t.ID, &t.UserID, &t.Kind, &t.Name, &t.Description, &r.scopes, &t.Digest, &t.Hint,
		&t.PrevDigest, &r.prevExp, &r.allow, &r.created, &r.updated, &r.expires, &r.revoked, &r.regenerated,
		&t.FederationPolicyID, &r.claims, &r.lastUsed, &t.LastUsedIP, &t.LastUsedAgent, &r.recent)
}

// token decodes the scanned row into a new token.
func (r *tokenScan) token() (*store.Token, error) {
	t := new(store.Token)
	return t, r.fill(t, nil)
}

// fill decodes the scanned row into t. The optional times that are set
// share one allocation: spare's array when it has room, else a new one.
func (r *tokenScan) fill(t *store.Token, spare []time.Time) error {
	*t = r.t
	var err error
	if t.FederationClaims, err = store.DecodeClaims(r.claims); err != nil {
		return fmt.Errorf("token %s federation claims: %w", t.ID, err)
	}
	if t.Scopes, err = decodeList(r.scopes); err != nil {
		return fmt.Errorf("token %s scopes: %w", t.ID, err)
	}
	if t.IPAllowlist, err = decodeList(r.allow); err != nil {
		return fmt.Errorf("token %s ip allowlist: %w", t.ID, err)
	}
	if t.RecentIPs, err = decodeList(r.recent); err != nil {
		return fmt.Errorf("token %s recent ips: %w", t.ID, err)
	}
	if len(t.PrevDigest) == 0 {
		t.PrevDigest = nil
	}
	t.CreatedAt, t.UpdatedAt = fromMicros(r.created), fromMicros(r.updated)
	// The optional times that are set share one allocation.
	opt := [...]sql.NullInt64{r.prevExp, r.expires, r.revoked, r.regenerated, r.lastUsed}
	n := 0
	for _, v := range opt {
		if v.Valid {
			n++
		}
	}
	times := spare[:0]
	if cap(times) < n {
		times = make([]time.Time, 0, n)
	}
	t.PrevExpiresAt, t.ExpiresAt, t.RevokedAt = timeIn(&times, opt[0]), timeIn(&times, opt[1]), timeIn(&times, opt[2])
	t.RegeneratedAt, t.LastUsedAt = timeIn(&times, opt[3]), timeIn(&times, opt[4])
	return nil
}

// timeIn is fromNullMicros appended to *times, whose capacity must hold it:
// pointers to earlier elements stay valid.
func timeIn(times *[]time.Time, v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	*times = append(*times, fromMicros(v.Int64))
	return &(*times)[len(*times)-1]
}

// normToken brings t to the stored form in place: times truncated to UTC
// microseconds, nil lists empty, an empty previous digest nil.
func normToken(t *store.Token) {
	t.CreatedAt, t.UpdatedAt = store.Truncate(t.CreatedAt), store.Truncate(t.UpdatedAt)
	t.PrevExpiresAt, t.ExpiresAt = store.TruncatePtr(t.PrevExpiresAt), store.TruncatePtr(t.ExpiresAt)
	t.RevokedAt, t.RegeneratedAt = store.TruncatePtr(t.RevokedAt), store.TruncatePtr(t.RegeneratedAt)
	t.LastUsedAt = store.TruncatePtr(t.LastUsedAt)
	t.Scopes, t.IPAllowlist, t.RecentIPs = nonNil(t.Scopes), nonNil(t.IPAllowlist), nonNil(t.RecentIPs)
	if len(t.PrevDigest) == 0 {
		t.PrevDigest = nil
	}
}

// CreateToken inserts t. A duplicate ID or digest, or a live token of the
// same user with the same name, is store.ErrConflict; an unknown user is
// store.ErrNotFound.
func (s *Store) CreateToken(ctx context.Context, t *store.Token) error {
	normToken(t)
	if hasLastUse(t) {
		return s.inTx(ctx, func(tx *sql.Tx) error { return insertToken(ctx, tx, t) })
	}
	_, err := s.exec(ctx, insertTokenSQL, tokenArgs(t)...)
	if err != nil {
		return fmt.Errorf("create token: %w", translate(err))
	}
	return nil
}

// insertToken inserts the normalised t in tx, with its last use if any.
func insertToken(ctx context.Context, tx *sql.Tx, t *store.Token) error {
	if _, err := tx.ExecContext(ctx, insertTokenSQL, tokenArgs(t)...); err != nil {
		return fmt.Errorf("create token: %w", translate(err))
	}
	if hasLastUse(t) {
		if err := writeLastUse(ctx, tx, t); err != nil {
			return fmt.Errorf("create token: %w", err)
		}
	}
	return nil
}

// CreateTokenWithAudit inserts t and appends e in one write transaction:
// one job for the writer instead of two.
func (s *Store) CreateTokenWithAudit(ctx context.Context, t *store.Token, e *store.AuditEvent) error {
	normToken(t)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := insertToken(ctx, tx, t); err != nil {
			return err
		}
		return appendAudit(ctx, tx, e)
	})
}

// insertTokenSQL inserts one token.
var insertTokenSQL = `INSERT INTO tokens (` + tokenColumns + `) VALUES ` + placeholders(1, tokenColumnCount)

// createTokensChunk is how many rows one INSERT of CreateTokens carries
// (20 columns each, well under SQLite's 32766 variables).
const createTokensChunk = 500

// CreateTokens inserts ts in one transaction with multi-row INSERTs; any
// failure inserts none of them.
func (s *Store) CreateTokens(ctx context.Context, ts []*store.Token) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("create tokens: %w", translate(err))
	}
	if len(ts) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var full *sql.Stmt
		defer func() {
			if full != nil {
				full.Close()
			}
		}()
		args := make([]any, 0, createTokensChunk*tokenColumnCount)
		for start := 0; start < len(ts); start += createTokensChunk {
			chunk := ts[start:min(start+createTokensChunk, len(ts))]
			args = args[:0]
			for _, t := range chunk {
				normToken(t)
				args = append(args, tokenArgs(t)...)
			}
			q := `INSERT INTO tokens (` + tokenColumns + `) VALUES ` + placeholders(len(chunk), tokenColumnCount)
			var err error
			if len(chunk) == createTokensChunk {
				if full == nil {
					if full, err = tx.PrepareContext(ctx, q); err != nil {
						return fmt.Errorf("create tokens: %w", translate(err))
					}
				}
				_, err = full.ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, q, args...)
			}
			if err != nil {
				return fmt.Errorf("create tokens: %w", translate(err))
			}
			for _, t := range chunk {
				if hasLastUse(t) {
					if err := writeLastUse(ctx, tx, t); err != nil {
						return fmt.Errorf("create tokens: %w", err)
					}
				}
			}
		}
		return nil
	})
}

// GetToken returns the token with id, revoked or not.
func (s *Store) GetToken(ctx context.Context, id string) (*store.Token, error) {
	t, err := scanToken(s.getToken.QueryRowContext(ctx, id))
	if err != nil {
		return nil, fmt.Errorf("get token: %w", translate(err))
	}
	return t, nil
}

// GetTokenByDigest returns the token whose current digest, or else whose
// previous digest, equals digest. The caller checks PrevExpiresAt.
func (s *Store) GetTokenByDigest(ctx context.Context, digest []byte) (*store.Token, error) {
	t, err := scanToken(s.getTokenByDigest.QueryRowContext(ctx, digest))
	if err != nil {
		return nil, fmt.Errorf("get token by digest: %w", translate(err))
	}
	return t, nil
}

// ListTokens returns tokens newest first (by ID), before f.Cursor, matching
// the filter. States are evaluated at f.Now (the current time if zero) with
// the same boundaries as store.Token.State.
func (s *Store) ListTokens(ctx context.Context, f store.TokenFilter) ([]*store.Token, error) {
	var (
		where []string
		args  []any
	)
	if f.UserID != "" {
		where, args = append(where, `user_id = ?`), append(args, f.UserID)
	}
	if f.Kind != "" {
		where, args = append(where, `kind = ?`), append(args, f.Kind)
	}
	if f.Scope != "" {
		// "repo" matches "repo" and "repo=<resources>"; '=' < '>' bounds the range.
		where = append(where, `EXISTS (SELECT 1 FROM json_each(tokens.scopes) AS s WHERE s.value = ? OR (s.value >= ? AND s.value < ?))`)
		args = append(args, f.Scope, f.Scope+"=", f.Scope+">")
	}
	if f.State != "" {
		now := f.Now
		if now.IsZero() {
			now = time.Now()
		}
		n, soon := micros(now), micros(now.Add(store.ExpiringWindow))
		switch f.State {
		case store.StateRevoked:
			where = append(where, `revoked_at IS NOT NULL`)
		case store.StateExpired:
			where, args = append(where, `revoked_at IS NULL AND expires_at <= ?`), append(args, n)
		case store.StateExpiring:
			where, args = append(where, `revoked_at IS NULL AND expires_at > ? AND expires_at <= ?`), append(args, n, soon)
		case store.StateActive:
			where, args = append(where, `revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)`), append(args, soon)
		default:
			return nil, fmt.Errorf("list tokens: unknown state %q", f.State)
		}
	}
	if f.Cursor != "" {
		where, args = append(where, `id < ?`), append(args, f.Cursor)
	}
	q := selectToken
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, store.PageLimit(f.Limit))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", translate(err))
	}
	defer rows.Close()
	out := []*store.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", translate(err))
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", translate(err))
	}
	return out, nil
}

// unusedTokensSQL walks tokens in id order (their primary key) and looks up
// each live one's last use by token_last_use's primary key.
const unusedTokensSQL = `SELECT t.id FROM tokens AS t LEFT JOIN token_last_use AS l ON l.token_id = t.id
	WHERE t.id > ?1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?2)
	AND t.created_at < ?3 AND (t.regenerated_at IS NULL OR t.regenerated_at < ?3)
	AND (l.last_used_at IS NULL OR l.last_used_at < ?3)
	ORDER BY t.id LIMIT ?4`

// UnusedTokenIDs implements store.Store.
func (s *Store) UnusedTokenIDs(ctx context.Context, before, now time.Time, after string, limit int) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, unusedTokensSQL, after, micros(now), microsCeil(before), store.PageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list unused tokens: %w", translate(err))
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list unused tokens: %w", translate(err))
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list unused tokens: %w", translate(err))
	}
	return ids, nil
}

// UpdateToken runs fn on the token with id and writes back every field but
// ID, UserID, Kind and CreatedAt, in one transaction.
func (s *Store) UpdateToken(ctx context.Context, id string, fn func(*store.Token) error) (*store.Token, error) {
	var out *store.Token
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		t, err := scanToken(tx.QueryRowContext(ctx, getTokenSQL, id))
		if err != nil {
			return fmt.Errorf("update token: %w", translate(err))
		}
		// The last use as read, copied: fn may change t's time or list in place.
		was := &store.Token{LastUsedAt: store.TruncatePtr(t.LastUsedAt), LastUsedIP: t.LastUsedIP,
			LastUsedAgent: t.LastUsedAgent, RecentIPs: slices.Clone(t.RecentIPs)}
		if err := fn(t); err != nil {
			return err
		}
		normToken(t)
		t.ID = id // the last use written is id's, whatever fn did
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET name = ?, description = ?, scopes = ?,
			digest = ?, hint = ?, prev_digest = ?, prev_expires_at = ?, ip_allowlist = ?, updated_at = ?,
			expires_at = ?, revoked_at = ?, regenerated_at = ? WHERE id = ?`,
			t.Name, t.Description, encodeList(t.Scopes), t.Digest, t.Hint, blobOrNull(t.PrevDigest),
			microsPtr(t.PrevExpiresAt), encodeList(t.IPAllowlist), micros(t.UpdatedAt), microsPtr(t.ExpiresAt),
			microsPtr(t.RevokedAt), microsPtr(t.RegeneratedAt), id); err != nil {
			return fmt.Errorf("update token: %w", translate(err))
		}
		if !sameLastUse(was, t) {
			if err := writeLastUse(ctx, tx, t); err != nil {
				return fmt.Errorf("update token: %w", err)
			}
		}
		if out, err = scanToken(tx.QueryRowContext(ctx, getTokenSQL, id)); err != nil {
			return fmt.Errorf("update token: %w", translate(err))
		}
		return nil
	})
	return out, err
}

// placeholders returns rows groups of cols "?" each: "(?, ?), (?, ?)".
func placeholders(rows, cols int) string {
	one := strings.TrimSuffix(strings.Repeat("?, ", cols), ", ")
	var b strings.Builder
	b.Grow(rows * (len(one) + 4))
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + one + ")")
	}
	return b.String()
}

// encodeList stores a list as a JSON array; nil is "[]".
func encodeList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	return string(appendJSONStrings(nil, l)) // json.Marshal's bytes, in one allocation (usage_json.go)
}

// decodeList reads a stored JSON array, always non-nil. A list of plain
// strings, what encodeList writes for scopes, CIDRs and IP addresses, is
// split in place; anything else goes through encoding/json.
func decodeList(s string) ([]string, error) {
	if s == "" || s == "[]" {
		return []string{}, nil
	}
	if out, ok := splitPlainList(s); ok {
		return out, nil
	}
	out := []string{}
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, err
	}
	return out, nil
}

// splitPlainList parses s when it is exactly `["a","b",...]`: no spaces,
// and elements of printable ASCII without a quote or a backslash, which
// encoding/json reads back as these very bytes. The elements share s's
// memory. ok is false for any other s.
func splitPlainList(s string) (out []string, ok bool) {
	if len(s) < 4 || s[:2] != `["` || s[len(s)-2:] != `"]` {
		return nil, false
	}
	body := s[2 : len(s)-2]
	for i := 0; i < len(body); i++ {
		if c := body[i]; c < 0x20 || c > 0x7e || c == '\\' {
			return nil, false
		}
	}
	out = make([]string, 0, strings.Count(body, `","`)+1)
	for {
		elem, rest, more := strings.Cut(body, `","`)
		if strings.IndexByte(elem, '"') >= 0 {
			return nil, false
		}
		out = append(out, elem)
		if !more {
			return out, true
		}
		body = rest
	}
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
