package storetest

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func scimListTests() []test {
	return []test{
		{"ListSCIMUsersPagesPeopleOfIdentityProvidersAndCountsThem", testListSCIMUsers},
	}
}

// testListSCIMUsers: with a few thousand people provisioned from an
// identity provider among local accounts, service accounts and deleted
// people, ListSCIMUsers pages the live people of login type oidc in id
// order and counts all of them, whatever page is asked for.
func testListSCIMUsers(t *testing.T, s store.Store) {
	ctx := t.Context()
	const people = 2500
	var want []string
	var batch []*store.User
	for i := range people + 60 {
		u := newUser(fmt.Sprintf("person-%04d", i))
		u.LoginType, u.PasswordHash, u.IdPUserName = store.LoginTypeOIDC, "", fmt.Sprintf("person-%04d@corp.example", i)
		switch {
		case i >= people+40: // local accounts: invisible to SCIM
			u.LoginType, u.PasswordHash, u.IdPUserName = "password", newUser("x").PasswordHash, ""
		case i >= people+20: // a service account is never a SCIM user
			u.Kind, u.IdPUserName = store.KindService, ""
		case i >= people: // deleted below
		default:
			if i%7 == 0 {
				u.Suspended = true // a deactivated person is still listed
			}
			want = append(want, u.ID)
		}
		batch = append(batch, u)
	}
	for _, u := range batch {
		noErr(t, "CreateUser "+u.Username, s.CreateUser(ctx, u))
	}
	for _, u := range batch[people : people+20] {
		noErr(t, "DeleteUser "+u.Username, s.DeleteUser(ctx, u.ID, base.Add(time.Minute)))
	}
	slices.Sort(want)

	var got []string
	for offset := 0; ; offset += 1000 {
		us, total, err := s.ListSCIMUsers(ctx, offset, 1000)
		noErr(t, fmt.Sprintf("ListSCIMUsers(%d, 1000)", offset), err)
		if total != people {
			t.Fatalf("ListSCIMUsers(%d, 1000): total %d, want %d", offset, total, people)
		}
		if wantN := min(1000, people-offset); len(us) != wantN {
			t.Fatalf("ListSCIMUsers(%d, 1000): %d users, want %d", offset, len(us), wantN)
		}
		for _, u := range us {
			got = append(got, u.ID)
		}
		if len(us) < 1000 {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("the pages hold %d users, want the %d live people of login type oidc in id order", len(got), len(want))
	}
	// A page reads back whole users.
	us, _, err := s.ListSCIMUsers(ctx, 0, 1)
	noErr(t, "ListSCIMUsers(0, 1)", err)
	for _, u := range batch {
		if u.ID == want[0] {
			equal(t, "ListSCIMUsers(0, 1)", []*store.User{wantUser(*u)}, us)
		}
	}
	for _, tc := range []struct{ offset, limit, n int }{
		{people - 1, 10, 1},
		{people, 10, 0},
		{people + 1, 10, 0},
		{math.MaxInt, 10, 0},
		{0, 0, 0},
		{10, 0, 0},
		{0, -1, 0},
		{-5, 3, 3},
		{5, math.MaxInt, people - 5},
	} {
		us, total, err := s.ListSCIMUsers(ctx, tc.offset, tc.limit)
		noErr(t, fmt.Sprintf("ListSCIMUsers(%d, %d)", tc.offset, tc.limit), err)
		if total != people || len(us) != tc.n {
			t.Errorf("ListSCIMUsers(%d, %d): %d users of %d, want %d of %d", tc.offset, tc.limit, len(us), total, tc.n, people)
		}
		if tc.n > 0 && us[0].ID != want[max(tc.offset, 0)] {
			t.Errorf("ListSCIMUsers(%d, %d) starts at %s, want %s", tc.offset, tc.limit, us[0].ID, want[max(tc.offset, 0)])
		}
	}
}
