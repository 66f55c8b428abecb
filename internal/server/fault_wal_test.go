package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/servertest"
)

// faultChildDir names the environment variable that makes
// TestFaultChildServer run a server on that data directory until killed.
const faultChildDir = "LATCHKEY_FAULT_CHILD_DIR"

// TestFaultChildServer is not a test of its own: run by a fault test as a
// child process (faultChildDir set), it serves on SQLite in that directory
// and writes its URL to the file "url" there, so that the parent can kill
// it with SIGKILL as an OOM killer or a lost node would.
func TestFaultChildServer(t *testing.T) {
	dir := os.Getenv(faultChildDir)
	if dir == "" {
		t.Skip("run by the fault tests as a child process")
	}
	s := servertest.Start(t, "--data-dir", dir, "--cache-ttl=1h")
	if err := os.WriteFile(filepath.Join(dir, "url.tmp"), []byte(s.URL), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "url.tmp"), filepath.Join(dir, "url")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Minute)
}

// startChild runs TestFaultChildServer on dir and returns its URL and the
// process.
func startChild(t *testing.T, dir string) (string, *exec.Cmd) {
	t.Helper()
	_ = os.Remove(filepath.Join(dir, "url"))
	cmd := exec.Command(os.Args[0], "-test.run=^TestFaultChildServer$", "-test.v")
	cmd.Env = append(os.Environ(), faultChildDir+"="+dir)
	out, err := os.Create(filepath.Join(dir, "child.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "url")); err == nil {
			return string(b), cmd
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(out.Name())
			t.Fatalf("the child server did not start: %s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// call sends a JSON request and returns the status and body.
func call(t *testing.T, method, url, bearer string, body any) (int, []byte) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes()
}

// TestARevocationAnsweredAfterTheWALWasDeletedSurvivesAKill deletes
// SQLite's WAL file under a running server (a cleanup script, an operator
// who took it for a temporary file), revokes a token, and kills the server
// with SIGKILL as soon as it answers 204. The server kept writing to the
// WAL it had open, which no longer has a name: unless the commit reached
// the database file before the answer, it died with the process. The next
// start must refuse the token.
func TestARevocationAnsweredAfterTheWALWasDeletedSurvivesAKill(t *testing.T) {
	dir := t.TempDir()
	for round := range 12 {
		url, cmd := startChild(t, dir)
		st, body := call(t, http.MethodPost, url+"/api/v1/auth/login", "", map[string]string{"username": servertest.AdminUser, "password": servertest.AdminPassword})
		var login struct{ Token string }
		if st != http.StatusOK || json.Unmarshal(body, &login) != nil {
			t.Fatalf("login: %d %s", st, body)
		}
		var created struct {
			Secret string
			Token  struct{ ID string }
		}
		st, body = call(t, http.MethodPost, url+"/api/v1/tokens", login.Token, map[string]any{"name": fmt.Sprintf("victim-%d", round), "scopes": []string{"repo:read"}})
		if st != http.StatusCreated || json.Unmarshal(body, &created) != nil {
			t.Fatalf("create: %d %s", st, body)
		}
		if err := os.Remove(filepath.Join(dir, "latchkey.db-wal")); err != nil {
			t.Fatal(err)
		}
		if st, body = call(t, http.MethodDelete, url+"/api/v1/tokens/"+created.Token.ID, login.Token, nil); st != http.StatusNoContent {
			log, _ := os.ReadFile(filepath.Join(dir, "child.log"))
			t.Fatalf("revoke after the WAL was deleted: %d %s; want 204\n%s", st, body, log)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Logf("round %d: killed pid %d after the 204", round, cmd.Process.Pid)

		url, cmd = startChild(t, dir)
		st, body = call(t, http.MethodGet, url+"/api/v1/me", created.Secret, nil)
		if st != http.StatusUnauthorized {
			_ = cmd.Process.Kill()
			t.Fatalf("round %d: the token revoked (204) after the WAL file was deleted answers %d after a kill -9 and a restart: %s; want 401", round, st, strings.TrimSpace(string(body)))
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
}
