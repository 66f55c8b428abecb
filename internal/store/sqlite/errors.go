package sqlite

import (
	"errors"
	"fmt"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchkey/latchkey/internal/store"
)

// translated reports whether err already carries a sentinel.
func translated(err error) bool {
	for _, s := range []error{store.ErrNotFound, store.ErrConflict, store.ErrUnavailable, store.ErrDiskFull} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// storageError maps SQLite's result codes for a file that cannot be
// written or read to the store's sentinels: SQLITE_FULL (the disk, or the
// database's page limit, is full) to ErrDiskFull; a database locked past
// busy_timeout to ErrBusy; I/O errors and a read-only, vanished or
// damaged file to ErrUnavailable. Extended codes carry the primary code in
// their low byte.
func storageError(code int, err error) error {
	switch code & 0xff {
	case sqlite3.SQLITE_FULL:
		return fmt.Errorf("%w: %w", store.ErrDiskFull, err)
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		// Another process's write held the file past the busy timeout:
		// worth retrying (ErrBusy is an ErrUnavailable), but the file is
		// there and readable, so not reported as unreachable.
		return fmt.Errorf("%w: %w", store.ErrBusy, err)
	case sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN,
		sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}
