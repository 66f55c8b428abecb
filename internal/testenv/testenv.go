// Package testenv is how tests find the real components they drive
// (PostgreSQL, nginx, Caddy, git, Chromium, wrk, helm, ...) and what they do
// when one is missing: skip with the reason on a developer's machine, fail
// under CI=true, so a green CI always means the real components ran.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// PostgresDSNEnv names the variable that holds the PostgreSQL DSN tests use.
const PostgresDSNEnv = "LATCHKEY_TEST_POSTGRES_DSN"

// InCI reports whether the tests run in CI (CI=true), where every component
// must be present.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing stops the test because a component it needs is absent: a skip that
// says why on a developer's machine, a failure in CI.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("CI=true and a component is missing: %s", msg)
	}
	t.Skip(msg)
}

// LookPath finds a program on PATH or in the sbin directories Debian puts
// daemons in, or stops the test saying which Debian package provides it.
func LookPath(t testing.TB, name, pkg string) string {
	t.Helper()
	if p := Find(name); p != "" {
		return p
	}
	Missing(t, "%s not found: install it (%s; .ci/run does) to run this test", name, pkg)
	return ""
}

// Find returns the path of a program on PATH or in an sbin directory, or "".
func Find(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// PostgresDSN returns the DSN of the test PostgreSQL server, or stops the
// test when none is configured.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(PostgresDSNEnv)
	if dsn == "" {
		Missing(t, "needs PostgreSQL: set %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable; .ci/run does)", PostgresDSNEnv)
	}
	return dsn
}

// PostgresHint says how to fix a failed connection to the test PostgreSQL
// when the cause is one a fresh server has (no database "test"), else "".
func PostgresHint(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	if strings.Contains(msg, "does not exist") && strings.Contains(msg, "database") {
		return "; create the database with `createdb -h 127.0.0.1 -U postgres test` (.ci/run does), or point " + PostgresDSNEnv + " at one that exists"
	}
	if strings.Contains(msg, "connection refused") {
		return "; is PostgreSQL running at the address in " + PostgresDSNEnv + "?"
	}
	return ""
}
