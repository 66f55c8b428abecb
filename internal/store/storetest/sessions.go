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
