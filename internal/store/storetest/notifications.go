package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func notificationTests() []test {
	return []test{
		{"NotificationIsClaimedOncePerTokenKindAndExpiry", testClaimNotification},
		{"ReleasedNotificationCanBeClaimedAgain", testReleaseNotification},
		{"NotificationForAMissingTokenIsNotFound", testClaimMissingToken},
		{"DeleteNotificationsBeforeForgetsPastExpiries", testDeleteNotifications},
		{"ConcurrentClaimsHaveOneWinner", testConcurrentClaims},
	}
}

func claim(t *testing.T, s store.Store, tokenID, kind string, at time.Time) bool {
	t.Helper()
	ok, err := s.ClaimNotification(t.Context(), tokenID, kind, at)
	noErr(t, "ClaimNotification", err)
	return ok
}

func testClaimNotification(t *testing.T, s store.Store) {
	u := mustUser(t, s, "alice")
	tk := mustToken(t, s, u.ID, "ci")
	other := mustToken(t, s, u.ID, "deploy")
	exp := *tk.ExpiresAt
	if !claim(t, s, tk.ID, "token.expiring", exp) {
		t.Fatal("first claim: got false, want true")
	}
	// The same instant in another zone, with nanoseconds the store drops,
	// is the same claim.
	same := exp.In(time.UTC).Truncate(time.Microsecond).Add(999 * time.Nanosecond)
	if claim(t, s, tk.ID, "token.expiring", same) {
		t.Fatal("second claim of the same notice: got true, want false")
	}
	for _, c := range []struct {
		what, id, kind string
		at             time.Time
	}{
		{"another kind", tk.ID, "token.expired", exp},
		{"another expiry (regenerated)", tk.ID, "token.expiring", exp.Add(30 * 24 * time.Hour)},
		{"another token", other.ID, "token.expiring", exp},
	} {
		if !claim(t, s, c.id, c.kind, c.at) {
			t.Fatalf("claim for %s: got false, want true", c.what)
		}
	}
}

func testReleaseNotification(t *testing.T, s store.Store) {
	u := mustUser(t, s, "bob")
	tk := mustToken(t, s, u.ID, "ci")
	exp := *tk.ExpiresAt
	noErr(t, "ReleaseNotification of nothing", s.ReleaseNotification(t.Context(), tk.ID, "token.expiring", exp))
	claim(t, s, tk.ID, "token.expiring", exp)
	claim(t, s, tk.ID, "token.expired", exp)
	noErr(t, "ReleaseNotification", s.ReleaseNotification(t.Context(), tk.ID, "token.expiring", exp))
	if !claim(t, s, tk.ID, "token.expiring", exp) {
		t.Fatal("claim after release: got false, want true")
	}
	if claim(t, s, tk.ID, "token.expired", exp) {
		t.Fatal("a release dropped another kind's claim")
	}
}

func testClaimMissingToken(t *testing.T, s store.Store) {
	_, err := s.ClaimNotification(t.Context(), newID(), "token.expiring", base)
	wantErr(t, "ClaimNotification for a missing token", err, store.ErrNotFound)
}

func testDeleteNotifications(t *testing.T, s store.Store) {
	u := mustUser(t, s, "carol")
	tk := mustToken(t, s, u.ID, "ci")
	old, edge, recent := base.Add(-48*time.Hour), micro(base.Add(-time.Hour)), base
	for _, at := range []time.Time{old, edge, recent} {
		claim(t, s, tk.ID, "token.expired", at)
	}
	n, err := s.DeleteNotificationsBefore(t.Context(), edge)
	noErr(t, "DeleteNotificationsBefore", err)
	if n != 1 {
		t.Fatalf("DeleteNotificationsBefore deleted %d claims, want 1", n)
	}
	if !claim(t, s, tk.ID, "token.expired", old) {
		t.Fatal("a deleted claim is still there")
	}
	for _, at := range []time.Time{edge, recent} {
		if claim(t, s, tk.ID, "token.expired", at) {
			t.Fatalf("the claim about %s was deleted; only those before %s should be", at, edge)
		}
	}
}

func testConcurrentClaims(t *testing.T, s store.Store) {
	u := mustUser(t, s, "dave")
	tk := mustToken(t, s, u.ID, "ci")
	const n = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
		errs []error
	)
	for range n {
		wg.Go(func() {
			ok, err := s.ClaimNotification(t.Context(), tk.ID, "token.expiring", *tk.ExpiresAt)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				wins++
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("concurrent claims failed: %v", errs)
	}
	if wins != 1 {
		t.Fatalf("%d of %d concurrent claims won, want exactly 1", wins, n)
	}
}
