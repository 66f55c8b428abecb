package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func atomicTests() []test {
	return []test{
		{"AtomicallyStoresARevocationWithItsAuditEvent", testAtomicallyCommits},
		{"AtomicallyStoresNeitherWhenTheAuditEventFails", testAtomicallyRollsBack},
		{"AtomicallyJoinsEveryWriteMethod", testAtomicallyJoinsEveryWrite},
		{"AtomicallyRunsBesideConcurrentWrites", testAtomicallyConcurrent},
	}
}

// revocationEvent is the audit event of revoking the target.
func revocationEvent(action, targetID string, details map[string]any) *store.AuditEvent {
	return &store.AuditEvent{At: base, ActorID: "admin-1", ActorName: "admin", Action: action,
		TargetType: "token", TargetID: targetID, IP: "192.0.2.1", Details: details}
}

// events returns the audit events of the target.
func events(t *testing.T, s store.Store, targetID string) []*store.AuditEvent {
	t.Helper()
	es, err := s.ListAudit(t.Context(), store.AuditFilter{TargetID: targetID})
	noErr(t, "ListAudit", err)
	return es
}

// testAtomicallyCommits revokes a token and a session tree, each with its
// event recorded from what the write returned: both are stored.
func testAtomicallyCommits(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	tk := mustToken(t, s, u.ID, "ci")
	parent := newSession(u.ID, base.Add(time.Hour))
	noErr(t, "CreateSession", s.CreateSession(ctx, parent))
	child := newSession(u.ID, base.Add(time.Hour))
	child.ParentID = parent.ID
	noErr(t, "CreateSession", s.CreateSession(ctx, child))

	at := base.Add(time.Minute)
	var ended []*store.Session
	err := s.Atomically(ctx, func(ctx context.Context) error {
		if _, err := s.UpdateToken(ctx, tk.ID, func(x *store.Token) error { x.RevokedAt = &at; return nil }); err != nil {
			return err
		}
		if err := s.AppendAudit(ctx, revocationEvent("token.revoke", tk.ID, map[string]any{"name": tk.Name})); err != nil {
			return err
		}
		var err error
		if ended, err = s.RevokeSession(ctx, parent.ID, at); err != nil {
			return err
		}
		return s.AppendAudit(ctx, revocationEvent("session.revoke", parent.ID, map[string]any{"ended": len(ended)}))
	})
	noErr(t, "Atomically", err)
	got, err := s.GetToken(ctx, tk.ID)
	noErr(t, "GetToken", err)
	if got.RevokedAt == nil {
		t.Error("the token is not revoked")
	}
	if len(ended) != 2 {
		t.Errorf("RevokeSession ended %d sessions; want 2", len(ended))
	}
	if es := events(t, s, tk.ID); len(es) != 1 || es[0].Action != "token.revoke" {
		t.Errorf("events of the token = %v; want its token.revoke", es)
	}
	es := events(t, s, parent.ID)
	if len(es) != 1 || fmt.Sprint(es[0].Details["ended"]) != "2" {
		t.Errorf("events of the session = %v; want one session.revoke that ended 2", es)
	}
}

// testAtomicallyRollsBack fails the audit event after the revocation, and
// returns another error after a revocation and its event: neither leaves
// the revocation or the event stored, and the store goes on taking writes.
func testAtomicallyRollsBack(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	tk := mustToken(t, s, u.ID, "ci")
	ss := newSession(u.ID, base.Add(time.Hour))
	noErr(t, "CreateSession", s.CreateSession(ctx, ss))
	at := base.Add(time.Minute)

	// Details that cannot be stored make the event's insert fail.
	unstorable := map[string]any{"bad": func() {}}
	err := s.Atomically(ctx, func(ctx context.Context) error {
		if _, err := s.UpdateToken(ctx, tk.ID, func(x *store.Token) error { x.RevokedAt = &at; return nil }); err != nil {
			return err
		}
		return s.AppendAudit(ctx, revocationEvent("token.revoke", tk.ID, unstorable))
	})
	if err == nil {
		t.Fatal("Atomically with an event that cannot be stored: no error")
	}
	refused := errors.New("refused after the write")
	err = s.Atomically(ctx, func(ctx context.Context) error {
		if _, err := s.RevokeSession(ctx, ss.ID, at); err != nil {
			return err
		}
		if err := s.AppendAudit(ctx, revocationEvent("session.revoke", ss.ID, nil)); err != nil {
			return err
		}
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("Atomically = %v; want fn's own error as is", err)
	}

	got, err := s.GetToken(ctx, tk.ID)
	noErr(t, "GetToken", err)
	if got.RevokedAt != nil {
		t.Error("the token was revoked although its audit event was not stored")
	}
	sess, err := s.GetSession(ctx, ss.ID)
	noErr(t, "GetSession", err)
	if sess.RevokedAt != nil {
		t.Error("the session was revoked although fn failed")
	}
	for _, id := range []string{tk.ID, ss.ID} {
		if es := events(t, s, id); len(es) != 0 {
			t.Errorf("events of %s = %v; want none", id, es)
		}
	}
	_, err = s.UpdateToken(ctx, tk.ID, func(x *store.Token) error { x.RevokedAt = &at; return nil })
	noErr(t, "UpdateToken after the rollbacks", err)
}

// testAtomicallyJoinsEveryWriteMethod makes, in one transaction that then
// fails, a write of each method that security changes use (users,
// policy, federation policies and their tokens, nested Atomically, the
// methods that commit single statements on their own): none is left.
func testAtomicallyJoinsEveryWrite(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	other := mustUser(t, s, "bob")
	sa := mustUser(t, s, "deployer")
	p := newFedPolicy(sa.ID, "ci")
	noErr(t, "CreateFederationPolicy", s.CreateFederationPolicy(ctx, p))
	fed := mustToken(t, s, sa.ID, "fed-1", fedToken(p.ID))
	noErr(t, "PutPolicy", s.PutPolicy(ctx, &store.Policy{Creation: "everyone", DefaultLifetime: time.Hour, UpdatedAt: base}))
	ss := newSession(u.ID, base.Add(time.Hour))
	noErr(t, "CreateSession", s.CreateSession(ctx, ss))
	at := base.Add(time.Minute)

	refused := errors.New("refused")
	err := s.Atomically(ctx, func(ctx context.Context) error {
		writes := []struct {
			name string
			fn   func() error
		}{
			{"UpdateUser", func() error {
				_, err := s.UpdateUser(ctx, u.ID, func(x *store.User) error { x.Suspended = true; return nil })
				return err
			}},
			{"RevokeUserSessions", func() error { _, err := s.RevokeUserSessions(ctx, u.ID, "", at); return err }},
			{"DeleteUserKeepingAnOwner", func() error { return s.DeleteUserKeepingAnOwner(ctx, other.ID, at, nil) }},
			{"PutPolicy", func() error {
				return s.PutPolicy(ctx, &store.Policy{Creation: "admins", DefaultLifetime: 2 * time.Hour, UpdatedAt: at})
			}},
			{"RevokeFederatedTokens", func() error { _, err := s.RevokeFederatedTokens(ctx, p.ID, at); return err }},
			{"DeleteFederationPolicy", func() error { return s.DeleteFederationPolicy(ctx, p.ID) }},
			{"CreateFederationPolicy", func() error { return s.CreateFederationPolicy(ctx, newFedPolicy(sa.ID, "new")) }},
			{"nested Atomically", func() error {
				return s.Atomically(ctx, func(ctx context.Context) error {
					return s.AppendAudit(ctx, revocationEvent("user.suspend", u.ID, nil))
				})
			}},
		}
		for _, w := range writes {
			if err := w.fn(); err != nil {
				return fmt.Errorf("%s: %w", w.name, err)
			}
		}
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("Atomically = %v; want %v", err, refused)
	}

	if got, err := s.GetUser(ctx, u.ID); err != nil || got.Suspended {
		t.Errorf("user after the rollback = %+v, %v; want live, not suspended", got, err)
	}
	if _, err := s.GetUser(ctx, other.ID); err != nil {
		t.Errorf("deleted user after the rollback: %v; want it live", err)
	}
	if sess, err := s.GetSession(ctx, ss.ID); err != nil || sess.RevokedAt != nil {
		t.Errorf("session after the rollback = %+v, %v; want live", sess, err)
	}
	if pol, err := s.GetPolicy(ctx); err != nil || pol.Creation != "everyone" {
		t.Errorf("policy after the rollback = %+v, %v; want the one before", pol, err)
	}
	if _, err := s.GetFederationPolicy(ctx, p.ID); err != nil {
		t.Errorf("federation policy after the rollback: %v; want it kept", err)
	}
	if got, err := s.GetToken(ctx, fed.ID); err != nil || got.RevokedAt != nil {
		t.Errorf("fed token after the rollback = %+v, %v; want live", got, err)
	}
	ps, err := s.ListFederationPolicies(ctx, store.FederationPolicyFilter{})
	noErr(t, "ListFederationPolicies", err)
	if len(ps) != 1 {
		t.Errorf("federation policies after the rollback = %d; want 1", len(ps))
	}
	if es := events(t, s, u.ID); len(es) != 0 {
		t.Errorf("events after the rollback = %v; want none", es)
	}
}

// testAtomicallyConcurrent runs transactions of Atomically beside plain
// writes and audit appends (on SQLite, gathered into shared commits):
// each finishes, and each revocation has its one event.
func testAtomicallyConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	const n = 16
	tokens := make([]*store.Token, n)
	for i := range tokens {
		tokens[i] = mustToken(t, s, u.ID, fmt.Sprintf("t%d", i))
	}
	at := base.Add(time.Minute)
	errs := parallel(func(i int) error {
		tk := tokens[i%n]
		switch i % 3 {
		case 0, 1:
			return s.Atomically(ctx, func(ctx context.Context) error {
				if _, err := s.UpdateToken(ctx, tk.ID, func(x *store.Token) error { x.RevokedAt = &at; return nil }); err != nil {
					return err
				}
				if i%3 == 1 {
					return errors.New("refused")
				}
				return s.AppendAudit(ctx, revocationEvent("token.revoke", tk.ID, nil))
			})
		default:
			return s.AppendAudit(ctx, revocationEvent("token.seen", tk.ID, nil))
		}
	})
	for i, err := range errs {
		if (i%3 == 1) != (err != nil) {
			t.Errorf("write %d: %v", i, err)
		}
	}
	for _, tk := range tokens {
		got, err := s.GetToken(ctx, tk.ID)
		noErr(t, "GetToken", err)
		var revokes int
		for _, e := range events(t, s, tk.ID) {
			if e.Action == "token.revoke" {
				revokes++
			}
		}
		if (got.RevokedAt != nil) != (revokes > 0) {
			t.Errorf("token %s: revoked %v, %d token.revoke events; want both or neither", tk.Name, got.RevokedAt != nil, revokes)
		}
	}
}
