package main

import (
	"bytes"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
)

// TestAdminResetPasswordEndsSessionsOnRunningServers resets a password with
// `latchkey admin reset-password` while servers run with a cache TTL of an
// hour, each having just accepted (and cached) the user's session: the
// session, which the command says it ends, is refused by every server
// within a second, not when its cache entry expires. The command runs in a
// process of its own, as an operator's does. On SQLite the server
// notices the other process's commit; on PostgreSQL the command announces
// the change to every replica.
func TestAdminResetPasswordEndsSessionsOnRunningServers(t *testing.T) {
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		servers := []*servertest.Server{s}
		where := []string{"--data-dir", s.App.Config.DataDir}
		if s.App.Config.DatabaseURL != "" {
			where = []string{"--database-url", s.App.Config.DatabaseURL}
			servers = append(servers, servertest.StartReplica(t, s.App.Config.DatabaseURL, "--cache-ttl=1h"))
		}
		admin := s.AdminSession(t)
		for _, srv := range servers {
			srv.JSON(t, http.MethodGet, "/api/v1/me", admin, nil, http.StatusOK, nil)
		}
		// The command runs in a process of its own, as an operator's does.
		bin, err := exec.LookPath("latchkey") // this test binary, as the CLI (TestMain)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, append([]string{"admin", "reset-password", servertest.AdminUser, "--password-stdin"}, where...)...)
		var stderr bytes.Buffer
		cmd.Stdin, cmd.Stderr = strings.NewReader("a-new-password-42\n"), &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Fatalf("reset-password: %v, stderr %q", err, stderr.String())
		}
		for i, srv := range servers {
			deadline := time.Now().Add(time.Second)
			for {
				st, _, _ := srv.Do(t, http.MethodGet, "/api/v1/me", admin, nil)
				if st == http.StatusUnauthorized {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("server %d still accepts the session a password reset ended: %d", i, st)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		s.Login(t, servertest.AdminUser, "a-new-password-42")
	}, "--cache-ttl=1h")
}
