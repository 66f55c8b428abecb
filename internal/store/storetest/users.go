package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func userTests() []test {
	return []test{
		{"UserRoundTripsInUTCAtMicroseconds", testUserRoundTrip},
		{"UserIDAndUsernameAreUniqueIgnoringCase", testUserConflicts},
		{"MissingUserIsNotFound", testUserNotFound},
		{"UpdateUserWritesMutableFieldsInOneTransaction", testUpdateUser},
		{"DeletedUserIsInvisibleAndLosesTokensAndSessions", testDeleteUser},
		{"ListUsersPagesByIDAscending", testListUsers},
		{"ListUsersCapsLimit", testListUsersCap},
	}
}

func wantUser(u store.User) *store.User {
	u.CreatedAt, u.UpdatedAt, u.DeletedAt = micro(u.CreatedAt), micro(u.UpdatedAt), microPtr(u.DeletedAt)
	return &u
}

func testUserRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := newUser("Alice")
	u.Role, u.Kind, u.Suspended = store.RoleOwner, store.KindService, true
	u.Email = "Alice.Example+ops@example.com"
	u.UpdatedAt = base.Add(time.Hour + 999*time.Nanosecond)
	want := wantUser(*u)
	noErr(t, "CreateUser", s.CreateUser(ctx, u))
	equal(t, "CreateUser normalises its argument", want, u)

	got, err := s.GetUser(ctx, u.ID)
	noErr(t, "GetUser", err)
	equal(t, "GetUser", want, got)
	for _, name := range []string{"Alice", "alice", "ALICE"} {
		got, err = s.GetUserByUsername(ctx, name)
		noErr(t, "GetUserByUsername "+name, err)
		equal(t, "GetUserByUsername "+name, want, got)
	}
	n, err := s.CountUsers(ctx)
	noErr(t, "CountUsers", err)
	if n != 1 {
		t.Fatalf("CountUsers = %d, want 1", n)
	}
}

func testUserConflicts(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := mustUser(t, s, "bob")
	dupID := newUser("robert")
	dupID.ID = a.ID
	wantErr(t, "CreateUser with a taken ID", s.CreateUser(ctx, dupID), store.ErrConflict)
	wantErr(t, "CreateUser with a taken username", s.CreateUser(ctx, newUser("bob")), store.ErrConflict)
	wantErr(t, "CreateUser with a taken username in other case", s.CreateUser(ctx, newUser("BoB")), store.ErrConflict)
	mustUser(t, s, "bobby")
	n, err := s.CountUsers(ctx)
	noErr(t, "CountUsers", err)
	if n != 2 {
		t.Fatalf("CountUsers = %d, want 2", n)
	}
}

func testUserNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetUser(ctx, newID())
	wantErr(t, "GetUser", err, store.ErrNotFound)
	_, err = s.GetUserByUsername(ctx, "nobody")
	wantErr(t, "GetUserByUsername", err, store.ErrNotFound)
	_, err = s.UpdateUser(ctx, newID(), func(*store.User) error { t.Error("updater called for a missing user"); return nil })
	wantErr(t, "UpdateUser", err, store.ErrNotFound)
	wantErr(t, "DeleteUser", s.DeleteUser(ctx, newID(), base), store.ErrNotFound)
	users, err := s.ListUsers(ctx, store.UserFilter{})
	noErr(t, "ListUsers", err)
	if users == nil || len(users) != 0 {
		t.Fatalf("ListUsers on an empty store = %#v, want a non-nil empty slice", users)
	}
}

func testUpdateUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "carol")
	other := mustUser(t, s, "dave")
	later := base.Add(time.Minute + 5*time.Nanosecond)

	got, err := s.UpdateUser(ctx, u.ID, func(x *store.User) error {
		equal(t, "updater sees the stored user", u, x)
		x.Username, x.Role, x.Kind, x.LoginType = "Caroline", store.RoleAdmin, store.KindService, "oidc"
		x.PasswordHash, x.Suspended, x.UpdatedAt = "", true, later
		x.Email = "caroline@example.org"
		x.ID, x.CreatedAt = "ignored", base.Add(-time.Hour) // identity is not mutable
		return nil
	})
	noErr(t, "UpdateUser", err)
	want := wantUser(*u)
	want.Username, want.Role, want.Kind, want.LoginType = "Caroline", store.RoleAdmin, store.KindService, "oidc"
	want.PasswordHash, want.Suspended, want.UpdatedAt = "", true, micro(later)
	want.Email = "caroline@example.org"
	equal(t, "UpdateUser result", want, got)
	stored, err := s.GetUser(ctx, u.ID)
	noErr(t, "GetUser", err)
	equal(t, "GetUser after UpdateUser", want, stored)

	sentinel := errors.New("updater refused")
	_, err = s.UpdateUser(ctx, u.ID, func(x *store.User) error {
		x.Username = "changed"
		return sentinel
	})
	if err != sentinel {
		t.Fatalf("UpdateUser with failing updater: got %v, want the updater's error unchanged", err)
	}
	_, err = s.UpdateUser(ctx, u.ID, func(x *store.User) error {
		x.Username = strings.ToUpper(other.Username)
		return nil
	})
	wantErr(t, "UpdateUser to a taken username", err, store.ErrConflict)
	stored, err = s.GetUser(ctx, u.ID)
	noErr(t, "GetUser", err)
	equal(t, "user after failed updates", want, stored)
}

func testDeleteUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "erin")
	keep := mustUser(t, s, "frank")
	live := mustToken(t, s, u.ID, "live")
	earlier := base.Add(-time.Hour)
	old := mustToken(t, s, u.ID, "old", func(tk *store.Token) { tk.RevokedAt = &earlier })
	otherTok := mustToken(t, s, keep.ID, "live")
	sess := &store.Session{ID: newID(), UserID: u.ID, Digest: digest(), CreatedAt: base, ExpiresAt: base.Add(24 * time.Hour), LastSeenAt: base}
	noErr(t, "CreateSession", s.CreateSession(ctx, sess))
	oldSess := &store.Session{ID: newID(), UserID: u.ID, Digest: digest(), CreatedAt: base, ExpiresAt: base.Add(24 * time.Hour), LastSeenAt: base, RevokedAt: &earlier}
	noErr(t, "CreateSession", s.CreateSession(ctx, oldSess))

	at := base.Add(time.Hour + 7*time.Nanosecond)
	noErr(t, "DeleteUser", s.DeleteUser(ctx, u.ID, at))

	_, err := s.GetUser(ctx, u.ID)
	wantErr(t, "GetUser of a deleted user", err, store.ErrNotFound)
	_, err = s.GetUserByUsername(ctx, "erin")
	wantErr(t, "GetUserByUsername of a deleted user", err, store.ErrNotFound)
	_, err = s.UpdateUser(ctx, u.ID, func(*store.User) error { return nil })
	wantErr(t, "UpdateUser of a deleted user", err, store.ErrNotFound)
	wantErr(t, "DeleteUser twice", s.DeleteUser(ctx, u.ID, at), store.ErrNotFound)
	users, err := s.ListUsers(ctx, store.UserFilter{})
	noErr(t, "ListUsers", err)
	if len(users) != 1 || users[0].ID != keep.ID {
		t.Fatalf("ListUsers after delete = %v, want only %s", users, keep.ID)
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 1 {
		t.Fatalf("CountUsers after delete = %d, %v; want 1", n, err)
	}

	for _, c := range []struct {
		id   string
		want *time.Time
	}{{live.ID, ptr(micro(at))}, {old.ID, ptr(micro(earlier))}, {otherTok.ID, nil}} {
		tk, err := s.GetToken(ctx, c.id)
		noErr(t, "GetToken", err)
		equal(t, "RevokedAt of token "+tk.Name+" of "+tk.UserID, c.want, tk.RevokedAt)
	}
	for _, c := range []struct {
		digest []byte
		want   *time.Time
	}{{sess.Digest, ptr(micro(at))}, {oldSess.Digest, ptr(micro(earlier))}} {
		ss, err := s.GetSessionByDigest(ctx, c.digest)
		noErr(t, "GetSessionByDigest", err)
		equal(t, "session RevokedAt", c.want, ss.RevokedAt)
	}
	// The deleted user's tokens are still listed, as revoked.
	toks, err := s.ListTokens(ctx, store.TokenFilter{UserID: u.ID})
	noErr(t, "ListTokens", err)
	if len(toks) != 2 || toks[0].State(base) != store.StateRevoked || toks[1].State(base) != store.StateRevoked {
		t.Fatalf("ListTokens of a deleted user: got %d tokens, want 2 revoked", len(toks))
	}
	// The username is free again, in any case.
	again := mustUser(t, s, "Erin")
	got, err := s.GetUserByUsername(ctx, "erin")
	noErr(t, "GetUserByUsername after reuse", err)
	if got.ID != again.ID {
		t.Fatalf("GetUserByUsername after reuse = %s, want the new user %s", got.ID, again.ID)
	}
}

func testListUsers(t *testing.T, s store.Store) {
	ctx := t.Context()
	var all, services []string
	for i := range 250 {
		u := newUser(fmt.Sprintf("user%03d", i))
		if i%5 == 0 {
			u.Kind = store.KindService
			services = append(services, u.ID)
		}
		noErr(t, "CreateUser", s.CreateUser(ctx, u))
		all = append(all, u.ID)
	}
	deleted := mustUser(t, s, "gone")
	noErr(t, "DeleteUser", s.DeleteUser(ctx, deleted.ID, base))
	slices.Sort(all)
	slices.Sort(services)

	for _, limit := range []int{1, 7, 100, 250, 1000} {
		got := pageAll(t, limit, func(cursor string) ([]string, error) {
			return userIDs(s.ListUsers(ctx, store.UserFilter{Cursor: cursor, Limit: limit}))
		})
		sameOrder(t, fmt.Sprintf("ListUsers paged by %d", limit), all, got)
	}
	got := pageAll(t, 3, func(cursor string) ([]string, error) {
		return userIDs(s.ListUsers(ctx, store.UserFilter{Kind: store.KindService, Cursor: cursor, Limit: 3}))
	})
	sameOrder(t, "ListUsers of service accounts", services, got)
	for _, limit := range []int{0, -1} {
		page, err := userIDs(s.ListUsers(ctx, store.UserFilter{Limit: limit}))
		noErr(t, "ListUsers", err)
		sameOrder(t, fmt.Sprintf("ListUsers with Limit %d", limit), all[:store.DefaultPageLimit], page)
	}
	page, err := userIDs(s.ListUsers(ctx, store.UserFilter{Cursor: all[len(all)-1]}))
	noErr(t, "ListUsers past the end", err)
	if page == nil || len(page) != 0 {
		t.Fatalf("ListUsers past the end = %v, want a non-nil empty slice", page)
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 250 {
		t.Fatalf("CountUsers = %d, %v; want 250", n, err)
	}
}

func testListUsersCap(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i := range store.MaxPageLimit + 1 {
		noErr(t, "CreateUser", s.CreateUser(ctx, newUser(fmt.Sprintf("u%04d", i))))
	}
	got, err := s.ListUsers(ctx, store.UserFilter{Limit: 5000})
	noErr(t, "ListUsers", err)
	if len(got) != store.MaxPageLimit {
		t.Fatalf("ListUsers with Limit 5000 returned %d, want the cap %d", len(got), store.MaxPageLimit)
	}
}

func userIDs(us []*store.User, err error) ([]string, error) {
	if err != nil || us == nil {
		return nil, err
	}
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	return ids, nil
}
