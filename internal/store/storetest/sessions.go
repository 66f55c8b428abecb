package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func sessionTests() []test {
	return []test{
		{"SessionRoundTripsAndUpdates", testSessions},
		{"DeleteExpiredSessionsRemovesExpiredAndRevoked", testDeleteExpiredSessions},
		{"ListSessionsShowsLiveSessionsNewestFirst", testListSessions},
		{"RevokeSessionEndsTheSessionsItMinted", testRevokeSessionTree},
		{"RevokeUserSessionsKeepsOne", testRevokeUserSessions},
	}
}

func newSession(userID string, expires time.Time) *store.Session {
	return &store.Session{
		ID: newID(), UserID: userID, Digest: digest(), CreatedAt: base, ExpiresAt: expires,
		LastSeenAt: base.Add(time.Second + 1), IP: "192.0.2.10", Agent: "Firefox",
	}
}

func wantSession(ss store.Session) *store.Session {
	ss.CreatedAt, ss.ExpiresAt, ss.LastSeenAt = micro(ss.CreatedAt), micro(ss.ExpiresAt), micro(ss.LastSeenAt)
	ss.RevokedAt = microPtr(ss.RevokedAt)
	return &ss
}

func testSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	ss := newSession(u.ID, base.Add(24*time.Hour+5))
	want := wantSession(*ss)
	noErr(t, "CreateSession", s.CreateSession(ctx, ss))
	equal(t, "CreateSession normalises its argument", want, ss)
	got, err := s.GetSessionByDigest(ctx, ss.Digest)
	noErr(t, "GetSessionByDigest", err)
	equal(t, "GetSessionByDigest", want, got)

	dup := newSession(u.ID, base)
	dup.Digest = ss.Digest
	wantErr(t, "CreateSession with a taken digest", s.CreateSession(ctx, dup), store.ErrConflict)
	dup = newSession(u.ID, base)
	dup.ID = ss.ID
	wantErr(t, "CreateSession with a taken ID", s.CreateSession(ctx, dup), store.ErrConflict)
	wantErr(t, "CreateSession for an unknown user", s.CreateSession(ctx, newSession(newID(), base)), store.ErrNotFound)
	_, err = s.GetSessionByDigest(ctx, digest())
	wantErr(t, "GetSessionByDigest unknown", err, store.ErrNotFound)

	// Sliding refresh, then revocation; both still readable by digest.
	seen := base.Add(time.Hour + 9)
	got, err = s.UpdateSession(ctx, ss.ID, func(x *store.Session) error {
		equal(t, "updater sees the stored session", want, x)
		x.LastSeenAt, x.ExpiresAt, x.IP, x.Agent = seen, seen.Add(24*time.Hour), "192.0.2.11", "Chrome"
		x.ID, x.UserID, x.CreatedAt = newID(), newID(), seen // identity is not mutable
		return nil
	})
	noErr(t, "UpdateSession", err)
	want.LastSeenAt, want.ExpiresAt, want.IP, want.Agent = micro(seen), micro(seen.Add(24*time.Hour)), "192.0.2.11", "Chrome"
	equal(t, "UpdateSession result", want, got)
	got, err = s.UpdateSession(ctx, ss.ID, func(x *store.Session) error { x.RevokedAt = &seen; return nil })
	noErr(t, "UpdateSession revoke", err)
	want.RevokedAt = ptr(micro(seen))
	equal(t, "revoked session", want, got)
	got, err = s.GetSessionByDigest(ctx, ss.Digest)
	noErr(t, "GetSessionByDigest of a revoked session", err)
	equal(t, "GetSessionByDigest of a revoked session", want, got)

	sentinel := errors.New("no")
	if _, err := s.UpdateSession(ctx, ss.ID, func(*store.Session) error { return sentinel }); err != sentinel {
		t.Fatalf("UpdateSession with failing updater: got %v, want the updater's error unchanged", err)
	}
	_, err = s.UpdateSession(ctx, newID(), func(*store.Session) error { return nil })
	wantErr(t, "UpdateSession of an unknown session", err, store.ErrNotFound)
}

func testDeleteExpiredSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	cut := base.Add(time.Hour)
	mk := func(expires time.Time, revoked *time.Time) *store.Session {
		ss := newSession(u.ID, expires)
		ss.RevokedAt = revoked
		noErr(t, "CreateSession", s.CreateSession(ctx, ss))
		return ss
	}
	gone := []*store.Session{
		mk(cut.Add(-time.Minute), nil),                          // expired
		mk(cut.Add(time.Hour), ptr(cut.Add(-time.Second))),      // revoked before
		mk(cut.Add(-time.Hour), ptr(cut.Add(time.Minute))),      // expired, revoked after
		mk(micro(cut).Add(-time.Microsecond).In(time.UTC), nil), // expired 1µs before
	}
	kept := []*store.Session{
		mk(cut.Add(time.Minute), nil),                     // live
		mk(micro(cut), nil),                               // expires exactly at the cut
		mk(cut.Add(time.Hour), ptr(cut.Add(time.Second))), // revoked after the cut
	}
	n, err := s.DeleteExpiredSessions(ctx, micro(cut))
	noErr(t, "DeleteExpiredSessions", err)
	if n != len(gone) {
		t.Fatalf("DeleteExpiredSessions = %d, want %d", n, len(gone))
	}
	for _, ss := range gone {
		_, err := s.GetSessionByDigest(ctx, ss.Digest)
		wantErr(t, "deleted session", err, store.ErrNotFound)
	}
	for _, ss := range kept {
		_, err := s.GetSessionByDigest(ctx, ss.Digest)
		noErr(t, "kept session", err)
	}
	n, err = s.DeleteExpiredSessions(ctx, micro(cut))
	noErr(t, "DeleteExpiredSessions again", err)
	if n != 0 {
		t.Fatalf("DeleteExpiredSessions again = %d, want 0", n)
	}
	// before is an instant: a nanosecond after the cut, the session that
	// expires exactly at the cut has expired before it.
	n, err = s.DeleteExpiredSessions(ctx, micro(cut).Add(time.Nanosecond))
	noErr(t, "DeleteExpiredSessions a nanosecond later", err)
	if n != 1 {
		t.Fatalf("DeleteExpiredSessions a nanosecond later = %d, want 1", n)
	}
}

func testListSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	other := mustUser(t, s, "bob")
	var ids []string
	for range 3 {
		ss := newSession(u.ID, base.Add(24*time.Hour))
		noErr(t, "CreateSession", s.CreateSession(ctx, ss))
		ids = append(ids, ss.ID)
	}
	expired := newSession(u.ID, base.Add(time.Minute))
	noErr(t, "CreateSession", s.CreateSession(ctx, expired))
	revoked := newSession(u.ID, base.Add(24*time.Hour))
	revoked.RevokedAt = ptr(base)
	noErr(t, "CreateSession", s.CreateSession(ctx, revoked))
	noErr(t, "CreateSession", s.CreateSession(ctx, newSession(other.ID, base.Add(24*time.Hour))))
	got, err := s.ListSessions(ctx, store.SessionFilter{UserID: u.ID, Now: base.Add(time.Hour)})
	noErr(t, "ListSessions", err)
	if len(got) != 3 || got[0].ID != ids[2] || got[2].ID != ids[0] {
		t.Fatalf("ListSessions = %d sessions, want the 3 live ones newest first", len(got))
	}
	page, err := s.ListSessions(ctx, store.SessionFilter{UserID: u.ID, Now: base.Add(time.Hour), Cursor: ids[2], Limit: 1})
	noErr(t, "ListSessions page", err)
	if len(page) != 1 || page[0].ID != ids[1] {
		t.Fatalf("second page = %+v, want the middle session", page)
	}
	one, err := s.GetSession(ctx, revoked.ID)
	noErr(t, "GetSession", err)
	equal(t, "GetSession of a revoked session", wantSession(*revoked), one)
	_, err = s.GetSession(ctx, newID())
	wantErr(t, "GetSession unknown", err, store.ErrNotFound)
}

func testRevokeSessionTree(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	root := newSession(u.ID, base.Add(24*time.Hour))
	child := newSession(u.ID, base.Add(24*time.Hour))
	child.ParentID = root.ID
	grandchild := newSession(u.ID, base.Add(24*time.Hour))
	grandchild.ParentID = child.ID
	sibling := newSession(u.ID, base.Add(24*time.Hour))
	for _, ss := range []*store.Session{root, child, grandchild, sibling} {
		noErr(t, "CreateSession", s.CreateSession(ctx, ss))
	}
	got, err := s.GetSessionByDigest(ctx, child.Digest)
	noErr(t, "GetSessionByDigest", err)
	if got.ParentID != root.ID {
		t.Fatalf("ParentID = %q, want %q", got.ParentID, root.ID)
	}
	at := base.Add(time.Hour + 7)
	ended, err := s.RevokeSession(ctx, root.ID, at)
	noErr(t, "RevokeSession", err)
	if len(ended) != 3 {
		t.Fatalf("RevokeSession ended %d sessions, want the root and its 2 descendants", len(ended))
	}
	for _, ss := range ended {
		if ss.RevokedAt == nil || !ss.RevokedAt.Equal(micro(at)) || len(ss.Digest) == 0 {
			t.Fatalf("ended session %+v lacks its revocation time or digest", ss)
		}
	}
	again, err := s.RevokeSession(ctx, root.ID, at.Add(time.Hour))
	noErr(t, "RevokeSession again", err)
	if len(again) != 0 {
		t.Fatalf("revoking again ended %d sessions", len(again))
	}
	left, err := s.ListSessions(ctx, store.SessionFilter{UserID: u.ID, Now: at})
	noErr(t, "ListSessions", err)
	if len(left) != 1 || left[0].ID != sibling.ID {
		t.Fatalf("after revoking the tree %d sessions are live, want only the sibling", len(left))
	}
}

func testRevokeUserSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	other := mustUser(t, s, "bob")
	keep := newSession(u.ID, base.Add(24*time.Hour))
	noErr(t, "CreateSession", s.CreateSession(ctx, keep))
	for range 2 {
		noErr(t, "CreateSession", s.CreateSession(ctx, newSession(u.ID, base.Add(24*time.Hour))))
	}
	bobs := newSession(other.ID, base.Add(24*time.Hour))
	noErr(t, "CreateSession", s.CreateSession(ctx, bobs))
	ended, err := s.RevokeUserSessions(ctx, u.ID, keep.ID, base.Add(time.Hour))
	noErr(t, "RevokeUserSessions", err)
	if len(ended) != 2 {
		t.Fatalf("RevokeUserSessions ended %d, want 2", len(ended))
	}
	live, err := s.ListSessions(ctx, store.SessionFilter{UserID: u.ID, Now: base.Add(time.Hour)})
	noErr(t, "ListSessions", err)
	if len(live) != 1 || live[0].ID != keep.ID {
		t.Fatalf("kept sessions: %d", len(live))
	}
	ended, err = s.RevokeUserSessions(ctx, u.ID, "", base.Add(time.Hour))
	noErr(t, "RevokeUserSessions all", err)
	if len(ended) != 1 || ended[0].ID != keep.ID {
		t.Fatalf("RevokeUserSessions without keep ended %d", len(ended))
	}
	if got, _ := s.GetSession(ctx, bobs.ID); got.RevokedAt != nil {
		t.Fatal("another user's session was revoked")
	}
}
