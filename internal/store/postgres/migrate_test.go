package postgres_test

import (
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/store/postgres"
)

func migrationFiles(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".sql" {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names
}

func TestMigrateAppliesEveryMigrationOnceToAnEmptySchema(t *testing.T) {
	ctx := t.Context()
	dsn := postgres.NewTestSchema(t, testDSN(t))
	files := migrationFiles(t)

	st, err := postgres.Status(ctx, dsn)
	if err != nil {
		t.Fatalf("Status of an empty schema: %v", err)
	}
	if len(st) != len(files) {
		t.Fatalf("Status lists %d migrations, want %d", len(st), len(files))
	}
	for i, m := range st {
		if m.Applied || m.Name != files[i] {
			t.Fatalf("Status of an empty schema: %+v, want %s pending", m, files[i])
		}
	}
	applied, err := postgres.Migrate(ctx, dsn)
	if err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if !slices.Equal(applied, files) {
		t.Fatalf("Migrate applied %v, want %v", applied, files)
	}
	st, err = postgres.Status(ctx, dsn)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	for i, m := range st {
		if !m.Applied || m.Name != files[i] || m.AppliedAt.IsZero() || m.Version != fileVersion(files[i]) {
			t.Fatalf("Status after Migrate: %+v, want %s applied as version %d", m, files[i], fileVersion(files[i]))
		}
	}
	applied, err = postgres.Migrate(ctx, dsn)
	if err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	if applied == nil || len(applied) != 0 {
		t.Fatalf("Migrate again applied %#v, want a non-nil empty list", applied)
	}

	// Everything, goose's table included, lives in the DSN's schema.
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, schema)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"audit_events", "device_codes", "federation_jtis", "federation_policies", "goose_db_version", "identities", "notifications", "policy",
		"scim_group_members", "scim_groups", "sessions", "signing_keys", "token_usage", "tokens", "users"}
	if !slices.Equal(tables, want) {
		t.Fatalf("tables in %s = %v, want %v", schema, tables, want)
	}
}

func TestReplicasOpeningAFreshSchemaAtOnceMigrateItOnce(t *testing.T) {
	ctx := t.Context()
	dsn := postgres.NewTestSchema(t, testDSN(t))
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Go(func() {
			s, err := postgres.Open(ctx, dsn)
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	st, err := postgres.Status(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st {
		if !m.Applied {
			t.Fatalf("migration %s not applied after concurrent opens", m.Name)
		}
	}
}

// fileVersion is the version a migration file's name gives it ("00005_x.sql"
// is 5): numbers are reserved per issue, so the sequence may have gaps.
func fileVersion(name string) int64 {
	var v int64
	for _, c := range name {
		if c < '0' || c > '9' {
			break
		}
		v = v*10 + int64(c-'0')
	}
	return v
}
