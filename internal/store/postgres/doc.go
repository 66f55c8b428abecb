// Package postgres is the Latchkey store on PostgreSQL, for deployments
// that run several replicas on one database.
//
// # Connections
//
// Open parses a pgx DSN (URL or keyword/value form) and talks to the
// database through a pgxpool.Pool directly, not database/sql: pgx caches
// prepared statements per connection, so the hot-path reads
// (GetTokenByDigest, GetSessionByDigest, GetUser) are one round trip to a
// unique index. Pool settings such as pool_max_conns may ride on the DSN.
// A search_path parameter on the DSN (?search_path=tenant_a) is sent as a
// startup parameter, so every table, and goose's version table, lives in
// that schema; NewTestSchema uses this to give each test its own schema.
//
// # Data
//
// Times are timestamptz (microseconds), written truncated and read back in
// UTC whatever the session's TimeZone. Lists are text[]; audit details are
// jsonb; policy durations are bigint nanoseconds. IDs use the "C"
// collation so they sort by bytes, which is UUIDv7 creation order. Create
// methods normalise the value they are given to the stored form.
//
// # Errors
//
// SQLSTATE 23505 (unique violation) becomes store.ErrConflict and 23503
// (foreign-key violation, e.g. a token for an unknown user) becomes
// store.ErrNotFound; the *pgconn.PgError stays in the chain.
//
// # Updates and locking
//
// Update methods read the row with SELECT … FOR UPDATE, run the updater and
// write back in one transaction, so concurrent updates on any replica
// serialise on the row. Statements that lock several token rows
// (RecordTokenUse, DeleteUser) take the locks in ID order so that two
// replicas cannot deadlock each other.
//
// # Migrations
//
// The schema lives in migrations/*.sql, embedded, applied by goose's
// Provider on Open and by Migrate over a short-lived database/sql
// connection; Status lists them. A PostgreSQL advisory lock keyed on the
// schema lets several replicas start at once: one migrates, the others wait.
package postgres
