package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/store"
)

const sessionColumns = `id, user_id, digest, created_at, expires_at, last_seen_at, ip, agent, revoked_at, coalesce(parent_id, '')`

const sessionInsertColumns = `id, user_id, digest, created_at, expires_at, last_seen_at, ip, agent, revoked_at, parent_id`

func scanSession(row pgx.Row) (*store.Session, error) {
	var ss store.Session
	if err := row.Scan(&ss.ID, &ss.UserID, &ss.Digest, &ss.CreatedAt, &ss.ExpiresAt, &ss.LastSeenAt,
		&ss.IP, &ss.Agent, &ss.RevokedAt, &ss.ParentID); err != nil {
		return nil, translate(err)
	}
	ss.CreatedAt, ss.ExpiresAt, ss.LastSeenAt = utc(ss.CreatedAt), utc(ss.ExpiresAt), utc(ss.LastSeenAt)
	ss.RevokedAt = utcPtr(ss.RevokedAt)
	return &ss, nil
}

// CreateSession inserts ss. A duplicate ID or digest is store.ErrConflict;
// an unknown user is store.ErrNotFound.
func (s *Store) CreateSession(ctx context.Context, ss *store.Session) error {
	ss.CreatedAt, ss.ExpiresAt, ss.LastSeenAt = ts(ss.CreatedAt), ts(ss.ExpiresAt), ts(ss.LastSeenAt)
	ss.RevokedAt = tsPtr(ss.RevokedAt)
	_, err := s.db(ctx).Exec(ctx, `INSERT INTO sessions (`+sessionInsertColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		ss.ID, ss.UserID, ss.Digest, ss.CreatedAt, ss.ExpiresAt, ss.LastSeenAt, ss.IP, ss.Agent, ss.RevokedAt, nullString(ss.ParentID))
	if err != nil {
		return fmt.Errorf("create session: %w", translate(err))
	}
	return nil
}

// GetSessionByDigest returns the session with digest, even when it is
// revoked or expired: the caller decides.
func (s *Store) GetSessionByDigest(ctx context.Context, digest []byte) (*store.Session, error) {
	ss, err := scanSession(s.db(ctx).QueryRow(ctx, getSessionByDigestSQL, digest))
	if err != nil {
		return nil, fmt.Errorf("get session by digest: %w", translate(err))
	}
	return ss, nil
}

// UpdateSession runs fn on the session with id, locked FOR UPDATE, and
// writes back every field but ID, UserID and CreatedAt in the same
// transaction.
func (s *Store) UpdateSession(ctx context.Context, id string, fn func(*store.Session) error) (*store.Session, error) {
	var out *store.Session
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		ss, err := scanSession(tx.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return fmt.Errorf("update session: %w", translate(err))
		}
		if err := fn(ss); err != nil {
			return err
		}
		out, err = scanSession(tx.QueryRow(ctx, `UPDATE sessions SET digest = $1, expires_at = $2,
			last_seen_at = $3, ip = $4, agent = $5, revoked_at = $6 WHERE id = $7 RETURNING `+sessionColumns,
			ss.Digest, ts(ss.ExpiresAt), ts(ss.LastSeenAt), ss.IP, ss.Agent, tsPtr(ss.RevokedAt), id))
		if err != nil {
			return fmt.Errorf("update session: %w", translate(err))
		}
		return nil
	})
	return out, err
}

// DeleteExpiredSessions deletes sessions that expired, or were revoked,
// strictly before before, and returns how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.db(ctx).Exec(ctx, `DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1`, tsCeil(before))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", translate(err))
	}
	return int(tag.RowsAffected()), nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// GetSession returns the session with id, even when revoked or expired.
func (s *Store) GetSession(ctx context.Context, id string) (*store.Session, error) {
	ss, err := scanSession(s.db(ctx).QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("get session: %w", err)
	}
	return ss, nil
}

// ListSessions returns the user's sessions live at f.Now, newest first.
func (s *Store) ListSessions(ctx context.Context, f store.SessionFilter) ([]*store.Session, error) {
	now := f.Now
	if now.IsZero() {
		now = time.Now()
	}
	q := `SELECT ` + sessionColumns + ` FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2`
	args := []any{f.UserID, ts(now)}
	if f.Cursor != "" {
		args = append(args, f.Cursor)
		q += fmt.Sprintf(` AND id < $%d`, len(args))
	}
	q += ` ORDER BY id DESC`
	if f.Limit > 0 {
		args = append(args, f.Limit)
		q += fmt.Sprintf(` LIMIT $%d`, len(args))
	}
	return s.querySessions(ctx, "list sessions", q, args...)
}

func (s *Store) querySessions(ctx context.Context, op, q string, args ...any) ([]*store.Session, error) {
	rows, err := s.db(ctx).Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, translate(err))
	}
	defer rows.Close()
	out := []*store.Session{}
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, ss)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, translate(err))
	}
	return out, nil
}

// RevokeSession ends id and every session minted from it, transitively.
func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time) ([]*store.Session, error) {
	return s.querySessions(ctx, "revoke session", `WITH RECURSIVE tree(id) AS (
			SELECT id FROM sessions WHERE id = $1
			UNION SELECT sessions.id FROM sessions JOIN tree ON sessions.parent_id = tree.id)
		UPDATE sessions SET revoked_at = $2 WHERE id IN (SELECT id FROM tree) AND revoked_at IS NULL
		RETURNING `+sessionColumns, id, ts(at))
}

// RevokeUserSessions ends every live session of userID but keep.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, keep string, at time.Time) ([]*store.Session, error) {
	return s.querySessions(ctx, "revoke user sessions", `UPDATE sessions SET revoked_at = $1
		WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL AND expires_at > $1 RETURNING `+sessionColumns, ts(at), userID, keep)
}
