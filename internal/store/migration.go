package store

import "time"

// MigrationStatus is the state of one schema migration of a backend, as the
// backends' Status functions report it for `latchkey migrate status`.
type MigrationStatus struct {
	Version   int64     // the number the file name starts with
	Name      string    // the migration file name, e.g. "00001_init.sql"
	Applied   bool      // whether the database has run it
	AppliedAt time.Time // when it ran (UTC); zero when pending
}
