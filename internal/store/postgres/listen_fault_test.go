package postgres_test

import (
	"context"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/faulttest"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/testenv"
)

// TestAListenerWhosePathSilentlyDiedResyncs subscribes over a path to the
// database that then goes silent: every connection open at that moment
// stops carrying bytes without being closed, as when a network drops a
// flow or a failover moves the database to another host and the old one
// vanishes, while new connections reach the database. Another replica
// then publishes (a revocation's invalidation). The subscriber must notice
// that its feed is dead and resync (the "" call that drops the replica's
// cache), instead of waiting on the dead connection for TCP keepalive's
// many minutes while every revocation made elsewhere goes unheard.
func TestAListenerWhosePathSilentlyDiedResyncs(t *testing.T) {
	dsn := os.Getenv(postgres.TestDSNEnv)
	if dsn == "" {
		testenv.Missing(t, "%s is not set", postgres.TestDSNEnv)
		return
	}
	ctx := context.Background()
	schemaDSN := postgres.NewTestSchema(t, dsn)
	u, err := url.Parse(schemaDSN)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := faulttest.NewProxy(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = proxy.Addr()

	direct, err := postgres.Open(ctx, schemaDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	viaProxy, err := postgres.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer viaProxy.Close()
	defer proxy.Close() // first: the frozen connections would hold the store's Close up

	var mu sync.Mutex
	var got []string
	received := func(want string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range got {
			if p == want {
				return true
			}
		}
		return false
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := viaProxy.Subscribe(sctx, "fault", func(p string) {
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if err := direct.Publish(ctx, "fault", "before"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the notification sent before the fault", func() bool { return received("before") })

	if n := proxy.Freeze(); n == 0 {
		t.Fatal("the proxy held no connection to freeze")
	}
	if err := direct.Publish(ctx, "fault", "revoked"); err != nil {
		t.Fatal(err)
	}
	// The promise is a second; a dead feed must be noticed within a few
	// heartbeats. Two minutes is far past any of them and far short of
	// TCP keepalive (pgx dials with a 5-minute keepalive).
	waitFor(t, 2*time.Minute, "a resync (or the notification) after the feed's path went silent", func() bool {
		return received("") || received("revoked")
	})
	mu.Lock()
	t.Logf("received %q", got)
	mu.Unlock()
	// Once resynced, the feed works over a new connection.
	if err := direct.Publish(ctx, "fault", "after"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the notification sent after the resync", func() bool { return received("after") })
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%s: after %s", what, time.Since(start).Round(time.Millisecond))
}
