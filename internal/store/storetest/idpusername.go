package storetest

import (
	"testing"

	"github.com/latchkey/latchkey/internal/store"
)

func idpUserNameTests() []test {
	return []test{
		{"IdPUserNameIsKeptExactlyAndFoundIgnoringCaseNeverByUsername", testIdPUserNameLookup},
		{"IdPUserNameIsUniqueIgnoringCaseAmongLiveUsers", testIdPUserNameUnique},
		{"UpdateUserWritesIdPUserName", testIdPUserNameUpdate},
	}
}

// oidcUser returns a person provisioned from the identity provider under
// the lossy Latchkey name username, knowing it as idpName.
func oidcUser(t *testing.T, s store.Store, username, idpName string) *store.User {
	t.Helper()
	u := newUser(username)
	u.LoginType, u.PasswordHash, u.IdPUserName = store.LoginTypeOIDC, "", idpName
	noErr(t, "CreateUser "+username, s.CreateUser(t.Context(), u))
	return u
}

// testIdPUserNameLookup: josé@ and josè@ both normalise to jos--corp.com;
// each is found by its own name, in any case, and nobody by a name that
// only normalises the same.
func testIdPUserNameLookup(t *testing.T, s store.Store) {
	ctx := t.Context()
	acute := oidcUser(t, s, "jos--corp.com", "josé@corp.com")
	grave := oidcUser(t, s, "jos--corp.com-2", "josè@corp.com")
	legacy := mustUser(t, s, "legacy") // no IdP name known: never found by one
	got, err := s.GetUser(ctx, grave.ID)
	noErr(t, "GetUser", err)
	equal(t, "GetUser keeps the IdP name exactly", wantUser(*grave), got)
	got, err = s.GetUser(ctx, legacy.ID)
	noErr(t, "GetUser legacy", err)
	if got.IdPUserName != "" {
		t.Fatalf("a user created without an IdP name reads back %q", got.IdPUserName)
	}
	for _, tc := range []struct{ name, want string }{
		{"josé@corp.com", acute.ID},
		{"JOSÉ@CORP.COM", acute.ID},
		{"José@Corp.Com", acute.ID},
		{"josè@corp.com", grave.ID},
		{"JOSÈ@corp.com", grave.ID},
	} {
		got, err := s.GetUserByIdPUserName(ctx, tc.name)
		noErr(t, "GetUserByIdPUserName "+tc.name, err)
		if got.ID != tc.want {
			t.Fatalf("GetUserByIdPUserName(%q) = %s (%q), want %s", tc.name, got.ID, got.IdPUserName, tc.want)
		}
		equal(t, "GetUserByIdPUserName "+tc.name, wantUser(*map[string]*store.User{acute.ID: acute, grave.ID: grave}[tc.want]), got)
	}
	for _, name := range []string{"jose@corp.com", "jos--corp.com", "jos@corp.com", "legacy", ""} {
		_, err := s.GetUserByIdPUserName(ctx, name)
		wantErr(t, "GetUserByIdPUserName "+name, err, store.ErrNotFound)
	}
}

func testIdPUserNameUnique(t *testing.T, s store.Store) {
	ctx := t.Context()
	first := oidcUser(t, s, "kelvin", "kelvin@corp.com")
	dup := newUser("kelvin-2")
	dup.IdPUserName = "\u212aELVIN@corp.com" // KELVIN SIGN: equal to k ignoring case
	wantErr(t, "CreateUser with a taken IdP name in other case", s.CreateUser(ctx, dup), store.ErrConflict)
	// Users whose IdP name is not known do not collide with each other.
	mustUser(t, s, "local-1")
	mustUser(t, s, "local-2")
	// A deleted user's IdP name is free again.
	noErr(t, "DeleteUser", s.DeleteUser(ctx, first.ID, base))
	again := oidcUser(t, s, "kelvin", "Kelvin@corp.com")
	got, err := s.GetUserByIdPUserName(ctx, "kelvin@corp.com")
	noErr(t, "GetUserByIdPUserName after re-provisioning", err)
	if got.ID != again.ID {
		t.Fatalf("GetUserByIdPUserName found %s, want the live user %s", got.ID, again.ID)
	}
}

func testIdPUserNameUpdate(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := oidcUser(t, s, "ann-corp.com", "ann@corp.com")
	other := oidcUser(t, s, "bob-corp.com", "bob@corp.com")
	legacy := mustUser(t, s, "carol")

	got, err := s.UpdateUser(ctx, u.ID, func(x *store.User) error {
		x.IdPUserName = "ann.smith@corp.com"
		return nil
	})
	noErr(t, "UpdateUser", err)
	if got.IdPUserName != "ann.smith@corp.com" || got.Username != "ann-corp.com" {
		t.Fatalf("after UpdateUser: %q (%q), want ann.smith@corp.com under ann-corp.com", got.IdPUserName, got.Username)
	}
	_, err = s.GetUserByIdPUserName(ctx, "ann@corp.com")
	wantErr(t, "the old IdP name", err, store.ErrNotFound)
	if got, err = s.GetUserByIdPUserName(ctx, "ANN.SMITH@corp.com"); err != nil || got.ID != u.ID {
		t.Fatalf("GetUserByIdPUserName of the new name = %v, %v; want %s", got, err, u.ID)
	}
	_, err = s.UpdateUser(ctx, u.ID, func(x *store.User) error {
		x.IdPUserName = "BOB@corp.com"
		return nil
	})
	wantErr(t, "UpdateUser to another user's IdP name", err, store.ErrConflict)
	if got, err = s.GetUserByIdPUserName(ctx, "bob@corp.com"); err != nil || got.ID != other.ID {
		t.Fatalf("bob after a refused update = %v, %v; want %s", got, err, other.ID)
	}
	// A legacy user learns its name; a name can be cleared again.
	got, err = s.UpdateUser(ctx, legacy.ID, func(x *store.User) error {
		x.IdPUserName = "Carol@corp.com"
		return nil
	})
	noErr(t, "UpdateUser legacy", err)
	if got.IdPUserName != "Carol@corp.com" {
		t.Fatalf("legacy user after UpdateUser: %q", got.IdPUserName)
	}
	got, err = s.UpdateUser(ctx, legacy.ID, func(x *store.User) error {
		x.IdPUserName = ""
		return nil
	})
	noErr(t, "UpdateUser clearing", err)
	if got.IdPUserName != "" {
		t.Fatalf("cleared IdP name reads back %q", got.IdPUserName)
	}
	_, err = s.GetUserByIdPUserName(ctx, "carol@corp.com")
	wantErr(t, "a cleared IdP name", err, store.ErrNotFound)
}
