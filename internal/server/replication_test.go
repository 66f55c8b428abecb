package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/testenv"
)

// TestAChangeOnOneReplicaReachesTheOthersCache runs two replicas on one
// PostgreSQL schema with a cache TTL far longer than the test: only the
// invalidation feed can make replica B refuse what replica A revoked.
func TestAChangeOnOneReplicaReachesTheOthersCache(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	shared := servertest.NewPostgresSchema(t, dsn)
	a := servertest.StartReplica(t, shared, "--cache-ttl=1h", "--signing-key-secret=replication-test-secret")
	b := servertest.StartReplica(t, shared, "--cache-ttl=1h", "--signing-key-secret=replication-test-secret")

	admin := a.AdminSession(t)
	revoked := a.CreateToken(t, admin, map[string]any{"name": "revoked", "scopes": []string{"repo:read"}})
	a.CreateUser(t, admin, "suspendee", "suspendee-password", "member", "person")
	member := a.Login(t, "suspendee", "suspendee-password")
	suspended := a.CreateToken(t, member, map[string]any{"name": "theirs", "scopes": []string{"repo:read"}})
	descoped := a.CreateToken(t, admin, map[string]any{"name": "descoped", "scopes": []string{"repo:read", "tokens"}})

	// Replica B verifies (and caches) all three.
	for _, secret := range []string{revoked.Secret, suspended.Secret, descoped.Secret} {
		b.JSON(t, http.MethodGet, "/api/v1/me", secret, nil, http.StatusOK, nil)
	}

	// Changes made on replica A...
	a.JSON(t, http.MethodDelete, "/api/v1/tokens/"+revoked.ID(), admin, nil, http.StatusNoContent, nil)
	a.JSON(t, http.MethodPatch, "/api/v1/users/suspendee", admin, map[string]any{"suspended": true}, http.StatusOK, nil)
	a.JSON(t, http.MethodPatch, "/api/v1/tokens/"+descoped.ID(), admin, map[string]any{"scopes": []string{"repo:read"}}, http.StatusOK, nil)

	// ...are seen by replica B long before its cache entries expire.
	eventually(t, "revoked token refused on B", func() bool {
		st, _, _ := b.Do(t, http.MethodGet, "/api/v1/me", revoked.Secret, nil)
		return st == http.StatusUnauthorized
	})
	eventually(t, "suspended owner's token refused on B", func() bool {
		st, _, _ := b.Do(t, http.MethodGet, "/api/v1/me", suspended.Secret, nil)
		return st == http.StatusUnauthorized
	})
	eventually(t, "descoped token loses tokens on B", func() bool {
		st, _, _ := b.Do(t, http.MethodGet, "/api/v1/tokens", descoped.Secret, nil)
		return st == http.StatusForbidden
	})
}

// eventually polls cond for up to 10 seconds: far below the 1h cache TTL,
// so it can only pass through the invalidation feed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBackgroundJobsRunOnOneReplicaAtATime(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	shared := servertest.NewPostgresSchema(t, dsn)
	a := servertest.StartReplica(t, shared)
	b := servertest.StartReplica(t, shared)
	ctx := t.Context()

	// While replica A holds the jobs lock, replica B skips its run...
	release, ok, err := a.App.Store.(store.Locker).TryLock(ctx, "latchkey_jobs")
	if err != nil || !ok {
		t.Fatalf("take the jobs lock on A: ok=%v err=%v", ok, err)
	}
	if b.App.RunJobs(ctx) {
		t.Fatal("replica B ran the background jobs while A held the lock")
	}
	// ...and runs once A lets go.
	release()
	if !b.App.RunJobs(ctx) {
		t.Fatal("replica B did not run the background jobs after A released the lock")
	}
	// A run gives the lock back when it ends.
	if !a.App.RunJobs(ctx) {
		t.Fatal("replica A could not run the jobs after B's run ended")
	}
}

// TestAPolicyChangeIsAnnouncedToTheOtherReplicas changes the policy on
// replica A: replica B is told over the invalidation feed (its policy
// version moves, which makes verification re-read the policy on the next
// request) rather than finding out when its copy ages out, and B then
// enforces the new maximum lifetime.
func TestAPolicyChangeIsAnnouncedToTheOtherReplicas(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	shared := servertest.NewPostgresSchema(t, dsn)
	a := servertest.StartReplica(t, shared, "--signing-key-secret=replication-test-secret")
	b := servertest.StartReplica(t, shared, "--signing-key-secret=replication-test-secret")
	admin := a.AdminSession(t)
	before := b.App.Services.Policies.Version()
	a.JSON(t, http.MethodPut, "/api/v1/policy", admin, map[string]any{"max_lifetime": "720h"}, http.StatusOK, nil)
	eventually(t, "B hears of the policy change", func() bool { return b.App.Services.Policies.Version() > before })
	st, body, _ := b.Do(t, http.MethodPost, "/api/v1/tokens", admin, map[string]any{"name": "too-long", "expires_in": "2000h"})
	if st != http.StatusUnprocessableEntity {
		t.Errorf("B created a token beyond the new maximum: %d %s", st, body)
	}
}
