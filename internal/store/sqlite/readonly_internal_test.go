package sqlite

import (
	"errors"
	"strings"
	"testing"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchkey/latchkey/internal/store"
)

// TestAReadOnlyDatabaseIsNotCalledUnreachable pins what SQLite's
// read-only codes become: still unavailable (503), but described as a
// read-only database file with what to check, not as an unreachable
// database. A file deleted or renamed under the server (DBMOVED) is not a
// permission problem and keeps the old words. The immutable file is also
// provoked for real through the server in internal/server
// (TestAnImmutableSQLiteFileSaysItIsReadOnly).
func TestAReadOnlyDatabaseIsNotCalledUnreachable(t *testing.T) {
	for _, code := range []int{sqlite3.SQLITE_READONLY, sqlite3.SQLITE_READONLY_CANTLOCK, sqlite3.SQLITE_READONLY_DIRECTORY} {
		err := storageError(code, errors.New("attempt to write a readonly database"))
		if !errors.Is(err, store.ErrReadOnly) || !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("code %d: %v is not ErrReadOnly and ErrUnavailable", code, err)
		}
		msg, _, ok := store.Outage(err)
		if !ok || strings.Contains(msg, "unreachable") || !strings.Contains(msg, "the database file is read-only: check its permissions and attributes") {
			t.Errorf("code %d: Outage = %q; want the database file is read-only and what to check", code, msg)
		}
	}
	if err := storageError(sqlite3.SQLITE_READONLY_DBMOVED, errors.New("attempt to write a readonly database")); errors.Is(err, store.ErrReadOnly) {
		t.Errorf("a moved database file is said to be read-only: %v", err)
	}
}
