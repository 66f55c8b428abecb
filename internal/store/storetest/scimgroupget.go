package storetest

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// testGetSCIMGroup: GetSCIMGroup with members reads a group as GetGroup
// does (its live members in id order), and without members reads none
// (Members nil), the way GET /scim/v2/Groups/{id}?excludedAttributes=members
// answers; an unknown group is ErrNotFound either way.
func testGetSCIMGroup(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b, gone := mustUser(t, s, "get-a"), mustUser(t, s, "get-b"), mustUser(t, s, "get-gone")
	g := &store.Group{ID: newID(), DisplayName: "get-team", ExternalID: "ext-get", Members: []string{gone.ID, b.ID, a.ID},
		CreatedAt: base, UpdatedAt: base.Add(time.Second)}
	noErr(t, "CreateGroup", s.CreateGroup(ctx, g))
	empty := &store.Group{ID: newID(), DisplayName: "get-empty", CreatedAt: base, UpdatedAt: base}
	noErr(t, "CreateGroup empty", s.CreateGroup(ctx, empty))
	noErr(t, "DeleteUser", s.DeleteUser(ctx, gone.ID, base.Add(time.Minute)))

	want, err := s.GetGroup(ctx, g.ID)
	noErr(t, "GetGroup", err)
	if len(want.Members) != 2 {
		t.Fatalf("GetGroup: members %v, want the two live ones", want.Members)
	}
	got, err := s.GetSCIMGroup(ctx, g.ID, true)
	noErr(t, "GetSCIMGroup with members", err)
	equal(t, "GetSCIMGroup with members", want, got)

	got, err = s.GetSCIMGroup(ctx, g.ID, false)
	noErr(t, "GetSCIMGroup without members", err)
	equal(t, "GetSCIMGroup without members", &store.Group{ID: g.ID, DisplayName: g.DisplayName, ExternalID: g.ExternalID,
		CreatedAt: micro(g.CreatedAt), UpdatedAt: micro(g.UpdatedAt)}, got)

	got, err = s.GetSCIMGroup(ctx, empty.ID, true)
	noErr(t, "GetSCIMGroup of a group without members", err)
	if got.Members == nil || len(got.Members) != 0 {
		t.Errorf("GetSCIMGroup of a group without members, with members: %#v, want an empty list", got.Members)
	}

	for _, members := range []bool{true, false} {
		_, err := s.GetSCIMGroup(ctx, newID(), members)
		wantErr(t, "GetSCIMGroup of an unknown group", err, store.ErrNotFound)
	}
}
