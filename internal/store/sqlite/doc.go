// Package sqlite is the embedded Latchkey store: a single SQLite file in WAL
// mode, through the pure-Go modernc.org/sqlite driver.
//
// # Connections
//
// Open keeps two pools on the same file, a few connections for uncached
// verifications and one for checkpoints (below). Writes go through a pool of exactly
// one connection whose transactions begin IMMEDIATE, so writers queue in Go
// instead of fighting over the file lock and never see SQLITE_BUSY from this
// process. Reads go through a separate pool of query-only connections; in WAL
// mode they never wait for the writer. Every connection gets the same
// pragmas from the DSN (busy_timeout 5s, foreign_keys on, synchronous
// FULL), so they hold for every pooled connection, not just the first.
// The hot-path reads (GetTokenByDigest, GetSessionByDigest, GetUser,
// GetToken) are prepared once at Open and hit unique indexes.
//
// The uncached verification (GetTokenAndOwnerByDigest: the token joined
// with its live owner, in one read) runs on connections of its own,
// opened with zombiezen.com/go/sqlite on the same SQLite library
// (verify.go): without database/sql and without a per-connection mutex,
// it took 12.3 µs instead of 21.5 through the pool (1M tokens, two
// goroutines). Consecutive reads on one of them share a read snapshot, which
// spares each the read transaction's locks (11 of 16.5 µs on 1,000 cached
// tokens): the snapshot ends at the store's next write (Store.changes counts
// every write once it has committed or failed), at 10 ms of age (a write of
// another process) and after 10 ms idle (checkpoints are not held back).
//
// A checkpointer (checkpoint.go) copies the WAL back into the database
// file every 50 ms on a connection of its own, in PASSIVE mode, so that
// the writer goroutine, which every write waits for, no longer does it
// after its commits. The writer keeps an automatic checkpoint at 8,192
// pages: SQLite starts the WAL over only when a write transaction begins
// with every frame copied, and that one is what bounds the WAL (to about
// 32 MiB) under constant writes.
//
// The driver compiles a statement's text every time it runs one, so every
// connection of both pools keeps the statements it has run compiled
// (stmtcache.go: up to 128 per connection, texts up to 4 KiB), reset
// between uses; a text run again while its rows are still open gets a
// statement of its own. On the write connection this removed about 30% of
// the writer goroutine's CPU per token creation (BenchmarkDurableCreate,
// full-group against full-group-uncached).
//
// # Durable writes and group commit
//
// A write the store returns from is on disk: in WAL mode, synchronous=FULL
// makes each COMMIT wait for an fsync of the WAL, so a revocation answered
// with 204 or a token answered with 201 survives a power cut or an OS crash
// (NORMAL, the previous setting, could roll the last commits back).
//
// An fsync per write would cap writes at the disk's flush rate, so every
// write transaction of the store (each Update method, each insert, the
// usage flush) is handed to one writer goroutine (writer.go) that owns the
// write connection. It takes the next job, gathers the jobs queued behind
// it (up to 256), and runs them in ONE transaction, then commits once: one
// fsync for all of them. Each caller waits for that commit and gets its
// own result:
//
//   - a caller whose work fails (its updater's error, a unique or foreign
//     key violation) gets its error, and the transaction is rolled back;
//     the others run again in a new one, each inside its own SAVEPOINT,
//     so that a second failure is rolled back alone (ROLLBACK TO), and
//     commit. Savepoints are kept for that second run because SQLite
//     journals every page a job changes inside one, which cost creations
//     about a quarter of their throughput;
//   - a failure that ends the whole transaction (the disk is full, the
//     savepoint cannot be rolled back, COMMIT fails) makes the writer
//     abandon it and run each caller that had not failed on its own again,
//     alone in its own transaction, so nobody fails for a neighbour;
//   - a panic in a caller's updater becomes that caller's error; the
//     writer goes on.
//
// A lone write is one transaction as before, so an idle server pays no
// extra latency; under load the batches grow with the queue. A caller
// always waits for its answer, even when its context ends meanwhile
// (its updater may be running), and a context already ended before its turn
// is answered without running. BenchmarkDurableCreate measures NORMAL, FULL
// and FULL with group commit.
//
// # Data
//
// Times are stored as INTEGER unix microseconds (UTC) and read back in UTC;
// writes truncate to the microsecond. Create methods normalise the row they
// are given the same way, so after Create the caller's value equals what a
// later Get returns. Scopes, IP allowlists and recent IPs are JSON arrays in
// TEXT columns and come back as non-nil slices. Policy durations are
// nanoseconds.
//
// # Errors
//
// Unique and primary-key violations become store.ErrConflict; a foreign-key
// violation (for example a token for a user that does not exist) becomes
// store.ErrNotFound. Both keep the driver's error in the chain.
//
// # Updates
//
// Update methods run read, updater, write in one IMMEDIATE transaction on the
// write connection (a savepoint of a group commit). The updater must not
// call the store: the writer waits until it returns.
//
// RecordTokenUse is set-based: per chunk of up to 1,000 uses, one SELECT
// reads the tokens' last use, one INSERT ... SELECT upserts them into
// token_last_use and one more upserts the day counts, and the audit events
// of first uses from new addresses are appended in the same transaction.
// A token's last use lives in token_last_use, a narrow table keyed by the
// token's id (migration 00008), not in its tokens row: a use rewrites a
// ~100-byte row, never a ~200-byte tokens row, and the tokens table does
// not change when tokens are used. Reads of tokens join it
// (selectToken); the verification read does not (verify.go).
//
// # Migrations
//
// The schema lives in migrations/*.sql, embedded, applied by goose's Provider
// on Open and by Migrate; Status lists them. Migrations are forward-only and
// run in one transaction each.
package sqlite
