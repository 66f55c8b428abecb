package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/store"
)

func openTest(t testing.TB, o options) *Store {
	t.Helper()
	s, err := open(context.Background(), filepath.Join(t.TempDir(), "db"), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testUser(t testing.TB, s *Store) *store.User {
	t.Helper()
	now := time.Now()
	u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Username: "u" + uuid.NewString()[:8], Role: store.RoleMember,
		Kind: store.KindPerson, LoginType: "password", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func testToken(userID, name string) *store.Token {
	now := time.Now()
	d := uuid.New()
	return &store.Token{ID: uuid.Must(uuid.NewV7()).String(), UserID: userID, Kind: store.TokenPersonal, Name: name,
		Digest: append(d[:], d[:]...), Hint: "abcd", CreatedAt: now, UpdatedAt: now}
}

// TestGroupCommitFailsOnlyTheCallerWhoseWriteFailed sends many concurrent
// writes, some of which break a unique rule: those get ErrConflict, every
// other one is committed, whatever commit it shared.
func TestGroupCommitFailsOnlyTheCallerWhoseWriteFailed(t *testing.T) {
	s := openTest(t, options{})
	u := testUser(t, s)
	ctx := t.Context()
	const n = 200
	tokens := make([]*store.Token, n)
	for i := range tokens {
		name := fmt.Sprintf("t%d", i)
		if i%5 == 4 {
			name = fmt.Sprintf("t%d", i-1) // same name as the previous one: one of the two must fail
		}
		tokens[i] = testToken(u.ID, name)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, tk := range tokens {
		wg.Go(func() { errs[i] = s.CreateToken(ctx, tk) })
	}
	wg.Wait()
	conflicts := 0
	for i, err := range errs {
		switch {
		case errors.Is(err, store.ErrConflict):
			conflicts++
			if _, gerr := s.GetToken(ctx, tokens[i].ID); !errors.Is(gerr, store.ErrNotFound) {
				t.Errorf("token %d was refused (%v) but is stored (%v)", i, err, gerr)
			}
		case err != nil:
			t.Errorf("token %d: %v", i, err)
		default:
			if _, gerr := s.GetToken(ctx, tokens[i].ID); gerr != nil {
				t.Errorf("token %d was acknowledged but is not stored: %v", i, gerr)
			}
		}
	}
	if conflicts != n/5 {
		t.Errorf("%d writes failed with a conflict, want %d (one of each pair with the same name)", conflicts, n/5)
	}
}

// TestGroupCommitGathersConcurrentWrites checks that concurrent callers do
// share commits (otherwise durable writes would cost a disk flush each).
func TestGroupCommitGathersConcurrentWrites(t *testing.T) {
	s := openTest(t, options{})
	ctx := t.Context()
	release := make(chan struct{})
	started := make(chan struct{})
	var wg sync.WaitGroup
	// The first write holds the writer until the others are queued.
	wg.Go(func() {
		_ = s.inTx(ctx, func(tx *sql.Tx) error { close(started); <-release; return nil })
	})
	<-started
	var mu sync.Mutex
	var txs = map[*sql.Tx]int{}
	for range 20 {
		wg.Go(func() {
			_ = s.inTx(ctx, func(tx *sql.Tx) error { mu.Lock(); txs[tx]++; mu.Unlock(); return nil })
		})
	}
	time.Sleep(200 * time.Millisecond)
	close(release)
	wg.Wait()
	if len(txs) >= 20 {
		t.Fatalf("20 queued writes used %d transactions: no group commit", len(txs))
	}
}

// TestAPanickingWriteIsAnErrorAndTheWriterGoesOn pins that one caller's
// panic neither kills the writer nor commits that caller's statements.
func TestAPanickingWriteIsAnErrorAndTheWriterGoesOn(t *testing.T) {
	s := openTest(t, options{})
	u := testUser(t, s)
	ctx := t.Context()
	tk := testToken(u.ID, "doomed")
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, insertTokenSQL, tokenArgs(tk)...); err != nil {
			return err
		}
		panic("bug")
	})
	if err == nil {
		t.Fatal("a panicking write returned no error")
	}
	if _, err := s.GetToken(ctx, tk.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the panicking write's row was committed: %v", err)
	}
	if err := s.CreateToken(ctx, testToken(u.ID, "next")); err != nil {
		t.Fatalf("a write after the panic: %v", err)
	}
}

// BenchmarkDurableCreate is what a token creation writes (the token and its
// audit event, one write transaction) from 64 concurrent callers, with
// synchronous=NORMAL, FULL, and FULL with group commit (the default), and
// reports creations/s: what durability costs. full-group-uncached is the
// default without the connections' statement cache (stmtcache.go), and
// full-group-two-tx writes the token and the event in two transactions, as
// creation did before CreateTokenWithAudit.
func BenchmarkDurableCreate(b *testing.B) {
	for _, c := range []struct {
		name  string
		o     options
		twoTx bool
	}{
		{"normal", options{synchronous: "NORMAL", noGroup: true}, false},
		{"full", options{synchronous: "FULL", noGroup: true}, false},
		{"full-group", options{}, false},
		{"full-group-uncached", options{noStmtCache: true}, false},
		{"full-group-two-tx", options{}, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := openTest(b, c.o)
			u := testUser(b, s)
			ctx := context.Background()
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					tk := testToken(u.ID, uuid.NewString())
					e := &store.AuditEvent{At: time.Now(), Action: "token.create", TargetType: "token", TargetID: tk.ID}
					var err error
					if c.twoTx {
						if err = s.CreateToken(ctx, tk); err == nil {
							err = s.AppendAudit(ctx, e)
						}
					} else {
						err = s.CreateTokenWithAudit(ctx, tk, e)
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
		})
	}
}

// queueBatch holds the writer while n jobs, fn(i, tx) each, queue behind
// it in order, then lets them run (as one batch) and returns their
// results.
func queueBatch(t *testing.T, s *Store, n int, fn func(i int, tx *sql.Tx) error) []error {
	t.Helper()
	ctx := t.Context()
	release, started := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = s.inTx(ctx, func(tx *sql.Tx) error { close(started); <-release; return nil })
	})
	<-started
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = s.inTx(ctx, func(tx *sql.Tx) error { return fn(i, tx) }) })
		time.Sleep(5 * time.Millisecond) // queued in order
	}
	time.Sleep(100 * time.Millisecond)
	close(release)
	wg.Wait()
	return errs
}

// TestGroupCommitRunsJobsWithoutSavepointsUntilOneFails pins how a batch
// runs: as plain statements of one transaction while every job succeeds
// (a savepoint makes SQLite journal every page a job changes), and, once a
// job fails, the others again, each in its own savepoint, committed
// together without the failed job's statements.
func TestGroupCommitRunsJobsWithoutSavepointsUntilOneFails(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("a job fails: %v", fail), func(t *testing.T) {
			s := openTest(t, options{})
			u := testUser(t, s)
			ctx := t.Context()
			const n = 10
			var mu sync.Mutex
			inSavepoint := map[int]bool{} // by job, at its last run
			tokens := make([]*store.Token, n)
			for i := range tokens {
				tokens[i] = testToken(u.ID, fmt.Sprintf("t%d", i))
			}
			errs := queueBatch(t, s, n, func(i int, tx *sql.Tx) error {
				// ROLLBACK TO a savepoint that does not exist is an error
				// and leaves the transaction as it was.
				_, err := tx.ExecContext(ctx, `ROLLBACK TO caller`)
				mu.Lock()
				inSavepoint[i] = err == nil
				mu.Unlock()
				if _, err := tx.ExecContext(ctx, insertTokenSQL, tokenArgs(tokens[i])...); err != nil {
					return err
				}
				if fail && i == n/2 {
					return errors.New("refused")
				}
				return nil
			})
			for i := range n {
				failed := fail && i == n/2
				switch {
				case failed && errs[i] == nil:
					t.Errorf("job %d should have failed", i)
				case !failed && errs[i] != nil:
					t.Errorf("job %d: %v", i, errs[i])
				}
				_, gerr := s.GetToken(ctx, tokens[i].ID)
				if failed != errors.Is(gerr, store.ErrNotFound) {
					t.Errorf("job %d (failed: %v): stored token lookup: %v", i, failed, gerr)
				}
				if want := fail && !failed; inSavepoint[i] != want {
					t.Errorf("job %d ran in a savepoint: %v, want %v", i, inSavepoint[i], want)
				}
			}
		})
	}
}

// TestGroupCommitRunsAgainAJobTheDatabaseFailed: when the database fails
// under a job of a batch (a full disk: perhaps the batch's writes, not the
// job's own), the job is not answered with that failure but runs again,
// and succeeds when the database lets it.
func TestGroupCommitRunsAgainAJobTheDatabaseFailed(t *testing.T) {
	s := openTest(t, options{})
	u := testUser(t, s)
	ctx := t.Context()
	const n = 6
	tokens := make([]*store.Token, n)
	for i := range tokens {
		tokens[i] = testToken(u.ID, fmt.Sprintf("t%d", i))
	}
	runs := 0
	errs := queueBatch(t, s, n, func(i int, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, insertTokenSQL, tokenArgs(tokens[i])...); err != nil {
			return err
		}
		if i == 2 {
			runs++ // the writer runs jobs one at a time
			if runs == 1 {
				return fmt.Errorf("append audit: %w", store.ErrDiskFull)
			}
		}
		return nil
	})
	if runs != 2 {
		t.Errorf("the job the database failed ran %d times, want 2", runs)
	}
	for i := range n {
		if errs[i] != nil {
			t.Errorf("job %d: %v", i, errs[i])
		}
		if _, err := s.GetToken(ctx, tokens[i].ID); err != nil {
			t.Errorf("job %d's token: %v", i, err)
		}
	}
}
