package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/token"
)

// TestScanOfAHostileCheckoutCannotDriveTheTerminal: someone who controls a
// repository names a file with escape sequences and a line break, and puts
// a checksum-valid lookalike token in it (anyone can compute the checksum).
// `latchkey scan .` on that checkout prints the file's path: it must print
// no terminal controls and forge no extra finding lines.
func TestScanOfAHostileCheckoutCannotDriveTheTerminal(t *testing.T) {
	dir := t.TempDir()
	tok, err := token.Generate("lk", token.Kind("pat"))
	if err != nil {
		t.Fatal(err)
	}
	name := "x\x1b]0;pwned\x07\x1b[2J\nclean.go:1: nothing (ok)\u202egnp.env"
	if err := os.WriteFile(filepath.Join(dir, name), []byte("TOKEN="+tok+"\n"), 0o600); err != nil {
		t.Skipf("this file system refuses the name: %v", err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"scan", dir}, strings.NewReader(""), &out, &errb); code != exitFound {
		t.Fatalf("scan: exit %d, want %d\n%s%s", code, exitFound, out.String(), errb.String())
	}
	terminalSafe(t, "latchkey scan", out.String())
	if n := strings.Count(out.String(), "\n"); n != 1 {
		t.Errorf("scan printed %d lines for one finding: the file name forged some\n%q", n, out.String())
	}
	// -o json keeps the exact path, for tools.
	out.Reset()
	_ = run([]string{"scan", dir, "-o", "json"}, strings.NewReader(""), &out, &errb)
	var found []struct {
		Path string `json:"path"`
	}
	if err := json.Unmarshal(out.Bytes(), &found); err != nil || len(found) != 1 || found[0].Path != filepath.Join(dir, name) {
		t.Errorf("scan -o json = %s (%v), want the exact path", out.String(), err)
	}
}

// TestLoginAndContextMessagesFromAHostileServerPrintNoTerminalControls: the
// server (or whoever answers at a plain http:// address) names the user in
// its /api/v1/me answer; `latchkey login` and `latchkey context use` print
// that name, and must not pass escape sequences on to the terminal.
func TestLoginAndContextMessagesFromAHostileServerPrintNoTerminalControls(t *testing.T) {
	hostile := "\x1b[2J\x1b]0;pwned\x07admin\u202etxt.exe"
	srv := meServer(t, hostile)
	useServer(t, "", "")

	var out, errb bytes.Buffer
	if code := run([]string{"login", srv.URL, "--context", "evil", "--token", "-"}, strings.NewReader("lk_pat_000000000000000000000000000000000000\n"), &out, &errb); code != 0 {
		t.Fatalf("login: exit %d\n%s%s", code, out.String(), errb.String())
	}
	terminalSafe(t, "latchkey login", out.String()+errb.String())

	out.Reset()
	errb.Reset()
	if code := run([]string{"context", "use", "evil"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("context use: exit %d\n%s%s", code, out.String(), errb.String())
	}
	terminalSafe(t, "latchkey context use", out.String()+errb.String())
}

// TestLoginOverPlainHTTPToAnotherMachineWarnsBeforeAnyCredentialIsSent: a
// password typed for http://latchkey.internal crosses the network in clear
// text, as does the session token that comes back and every later request.
// The user must be told before the credential is asked for or sent; a
// loopback server (latchkey serve's own address) needs no such warning.
func TestLoginOverPlainHTTPToAnotherMachineWarnsBeforeAnyCredentialIsSent(t *testing.T) {
	useServer(t, "", "")
	for _, c := range []struct {
		url  string
		warn bool
	}{
		{"http://latchkey.invalid", true},
		{"http://10.0.0.5:8080", true},
		{"https://latchkey.invalid", false},
		{"http://localhost:1", false},
		{"http://127.0.0.1:1", false},
		{"http://[::1]:1", false},
	} {
		t.Run(c.url, func(t *testing.T) {
			var out, errb bytes.Buffer
			// No --username and no terminal: login stops before it sends
			// anything, so no network is needed to see the warning.
			run([]string{"login", c.url}, strings.NewReader(""), &out, &errb)
			got := strings.Contains(errb.String(), "not encrypted")
			if got != c.warn {
				t.Errorf("login %s: warned=%v, want %v\n%s", c.url, got, c.warn, errb.String())
			}
		})
	}
}

// TestGitCredentialGivesGitNoLinesAHostileServerChose: Git reads the
// helper's answer as key=value lines, so a user name holding a line break
// (from a server's /me answer) would add lines of the server's choosing.
func TestGitCredentialGivesGitNoLinesAHostileServerChose(t *testing.T) {
	hostile := "bob\nurl=https://evil.example/\nquit=1"
	srv := meServer(t, hostile)
	useServer(t, "", "")
	var out, errb bytes.Buffer
	if code := run([]string{"login", srv.URL, "--token", "-"}, strings.NewReader("lk_pat_000000000000000000000000000000000000\n"), &out, &errb); code != 0 {
		t.Fatalf("login: exit %d\n%s%s", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	host := strings.TrimPrefix(srv.URL, "http://")
	if code := run([]string{"git-credential", "get"}, strings.NewReader("protocol=http\nhost="+host+"\n\n"), &out, &errb); code != 0 {
		t.Fatalf("git-credential get: exit %d\n%s%s", code, out.String(), errb.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "username=") || !strings.HasPrefix(lines[1], "password=") {
		t.Fatalf("git-credential answered %d lines %q; want username= and password= only", len(lines), lines)
	}
}

// meServer is a server on loopback answering every request with a /me
// answer for a user of the given name: what a hostile server sends.
func meServer(t *testing.T, username string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"user":   map[string]any{"id": "u1", "username": username, "role": "owner", "kind": "person"},
			"token":  map[string]any{"id": "t1", "name": "ci", "kind": "pat", "state": "active", "scopes": []string{"repo"}, "hint": "abcd", "expires_at": nil},
			"scopes": []string{"repo"},
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}
