package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func ownerTests() []test {
	return []test{
		{"TheLastActiveOwnerIsNeitherDemotedSuspendedNorDeleted", testLastOwnerStays},
		{"OwnersTakenAwayAtOnceLeaveExactlyOne", testOwnersRaceLeavesOne},
		{"DeleteUserKeepingAnOwnerChecksTheRowItDeletes", testDeleteChecksTheRowItDeletes},
	}
}

// mustOwner creates a person with the owner role, changed by mods.
func mustOwner(t *testing.T, s store.Store, name string, mods ...func(*store.User)) *store.User {
	t.Helper()
	u := newUser(name)
	u.Role = store.RoleOwner
	for _, m := range mods {
		m(u)
	}
	noErr(t, "CreateUser "+name, s.CreateUser(t.Context(), u))
	return u
}

func setRole(r store.Role) func(*store.User) error {
	return func(u *store.User) error { u.Role = r; return nil }
}

func suspend(u *store.User) error { u.Suspended = true; return nil }

func testLastOwnerStays(t *testing.T, s store.Store) {
	ctx := t.Context()
	at := base.Add(time.Hour)
	// Owners that do not count: suspended, deleted, a service account.
	mustOwner(t, s, "sleeper", func(u *store.User) { u.Suspended = true })
	gone := mustOwner(t, s, "gone")
	noErr(t, "DeleteUser", s.DeleteUser(ctx, gone.ID, at))
	mustOwner(t, s, "robot", func(u *store.User) { u.Kind, u.LoginType, u.PasswordHash = store.KindService, "none", "" })
	member := mustUser(t, s, "mia")
	olga := mustOwner(t, s, "olga")

	for what, fn := range map[string]func(*store.User) error{
		"demote to admin": setRole(store.RoleAdmin), "demote to member": setRole(store.RoleMember), "suspend": suspend,
	} {
		_, err := s.UpdateUserKeepingAnOwner(ctx, olga.ID, fn)
		wantErr(t, "UpdateUserKeepingAnOwner of the last owner: "+what, err, store.ErrLastOwner)
	}
	wantErr(t, "DeleteUserKeepingAnOwner of the last owner", s.DeleteUserKeepingAnOwner(ctx, olga.ID, at, nil), store.ErrLastOwner)
	got, err := s.GetUser(ctx, olga.ID)
	noErr(t, "GetUser", err)
	equal(t, "the last owner after refused changes", wantUser(*olga), got)

	// What keeps her an active owner goes through, and so does anything
	// done to someone else.
	_, err = s.UpdateUserKeepingAnOwner(ctx, olga.ID, func(u *store.User) error { u.Email = "olga@example.com"; return nil })
	noErr(t, "UpdateUserKeepingAnOwner of the last owner's email", err)
	_, err = s.UpdateUserKeepingAnOwner(ctx, member.ID, suspend)
	noErr(t, "UpdateUserKeepingAnOwner of a member", err)
	noErr(t, "DeleteUserKeepingAnOwner of a member", s.DeleteUserKeepingAnOwner(ctx, member.ID, at, nil))
	wantErr(t, "DeleteUserKeepingAnOwner of a deleted user", s.DeleteUserKeepingAnOwner(ctx, member.ID, at, nil), store.ErrNotFound)
	_, err = s.UpdateUserKeepingAnOwner(ctx, member.ID, suspend)
	wantErr(t, "UpdateUserKeepingAnOwner of a deleted user", err, store.ErrNotFound)
	// An updater's own error is returned as is, before the rule.
	boom := errors.New("boom")
	_, err = s.UpdateUserKeepingAnOwner(ctx, olga.ID, func(*store.User) error { return boom })
	wantErr(t, "UpdateUserKeepingAnOwner whose updater fails", err, boom)

	// With a second active owner, either may go.
	ben := mustOwner(t, s, "ben")
	u, err := s.UpdateUserKeepingAnOwner(ctx, olga.ID, setRole(store.RoleAdmin))
	noErr(t, "UpdateUserKeepingAnOwner with another owner", err)
	if u.Role != store.RoleAdmin {
		t.Fatalf("demoted owner has role %q, want admin", u.Role)
	}
	wantErr(t, "DeleteUserKeepingAnOwner of the new last owner", s.DeleteUserKeepingAnOwner(ctx, ben.ID, at, nil), store.ErrLastOwner)
	_, err = s.UpdateUserKeepingAnOwner(ctx, olga.ID, setRole(store.RoleOwner))
	noErr(t, "promote back", err)
	noErr(t, "DeleteUserKeepingAnOwner with another owner", s.DeleteUserKeepingAnOwner(ctx, ben.ID, at, nil))
	_, err = s.UpdateUserKeepingAnOwner(ctx, olga.ID, suspend)
	wantErr(t, "suspend the last owner again", err, store.ErrLastOwner)
}

// testOwnersRaceLeavesOne takes two owners away at once, many times over,
// by every means (a demotion, a suspension, a deletion): each change finds
// the other owner still there when it starts, so only the store's own
// serialisation can refuse the last one.
func testOwnersRaceLeavesOne(t *testing.T, s store.Store) {
	ctx := t.Context()
	at := base.Add(time.Hour)
	for round := range 10 {
		owners := []*store.User{mustOwner(t, s, fmt.Sprintf("a%02d", round)), mustOwner(t, s, fmt.Sprintf("b%02d", round))}
		errs := parallel(func(i int) error {
			id := owners[i%2].ID
			switch i / 2 % 3 {
			case 0:
				_, err := s.UpdateUserKeepingAnOwner(ctx, id, setRole(store.RoleAdmin))
				return err
			case 1:
				_, err := s.UpdateUserKeepingAnOwner(ctx, id, suspend)
				return err
			}
			return s.DeleteUserKeepingAnOwner(ctx, id, at, nil)
		})
		for i, err := range errs {
			if err != nil && !errors.Is(err, store.ErrLastOwner) && !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("round %d: change %d: got %v, want nil, ErrLastOwner or ErrNotFound", round, i, err)
			}
		}
		active := 0
		for _, o := range owners {
			if u, err := s.GetUser(ctx, o.ID); err == nil && u.ActiveOwner() {
				active++
			} else if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("GetUser: %v", err)
			}
		}
		if active != 1 {
			t.Fatalf("round %d: %d active owners after taking both away at once (errors %v), want exactly 1", round, active, errs)
		}
		// The survivor leaves by the plain methods, so the next round
		// starts with its two owners only.
		for _, o := range owners {
			if err := s.DeleteUser(ctx, o.ID, at); err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("DeleteUser: %v", err)
			}
		}
	}
}

// testDeleteChecksTheRowItDeletes: the check of DeleteUserKeepingAnOwner
// sees the user as it is when deleted, not as the caller read it, and its
// refusal leaves the user, its tokens and its sessions alone.
func testDeleteChecksTheRowItDeletes(t *testing.T, s store.Store) {
	ctx := t.Context()
	at := base.Add(time.Hour)
	mustOwner(t, s, "olga")
	mia := mustUser(t, s, "mia")
	tk := mustToken(t, s, mia.ID, "ci")
	// Read as a member, then made owner by someone else.
	_, err := s.UpdateUser(ctx, mia.ID, setRole(store.RoleOwner))
	noErr(t, "UpdateUser", err)
	changed := errors.New("changed meanwhile")
	var seen store.Role
	stillMember := func(u *store.User) error {
		seen = u.Role
		if u.Role != mia.Role {
			return changed
		}
		return nil
	}
	wantErr(t, "DeleteUserKeepingAnOwner whose check refuses", s.DeleteUserKeepingAnOwner(ctx, mia.ID, at, stillMember), changed)
	if seen != store.RoleOwner {
		t.Errorf("the check saw role %q, want the current owner", seen)
	}
	got, err := s.GetUser(ctx, mia.ID)
	noErr(t, "GetUser after the refused delete", err)
	if got.Role != store.RoleOwner || got.DeletedAt != nil {
		t.Errorf("after the refused delete the user is %+v", got)
	}
	gotTk, err := s.GetToken(ctx, tk.ID)
	noErr(t, "GetToken after the refused delete", err)
	if gotTk.RevokedAt != nil {
		t.Errorf("the refused delete revoked the user's token at %v", gotTk.RevokedAt)
	}
	// A check that agrees lets the delete through.
	mia.Role = store.RoleOwner
	noErr(t, "DeleteUserKeepingAnOwner whose check agrees", s.DeleteUserKeepingAnOwner(ctx, mia.ID, at, stillMember))
	wantErr(t, "GetUser after the delete", func() error { _, err := s.GetUser(ctx, mia.ID); return err }(), store.ErrNotFound)
	// A user that is gone is not found before any check runs.
	wantErr(t, "DeleteUserKeepingAnOwner of a deleted user with a check", s.DeleteUserKeepingAnOwner(ctx, mia.ID, at, func(*store.User) error {
		t.Error("the check ran for a deleted user")
		return nil
	}), store.ErrNotFound)
}
