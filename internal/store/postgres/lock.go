package postgres

import (
	"context"
	"fmt"

	"github.com/latchkey/latchkey/internal/store"
)

var _ store.Locker = (*Store)(nil)

// TryLock takes a session-level advisory lock on a connection of its own,
// keyed by name within the store's schema. The lock lives as long as that
// connection holds it: release unlocks and returns the connection, and a
// replica that dies loses its locks with its connection.
func (s *Store) TryLock(ctx context.Context, name string) (func(), bool, error) {
	key, err := s.channelName(ctx, name)
	if err != nil {
		return nil, false, err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, key).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	release := func() {
		_, _ = conn.Exec(context.Background(), `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key)
		conn.Release()
	}
	return release, true, nil
}
