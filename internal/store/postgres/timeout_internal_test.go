package postgres

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchkey/latchkey/internal/store"
)

// TestAStatementTheDatabaseStoppedIsNotCalledAnOutage pins what a
// statement_timeout or cancelled query (57014) and a lock_timeout (55P03)
// become: still unavailable (503, worth a retry), but described as a
// database that did not answer in time, not an unreachable one. Both are
// also provoked for real through the server in internal/server
// (TestADatabaseTimeoutSaysItDidNotAnswerInTime).
func TestAStatementTheDatabaseStoppedIsNotCalledAnOutage(t *testing.T) {
	for _, code := range []string{"57014", "55P03"} {
		err := translate(&pgconn.PgError{Code: code, Message: "canceling statement due to statement timeout"})
		if !errors.Is(err, store.ErrStatementTimeout) || !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("SQLSTATE %s: %v is not ErrStatementTimeout and ErrUnavailable", code, err)
		}
		msg, retry, ok := store.Outage(err)
		if !ok || retry < 1 || strings.Contains(msg, "unreachable") ||
			!strings.Contains(msg, "did not answer in time") || !strings.Contains(msg, "nothing was changed") {
			t.Errorf("SQLSTATE %s: Outage = %q, %d, %v; want a database that did not answer in time, nothing changed, with a retry", code, msg, retry, ok)
		}
	}
}
