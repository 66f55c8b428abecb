package sqlite_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/latchkey/latchkey/internal/store/sqlite"
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

func TestMigrateAppliesEveryMigrationOnceToAnEmptyDatabase(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "latchkey.db")
	files := migrationFiles(t)

	st, err := sqlite.Status(ctx, path)
	if err != nil {
		t.Fatalf("Status of an empty database: %v", err)
	}
	if len(st) != len(files) {
		t.Fatalf("Status lists %d migrations, want %d", len(st), len(files))
	}
	for i, m := range st {
		if m.Applied || m.Name != files[i] || !m.AppliedAt.IsZero() {
			t.Fatalf("Status of an empty database: %+v, want %s pending", m, files[i])
		}
	}

	applied, err := sqlite.Migrate(ctx, path)
	if err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if !slices.Equal(applied, files) {
		t.Fatalf("Migrate applied %v, want %v", applied, files)
	}
	st, err = sqlite.Status(ctx, path)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	for i, m := range st {
		if !m.Applied || m.Name != files[i] || m.AppliedAt.IsZero() || m.Version != fileVersion(files[i]) {
			t.Fatalf("Status after Migrate: %+v, want %s applied as version %d", m, files[i], fileVersion(files[i]))
		}
	}

	applied, err = sqlite.Migrate(ctx, path)
	if err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	if applied == nil || len(applied) != 0 {
		t.Fatalf("Migrate again applied %#v, want a non-nil empty list", applied)
	}
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open after Migrate: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesAnInMemoryDatabase(t *testing.T) {
	if _, err := sqlite.Open(t.Context(), ":memory:"); err == nil {
		t.Fatal("Open(:memory:) succeeded; the two pools would see different databases")
	}
}

func TestOpenHandlesPathsThatLookLikeURIs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd ?name#=&.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	defer s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file not at the given path: %v", err)
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
