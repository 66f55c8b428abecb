package service_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/store/sqlite"
)

// silentPolicyStore is the real store, except that once hang is set its
// GetPolicy waits, as over a silently dead network path, until its context
// ends; it counts the reads that waited.
type silentPolicyStore struct {
	store.Store
	hang   atomic.Bool
	waited atomic.Int32
}

func (s *silentPolicyStore) GetPolicy(ctx context.Context) (*store.Policy, error) {
	if s.hang.Load() {
		s.waited.Add(1)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.Store.GetPolicy(ctx)
}

// TestAPolicyReadTheDatabaseNeverAnswersHoldsNoVerification: every
// verification asks for the policy. When the policy in memory is due and
// the database stops answering without an error, the one caller that
// re-reads it gives up on its own (its request has no deadline), and
// everyone else meanwhile gets the policy last read instead of queueing
// behind that read.
func TestAPolicyReadTheDatabaseNeverAnswersHoldsNoVerification(t *testing.T) {
	real, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { real.Close() })
	st := &silentPolicyStore{Store: real}
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	svc := service.New(st, scope.DefaultCatalog(), service.Config{TokenPrefix: "lk"}, nil, clock, nil)
	if err := svc.Policies.Init(t.Context(), store.Policy{DefaultLifetime: 24 * time.Hour, MaxLifetime: 48 * time.Hour, Creation: service.CreationEveryone}, nil); err != nil {
		t.Fatal(err)
	}

	st.hang.Store(true)
	now.Add(int64(time.Minute)) // the policy in memory is due

	first := make(chan store.Policy)
	go func() { first <- svc.Policies.Current(context.Background()) }()
	for st.waited.Load() == 0 {
		time.Sleep(time.Millisecond) // until the first caller is in the read
	}
	// While that read waits, others are answered from memory.
	for range 5 {
		if got := svc.Policies.Current(context.Background()); got.MaxLifetime != 48*time.Hour {
			t.Fatalf("a caller behind the hanging read got max lifetime %v, want the last read 48h", got.MaxLifetime)
		}
	}
	if n := st.waited.Load(); n != 1 {
		t.Errorf("%d callers waited on the database; one re-read at a time is enough", n)
	}
	// The re-read gives up on its own and keeps the last policy.
	if got := <-first; got.MaxLifetime != 48*time.Hour {
		t.Errorf("after the re-read failed: max lifetime %v, want the last read 48h", got.MaxLifetime)
	}

	// A change announced by another replica during a read is not lost to
	// that read: the policy stays due and the next call reads it.
	st.hang.Store(false)
	if err := real.PutPolicy(t.Context(), &store.Policy{DefaultLifetime: time.Hour, MaxLifetime: 2 * time.Hour, Creation: service.CreationEveryone}); err != nil {
		t.Fatal(err)
	}
	svc.Policies.Reload()
	if got := svc.Policies.Current(t.Context()); got.MaxLifetime != 2*time.Hour {
		t.Errorf("after Reload: max lifetime %v, want the stored 2h", got.MaxLifetime)
	}
}
