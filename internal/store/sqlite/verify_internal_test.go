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
	if err := execConn(vc.c, `DELETE FROM users`); err == nil {
		t.Fatal("a verification connection accepted a write")
	}
}

// TestVerificationReadsHoldNoTransaction: after reads that found a row and
// reads that found none (which ask both statements, by the current and by
// the previous digest), the verification connections keep their read
// snapshot only while used: once idle for snapshotMaxAge they end it, so a
// TRUNCATE checkpoint (which waits for readers up to the busy timeout)
// copies the whole WAL and empties it. A snapshot kept while idle would
// keep it busy.
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

// holdSnapshots reads tk on every verification connection, so that each
// keeps a read snapshot, and checks that they do.
func holdSnapshots(t *testing.T, s *Store, tk *store.Token) {
	t.Helper()
	for range 2 * s.verify.n {
		if _, _, err := s.GetTokenAndOwnerByDigest(t.Context(), tk.Digest); err != nil {
			t.Fatal(err)
		}
	}
	for range s.verify.n {
		vc, err := s.verify.take(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer s.verify.give(vc)
		if !vc.inTx {
			t.Fatal("a verification connection just used keeps no read snapshot: the test does not test what it says")
		}
	}
}

// TestVerificationSeesAWriteOfTheStoreAtOnce: with every verification
// connection keeping a read snapshot, a write of the store that returned
// (a revocation, a suspension, a new token) is seen by the very next read
// on every connection: the snapshot is not reused across a write.
func TestVerificationSeesAWriteOfTheStoreAtOnce(t *testing.T) {
	s, tk := verifyFixture(t)
	ctx := t.Context()
	now := time.Now()

	holdSnapshots(t, s, tk)
	if _, err := s.UpdateToken(ctx, tk.ID, func(t *store.Token) error {
		t.RevokedAt = &now
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 * s.verify.n {
		got, _, err := s.GetTokenAndOwnerByDigest(ctx, tk.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if got.RevokedAt == nil {
			t.Fatalf("read %d after the revocation returned: the token is not revoked", i+1)
		}
	}

	holdSnapshots(t, s, tk)
	if _, err := s.UpdateUser(ctx, tk.UserID, func(u *store.User) error {
		u.Suspended = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 * s.verify.n {
		_, owner, err := s.GetTokenAndOwnerByDigest(ctx, tk.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if owner == nil || !owner.Suspended {
			t.Fatalf("read %d after the suspension returned: owner %+v is not suspended", i+1, owner)
		}
	}

	holdSnapshots(t, s, tk)
	d := make([]byte, 32)
	rand.Read(d)
	fresh := &store.Token{ID: uuid.Must(uuid.NewV7()).String(), UserID: tk.UserID, Kind: store.TokenPersonal,
		Name: "fresh", Scopes: []string{"repo"}, Digest: d, Hint: "wxyz", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateToken(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	for i := range 2 * s.verify.n {
		if _, _, err := s.GetTokenAndOwnerByDigest(ctx, d); err != nil {
			t.Fatalf("read %d of a token created before it: %v", i+1, err)
		}
	}
}

// TestVerificationSeesAWriteOfAnotherProcess: a revocation written by
// another process on the same database (latchkey admin, a second store
// here) is not counted by this store; reads that never pause still see it
// once their snapshot is snapshotMaxAge old. The bound checked, a second,
// is a hundred times that, for a busy machine.
func TestVerificationSeesAWriteOfAnotherProcess(t *testing.T) {
	s, tk := verifyFixture(t)
	ctx := t.Context()
	var path string
	if err := s.w.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path); err != nil {
		t.Fatal(err)
	}
	other, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	holdSnapshots(t, s, tk)
	now := time.Now()
	if _, err := other.UpdateToken(ctx, tk.ID, func(t *store.Token) error {
		t.RevokedAt = &now
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	written := time.Now()
	for {
		got, _, err := s.GetTokenAndOwnerByDigest(ctx, tk.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if got.RevokedAt != nil {
			t.Logf("seen %v after the other process wrote it", time.Since(written))
			return
		}
		if time.Since(written) > time.Second {
			t.Fatal("a revocation written by another process is still not seen after a second of reads")
		}
	}
}
