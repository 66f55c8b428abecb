package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// A deleted WAL file.
//
// In WAL mode a commit is durable once it is in the WAL file. When that
// file is deleted under a running store (a cleanup script, an operator who
// took latchkey.db-wal for a temporary file), SQLite does not notice: every
// connection keeps writing to the file it has open, which no longer has a
// name. The checkpointer copies its pages back within checkpointEvery, but a
// process killed before that (kill -9, OOM, node loss) takes acknowledged
// commits with it, and a process that opens the database meanwhile (a
// restart, `latchkey admin`) starts a WAL of its own beside the nameless
// one.
//
// So after each write the store checks, with one stat, that the WAL file
// at its path is still the one it opened; when it is gone or another, it
// copies the whole WAL into the database file (a FULL checkpoint, which
// syncs the database file) before the write is answered. The store keeps
// working, every commit then made durable in the database file itself,
// until a restart opens a WAL file again.

// secureFor bounds how long a write waits for its copy into the database
// file once the WAL file was deleted, as busy_timeout bounds other waits.
const secureFor = 5 * time.Second

// walGuard remembers the WAL file the store opened.
type walGuard struct {
	path string
	mu   sync.Mutex
	orig os.FileInfo // nil until the WAL file was first seen
}

func newWALGuard(dbPath string) *walGuard {
	g := &walGuard{path: dbPath + "-wal"}
	g.orig, _ = os.Stat(g.path)
	return g
}

// intact reports whether the WAL file at the path is the one first seen.
func (g *walGuard) intact() bool {
	fi, err := os.Stat(g.path)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.orig == nil {
		if err != nil {
			return true // no WAL yet: nothing to lose
		}
		g.orig = fi
		return true
	}
	return err == nil && os.SameFile(fi, g.orig)
}

// secure makes the writes committed so far durable in the database file
// when the WAL file was deleted or replaced; w is the write connection.
func (g *walGuard) secure(ctx context.Context, w *sql.DB) error {
	if g == nil || g.intact() {
		return nil
	}
	// The checkpoint reports busy at once, without waiting, while the
	// checkpointer runs one or a reader still needs older frames (a
	// verification connection gives its snapshot up within
	// snapshotMaxAge): try again until secureFor passes.
	var err error
	for deadline := time.Now().Add(secureFor); ; time.Sleep(5 * time.Millisecond) {
		var busy, logged, copied int
		err = w.QueryRowContext(context.WithoutCancel(ctx), `PRAGMA wal_checkpoint(FULL)`).Scan(&busy, &logged, &copied)
		if err == nil && busy != 0 {
			err = fmt.Errorf("readers or another checkpoint held it for %s", secureFor)
		}
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("%w: the database's WAL file %s was deleted or replaced by another program, and the change could not be copied into the database file (%v); restart latchkey to open a new WAL file", store.ErrUnavailable, g.path, err)
	}
	return nil
}
