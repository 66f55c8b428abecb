package server_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestRevocationsAroundADatabaseRestartReachEveryReplica runs three
// replicas on a private PostgreSQL cluster with a cache TTL far longer than
// the test, caches a set of tokens on every replica, then stops and
// restarts the database while replica A keeps revoking tokens. Every
// revocation A acknowledged (during the outage none can be; right after,
// all can) is refused on B and C well before any cache entry expires: the
// replicas drop their caches when their notification feed reconnects. While
// the database is down, cached tokens keep verifying and writes answer 503.
func TestRevocationsAroundADatabaseRestartReachEveryReplica(t *testing.T) {
	cluster := servertest.PrivatePostgres(t)
	dsn := servertest.NewPostgresSchema(t, cluster.DSN)
	args := []string{"--cache-ttl=1h", "--signing-key-secret=restart-test-secret"}
	a := servertest.StartReplica(t, dsn, args...)
	others := []*servertest.Server{servertest.StartReplica(t, dsn, args...), servertest.StartReplica(t, dsn, args...)}

	admin := a.AdminSession(t)
	const n = 40
	tokens := make([]servertest.CreatedToken, n)
	for i := range tokens {
		tokens[i] = a.CreateToken(t, admin, map[string]any{"name": "t" + string(rune('A'+i)), "scopes": []string{"repo:read"}})
		for _, s := range others {
			s.JSON(t, http.MethodGet, "/api/v1/me", tokens[i].Secret, nil, http.StatusOK, nil)
		}
	}
	kept := a.CreateToken(t, admin, map[string]any{"name": "kept", "scopes": []string{"repo:read"}})
	for _, s := range append(others, a) {
		s.JSON(t, http.MethodGet, "/api/v1/me", kept.Secret, nil, http.StatusOK, nil)
	}

	// A revokes the tokens with several workers, each retrying its token
	// through the outage until it is acknowledged: right after the restart
	// many commit at once, some before the other replicas' feeds are back.
	ctx := context.Background()
	var mu sync.Mutex
	var revoked []int
	var refusedWhileDown []int
	work := make(chan int, n)
	for i := range tokens {
		work <- i
	}
	close(work)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				for {
					st, body, h := a.Do(t, http.MethodDelete, "/api/v1/tokens/"+tokens[i].ID(), admin, nil)
					if st == http.StatusNoContent {
						mu.Lock()
						revoked = append(revoked, i)
						mu.Unlock()
						break
					}
					if st != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
						t.Errorf("revoke during the outage: %d %s (Retry-After %q); want 204, or 503 with Retry-After", st, body, h.Get("Retry-After"))
						return
					}
					mu.Lock()
					refusedWhileDown = append(refusedWhileDown, st)
					mu.Unlock()
					time.Sleep(10 * time.Millisecond)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	time.Sleep(200 * time.Millisecond)
	if err := cluster.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// While the database is down, a cached token still verifies everywhere.
	for _, s := range append(others, a) {
		if st, body, _ := s.Do(t, http.MethodGet, "/api/v1/me", kept.Secret, nil); st != http.StatusOK {
			t.Errorf("cached token on a replica while the database is down: %d %s; want 200", st, body)
		}
	}
	for _, s := range others {
		if st, body, h := s.Do(t, http.MethodGet, "/readyz", "", nil); st != http.StatusServiceUnavailable ||
			!strings.Contains(string(body), "the database is unreachable") || h.Get("Retry-After") == "" {
			t.Errorf("/readyz while the database is down: %d %q; want 503 saying the database is unreachable", st, body)
		}
	}
	time.Sleep(time.Second)
	if err := cluster.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	<-done

	mu.Lock()
	defer mu.Unlock()
	if len(refusedWhileDown) == 0 {
		t.Errorf("no revocation was attempted while the database was down; the test did not cover the outage")
	}
	if len(revoked) != n {
		t.Fatalf("%d of %d revocations acknowledged", len(revoked), n)
	}
	for _, i := range revoked {
		for j, s := range others {
			eventually(t, "revoked token refused on replica "+string(rune('B'+j)), func() bool {
				st, _, _ := s.Do(t, http.MethodGet, "/api/v1/me", tokens[i].Secret, nil)
				return st == http.StatusUnauthorized
			})
		}
	}
	// The token nobody revoked still works everywhere (once the failure
	// limiter, which counted the polls' 401s, lets this address in again).
	for _, s := range append(others, a) {
		eventually(t, "kept token accepted", func() bool {
			st, _, _ := s.Do(t, http.MethodGet, "/api/v1/me", kept.Secret, nil)
			return st == http.StatusOK
		})
	}
}
