package sqlite

import (
	"context"
	"fmt"
)

// FillForTest makes the database full for the rest of the writer
// connection's life: max_page_count is set to the pages in use, so the next
// write that needs a new page fails with SQLITE_FULL, as on a full disk.
// Tests use it; a tiny filesystem is not available to them.
func (s *Store) FillForTest(ctx context.Context) error {
	var n int
	if err := s.w.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&n); err != nil {
		return fmt.Errorf("page count: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, n)); err != nil {
		return fmt.Errorf("limit pages: %w", err)
	}
	return nil
}
