package service_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// forEachStore runs fn on a fresh SQLite database, and on a fresh
// PostgreSQL schema when LATCHKEY_TEST_POSTGRES_DSN is set.
func forEachStore(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "latchkey.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := os.Getenv("LATCHKEY_TEST_POSTGRES_DSN")
		if dsn == "" {
			if os.Getenv("CI") == "true" {
				t.Fatal("CI needs LATCHKEY_TEST_POSTGRES_DSN")
			}
			t.Skip("LATCHKEY_TEST_POSTGRES_DSN is not set")
		}
		st, err := postgres.Open(t.Context(), postgres.NewTestSchema(t, dsn))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
}

// promoteAfterRead is the real store, except that right after the
// service reads the user named victim, an owner makes that user an owner:
// the change another request commits between the permission check and
// the delete.
type promoteAfterRead struct {
	store.Store
	victim string
}

func (s *promoteAfterRead) GetUserByUsername(ctx context.Context, name string) (*store.User, error) {
	u, err := s.Store.GetUserByUsername(ctx, name)
	if err == nil && name == s.victim {
		if _, perr := s.Store.UpdateUser(ctx, u.ID, func(x *store.User) error { x.Role = store.RoleOwner; return nil }); perr != nil {
			return nil, perr
		}
	}
	return u, err
}

func TestAdminCannotDeleteAMemberMadeOwnerWhileTheRequestRan(t *testing.T) {
	forEachStore(t, func(t *testing.T, real store.Store) {
		ctx := t.Context()
		st := &promoteAfterRead{Store: real, victim: "mia"}
		cat := scope.DefaultCatalog()
		svc := service.New(st, cat, service.Config{TokenPrefix: "lk"}, nil, nil, nil)
		if _, err := svc.Users.Bootstrap(ctx, "olga", "owner-password-1"); err != nil {
			t.Fatal(err)
		}
		olgaUser, err := real.GetUserByUsername(ctx, "olga")
		if err != nil {
			t.Fatal(err)
		}
		olga := service.Actor{User: olgaUser, Scopes: cat.ForRole("owner"), Session: true}
		for _, u := range []struct {
			name string
			role store.Role
		}{{"ada", store.RoleAdmin}, {"mia", store.RoleMember}} {
			if _, err := svc.Users.Create(ctx, olga, service.CreateUserInput{Username: u.name, Password: "a-password-1", Role: u.role}); err != nil {
				t.Fatal(err)
			}
		}
		adaUser, err := real.GetUserByUsername(ctx, "ada")
		if err != nil {
			t.Fatal(err)
		}
		ada := service.Actor{User: adaUser, Scopes: cat.ForRole("admin"), Session: true}

		err = svc.Users.Delete(ctx, ada, "mia")
		if !errors.Is(err, service.ErrConflict) {
			t.Errorf("an admin deleting a member made owner meanwhile: %v, want a conflict", err)
		}
		mia, gerr := real.GetUserByUsername(ctx, "mia")
		if gerr != nil || mia.Role != store.RoleOwner {
			t.Errorf("after the refused delete, mia is %+v (%v), want a live owner", mia, gerr)
		}
		// Read again, the admin is told plainly that only owners delete owners.
		st.victim = ""
		if err := svc.Users.Delete(ctx, ada, "mia"); !errors.Is(err, service.ErrForbidden) {
			t.Errorf("deleting the owner on a fresh read: %v, want forbidden", err)
		}
		// The owner may.
		if err := svc.Users.Delete(ctx, olga, "mia"); err != nil {
			t.Errorf("the owner deletes mia: %v", err)
		}
	})
}
