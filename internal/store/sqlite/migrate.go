package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"

	"github.com/latchkey/latchkey/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// withProvider opens a short-lived connection to the file at path and runs
// fn with a goose provider over the embedded migrations. Migrations use
// their own connection so they never compete with the store's pools.
func withProvider(ctx context.Context, dbPath string, fn func(p *goose.Provider) error) error {
	db, err := sql.Open("sqlite", dsn(dbPath))
	if err != nil {
		return fmt.Errorf("open sqlite for migrations: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub,
		goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	return fn(p)
}

// Migrate applies every pending migration to the database file at path
// (creating it if needed) and returns the file names it applied, oldest
// first; nothing pending returns an empty list. Open calls it too.
func Migrate(ctx context.Context, dbPath string) (applied []string, err error) {
	applied = []string{}
	err = withProvider(ctx, dbPath, func(p *goose.Provider) error {
		var err error
		applied, err = store.ApplyMigrations(ctx, p)
		if err != nil {
			return fmt.Errorf("migrate sqlite: %w", err)
		}
		return nil
	})
	return applied, err
}

// Status lists every known migration of the database file at path with
// whether it has been applied, oldest first.
func Status(ctx context.Context, dbPath string) ([]store.MigrationStatus, error) {
	var out []store.MigrationStatus
	err := withProvider(ctx, dbPath, func(p *goose.Provider) error {
		var err error
		if out, err = store.MigrationStatuses(ctx, p); err != nil {
			return fmt.Errorf("migration status: %w", err)
		}
		return nil
	})
	return out, err
}
