package auth_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/store"
)

// refusingWriter is the real store, whose usage writes fail with err
// while it is set.
type refusingWriter struct {
	auth.UsageWriter
	mu  sync.Mutex
	err error
}

func (w *refusingWriter) set(err error) {
	w.mu.Lock()
	w.err = err
	w.mu.Unlock()
}

func (w *refusingWriter) RecordTokenUse(ctx context.Context, uses []store.TokenUse) error {
	w.mu.Lock()
	err := w.err
	w.mu.Unlock()
	if err != nil {
		return err
	}
	return w.UsageWriter.RecordTokenUse(ctx, uses)
}

// TestAFlushTheStorageRefusesIsToldToOnOutage: the usage flush runs in
// the background, where no request answers 503 for it. A flush, or a
// retry of one, that the storage refuses for a reason it explains (a
// database that accepts no writes) goes to the OnOutage function, which
// the server hands to readiness; a failure the storage does not explain
// (a bug) does not. The uses are kept for a retry either way, and written
// once writes work again.
func TestAFlushTheStorageRefusesIsToldToOnOutage(t *testing.T) {
	f := newFixture(t, true)
	w := &refusingWriter{UsageWriter: f.st}
	usage := auth.NewUsage(w, 5*time.Second, nil)
	var mu sync.Mutex
	var told []error
	usage.OnOutage(func(err error) {
		mu.Lock()
		told = append(told, err)
		mu.Unlock()
	})
	v := auth.NewChecker(f.cache, auth.Options{Prefix: "lk", Catalog: f.cat, Policy: f.svc.Policies, Usage: usage, Now: f.clock.Now})
	use := func(secret string) {
		t.Helper()
		if _, err := v.Verify(f.ctx, secret, auth.Request{IP: "192.0.2.1", Agent: "ci"}); err != nil {
			t.Fatal(err)
		}
	}
	toldOf := func() []error {
		mu.Lock()
		defer mu.Unlock()
		return append([]error(nil), told...)
	}
	a := f.create(f.member, "a", "repo")
	b := f.create(f.member, "b", "repo")

	// A bug is no outage: kept, and not told.
	w.set(errors.New("record token use: a bug"))
	use(a.Secret)
	usage.Flush(f.ctx)
	if got := toldOf(); len(got) != 0 {
		t.Fatalf("told of %v; a failure the storage does not explain is no outage", got)
	}

	refused := fmt.Errorf("record token use: %w", store.ErrNoWrites)
	w.set(refused)
	usage.Flush(f.ctx) // the retry of a's use
	if got := toldOf(); len(got) != 1 || !errors.Is(got[0], store.ErrNoWrites) {
		t.Fatalf("told of %v after a refused retry; want the refusal once", got)
	}
	use(b.Secret)
	usage.Flush(f.ctx) // the retry fails again; b's use is kept without trying
	if got := toldOf(); len(got) != 2 || !errors.Is(got[1], store.ErrNoWrites) {
		t.Fatalf("told of %v after a second refused flush; want the refusal again", got)
	}
	if n := usage.Waiting(); n != 2 {
		t.Fatalf("%d tokens wait for a retry; want 2", n)
	}

	w.set(nil)
	usage.Flush(f.ctx)
	if n := usage.Waiting(); n != 0 {
		t.Fatalf("%d tokens still wait once writes work", n)
	}
	if got := toldOf(); len(got) != 2 {
		t.Errorf("told of %v; a flush that works tells nothing", got)
	}
	for _, it := range []struct {
		name string
		id   string
	}{{"a", a.Token.ID}, {"b", b.Token.ID}} {
		if n := written(t, f, it.id); n != 1 {
			t.Errorf("%s: %d uses written once writes work; want 1", it.name, n)
		}
	}
	usage.Close(f.ctx)
}
