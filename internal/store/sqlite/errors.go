package sqlite

import (
	"errors"
	"fmt"
	"path/filepath"

	"modernc.org/sqlite"
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
// busy_timeout to ErrBusy; a database SQLite opened or found read-only to
// ErrReadOnly; I/O errors and a vanished or damaged file to ErrUnavailable
// (readOnly, which knows the file's path, then tells the I/O errors of a
// file that cannot be written from the others). Extended codes carry the primary code in
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
	case sqlite3.SQLITE_READONLY:
		if code != sqlite3.SQLITE_READONLY_DBMOVED { // the file was deleted or renamed, not made read-only
			return fmt.Errorf("%w: %w", store.ErrReadOnly, err)
		}
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	case sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN,
		sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// readOnly tells a write that failed because the database's files cannot
// be written (permissions, chattr +i, a read-only mount: the system says
// EACCES, EPERM or EROFS, which SQLite reports as an I/O error or a file
// it cannot open) from other I/O failures: it returns ErrReadOnly, naming
// the file and keeping SQLite's error, and any other err as it is.
func readOnly(path string, err error) error {
	var se *sqlite.Error
	if err == nil || errors.Is(err, store.ErrReadOnly) || !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
	default:
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", filepath.Dir(path)} {
		if werr := notWritable(p); werr != nil {
			return fmt.Errorf("%w (%v): %w", store.ErrReadOnly, werr, se)
		}
	}
	return err
}
