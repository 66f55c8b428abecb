package main

import (
	"bytes"
	"database/sql"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/testenv"
)

// TestOlderReleaseRefusesANewerSchema is an operator rolling back to an
// older binary without restoring the backup: the database carries a
// migration the binary does not know. `latchkey serve`, `latchkey migrate`
// and `latchkey migrate status` each refuse it with one line that says what
// happened and what to do, instead of serving a schema the code was not
// written for.
func TestOlderReleaseRefusesANewerSchema(t *testing.T) {
	limit, gc := debug.SetMemoryLimit(-1), debug.SetGCPercent(-1)
	debug.SetGCPercent(gc)
	t.Cleanup(func() { debug.SetMemoryLimit(limit); debug.SetGCPercent(gc) })
	backends := []struct {
		name  string
		setup func(t *testing.T) (where []string, driver, dsn string)
	}{
		{"sqlite", func(t *testing.T) ([]string, string, string) {
			dir := t.TempDir()
			return []string{"--data-dir", dir}, "sqlite", filepath.Join(dir, "latchkey.db")
		}},
		{"postgres", func(t *testing.T) ([]string, string, string) {
			dsn := servertest.NewPostgresSchema(t, testenv.PostgresDSN(t))
			return []string{"--database-url", dsn}, "pgx", dsn
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			where, driver, dsn := b.setup(t)
			var stdout, stderr bytes.Buffer
			if code := run(append([]string{"migrate"}, where...), strings.NewReader(""), &stdout, &stderr); code != 0 {
				t.Fatalf("migrate exit %d: %s", code, stderr.String())
			}
			db, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			// What a newer release's next migration leaves behind.
			if _, err := db.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, true)`); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{
				{"serve", "--listen", "127.0.0.1:0"},
				{"migrate"},
				{"migrate", "status"},
			} {
				code, out, msg := runWithin(t, 15*time.Second, append(args, where...)...)
				if code == 0 {
					t.Errorf("%s on a newer schema: exit 0; want a refusal\nstdout: %s", strings.Join(args, " "), out)
					continue
				}
				if !strings.Contains(msg, "newer than this release") || !strings.Contains(msg, "version 9999") || !strings.Contains(msg, "backup") {
					t.Errorf("%s: stderr %q does not say the schema is newer and what to do", strings.Join(args, " "), msg)
				}
				if strings.Count(strings.TrimSpace(msg), "\n") > 0 {
					t.Errorf("%s: stderr is not one line:\n%s", strings.Join(args, " "), msg)
				}
			}
		})
	}
}

// runWithin runs a command line as the latchkey binary would and returns
// its exit code, stdout and stderr; a command still running after d (a
// server that started) fails the test.
func runWithin(t *testing.T, d time.Duration, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(args, strings.NewReader(""), &stdout, &stderr) }()
	select {
	case code := <-done:
		return code, stdout.String(), stderr.String()
	case <-time.After(d):
		t.Fatalf("%s was still running after %s (it started serving?)", strings.Join(args, " "), d)
		return 0, "", ""
	}
}
