package auth_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
)

// failingWriter is the real store, whose usage writes fail while down is
// set (the database unreachable, the disk full).
type failingWriter struct {
	auth.UsageWriter
	down   atomic.Bool
	failed atomic.Int64
}

func (w *failingWriter) RecordTokenUse(ctx context.Context, uses []store.TokenUse) error {
	if w.down.Load() {
		w.failed.Add(1)
		return errors.New("database is unreachable")
	}
	return w.UsageWriter.RecordTokenUse(ctx, uses)
}

// retryFixture is a cached verifier whose usage goes through a failing
// writer over the fixture's real store.
func retryFixture(t *testing.T) (*fixture, *failingWriter, *auth.Usage, auth.Verifier) {
	f := newFixture(t, true)
	w := &failingWriter{UsageWriter: f.st}
	usage := auth.NewUsage(w, 5*time.Second, nil)
	v := auth.NewChecker(f.cache, auth.Options{Prefix: "lk", Catalog: f.cat, Policy: f.svc.Policies, Usage: usage, Now: f.clock.Now})
	return f, w, usage, v
}

func written(t *testing.T, f *fixture, id string) int64 {
	t.Helper()
	days, err := f.st.TokenUsage(f.ctx, id, f.clock.Now().Add(-48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, d := range days {
		n += d.Count
	}
	return n
}

func TestUsageThatFailsToFlushIsKeptAndWrittenWhenTheDatabaseIsBack(t *testing.T) {
	f, w, usage, v := retryFixture(t)
	a := f.create(f.member, "a", "repo")
	b := f.create(f.member, "b", "repo")
	use := func(secret, ip string) {
		t.Helper()
		if _, err := v.Verify(f.ctx, secret, auth.Request{IP: ip, Agent: "ci"}); err != nil {
			t.Fatal(err)
		}
	}
	use(a.Secret, "192.0.2.1")
	usage.Flush(f.ctx) // a's first use is written
	w.down.Store(true)
	use(a.Secret, "192.0.2.1")
	use(a.Secret, "192.0.2.99") // a new address: an audit event rides with the use
	use(b.Secret, "192.0.2.2")
	usage.Flush(f.ctx)
	f.clock.Advance(time.Second)
	use(b.Secret, "192.0.2.2")
	usage.Flush(f.ctx)
	if w.failed.Load() == 0 {
		t.Fatal("the writer was never asked while down")
	}
	if n := written(t, f, b.Token.ID); n != 0 {
		t.Fatalf("%d uses of b written while the database was down", n)
	}
	if usage.Waiting() != 2 {
		t.Fatalf("%d tokens wait for a retry, want 2", usage.Waiting())
	}
	w.down.Store(false)
	usage.Flush(f.ctx) // the kept uses first
	if usage.Waiting() != 0 {
		t.Fatalf("%d tokens still wait after a successful flush", usage.Waiting())
	}
	if n := written(t, f, b.Token.ID); n < 1 {
		t.Fatal("b's kept use was not written when the database came back")
	}
	usage.Close(f.ctx) // and everything else
	if n := written(t, f, a.Token.ID); n != 3 {
		t.Fatalf("a: %d uses written after the database came back, want 3", n)
	}
	if n := written(t, f, b.Token.ID); n != 2 {
		t.Fatalf("b: %d uses written after the database came back, want 2", n)
	}
	got, err := f.st.GetToken(f.ctx, b.Token.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(f.clock.Now()) {
		t.Fatalf("b's last use %v, want the latest use %v", got.LastUsedAt, f.clock.Now())
	}
	events, err := f.st.ListAudit(f.ctx, store.AuditFilter{Action: "token.new_ip", TargetID: a.Token.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].IP != "192.0.2.99" {
		t.Fatalf("new-address events after the retry: %+v, want one for 192.0.2.99", events)
	}
}

func TestCloseRetriesTheLastFlushUntilItIsWritten(t *testing.T) {
	f, w, usage, v := retryFixture(t)
	a := f.create(f.member, "a", "repo")
	w.down.Store(true)
	for range 4 {
		if _, err := v.Verify(f.ctx, a.Secret, auth.Request{IP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
	}
	go func() {
		time.Sleep(600 * time.Millisecond)
		w.down.Store(false)
	}()
	ctx, cancel := context.WithTimeout(f.ctx, 20*time.Second)
	defer cancel()
	usage.Close(ctx)
	if n := written(t, f, a.Token.ID); n != 4 {
		t.Fatalf("%d uses written by Close, want 4", n)
	}
	if w.failed.Load() < 2 {
		t.Fatalf("Close tried %d times while the database was down, want at least 2 (a retry)", w.failed.Load())
	}
}

func TestCloseGivesUpWhenItsContextEnds(t *testing.T) {
	f, w, usage, v := retryFixture(t)
	a := f.create(f.member, "a", "repo")
	w.down.Store(true)
	if _, err := v.Verify(f.ctx, a.Secret, auth.Request{IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(f.ctx, 700*time.Millisecond)
	defer cancel()
	done := make(chan struct{})
	go func() { usage.Close(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("Close did not return after its context ended")
	}
	if usage.Waiting() != 1 {
		t.Fatalf("%d tokens waiting after Close gave up, want 1 (kept, and said lost)", usage.Waiting())
	}
}

func TestTokensWaitingForARetryAreBounded(t *testing.T) {
	f, w, usage, v := retryFixture(t)
	usage.SetLimit(2)
	w.down.Store(true)
	var ids []string
	for _, name := range []string{"a", "b"} {
		it := f.create(f.member, name, "repo")
		ids = append(ids, it.Token.ID)
		if _, err := v.Verify(f.ctx, it.Secret, auth.Request{IP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
	}
	usage.Flush(f.ctx)
	c := f.create(f.member, "c", "repo")
	if _, err := v.Verify(f.ctx, c.Secret, auth.Request{IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	usage.Flush(f.ctx)
	if usage.Waiting() != 2 {
		t.Fatalf("%d tokens wait with a limit of 2", usage.Waiting())
	}
	w.down.Store(false)
	usage.Flush(f.ctx)
	for _, id := range ids {
		if n := written(t, f, id); n != 1 {
			t.Fatalf("token %s: %d uses written, want the 1 kept", id, n)
		}
	}
}
