package postgres

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/testenv"
)

// openInternal opens a store on a fresh schema of the test database,
// closed when the test ends; it skips without one (fails under CI=true).
func openInternal(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), NewTestSchema(t, testenv.PostgresDSN(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// internalUser creates a user named name in s.
func internalUser(t *testing.T, s *Store, name string) *store.User {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Username: name, Role: store.RoleMember,
		Kind: store.KindPerson, LoginType: "password", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// internalToken is a new personal token of userID named name, with a
// random digest, created at now; it is not stored.
func internalToken(userID, name string, now time.Time) *store.Token {
	d := make([]byte, 32)
	_, _ = rand.Read(d)
	return &store.Token{ID: uuid.Must(uuid.NewV7()).String(), UserID: userID, Kind: store.TokenPersonal,
		Name: name, Scopes: []string{"repo:read"}, Digest: d, Hint: "abcd", CreatedAt: now, UpdatedAt: now}
}
