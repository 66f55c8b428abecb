package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/latchkey/latchkey/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// lockClass is the first key of the migration advisory lock ("lkmg"); the
// second is a hash of the schema, so each schema migrates on its own.
const lockClass = 0x6c6b6d67

// lockSchema blocks until conn holds the schema's migration lock and
// returns the function that releases it. The lock covers goose's whole Up,
// including its first look at the version table, so replicas that start
// together on an empty schema queue instead of racing to create it.
func lockSchema(ctx context.Context, conn *sql.Conn) (unlock func(), err error) {
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1, hashtext(current_schema()))`, lockClass); err != nil {
		return nil, fmt.Errorf("lock schema for migrations: %w", err)
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, hashtext(current_schema()))`, lockClass)
	}, nil
}

// withProvider runs fn with a goose provider over the embedded migrations,
// on a short-lived database/sql handle built from cfg.
func withProvider(ctx context.Context, cfg *pgx.ConnConfig, fn func(p *goose.Provider) error) error {
	cfg = cfg.Copy()
	// goose's version table has a timestamp without time zone filled by
	// now(): a UTC session makes AppliedAt mean UTC.
	cfg.RuntimeParams["timezone"] = "UTC"
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	db.SetMaxOpenConns(2)
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	// One connection holds the lock; goose uses the other.
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrations: connect: %w", err)
	}
	defer conn.Close()
	unlock, err := lockSchema(ctx, conn)
	if err != nil {
		return err
	}
	defer unlock()
	return fn(p)
}

func migrate(ctx context.Context, cfg *pgx.ConnConfig) (applied []string, err error) {
	applied = []string{}
	err = withProvider(ctx, cfg, func(p *goose.Provider) error {
		var err error
		applied, err = store.ApplyMigrations(ctx, p)
		if err != nil {
			return fmt.Errorf("migrate postgres: %w", err)
		}
		return nil
	})
	return applied, err
}

// Migrate applies every pending migration to the schema dsn selects and
// returns the file names it applied, oldest first; nothing pending returns
// an empty list. Open calls it too.
func Migrate(ctx context.Context, dsn string) (applied []string, err error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("migrate postgres: parse dsn: %w", err)
	}
	return migrate(ctx, cfg)
}

// Status lists every known migration of the schema dsn selects with whether
// it has been applied, oldest first.
func Status(ctx context.Context, dsn string) ([]store.MigrationStatus, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("migration status: parse dsn: %w", err)
	}
	var out []store.MigrationStatus
	err = withProvider(ctx, cfg, func(p *goose.Provider) error {
		var err error
		if out, err = store.MigrationStatuses(ctx, p); err != nil {
			return fmt.Errorf("migration status: %w", err)
		}
		return nil
	})
	return out, err
}
