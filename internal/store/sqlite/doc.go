// Package sqlite is the embedded Latchkey store: a single SQLite file in WAL
// mode, through the pure-Go modernc.org/sqlite driver.
//
// # Connections
//
// Open keeps two pools on the same file. Writes go through a pool of exactly
// one connection whose transactions begin IMMEDIATE, so writers queue in Go
// instead of fighting over the file lock and never see SQLITE_BUSY from this
// process. Reads go through a separate pool of query-only connections; in WAL
// mode they never wait for the writer. Every connection gets the same
// pragmas from the DSN (busy_timeout 5s, foreign_keys on, synchronous
// NORMAL), so they hold for every pooled connection, not just the first.
// The hot-path reads (GetTokenByDigest, GetSessionByDigest, GetUser,
// GetToken) are prepared once at Open and hit unique indexes.
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
// write connection. The updater must not call the store: the write
// connection is held until it returns.
//
// # Migrations
//
// The schema lives in migrations/*.sql, embedded, applied by goose's Provider
// on Open and by Migrate; Status lists them. Migrations are forward-only and
// run in one transaction each.
package sqlite
