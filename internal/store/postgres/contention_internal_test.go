package postgres

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchkey/latchkey/internal/store"
)

// TestConflictingChangesAreNotCalledAnOutage pins what a serialization
// failure and a deadlock become: still unavailable (503, worth a retry),
// but described as a conflicting change rather than an unreachable
// database. A deadlock is also provoked for real through the server in
// internal/server (TestADeadlockAnswers503SayingAChangeConflicted).
func TestConflictingChangesAreNotCalledAnOutage(t *testing.T) {
	for _, code := range []string{"40001", "40P01"} {
		err := translate(&pgconn.PgError{Code: code, Message: "conflict"})
		if !errors.Is(err, store.ErrContention) || !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("SQLSTATE %s: %v is not ErrContention and ErrUnavailable", code, err)
		}
		msg, retry, ok := store.Outage(err)
		if !ok || retry < 1 || strings.Contains(msg, "unreachable") || !strings.Contains(msg, "conflicting one") {
			t.Errorf("SQLSTATE %s: Outage = %q, %d, %v; want a conflicting change, with a retry", code, msg, retry, ok)
		}
	}
	if _, _, ok := store.Outage(translate(&pgconn.PgError{Code: "08006"})); !ok {
		t.Error("a lost connection is no longer an outage")
	}
	if msg, _, _ := store.Outage(translate(&pgconn.PgError{Code: "08006"})); !strings.Contains(msg, "unreachable") {
		t.Errorf("a lost connection says %q; want unreachable", msg)
	}
}
