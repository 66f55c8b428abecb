package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/servertest"
	"github.com/latchkey/latchkey/internal/store/sqlite"
	"github.com/latchkey/latchkey/internal/token"
)

// TestFailedFirstStartLeavesNoOwnerBehind starts `latchkey serve` on an
// empty data directory in the two ways a first start commonly fails: the
// port is taken, or a route rule in the config file is wrong. Each start
// fails with a readable error, prints no password, and leaves no user in
// the database, so the next (good) start creates the owner and prints its
// password.
func TestFailedFirstStartLeavesNoOwnerBehind(t *testing.T) {
	// serve sets the process's memory limit and collector pacing before it
	// fails to start: give this test process its own back.
	limit, gc := debug.SetMemoryLimit(-1), debug.SetGCPercent(-1)
	debug.SetGCPercent(gc)
	t.Cleanup(func() { debug.SetMemoryLimit(limit); debug.SetGCPercent(gc) })
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	badRoutes := filepath.Join(t.TempDir(), "latchkey.yaml")
	if err := os.WriteFile(badRoutes, []byte("routes:\n  rules:\n    - {name: api, path: no-leading-slash, scope: repo}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"port busy", []string{"--listen", busy.Addr().String()}, "address already in use"},
		{"bad route rule", []string{"--listen", "127.0.0.1:0", "--config", badRoutes}, "no-leading-slash"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"serve", "--data-dir", dir}, c.args...), strings.NewReader(""), &stdout, &stderr)
			if code == 0 {
				t.Fatalf("serve succeeded; want a failed start")
			}
			if !strings.Contains(stderr.String(), c.wantErr) {
				t.Errorf("stderr %q does not say %q", stderr.String(), c.wantErr)
			}
			if strings.Contains(stdout.String(), "password") {
				t.Errorf("a failed start printed a password:\n%s", stdout.String())
			}
			if n := countUsers(t, dir); n != 0 {
				t.Fatalf("the failed start left %d users behind; want none", n)
			}
		})
	}
}

func countUsers(t *testing.T, dir string) int {
	t.Helper()
	path := filepath.Join(dir, "latchkey.db")
	if _, err := os.Stat(path); err != nil {
		return 0 // not even a database
	}
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, err := st.CountUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAdminResetPasswordOpensTheDatabaseDirectly resets the first owner's
// password while the server runs, as an operator who lost it would: the
// new password (generated, or read from stdin) logs in, the old one no
// longer does.
func TestAdminResetPasswordOpensTheDatabaseDirectly(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		where := []string{"--data-dir", s.App.Config.DataDir}
		if s.App.Config.DatabaseURL != "" {
			where = []string{"--database-url", s.App.Config.DatabaseURL}
		}
		before := s.Login(t, servertest.AdminUser, servertest.AdminPassword)
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"admin", "reset-password", servertest.AdminUser}, where...), strings.NewReader(""), &stdout, &stderr)
		if code != 0 {
			t.Fatalf("reset-password exit %d: %s", code, stderr.String())
		}
		d := token.Hash(before)
		if sess, err := s.App.Store.GetSessionByDigest(t.Context(), d[:]); err != nil || sess.RevokedAt == nil {
			t.Errorf("the session opened before the reset was not ended: %+v, %v", sess, err)
		}
		m := regexp.MustCompile(`New password for admin: (\S+)\n`).FindStringSubmatch(stdout.String())
		if m == nil {
			t.Fatalf("no new password in %q", stdout.String())
		}
		if st, _, _ := s.Do(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"username": "admin", "password": servertest.AdminPassword}); st != http.StatusUnauthorized {
			t.Errorf("the old password still logs in: %d", st)
		}
		s.Login(t, "admin", m[1])

		stdout.Reset()
		code = run(append([]string{"admin", "reset-password", "admin", "--password-stdin"}, where...), strings.NewReader("chosen-password-42\n"), &stdout, &stderr)
		if code != 0 || strings.Contains(stdout.String(), "chosen-password-42") {
			t.Fatalf("reset-password --password-stdin exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
		}
		s.Login(t, "admin", "chosen-password-42")

		stderr.Reset()
		if code := run(append([]string{"admin", "reset-password", "nobody"}, where...), strings.NewReader(""), &stdout, &stderr); code != exitNotFound || !strings.Contains(stderr.String(), `no user "nobody"`) {
			t.Errorf("unknown user: exit %d, stderr %q; want %d and a clear message", code, stderr.String(), exitNotFound)
		}
		stderr.Reset()
		if code := run(append([]string{"admin", "reset-password", "admin", "--password-stdin"}, where...), strings.NewReader("short\n"), &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "at least 8") {
			t.Errorf("short password: exit %d, stderr %q", code, stderr.String())
		}
	})
	t.Run("no database", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		dir := t.TempDir()
		if code := run([]string{"admin", "reset-password", "admin", "--data-dir", dir}, strings.NewReader(""), &stdout, &stderr); code != exitNotFound {
			t.Errorf("exit %d, stderr %q; want %d", code, stderr.String(), exitNotFound)
		}
		if _, err := os.Stat(filepath.Join(dir, "latchkey.db")); err == nil {
			t.Errorf("reset-password created a database")
		}
	})
}
