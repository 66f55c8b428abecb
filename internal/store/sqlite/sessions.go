package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

const sessionColumns = `id, user_id, digest, created_at, expires_at, last_seen_at, ip, agent, revoked_at`

func scanSession(sc scanner) (*store.Session, error) {
	var (
		ss                     store.Session
		created, expires, seen int64
		revoked                sql.NullInt64
	)
	if err := sc.Scan(&ss.ID, &ss.UserID, &ss.Digest, &created, &expires, &seen, &ss.IP, &ss.Agent, &revoked); err != nil {
		return nil, translate(err)
	}
	ss.CreatedAt, ss.ExpiresAt, ss.LastSeenAt = fromMicros(created), fromMicros(expires), fromMicros(seen)
	ss.RevokedAt = fromNullMicros(revoked)
	return &ss, nil
}

// CreateSession inserts ss. A duplicate ID or digest is store.ErrConflict;
// an unknown user is store.ErrNotFound.
func (s *Store) CreateSession(ctx context.Context, ss *store.Session) error {
	ss.CreatedAt, ss.ExpiresAt, ss.LastSeenAt = store.Truncate(ss.CreatedAt), store.Truncate(ss.ExpiresAt), store.Truncate(ss.LastSeenAt)
	ss.RevokedAt = store.TruncatePtr(ss.RevokedAt)
	_, err := s.w.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ss.ID, ss.UserID, ss.Digest, micros(ss.CreatedAt), micros(ss.ExpiresAt), micros(ss.LastSeenAt),
		ss.IP, ss.Agent, microsPtr(ss.RevokedAt))
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
	res, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ? OR revoked_at < ?`, b, b)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", translate(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", translate(err))
	}
	return int(n), nil
}
