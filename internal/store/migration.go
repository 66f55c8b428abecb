package store

import (
	"context"
	"errors"
	"fmt"
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
	if err := checkSchemaKnown(ctx, p); err != nil {
		return applied, err
	}
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
	if err := checkSchemaKnown(ctx, p); err != nil {
		return nil, err
	}
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

// ErrSchemaTooNew is returned when the database has migrations applied that
// this release does not know: a newer release upgraded it. Serving it with
// the older code could write rows the newer schema does not expect, so the
// older release refuses to open it.
var ErrSchemaTooNew = errors.New("the database schema is newer than this release of latchkey")

// checkSchemaKnown refuses a database whose schema version is past the
// newest migration p knows.
func checkSchemaKnown(ctx context.Context, p *goose.Provider) error {
	db, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	sources := p.ListSources()
	if len(sources) == 0 {
		return nil
	}
	if known := sources[len(sources)-1].Version; db > known {
		return fmt.Errorf("%w: it is at version %d and this release knows versions up to %d, so a newer release upgraded it; run that release, or restore the backup taken before the upgrade to go back", ErrSchemaTooNew, db, known)
	}
	return nil
}
