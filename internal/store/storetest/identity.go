package storetest

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func identityTests() []test {
	return []test{
		{"IdentityLinksOneUserPerProviderSubject", testIdentities},
		{"GroupMembersRoundTripAndSkipDeletedUsers", testGroups},
		{"DeviceCodeRoundTripsByEitherDigest", testDeviceCodes},
		{"DeviceCodeKeepsWhoRequestedIt", testDeviceCodeRequester},
	}
}

func testIdentities(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	i := &store.Identity{Provider: "corp", Subject: "sub-1", UserID: alice.ID, Email: "a@example.com", Claims: []string{"eng"}, CreatedAt: base}
	noErr(t, "CreateIdentity", s.CreateIdentity(ctx, i))
	got, err := s.GetIdentity(ctx, "corp", "sub-1")
	noErr(t, "GetIdentity", err)
	equal(t, "GetIdentity", &store.Identity{Provider: "corp", Subject: "sub-1", UserID: alice.ID, Email: "a@example.com",
		Claims: []string{"eng"}, CreatedAt: micro(base)}, got)

	wantErr(t, "same subject twice", s.CreateIdentity(ctx, &store.Identity{Provider: "corp", Subject: "sub-1", UserID: bob.ID, CreatedAt: base}), store.ErrConflict)
	wantErr(t, "same user and provider twice", s.CreateIdentity(ctx, &store.Identity{Provider: "corp", Subject: "sub-2", UserID: alice.ID, CreatedAt: base}), store.ErrConflict)
	wantErr(t, "unknown user", s.CreateIdentity(ctx, &store.Identity{Provider: "corp", Subject: "sub-3", UserID: newID(), CreatedAt: base}), store.ErrNotFound)
	noErr(t, "second provider", s.CreateIdentity(ctx, &store.Identity{Provider: "other", Subject: "sub-1", UserID: alice.ID, CreatedAt: base}))
	noErr(t, "bob", s.CreateIdentity(ctx, &store.Identity{Provider: "corp", Subject: "sub-b", UserID: bob.ID, CreatedAt: base}))

	at := base.Add(time.Hour + 7)
	got, err = s.UpdateIdentity(ctx, "corp", "sub-1", func(x *store.Identity) error {
		x.Email, x.Claims, x.LastLoginAt = "alice@example.com", []string{"eng", "ops"}, &at
		x.UserID = bob.ID // not mutable
		return nil
	})
	noErr(t, "UpdateIdentity", err)
	equal(t, "UpdateIdentity", &store.Identity{Provider: "corp", Subject: "sub-1", UserID: alice.ID, Email: "alice@example.com",
		Claims: []string{"eng", "ops"}, CreatedAt: micro(base), LastLoginAt: microPtr(&at)}, got)

	list, err := s.ListIdentities(ctx, alice.ID)
	noErr(t, "ListIdentities", err)
	if len(list) != 2 || list[0].Provider != "corp" || list[1].Provider != "other" {
		t.Fatalf("ListIdentities(alice) = %+v, want corp then other", list)
	}
	noErr(t, "DeleteUser", s.DeleteUser(ctx, bob.ID, base))
	_, err = s.GetIdentity(ctx, "corp", "sub-b")
	wantErr(t, "identity of a deleted user", err, store.ErrNotFound)
	all, err := s.ListIdentities(ctx, "")
	noErr(t, "ListIdentities all", err)
	if len(all) != 2 {
		t.Fatalf("ListIdentities(\"\") = %d identities, want alice's 2 (bob is deleted)", len(all))
	}
	noErr(t, "DeleteIdentity", s.DeleteIdentity(ctx, "other", "sub-1"))
	wantErr(t, "DeleteIdentity twice", s.DeleteIdentity(ctx, "other", "sub-1"), store.ErrNotFound)
}

func testGroups(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice, bob, carol := mustUser(t, s, "alice"), mustUser(t, s, "bob"), mustUser(t, s, "carol")
	g := &store.Group{ID: newID(), DisplayName: "Engineering", ExternalID: "ext-1", Members: []string{bob.ID, alice.ID}, CreatedAt: base, UpdatedAt: base}
	noErr(t, "CreateGroup", s.CreateGroup(ctx, g))
	got, err := s.GetGroup(ctx, g.ID)
	noErr(t, "GetGroup", err)
	wantMembers := []string{alice.ID, bob.ID}
	if alice.ID > bob.ID {
		wantMembers = []string{bob.ID, alice.ID}
	}
	equal(t, "GetGroup", &store.Group{ID: g.ID, DisplayName: "Engineering", ExternalID: "ext-1", Members: wantMembers,
		CreatedAt: micro(base), UpdatedAt: micro(base)}, got)
	wantErr(t, "same display name ignoring case", s.CreateGroup(ctx, &store.Group{ID: newID(), DisplayName: "engineering", CreatedAt: base, UpdatedAt: base}), store.ErrConflict)
	wantErr(t, "unknown member", s.CreateGroup(ctx, &store.Group{ID: newID(), DisplayName: "X", Members: []string{newID()}, CreatedAt: base, UpdatedAt: base}), store.ErrNotFound)
	if gs, err := s.ListGroups(ctx, "X"); err != nil || len(gs) != 0 {
		t.Fatalf("a refused group was stored: %v %v", gs, err)
	}

	got, err = s.UpdateGroup(ctx, g.ID, func(x *store.Group) error {
		x.DisplayName, x.Members, x.UpdatedAt = "Eng", []string{carol.ID}, base.Add(time.Minute)
		return nil
	})
	noErr(t, "UpdateGroup", err)
	if got.DisplayName != "Eng" || len(got.Members) != 1 || got.Members[0] != carol.ID || !got.UpdatedAt.Equal(micro(base.Add(time.Minute))) {
		t.Fatalf("UpdateGroup = %+v", got)
	}
	list, err := s.ListGroups(ctx, "eng")
	noErr(t, "ListGroups", err)
	if len(list) != 1 || list[0].ID != g.ID {
		t.Fatalf("ListGroups(eng) = %+v", list)
	}
	ug, err := s.ListUserGroups(ctx, carol.ID)
	noErr(t, "ListUserGroups", err)
	if len(ug) != 1 || ug[0].ID != g.ID || ug[0].DisplayName != "Eng" || len(ug[0].Members) != 0 {
		t.Fatalf("ListUserGroups(carol) = %+v; want the group %s (Eng) without its members", ug, g.ID)
	}
	noErr(t, "DeleteUser", s.DeleteUser(ctx, carol.ID, base))
	got, err = s.GetGroup(ctx, g.ID)
	noErr(t, "GetGroup", err)
	if len(got.Members) != 0 {
		t.Fatalf("a deleted user is still a member: %v", got.Members)
	}
	noErr(t, "DeleteGroup", s.DeleteGroup(ctx, g.ID))
	_, err = s.GetGroup(ctx, g.ID)
	wantErr(t, "GetGroup deleted", err, store.ErrNotFound)
	wantErr(t, "DeleteGroup twice", s.DeleteGroup(ctx, g.ID), store.ErrNotFound)
}

func testDeviceCodes(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	d := &store.DeviceCode{ID: newID(), DeviceDigest: digest(), UserDigest: digest(), ClientID: "latchkey-cli",
		Status: store.DevicePending, CreatedAt: base, ExpiresAt: base.Add(10 * time.Minute), Interval: 5 * time.Second}
	noErr(t, "CreateDeviceCode", s.CreateDeviceCode(ctx, d))
	want := &store.DeviceCode{ID: d.ID, DeviceDigest: d.DeviceDigest, UserDigest: d.UserDigest, ClientID: "latchkey-cli",
		Status: store.DevicePending, CreatedAt: micro(base), ExpiresAt: micro(base.Add(10 * time.Minute)), Interval: 5 * time.Second}
	got, err := s.GetDeviceCodeByDigest(ctx, d.DeviceDigest)
	noErr(t, "GetDeviceCodeByDigest", err)
	equal(t, "GetDeviceCodeByDigest", want, got)
	got, err = s.GetDeviceCodeByUserCode(ctx, d.UserDigest)
	noErr(t, "GetDeviceCodeByUserCode", err)
	equal(t, "GetDeviceCodeByUserCode", want, got)
	_, err = s.GetDeviceCodeByUserCode(ctx, d.DeviceDigest)
	wantErr(t, "a device code is no user code", err, store.ErrNotFound)

	dup := *d
	dup.ID = newID()
	wantErr(t, "taken digest", s.CreateDeviceCode(ctx, &dup), store.ErrConflict)

	polled := base.Add(time.Minute)
	got, err = s.UpdateDeviceCode(ctx, d.ID, func(x *store.DeviceCode) error {
		x.Status, x.UserID, x.Interval, x.LastPolledAt = store.DeviceApproved, u.ID, 10*time.Second, &polled
		return nil
	})
	noErr(t, "UpdateDeviceCode", err)
	if got.Status != store.DeviceApproved || got.UserID != u.ID || got.Interval != 10*time.Second || !got.LastPolledAt.Equal(micro(polled)) {
		t.Fatalf("UpdateDeviceCode = %+v", got)
	}
	n, err := s.DeleteExpiredDeviceCodes(ctx, micro(base.Add(10*time.Minute)))
	noErr(t, "DeleteExpiredDeviceCodes", err)
	if n != 0 {
		t.Fatalf("deleted %d codes expiring exactly at the cut-off, want 0", n)
	}
	n, err = s.DeleteExpiredDeviceCodes(ctx, base.Add(11*time.Minute))
	noErr(t, "DeleteExpiredDeviceCodes", err)
	if n != 1 {
		t.Fatalf("deleted %d expired codes, want 1", n)
	}
}

// testDeviceCodeRequester pins what the approval page shows about who asked
// for a code: stored as given (any text a User-Agent may carry, HTML
// included, escaping is the page's job), read back by either digest, and
// never rewritten by an update.
func testDeviceCodeRequester(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	agent := `curl/8.5 <script>alert("x")</script> — ünïcode`
	d := &store.DeviceCode{ID: newID(), DeviceDigest: digest(), UserDigest: digest(), ClientID: "latchkey-cli",
		Status: store.DevicePending, CreatedAt: base, ExpiresAt: base.Add(10 * time.Minute), Interval: 5 * time.Second,
		RequesterIP: "2001:db8::7", RequesterAgent: agent}
	noErr(t, "CreateDeviceCode", s.CreateDeviceCode(ctx, d))
	for name, get := range map[string]func() (*store.DeviceCode, error){
		"GetDeviceCodeByDigest":   func() (*store.DeviceCode, error) { return s.GetDeviceCodeByDigest(ctx, d.DeviceDigest) },
		"GetDeviceCodeByUserCode": func() (*store.DeviceCode, error) { return s.GetDeviceCodeByUserCode(ctx, d.UserDigest) },
	} {
		got, err := get()
		noErr(t, name, err)
		if got.RequesterIP != "2001:db8::7" || got.RequesterAgent != agent || got.ClientID != "latchkey-cli" || !got.CreatedAt.Equal(micro(base)) {
			t.Fatalf("%s: requester %q %q, client %q, created %v", name, got.RequesterIP, got.RequesterAgent, got.ClientID, got.CreatedAt)
		}
	}
	got, err := s.UpdateDeviceCode(ctx, d.ID, func(x *store.DeviceCode) error {
		x.Status, x.UserID = store.DeviceApproved, u.ID
		x.RequesterIP, x.RequesterAgent = "198.51.100.1", "rewritten" // not a field an update writes
		return nil
	})
	noErr(t, "UpdateDeviceCode", err)
	if got.Status != store.DeviceApproved || got.RequesterIP != "2001:db8::7" || got.RequesterAgent != agent {
		t.Fatalf("UpdateDeviceCode = status %q, requester %q %q; want approved, requester unchanged", got.Status, got.RequesterIP, got.RequesterAgent)
	}

	// A code stored without a requester (created before the columns
	// existed) reads back with empty ones.
	old := &store.DeviceCode{ID: newID(), DeviceDigest: digest(), UserDigest: digest(), ClientID: "latchkey-cli",
		Status: store.DevicePending, CreatedAt: base, ExpiresAt: base.Add(10 * time.Minute), Interval: 5 * time.Second}
	noErr(t, "CreateDeviceCode without requester", s.CreateDeviceCode(ctx, old))
	got, err = s.GetDeviceCodeByUserCode(ctx, old.UserDigest)
	noErr(t, "GetDeviceCodeByUserCode", err)
	if got.RequesterIP != "" || got.RequesterAgent != "" {
		t.Fatalf("a code without requester reads back %q %q", got.RequesterIP, got.RequesterAgent)
	}
}
