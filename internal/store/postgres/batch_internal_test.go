package postgres

import (
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// TestTokenIsNotStoredWhenItsAuditEventFails sends a token whose audit
// event PostgreSQL refuses (a NUL byte in a text column) after the token's
// INSERT has run: the batch is one implicit transaction, so the token is not
// stored either, and the next creation works.
func TestTokenIsNotStoredWhenItsAuditEventFails(t *testing.T) {
	s := openInternal(t)
	ctx := t.Context()
	now := time.Now()
	u := internalUser(t, s, "alice")
	tok := func(name string) *store.Token { return internalToken(u.ID, name, now) }
	bad := tok("ci")
	err := s.CreateTokenWithAudit(ctx, bad, &store.AuditEvent{At: now, ActorName: "al\x00ice", Action: "token.create", TargetType: "token", TargetID: bad.ID})
	if err == nil {
		t.Fatal("an audit event with a NUL byte was stored")
	}
	if _, err := s.GetToken(ctx, bad.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the token whose audit event failed: GetToken = %v, want not found", err)
	}
	good := tok("ci")
	e := &store.AuditEvent{At: now, ActorName: "alice", Action: "token.create", TargetType: "token", TargetID: good.ID}
	if err := s.CreateTokenWithAudit(ctx, good, e); err != nil {
		t.Fatalf("the same name after the failed batch: %v", err)
	}
	if e.ID == 0 {
		t.Error("the audit event got no ID")
	}
}
