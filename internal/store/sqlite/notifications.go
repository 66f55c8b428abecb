package sqlite

import (
	"context"
	"fmt"
	"time"
)

// ClaimNotification inserts the claim (tokenID, kind, expiresAt) and reports
// whether this call inserted it; a claim that exists already is false. A
// token that does not exist is store.ErrNotFound.
func (s *Store) ClaimNotification(ctx context.Context, tokenID, kind string, expiresAt time.Time) (bool, error) {
	res, err := s.exec(ctx, `INSERT INTO notifications (token_id, kind, expires_at, sent_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (token_id, kind, expires_at) DO NOTHING`,
		tokenID, kind, micros(expiresAt), micros(time.Now()))
	if err != nil {
		return false, fmt.Errorf("claim notification: %w", translate(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim notification: %w", translate(err))
	}
	return n == 1, nil
}

// ReleaseNotification deletes the claim (tokenID, kind, expiresAt), if any.
func (s *Store) ReleaseNotification(ctx context.Context, tokenID, kind string, expiresAt time.Time) error {
	_, err := s.exec(ctx, `DELETE FROM notifications WHERE token_id = ? AND kind = ? AND expires_at = ?`,
		tokenID, kind, micros(expiresAt))
	if err != nil {
		return fmt.Errorf("release notification: %w", translate(err))
	}
	return nil
}

// DeleteNotificationsBefore deletes claims about expiries before before and
// returns how many it deleted.
func (s *Store) DeleteNotificationsBefore(ctx context.Context, before time.Time) (int, error) {
	res, err := s.exec(ctx, `DELETE FROM notifications WHERE expires_at < ?`, microsCeil(before))
	if err != nil {
		return 0, fmt.Errorf("delete notifications: %w", translate(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete notifications: %w", translate(err))
	}
	return int(n), nil
}
