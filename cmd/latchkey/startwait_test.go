package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/servertest"
)

// freeListen returns a loopback address no one listens on.
func freeListen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// withPassword puts a password into dsn's user info; the private cluster
// trusts every local connection, so it is never checked, only logged or not.
func withPassword(t *testing.T, dsn, pw string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), pw)
	return u.String()
}

// TestServeWaitsForADatabaseThatIsNotUpYet starts `latchkey serve` on a
// PostgreSQL that is stopped, as a fault harness, Kubernetes or systemd may
// when they start both at once. Latchkey must wait for it, saying in its log
// what failed and that it retries (and never the DSN's password), answer
// /healthz and a 503 /readyz that says it waits for the database meanwhile,
// and start serving once the database is up: a login then works.
func TestServeWaitsForADatabaseThatIsNotUpYet(t *testing.T) {
	const secret = "hunter2-never-logged"
	c := servertest.PrivatePostgres(t)
	ctx := context.Background()
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	listen := freeListen(t)
	p := startServe(t, "--listen", listen, "--database-url", withPassword(t, c.DSN, secret),
		"--admin-password", "correct-horse-battery")

	// Two attempts logged: it waits rather than exiting.
	deadline := time.Now().Add(2 * time.Minute)
	for strings.Count(p.log(), "retrying") < 2 {
		select {
		case err := <-p.done:
			t.Fatalf("latchkey serve exited (%v) while the database was down, instead of waiting for it:\n%s", err, p.log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("latchkey serve did not log two attempts to reach the database:\n%s", p.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, body := get(t, "http://"+listen+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz while waiting for the database: %d %s; want 200 (the process is alive)", code, body)
	}
	if code, body := get(t, "http://"+listen+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "waiting for the database") {
		t.Errorf("/readyz while waiting for the database: %d %q; want 503 saying it waits for the database", code, body)
	}

	if err := c.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	base := p.waitURL(t)
	resp, err := http.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(`{"username":"admin","password":"correct-horse-battery"}`))
	if err != nil {
		t.Fatal(err)
	}
	var login struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || login.Token == "" {
		t.Errorf("login once the database is up: %d; want 200 with a token", resp.StatusCode)
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz once the database is up: %d %s", code, body)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, time.Minute); code != 0 {
		t.Errorf("exit status after SIGTERM: %d; want 0", code)
	}
	if strings.Contains(p.log(), secret) {
		t.Errorf("the log contains the database password:\n%s", p.log())
	}
}

// TestServeStopsCleanlyWhileWaitingForTheDatabase sends SIGTERM to a serve
// that is still waiting for its database: it must stop at once and exit 0,
// not keep retrying.
func TestServeStopsCleanlyWhileWaitingForTheDatabase(t *testing.T) {
	// Nothing listens at this port.
	dsn := "postgres://postgres:pw@" + freeListen(t) + "/postgres?sslmode=disable"
	p := startServe(t, "--database-url", dsn)
	p.waitLog(t, "retrying")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, time.Minute); code != 0 {
		t.Errorf("exit status after SIGTERM while waiting for the database: %d; want 0\n%s", code, p.log())
	}
}

// TestServeExitsAtOnceForADatabaseProblemThatWaitingCannotFix starts serve
// with database settings that no wait will fix: it must exit 1 at once with
// one line that says what is wrong, rather than retry for ever.
func TestServeExitsAtOnceForADatabaseProblemThatWaitingCannotFix(t *testing.T) {
	c := servertest.PrivatePostgres(t)
	u, _ := url.Parse(c.DSN)
	u.Path = "/no_such_database"
	for name, tc := range map[string]struct{ dsn, want string }{
		"database does not exist": {u.String(), "does not exist"},
		"not a DSN":               {"postgres://postgres@127.0.0.1:" + strconv.Itoa(1) + ":2/x", "--database-url"},
	} {
		t.Run(name, func(t *testing.T) {
			p := startServe(t, "--database-url", tc.dsn)
			code := p.wait(t, 2*time.Minute)
			log := p.log()
			if code != 1 {
				t.Errorf("exit status %d; want 1\n%s", code, log)
			}
			if strings.Contains(log, "retrying") {
				t.Errorf("serve retried a database problem that waiting cannot fix:\n%s", log)
			}
			var last string
			for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
				if !strings.HasPrefix(l, "{") {
					last = l
				}
			}
			if !strings.HasPrefix(last, "latchkey: ") || !strings.Contains(last, tc.want) {
				t.Errorf("the error line does not say %q:\n%s", tc.want, log)
			}
		})
	}
}

// TestServeWaitingOnADatabaseOutOfConnectionsSaysSo starts `latchkey
// serve` as a role PostgreSQL refuses every connection to (CONNECTION
// LIMIT 0, which superusers are exempt from, so not one: the same 53300
// refusal as a server at max_connections). The
// database is up and answering: the log must say it refuses more
// connections, not that it cannot be reached, which sends an operator
// looking at the network.
func TestServeWaitingOnADatabaseOutOfConnectionsSaysSo(t *testing.T) {
	c := servertest.PrivatePostgres(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE ROLE lk_full LOGIN CONNECTION LIMIT 0`); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(c.DSN)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User("lk_full")
	p := startServe(t, "--listen", freeListen(t), "--database-url", u.String())
	p.waitLog(t, "retrying")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.wait(t, time.Minute)
	log := p.log()
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "retrying") && !strings.Contains(l, "refuses more connections") {
			t.Fatalf("serve's waiting line does not say the database refuses more connections:\n%s", l)
		}
	}
}
