package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

var _ store.ForeignWatcher = (*Store)(nil)

// WatchForeignChanges calls fn each time another process has committed to
// the database file: `latchkey admin reset-password` ending a user's
// sessions, a sqlite3 shell revoking a token. The serving process's caches
// cannot learn of such a change any other way.
//
// It asks PRAGMA data_version on the write connection, whose value changes
// when a connection other than itself commits. Every write of this store
// goes through that connection (the checkpointer's PASSIVE checkpoints and
// the readers commit nothing), so the value moves only for other processes'
// commits. A look that fails (the file briefly locked) is skipped.
func (s *Store) WatchForeignChanges(ctx context.Context, interval time.Duration, fn func()) error {
	last, err := s.dataVersion(ctx)
	if err != nil {
		return fmt.Errorf("watch foreign changes: %w", err)
	}
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			v, err := s.dataVersion(ctx)
			if err != nil || v == last {
				continue
			}
			last = v
			fn()
		}
	}()
	return nil
}

// dataVersion is PRAGMA data_version of the write connection.
func (s *Store) dataVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.w.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		return 0, translate(err)
	}
	return v, nil
}
