package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/faulttest"
	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/testenv"
)

// TestAReplicaCutOffFromTheDatabaseSaysSo: replica B reaches PostgreSQL
// through a path that then goes away for good. B's log says its
// invalidation feed is lost (changes made on other replicas reach it only
// as cache entries expire); a token it has not verified before gets 503
// from /auth/verify with Retry-After and the storage's words, not a bare
// "unavailable"; a token it verified before keeps verifying
// (docs/operations.md: cached verification keeps answering).
func TestAReplicaCutOffFromTheDatabaseSaysSo(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	schema := servertest.NewPostgresSchema(t, dsn)
	u, err := url.Parse(schema)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := faulttest.NewProxy(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	u.Host = proxy.Addr()

	a := servertest.StartReplica(t, schema)
	b, bLog := servertest.StartReplicaLogged(t, u.String(), "--cache-ttl", "5m")
	owner := a.AdminSession(t)
	seen := a.CreateToken(t, owner, map[string]any{"name": "seen", "scopes": []string{"*"}})
	unseen := a.CreateToken(t, owner, map[string]any{"name": "unseen", "scopes": []string{"*"}})
	const git = "/auth/verify/acme/r.git/info/refs?service=git-upload-pack"
	if st, body, _ := b.Do(t, http.MethodGet, git, seen.Secret, nil); st != http.StatusOK {
		t.Fatalf("B before the fault: %d %s", st, body)
	}

	proxy.Close() // B's connections end, and no new one can be made
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(bLog.String(), "cache invalidation feed lost") {
		if time.Now().After(deadline) {
			t.Fatalf("B's log never said that its feed was lost:\n%s", bLog.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	st, body, h := b.Do(t, http.MethodGet, git, unseen.Secret, nil)
	if st != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(h.Get("X-Latchkey-Reason"), "unreachable") {
		t.Errorf("B's /auth/verify of a token it cannot read: %d, Retry-After %q, reason %q; want 503 with Retry-After and the storage's words: %s",
			st, h.Get("Retry-After"), h.Get("X-Latchkey-Reason"), body)
	}
	if st, body, _ := b.Do(t, http.MethodGet, git, seen.Secret, nil); st != http.StatusOK {
		t.Errorf("B's /auth/verify of a token it verified before the fault: %d %s; cached verification keeps answering", st, body)
	}
}
