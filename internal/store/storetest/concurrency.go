package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

func concurrencyTests() []test {
	return []test{
		{"ConcurrentCreatesOfOneNameLetExactlyOneWin", testConcurrentSameName},
		{"ConcurrentUpdatesLoseNothing", testConcurrentUpdates},
		{"ConcurrentUsageFlushesAddUp", testConcurrentUsage},
		{"ReadersSeeWritesWhileWritersRun", testReadsDuringWrites},
	}
}

const workers = 20

// parallel runs fn(i) for i in [0, workers) at once and returns the errors.
func parallel(fn func(i int) error) []error {
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range workers {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func testConcurrentSameName(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	errs := parallel(func(int) error { return s.CreateToken(ctx, newToken(u.ID, "deploy")) })
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrConflict):
			t.Fatalf("concurrent CreateToken: got %v, want nil or ErrConflict", err)
		}
	}
	if won != 1 {
		t.Fatalf("concurrent CreateToken of one name: %d succeeded, want exactly 1", won)
	}
	// Same for usernames.
	errs = parallel(func(i int) error { return s.CreateUser(ctx, newUser(fmt.Sprintf("BoB%.*s", i%2, "b"))) })
	won = 0
	for _, err := range errs {
		if err == nil {
			won++
		} else if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("concurrent CreateUser: got %v", err)
		}
	}
	if won != 2 { // "BoB" and "BoBb"
		t.Fatalf("concurrent CreateUser of two names: %d succeeded, want 2", won)
	}
}

func testConcurrentUpdates(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	tk := mustToken(t, s, u.ID, "ci", func(tk *store.Token) { tk.Scopes = nil })
	errs := parallel(func(i int) error {
		_, err := s.UpdateToken(ctx, tk.ID, func(x *store.Token) error {
			x.Scopes = append(x.Scopes, fmt.Sprintf("s%02d", i))
			return nil
		})
		return err
	})
	for _, err := range errs {
		noErr(t, "concurrent UpdateToken", err)
	}
	got, err := s.GetToken(ctx, tk.ID)
	noErr(t, "GetToken", err)
	slices.Sort(got.Scopes)
	var want []string
	for i := range workers {
		want = append(want, fmt.Sprintf("s%02d", i))
	}
	equal(t, "scopes after concurrent updates", want, got.Scopes)

	errs = parallel(func(i int) error {
		_, err := s.UpdateUser(ctx, u.ID, func(x *store.User) error {
			x.PasswordHash += "x"
			return nil
		})
		return err
	})
	for _, err := range errs {
		noErr(t, "concurrent UpdateUser", err)
	}
	gotU, err := s.GetUser(ctx, u.ID)
	noErr(t, "GetUser", err)
	if want := len(u.PasswordHash) + workers; len(gotU.PasswordHash) != want {
		t.Fatalf("password hash after concurrent updates has %d bytes, want %d", len(gotU.PasswordHash), want)
	}
}

func testConcurrentUsage(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	a := mustToken(t, s, u.ID, "a")
	b := mustToken(t, s, u.ID, "b")
	errs := parallel(func(i int) error {
		at := base.Add(time.Duration(i) * time.Second)
		first, second := a.ID, b.ID
		if i%2 == 1 { // opposite lock order on alternate workers
			first, second = second, first
		}
		return s.RecordTokenUse(ctx, []store.TokenUse{
			{TokenID: first, At: at, IP: fmt.Sprintf("10.0.0.%d", i), Counts: map[string]int64{"2031-03-04": 1}},
			{TokenID: second, At: at, IP: fmt.Sprintf("10.0.0.%d", i), Counts: map[string]int64{"2031-03-04": 2}},
		})
	})
	for _, err := range errs {
		noErr(t, "concurrent RecordTokenUse", err)
	}
	for _, tk := range []*store.Token{a, b} {
		usage, err := s.TokenUsage(ctx, tk.ID, base.Add(-48*time.Hour))
		noErr(t, "TokenUsage", err)
		equal(t, "usage after concurrent flushes", []store.UsageDay{day("2031-03-04", 3*workers/2*1)}, usage)
		got, err := s.GetToken(ctx, tk.ID)
		noErr(t, "GetToken", err)
		last := base.Add((workers - 1) * time.Second)
		equal(t, "LastUsedAt after concurrent flushes", ptr(micro(last)), got.LastUsedAt)
		if got.LastUsedIP != fmt.Sprintf("10.0.0.%d", workers-1) {
			t.Fatalf("LastUsedIP after concurrent flushes = %q, want the latest use's", got.LastUsedIP)
		}
		if len(got.RecentIPs) != store.RecentIPsKept {
			t.Fatalf("RecentIPs after concurrent flushes = %v, want %d entries", got.RecentIPs, store.RecentIPsKept)
		}
	}
}

func testReadsDuringWrites(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := mustUser(t, s, "alice")
	tk := mustToken(t, s, u.ID, "hot")
	errs := parallel(func(i int) error {
		if i%4 == 0 {
			for j := range 10 {
				if err := s.CreateToken(ctx, newToken(u.ID, fmt.Sprintf("w%d-%d", i, j))); err != nil {
					return err
				}
			}
			return nil
		}
		for range 50 {
			got, err := s.GetTokenByDigest(ctx, tk.Digest)
			if err != nil {
				return err
			}
			if got.ID != tk.ID {
				return fmt.Errorf("GetTokenByDigest = %s, want %s", got.ID, tk.ID)
			}
		}
		return nil
	})
	for _, err := range errs {
		noErr(t, "reads during writes", err)
	}
	list, err := s.ListTokens(ctx, store.TokenFilter{UserID: u.ID})
	noErr(t, "ListTokens", err)
	if want := 1 + workers/4*10; len(list) != want {
		t.Fatalf("ListTokens = %d tokens, want %d", len(list), want)
	}
}
