package sqlite

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/store"
)

// verifyFixture opens a store with one user and one token, and returns
// both the store and the token.
func verifyFixture(t *testing.T) (*Store, *store.Token) {
	t.Helper()
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	now := time.Now()
	u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Username: "ada", Role: store.RoleMember,
		Kind: store.KindPerson, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	d := make([]byte, 32)
	rand.Read(d)
	tk := &store.Token{ID: uuid.Must(uuid.NewV7()).String(), UserID: u.ID, Kind: store.TokenPersonal,
		Name: "ci", Scopes: []string{"repo"}, Digest: d, Hint: "abcd", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateToken(ctx, tk); err != nil {
		t.Fatal(err)
	}
	return s, tk
}

// TestVerificationReadAfterCloseIsUnavailable: a verification that arrives
// while the store shuts down gets ErrUnavailable (a 503), not a panic on a
// closed connection; a second Close does nothing.
func TestVerificationReadAfterCloseIsUnavailable(t *testing.T) {
	s, tk := verifyFixture(t)
	if _, _, err := s.GetTokenAndOwnerByDigest(t.Context(), tk.Digest); err != nil {
		t.Fatalf("before Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, _, err := s.GetTokenAndOwnerByDigest(t.Context(), tk.Digest); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("after Close: err = %v, want ErrUnavailable", err)
	}
	if err := s.verify.close(); err != nil {
		t.Fatalf("second close of the verification readers: %v", err)
	}
}

// TestVerificationWaitsForAConnectionOnlyAsLongAsItsContext: with every
// verification connection in use, a caller whose context ends gets the
// context's error rather than waiting on; once a connection is given back,
// the next caller reads.
func TestVerificationWaitsForAConnectionOnlyAsLongAsItsContext(t *testing.T) {
	s, tk := verifyFixture(t)
	var held []*verifyConn
	for range s.verify.n {
		vc, err := s.verify.take(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, vc)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := s.GetTokenAndOwnerByDigest(ctx, tk.Digest); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("every connection busy: err = %v, want the context's deadline", err)
	}
	s.verify.give(held[0])
	if _, _, err := s.GetTokenAndOwnerByDigest(t.Context(), tk.Digest); err != nil {
		t.Fatalf("after one connection came back: %v", err)
	}
	for _, vc := range held[1:] {
		s.verify.give(vc)
	}
}

// TestVerificationConnectionsRefuseWrites: the verification connections are
// query_only, like the reader pool.
func TestVerificationConnectionsRefuseWrites(t *testing.T) {
	s, _ := verifyFixture(t)
	vc, err := s.verify.take(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.verify.give(vc)
	if err := execPragma(vc.c, `DELETE FROM users`); err == nil {
		t.Fatal("a verification connection accepted a write")
	}
}

// TestVerificationReadsHoldNoTransaction: after reads that found a row and
// reads that found none (which ask both statements, by the current and by
// the previous digest), no verification connection is left
// inside a read transaction, so a TRUNCATE checkpoint copies the whole WAL
// and empties it (a reader left mid-statement would keep it busy).
func TestVerificationReadsHoldNoTransaction(t *testing.T) {
	s, tk := verifyFixture(t)
	ctx := t.Context()
	unknown := make([]byte, 32)
	rand.Read(unknown)
	for range 2 * s.verify.n {
		if _, _, err := s.GetTokenAndOwnerByDigest(ctx, tk.Digest); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.GetTokenAndOwnerByDigest(ctx, unknown); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown digest: err = %v, want ErrNotFound", err)
		}
	}
	// A write after the reads, so the WAL has frames to copy.
	if _, err := s.UpdateToken(ctx, tk.ID, func(t *store.Token) error {
		now := time.Now()
		t.RevokedAt = &now
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var busy, logFrames, copied int
	if err := s.w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &copied); err != nil {
		t.Fatal(err)
	}
	if busy != 0 {
		t.Fatalf("wal_checkpoint(TRUNCATE) was blocked (busy=%d, %d of %d frames copied): a reader holds a transaction", busy, copied, logFrames)
	}
	got, _, err := s.GetTokenAndOwnerByDigest(ctx, tk.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if got.RevokedAt == nil {
		t.Fatal("the verification read after the revocation does not see it")
	}
}

// TestVerificationReadSeesASchemaChange: a migration run by another
// connection (another process) changes the schema under the prepared
// statements; the next read prepares them again rather than failing.
func TestVerificationReadSeesASchemaChange(t *testing.T) {
	s, tk := verifyFixture(t)
	ctx := t.Context()
	if _, err := s.w.ExecContext(ctx, `ALTER TABLE users ADD COLUMN nickname TEXT`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `CREATE INDEX tokens_hint_test ON tokens (hint)`); err != nil {
		t.Fatal(err)
	}
	for range 2 * s.verify.n {
		if _, owner, err := s.GetTokenAndOwnerByDigest(ctx, tk.Digest); err != nil || owner == nil {
			t.Fatalf("after a schema change: owner %v, err %v", owner, err)
		}
	}
}
