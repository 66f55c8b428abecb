package postgres

import (
	"context"
	"fmt"
	"time"
)

// ClaimNotification inserts the claim (tokenID, kind, expiresAt) and reports
// whether this call inserted it; a claim that exists already is false. A
// token that does not exist is store.ErrNotFound.
func (s *Store) ClaimNotification(ctx context.Context, tokenID, kind string, expiresAt time.Time) (bool, error) {
	tag, err := s.db(ctx).Exec(ctx, `INSERT INTO notifications (token_id, kind, expires_at, sent_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (token_id, kind, expires_at) DO NOTHING`,
		tokenID, kind, ts(expiresAt), ts(time.Now()))
	if err != nil {
		return false, fmt.Errorf("claim notification: %w", translate(err))
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseNotification deletes the claim (tokenID, kind, expiresAt), if any.
func (s *Store) ReleaseNotification(ctx context.Context, tokenID, kind string, expiresAt time.Time) error {
	_, err := s.db(ctx).Exec(ctx, `DELETE FROM notifications WHERE token_id = $1 AND kind = $2 AND expires_at = $3`,
		tokenID, kind, ts(expiresAt))
	if err != nil {
		return fmt.Errorf("release notification: %w", translate(err))
	}
	return nil
}

// DeleteNotificationsBefore deletes claims about expiries before before and
// returns how many it deleted.
func (s *Store) DeleteNotificationsBefore(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.db(ctx).Exec(ctx, `DELETE FROM notifications WHERE expires_at < $1`, tsCeil(before))
	if err != nil {
		return 0, fmt.Errorf("delete notifications: %w", translate(err))
	}
	return int(tag.RowsAffected()), nil
}
