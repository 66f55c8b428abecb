package sqlite

import (
	"database/sql"
	"fmt"
	"time"
)

// Checkpoints off the writer's path.
//
// In WAL mode a commit appends pages to the WAL, and a checkpoint copies
// them back into the database file (and fsyncs it). By default the
// connection that commits runs that checkpoint itself once the WAL holds
// 1,000 pages: here the one writer goroutine, which every write of the
// store waits for. Creating tokens at 1M, it spent ~40 of its ~175 µs per
// creation there (bench/results/profiles/dec1night-base-create-1M).
//
// The checkpointer does that copying on a connection of its own, every
// checkpointEvery, in PASSIVE mode: it never waits for the writer or a
// reader, and copies what no reader still needs. The writer keeps an
// automatic checkpoint, at writerCheckpointPages: that one is what bounds
// the WAL, because SQLite starts the WAL over only when a write transaction
// begins with every frame copied, which a checkpointer racing a busy writer
// may never see. When it runs, the checkpointer has copied all but the
// last few milliseconds of frames, so the writer's share is small; the WAL
// then stays under about writerCheckpointPages pages (32 MiB) plus one
// transaction.

// checkpointEvery is how often the checkpointer copies the WAL back.
const checkpointEvery = 50 * time.Millisecond

// writerCheckpointPages is the write connection's wal_autocheckpoint.
const writerCheckpointPages = 8192

// checkpointer runs PASSIVE checkpoints on its own connection until close.
type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}
}

// startCheckpointer opens the checkpointer's connection with dsn (the
// writer's pragmas: synchronous decides how a checkpoint syncs) and starts
// it.
func startCheckpointer(o options, dsn string) (*checkpointer, error) {
	conn, err := o.connector(dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite checkpointer: %w", err)
	}
	c := &checkpointer{db: sql.OpenDB(conn), stop: make(chan struct{}), done: make(chan struct{})}
	c.db.SetMaxOpenConns(1)
	c.db.SetMaxIdleConns(1)
	c.db.SetConnMaxLifetime(0)
	c.db.SetConnMaxIdleTime(0)
	if err := c.db.Ping(); err != nil {
		c.db.Close()
		return nil, fmt.Errorf("open sqlite checkpointer: %w", err)
	}
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	tick := time.NewTicker(checkpointEvery)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		// An error (the disk is full, the file went away) leaves the
		// copying to the writer's automatic checkpoint, which reports
		// nothing either: a failed checkpoint loses nothing, the pages
		// stay in the WAL. The next tick tries again.
		var busy, logged, copied int
		_ = c.db.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logged, &copied)
	}
}

// close stops the checkpointer and closes its connection; it may be
// called more than once.
func (c *checkpointer) close() error {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.done
	return c.db.Close()
}
