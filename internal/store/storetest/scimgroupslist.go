package storetest

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func scimGroupsListTests() []test {
	return []test{
		{"ListSCIMGroupsPagesGroupsWithTheirLiveMembersAndCountsThem", testListSCIMGroups},
		{"GetSCIMGroupReadsMembersOnlyWhenAsked", testGetSCIMGroup},
	}
}

// testListSCIMGroups: with a few thousand groups, ListSCIMGroups pages them
// (or the one with a display name) in id order, each as GetGroup reads it (live members only), counts all of
// them whatever page is asked for, and without members reads none
// (Members nil), the way GET /scim/v2/Groups?excludedAttributes=members
// answers.
func testListSCIMGroups(t *testing.T, s store.Store) {
	ctx := t.Context()
	const groups = 2100
	var users []*store.User
	for i := range 12 {
		users = append(users, mustUser(t, s, fmt.Sprintf("member-%02d", i)))
	}
	gone := users[len(users)-1] // deleted after joining groups: no longer a member
	var want []string
	byID := map[string]*store.Group{}
	for i := range groups {
		g := &store.Group{ID: newID(), DisplayName: fmt.Sprintf("group-%04d", i), ExternalID: fmt.Sprintf("ext-%d", i),
			CreatedAt: base, UpdatedAt: base.Add(time.Duration(i) * time.Second)}
		for j := range i % 4 { // 0 to 3 members
			g.Members = append(g.Members, users[(i+j*5)%len(users)].ID)
		}
		noErr(t, "CreateGroup "+g.DisplayName, s.CreateGroup(ctx, g))
		want = append(want, g.ID)
		byID[g.ID] = g
	}
	noErr(t, "DeleteUser", s.DeleteUser(ctx, gone.ID, base.Add(time.Minute)))
	slices.Sort(want)

	var got []string
	for offset := 0; ; offset += 1000 {
		gs, total, err := s.ListSCIMGroups(ctx, "", offset, 1000, true)
		noErr(t, fmt.Sprintf("ListSCIMGroups(%d, 1000)", offset), err)
		if total != groups {
			t.Fatalf("ListSCIMGroups(%d, 1000): total %d, want %d", offset, total, groups)
		}
		if wantN := min(1000, groups-offset); len(gs) != wantN {
			t.Fatalf("ListSCIMGroups(%d, 1000): %d groups, want %d", offset, len(gs), wantN)
		}
		for _, g := range gs {
			got = append(got, g.ID)
			// Each group as GetGroup reads it: its live members in id order.
			members := []string{}
			for _, m := range byID[g.ID].Members {
				if m != gone.ID {
					members = append(members, m)
				}
			}
			slices.Sort(members)
			members = slices.Compact(members)
			x := byID[g.ID]
			equal(t, "ListSCIMGroups group "+x.DisplayName, &store.Group{ID: x.ID, DisplayName: x.DisplayName, ExternalID: x.ExternalID,
				Members: members, CreatedAt: micro(x.CreatedAt), UpdatedAt: micro(x.UpdatedAt)}, g)
		}
		if len(gs) < 1000 {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("the pages hold %d groups, want the %d groups in id order", len(got), len(want))
	}

	// Without members: the same page, no member read.
	gs, total, err := s.ListSCIMGroups(ctx, "", 7, 20, false)
	noErr(t, "ListSCIMGroups(7, 20, no members)", err)
	if total != groups || len(gs) != 20 {
		t.Fatalf("ListSCIMGroups(7, 20, no members): %d groups of %d, want 20 of %d", len(gs), total, groups)
	}
	for i, g := range gs {
		x := byID[want[7+i]]
		equal(t, "ListSCIMGroups without members, group "+x.DisplayName, &store.Group{ID: x.ID, DisplayName: x.DisplayName, ExternalID: x.ExternalID,
			CreatedAt: micro(x.CreatedAt), UpdatedAt: micro(x.UpdatedAt)}, g)
	}

	for _, tc := range []struct{ offset, limit, n int }{
		{groups - 1, 10, 1},
		{groups, 10, 0},
		{groups + 1, 10, 0},
		{math.MaxInt, 10, 0},
		{0, 0, 0},
		{10, 0, 0},
		{0, -1, 0},
		{-5, 3, 3},
		{5, math.MaxInt, groups - 5},
	} {
		for _, members := range []bool{true, false} {
			gs, total, err := s.ListSCIMGroups(ctx, "", tc.offset, tc.limit, members)
			what := fmt.Sprintf("ListSCIMGroups(%d, %d, members %v)", tc.offset, tc.limit, members)
			noErr(t, what, err)
			if total != groups || len(gs) != tc.n {
				t.Errorf("%s: %d groups of %d, want %d of %d", what, len(gs), total, tc.n, groups)
			}
			if gs == nil {
				t.Errorf("%s: nil, want an empty list", what)
			}
			if tc.n > 0 && gs[0].ID != want[max(tc.offset, 0)] {
				t.Errorf("%s starts at %s, want %s", what, gs[0].ID, want[max(tc.offset, 0)])
			}
		}
	}
	// A display name, ignoring case, selects its group, with or without
	// members; a name no group has selects none.
	x := byID[want[42]]
	for _, members := range []bool{true, false} {
		gs, total, err := s.ListSCIMGroups(ctx, strings.ToUpper(x.DisplayName), 0, 10, members)
		what := fmt.Sprintf("ListSCIMGroups(%q, members %v)", strings.ToUpper(x.DisplayName), members)
		noErr(t, what, err)
		if total != 1 || len(gs) != 1 || gs[0].ID != x.ID || (gs[0].Members == nil) == members {
			t.Errorf("%s: %+v of %d, want %s", what, gs, total, x.DisplayName)
		}
		gs, total, err = s.ListSCIMGroups(ctx, x.DisplayName, 1, 10, members)
		noErr(t, what, err)
		if total != 1 || len(gs) != 0 {
			t.Errorf("%s from offset 1: %+v of %d, want none of 1", what, gs, total)
		}
		gs, total, err = s.ListSCIMGroups(ctx, "group-", 0, 10, members)
		noErr(t, "ListSCIMGroups(group-)", err)
		if total != 0 || len(gs) != 0 {
			t.Errorf("ListSCIMGroups(group-): %+v of %d, want none", gs, total)
		}
	}

	// No groups: an empty page of none.
	for _, id := range want {
		noErr(t, "DeleteGroup", s.DeleteGroup(ctx, id))
	}
	gs, total, err = s.ListSCIMGroups(ctx, "", 0, 10, true)
	noErr(t, "ListSCIMGroups with no groups", err)
	if total != 0 || len(gs) != 0 || gs == nil {
		t.Errorf("ListSCIMGroups with no groups: %v of %d, want an empty list of 0", gs, total)
	}
}
