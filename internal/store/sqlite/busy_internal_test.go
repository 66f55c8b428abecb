package sqlite

import (
	"errors"
	"strings"
	"testing"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchkey/latchkey/internal/store"
)

// TestABusyFileIsNotCalledAnOutage pins what SQLite's busy and locked
// codes, extended ones included, become: still unavailable (503, worth a
// retry), but described as a database busy with another write, not an
// unreachable one. A vanished file stays unreachable. The busy file is
// also provoked for real through the server in internal/server
// (TestASQLiteFileLockedByAnotherProgramSaysItIsBusy).
func TestABusyFileIsNotCalledAnOutage(t *testing.T) {
	for _, code := range []int{sqlite3.SQLITE_BUSY, sqlite3.SQLITE_BUSY_SNAPSHOT, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_LOCKED_SHAREDCACHE} {
		err := storageError(code, errors.New("database is locked"))
		if !errors.Is(err, store.ErrBusy) || !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("code %d: %v is not ErrBusy and ErrUnavailable", code, err)
		}
		msg, retry, ok := store.Outage(err)
		if !ok || retry < 1 || strings.Contains(msg, "unreachable") || !strings.Contains(msg, "busy with another write") {
			t.Errorf("code %d: Outage = %q, %d, %v; want a database busy with another write, with a retry", code, msg, retry, ok)
		}
	}
	if msg, _, _ := store.Outage(storageError(sqlite3.SQLITE_CANTOPEN, errors.New("unable to open"))); !strings.Contains(msg, "unreachable") {
		t.Errorf("a file that cannot be opened says %q; want unreachable", msg)
	}
}
