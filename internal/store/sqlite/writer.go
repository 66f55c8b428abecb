package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/latchkey/latchkey/internal/store"
)

// groupMax bounds the write transactions of callers gathered into one
// commit.
const groupMax = 256

// writer runs every write transaction of the store on the one write
// connection, from one goroutine, committing the transactions of
// concurrent callers together: group commit. With synchronous=FULL each
// commit waits for the disk (an fsync of the WAL), so one commit for many
// callers keeps acknowledged writes durable without paying a disk flush
// per write.
//
// Callers' work runs as plain statements of the shared transaction (see
// commit); when one caller's fails, the transaction is rolled back, that
// caller gets its error, and the others run again, each inside its own
// SAVEPOINT: an error from one caller then rolls back only that caller's
// statements, and the others commit. When the shared transaction itself
// fails (a statement error that aborts the whole transaction, such as a
// full disk, or a failed COMMIT), every caller whose work was not already
// refused is re-run alone in its own transaction, so each gets the result
// of its own work and nobody fails for a neighbour.
type writer struct {
	db    *sql.DB
	jobs  chan *writeJob
	done  chan struct{}
	close sync.Once
	// closed guards sends on jobs against Close.
	mu     sync.RWMutex
	closed bool
}

// writeJob is one caller's write transaction.
type writeJob struct {
	ctx    context.Context
	fn     func(*sql.Tx) error
	result chan error // buffered: the writer never blocks on a caller
}

var errStoreClosed = errors.New("the store is closed")

func newWriter(db *sql.DB) *writer {
	w := &writer{db: db, jobs: make(chan *writeJob, groupMax), done: make(chan struct{})}
	go w.run()
	return w
}

// do runs fn in a transaction on the write connection and returns once it
// is committed (or failed). It always waits for the writer's answer, even
// when ctx ends meanwhile: fn may still be running, and the caller must not
// read what fn writes before fn is done.
func (w *writer) do(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &writeJob{ctx: ctx, fn: fn, result: make(chan error, 1)}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return errStoreClosed
	}
	w.jobs <- j
	w.mu.RUnlock()
	return <-j.result
}

// stop ends the writer after the jobs already queued.
func (w *writer) stop() {
	w.close.Do(func() {
		w.mu.Lock()
		w.closed = true
		close(w.jobs)
		w.mu.Unlock()
		<-w.done
	})
}

func (w *writer) run() {
	defer close(w.done)
	batch := make([]*writeJob, 0, groupMax)
	for j := range w.jobs {
		batch = append(batch[:0], j)
	gather:
		for len(batch) < groupMax {
			select {
			case more, ok := <-w.jobs:
				if !ok {
					break gather
				}
				batch = append(batch, more)
			default:
				break gather
			}
		}
		w.commit(batch, false)
		clear(batch)
	}
}

// commit runs batch in one transaction and answers every job.
//
// The jobs run first as plain statements of the transaction (savepoints
// false), which is what nearly every batch needs: every job succeeds. A
// savepoint around each job would make SQLite journal the original of
// every page the job changes, and move that journal to a temporary file
// once it passes 64 KiB, a pwrite per page from then on: it cost 11.5% of
// the server's CPU when creating tokens on 1M. When a job fails, the
// transaction is rolled back and that job gets its error (it failed after
// the jobs before it, a valid order of the batch), unless the database
// itself failed (then it runs again too); the others run again,
// each in a savepoint (savepoints true), so that a second failure is rolled
// back alone and costs no third run.
func (w *writer) commit(batch []*writeJob, savepoints bool) {
	if len(batch) == 1 {
		w.alone(batch[0])
		return
	}
	results := make([]error, len(batch))
	tx, err := w.db.BeginTx(context.Background(), nil)
	if err != nil {
		for _, j := range batch {
			j.result <- fmt.Errorf("begin: %w", translate(err))
		}
		return
	}
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if !savepoints {
			if err := run(j.fn, tx); err != nil {
				_ = tx.Rollback()
				if storageFailure(err) {
					// Perhaps the batch's, not the job's own (a full
					// disk): it runs again with the others.
					w.commit(batch, true)
					return
				}
				j.result <- err
				w.commit(slices.Delete(batch, i, i+1), true)
				return
			}
			continue
		}
		if !inSavepoint(tx, j, &results[i]) {
			w.retryAlone(tx, batch, results)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		w.retryAlone(nil, batch, results)
		return
	}
	for i, j := range batch {
		j.result <- results[i]
	}
}

// storageFailure reports whether err is the database failing (a full disk,
// an I/O error) rather than the job refusing its write.
func storageFailure(err error) bool {
	err = translate(err)
	return errors.Is(err, store.ErrDiskFull) || errors.Is(err, store.ErrUnavailable)
}

// inSavepoint runs j in a savepoint of tx, setting *result to its error
// (its statements then rolled back). It reports false when the
// transaction itself failed; *result is then nil unless the job had
// failed already, and a job without a result must run again.
func inSavepoint(tx *sql.Tx, j *writeJob, result *error) bool {
	if _, err := tx.Exec(`SAVEPOINT caller`); err != nil {
		return false
	}
	if err := run(j.fn, tx); err != nil {
		if _, rerr := tx.Exec(`ROLLBACK TO caller`); rerr != nil {
			return false // the failure aborted the whole transaction
		}
		*result = err
	}
	if _, err := tx.Exec(`RELEASE caller`); err != nil {
		return false // a job that failed keeps its error; the others run again
	}
	return true
}

// retryAlone abandons the shared transaction tx (nil: already ended) and
// runs each job that has no result yet in a transaction of its own; a job
// that failed in its savepoint keeps its error (its statements were rolled
// back, the others' were fine).
func (w *writer) retryAlone(tx *sql.Tx, batch []*writeJob, results []error) {
	if tx != nil {
		_ = tx.Rollback()
	}
	for i, j := range batch {
		if results[i] != nil {
			j.result <- results[i]
			continue
		}
		w.alone(j)
	}
}

// alone runs one job in its own transaction and answers it.
func (w *writer) alone(j *writeJob) {
	if err := j.ctx.Err(); err != nil {
		j.result <- err
		return
	}
	tx, err := w.db.BeginTx(context.Background(), nil)
	if err != nil {
		j.result <- fmt.Errorf("begin: %w", translate(err))
		return
	}
	if err := run(j.fn, tx); err != nil {
		_ = tx.Rollback()
		j.result <- err
		return
	}
	if err := tx.Commit(); err != nil {
		_ = tx.Rollback()
		j.result <- fmt.Errorf("commit: %w", translate(err))
		return
	}
	j.result <- nil
}

// run calls fn, turning a panic into an error so that one caller's bug
// cannot take the writer (and every other caller) down.
func run(fn func(*sql.Tx) error, tx *sql.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("write transaction panicked: %v", r)
		}
	}()
	return fn(tx)
}
