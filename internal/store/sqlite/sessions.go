package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

const sessionColumns = `id, user_id, digest, created_at, expires_at, last_seen_at, ip, agent, revoked_at, parent_id`

func scanSession(sc scanner) (*store.Session, error) {
	var (
		ss                     store.Session
		created, expires, seen int64
		revoked                sql.NullInt64
		parent                 sql.NullString
	)
	if err := sc.Scan(&ss.ID, &ss.UserID, &ss.Digest, &created, &expires, &seen, &ss.IP, &ss.Agent, &revoked, &parent); err != nil {
		return nil, translate(err)
	}
	ss.CreatedAt, ss.ExpiresAt, ss.LastSeenAt = fromMicros(created), fromMicros(expires), fromMicros(seen)
	ss.RevokedAt = fromNullMicros(revoked)
	ss.ParentID = parent.String
	return &ss, nil
}

// CreateSession inserts ss. A duplicate ID or digest is store.ErrConflict;
// an unknown user is store.ErrNotFound.
func (s *Store) CreateSession(ctx context.Context, ss *store.Session) error {
	ss.CreatedAt, ss.ExpiresAt, ss.LastSeenAt = store.Truncate(ss.CreatedAt), store.Truncate(ss.ExpiresAt), store.Truncate(ss.LastSeenAt)
	ss.RevokedAt = store.TruncatePtr(ss.RevokedAt)
	_, err := s.exec(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ss.ID, ss.UserID, ss.Digest, micros(ss.CreatedAt), micros(ss.ExpiresAt), micros(ss.LastSeenAt),
		ss.IP, ss.Agent, microsPtr(ss.RevokedAt), nullString(ss.ParentID))
	if err != nil {
		return fmt.Errorf("create session: %w", translate(err))
	}
	return nil
}

// GetSessionByDigest returns the session with digest, even when it is
// revoked or expired: the caller decides.
func (s *Store) GetSessionByDigest(ctx context.Context, digest []byte) (*store.Session, error) {
	ss, err := scanSession(s.getSessionByDigest.QueryRowContext(ctx, digest))
	if err != nil {
		return nil, fmt.Errorf("get session by digest: %w", translate(err))
	}
	return ss, nil
}

// UpdateSession runs fn on the session with id and writes back every field
// but ID, UserID and CreatedAt, in one transaction.
func (s *Store) UpdateSession(ctx context.Context, id string, fn func(*store.Session) error) (*store.Session, error) {
	var out *store.Session
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ss, err := scanSession(tx.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id))
		if err != nil {
			return fmt.Errorf("update session: %w", translate(err))
		}
		if err := fn(ss); err != nil {
			return err
		}
		out, err = scanSession(tx.QueryRowContext(ctx, `UPDATE sessions SET digest = ?, expires_at = ?,
			last_seen_at = ?, ip = ?, agent = ?, revoked_at = ? WHERE id = ? RETURNING `+sessionColumns,
			ss.Digest, micros(ss.ExpiresAt), micros(ss.LastSeenAt), ss.IP, ss.Agent, microsPtr(ss.RevokedAt), id))
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
	b := microsCeil(before)
	res, err := s.exec(ctx, `DELETE FROM sessions WHERE expires_at < ? OR revoked_at < ?`, b, b)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", translate(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", translate(err))
	}
	return int(n), nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// GetSession returns the session with id, even when revoked or expired.
func (s *Store) GetSession(ctx context.Context, id string) (*store.Session, error) {
	ss, err := scanSession(s.r.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id))
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
	q := `SELECT ` + sessionColumns + ` FROM sessions WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?`
	args := []any{f.UserID, micros(now)}
	if f.Cursor != "" {
		q, args = q+` AND id < ?`, append(args, f.Cursor)
	}
	q += ` ORDER BY id DESC`
	if f.Limit > 0 {
		q, args = q+` LIMIT ?`, append(args, f.Limit)
	}
	return s.querySessions(ctx, s.r, "list sessions", q, args...)
}

func (s *Store) querySessions(ctx context.Context, db querier, op, q string, args ...any) ([]*store.Session, error) {
	rows, err := db.QueryContext(ctx, q, args...)
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
	return s.writeSessions(ctx, "revoke session", `WITH RECURSIVE tree(id) AS (
			SELECT id FROM sessions WHERE id = ?
			UNION SELECT sessions.id FROM sessions JOIN tree ON sessions.parent_id = tree.id)
		UPDATE sessions SET revoked_at = ? WHERE id IN (SELECT id FROM tree) AND revoked_at IS NULL
		RETURNING `+sessionColumns, id, micros(store.Truncate(at)))
}

// RevokeUserSessions ends every live session of userID but keep.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, keep string, at time.Time) ([]*store.Session, error) {
	t := micros(store.Truncate(at))
	return s.writeSessions(ctx, "revoke user sessions", `UPDATE sessions SET revoked_at = ?
		WHERE user_id = ? AND id <> ? AND revoked_at IS NULL AND expires_at > ? RETURNING `+sessionColumns, t, userID, keep, t)
}

// writeSessions runs a writing query that returns sessions through the
// writer, so it commits durably with the other writes (group commit).
func (s *Store) writeSessions(ctx context.Context, op, q string, args ...any) ([]*store.Session, error) {
	var out []*store.Session
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.querySessions(ctx, tx, op, q, args...)
		return err
	})
	return out, err
}
