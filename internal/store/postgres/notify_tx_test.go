package postgres_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store/postgres"
	"github.com/latchkey/latchkey/internal/testenv"
)

// TestAPublishInATransactionGoesOutWithItsCommit publishes a cache
// invalidation inside the transaction of a revocation (Atomically), as
// the services do: another replica must hear it exactly when the
// revocation commits. It must not hear one whose transaction rolled back
// (the revocation did not happen), nor hear it before the commit (it
// would drop its cache, then cache the still-live token again); and once
// committed, the notification no longer depends on the process that
// made the change living on to send it.
func TestAPublishInATransactionGoesOutWithItsCommit(t *testing.T) {
	dsn := os.Getenv(postgres.TestDSNEnv)
	if dsn == "" {
		testenv.Missing(t, "%s is not set", postgres.TestDSNEnv)
		return
	}
	ctx := context.Background()
	schemaDSN := postgres.NewTestSchema(t, dsn)
	writer, err := postgres.Open(ctx, schemaDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	replica, err := postgres.Open(ctx, schemaDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close()

	var mu sync.Mutex
	var got []string
	received := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := replica.Subscribe(sctx, "tx", func(p string) {
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}

	refused := errors.New("the audit event could not be stored")
	err = writer.Atomically(ctx, func(ctx context.Context) error {
		if err := writer.Publish(ctx, "tx", "rolled back"); err != nil {
			return err
		}
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("Atomically = %v; want %v", err, refused)
	}
	err = writer.Atomically(ctx, func(tctx context.Context) error {
		if err := writer.Publish(tctx, "tx", "committed"); err != nil {
			return err
		}
		// Sent outside the transaction, while it is still open: it
		// goes out at once, so it must arrive first.
		return writer.Publish(ctx, "tx", "sent before the commit")
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := writer.Publish(ctx, "tx", "after"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the notification sent last", func() bool { return slices.Contains(received(), "after") })
	want := []string{"sent before the commit", "committed", "after"}
	if g := received(); !slices.Equal(g, want) {
		t.Errorf("the replica heard %q; want %q", g, want)
	}
}
