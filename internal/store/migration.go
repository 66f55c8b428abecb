package store

import (
	"context"
	"path"
	"time"

	"github.com/pressly/goose/v3"
)

// MigrationStatus is the state of one schema migration of a backend, as the
// backends' Status functions report it for `latchkey migrate status`.
type MigrationStatus struct {
	Version   int64     // the number the file name starts with
	Name      string    // the migration file name, e.g. "00001_init.sql"
	Applied   bool      // whether the database has run it
	AppliedAt time.Time // when it ran (UTC); zero when pending
}

// ApplyMigrations runs every pending migration of p and returns the file
// names it applied, oldest first (an empty list when nothing was pending).
// The names of those applied before a failure are returned with the error.
func ApplyMigrations(ctx context.Context, p *goose.Provider) ([]string, error) {
	applied := []string{}
	res, err := p.Up(ctx)
	for _, r := range res {
		if r.Error == nil {
			applied = append(applied, path.Base(r.Source.Path))
		}
	}
	return applied, err
}

// MigrationStatuses lists every migration p knows with whether it has been
// applied, oldest first.
func MigrationStatuses(ctx context.Context, p *goose.Provider) ([]MigrationStatus, error) {
	st, err := p.Status(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, m := range st {
		ms := MigrationStatus{Version: m.Source.Version, Name: path.Base(m.Source.Path), Applied: m.State == goose.StateApplied}
		if ms.Applied {
			ms.AppliedAt = m.AppliedAt.UTC()
		}
		out = append(out, ms)
	}
	return out, nil
}
