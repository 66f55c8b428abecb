package postgres_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/pgcluster"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/testenv"
)

// TestAStoppedDatabaseIsErrUnavailable stops a private cluster under an
// open store: reads, writes and pings fail with store.ErrUnavailable (which
// the HTTP layer answers 503), and work again once it is back.
func TestAStoppedDatabaseIsErrUnavailable(t *testing.T) {
	dir, err := os.MkdirTemp("", "latchkey-pg-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	c, err := pgcluster.Start(ctx, filepath.Join(dir, "cluster"))
	if errors.Is(err, pgcluster.ErrMissing) {
		testenv.Missing(t, "%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, err := postgres.Open(ctx, c.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	for name, call := range map[string]func() error{
		"ping":                func() error { return st.Ping(ctx) },
		"get token by digest": func() error { _, err := st.GetTokenByDigest(ctx, make([]byte, 32)); return err },
		"get user":            func() error { _, err := st.GetUser(ctx, "01a00000-0000-7000-8000-000000000001"); return err },
		"create user": func() error {
			return st.CreateUser(ctx, &store.User{ID: "01a00000-0000-7000-8000-000000000001", Username: "u", Role: store.RoleMember,
				Kind: store.KindService, LoginType: "none", CreatedAt: now, UpdatedAt: now})
		},
	} {
		start := time.Now()
		err := call()
		t.Logf("%s: %s: %v", name, time.Since(start), err)
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s with the database stopped: %v; want store.ErrUnavailable", name, err)
		}
	}
	if err := c.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for st.Ping(ctx) != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := st.GetUser(ctx, "01a00000-0000-7000-8000-000000000001"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get user after the restart: %v; want store.ErrNotFound", err)
	}
}
