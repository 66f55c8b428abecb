package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"

	"github.com/latchkey/latchkey/internal/servertest"
)

// terminalSafe fails the test when out holds anything a terminal would
// obey or that hides what the text says: control characters other than
// the line breaks between rows, and invisible formatting characters such
// as U+202E RIGHT-TO-LEFT OVERRIDE.
func terminalSafe(t *testing.T, what, out string) {
	t.Helper()
	for i, r := range out {
		if r == '\n' {
			continue
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			t.Errorf("%s prints %U at byte %d; a terminal would obey it:\n%q", what, r, i, out)
			return
		}
	}
}

func cliOut(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(args, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("latchkey %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String()
}

func useServer(t *testing.T, url, token string) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	t.Setenv(envContext, "")
	t.Setenv(envURL, url)
	t.Setenv(envToken, token)
}

// TestAuditAndTokenOutputCannotDriveTheAdminsTerminal plays the attacks on
// an admin's terminal end to end: anyone holding a leaked token reports it
// with escape sequences in the report's url and source, and a user writes
// a description that forges a "State:" line. The admin's `latchkey audit`
// and `tokens show` print none of it as terminal controls or extra lines;
// -o json still gives the exact values.
func TestAuditAndTokenOutputCannotDriveTheAdminsTerminal(t *testing.T) {
	s := servertest.Start(t)
	admin := s.AdminSession(t)
	tok := s.CreateToken(t, admin, map[string]any{"name": "victim", "description": "deploys\nState:\trevoked", "scopes": []string{"repo"}})
	report := []map[string]string{{"token": tok.Secret, "type": "latchkey",
		"url":    "https://x.example/\x1b]0;owned\x07\x1b[2J\x1b[1;1HALL CLEAR\r\nforged",
		"source": "scanner\u202egnp.exe\u009b31m"}}
	if st, body, _ := s.Do(t, http.MethodPost, "/api/v1/leaks", "", report); st != http.StatusOK {
		t.Fatalf("report: %d %s", st, body)
	}
	useServer(t, s.URL, admin)

	audit := cliOut(t, "audit", "--limit", "5")
	terminalSafe(t, "latchkey audit", audit)
	if !strings.Contains(audit, "token.leak_reported") {
		t.Fatalf("latchkey audit does not show the report:\n%s", audit)
	}

	show := cliOut(t, "tokens", "show", "victim")
	terminalSafe(t, "latchkey tokens show", show)
	if n := strings.Count("\n"+show, "\nState:"); n != 1 {
		t.Errorf("tokens show prints %d \"State:\" lines, want 1: the description forged one\n%s", n, show)
	}
	if !strings.Contains(show, "deploys State: revoked") {
		t.Errorf("tokens show does not print the description on one line:\n%s", show)
	}

	var exact struct {
		Description string `json:"description"`
	}
	if err := json.Unmarshal([]byte(cliOut(t, "tokens", "show", "victim", "-o", "json")), &exact); err != nil {
		t.Fatal(err)
	}
	if exact.Description != "deploys\nState:\trevoked" {
		t.Errorf("-o json description = %q, want it exact", exact.Description)
	}
}

// TestTablesFromAHostileServerPrintNoTerminalControls pins the CLI's own
// rule, whatever the server stores: a server (an older one, or one that is
// not Latchkey) answering names with escape sequences and direction
// overrides gets them printed as visible escapes, in tables and in error
// messages alike.
func TestTablesFromAHostileServerPrintNoTerminalControls(t *testing.T) {
	hostile := "\x1b[2J\x1b]0;pwned\x07ci\u202egnp.exe\u009b1m"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/tokens":
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"items": []map[string]any{{
				"id": "t1", "name": hostile, "description": hostile, "scopes": []string{"repo"}, "user_id": "u1",
				"kind": "pat", "state": "active", "created_at": "2026-01-01T00:00:00Z", "expires_at": nil, "hint": "abcd",
			}}, "next_cursor": ""})
		default:
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{"title": "Bad Request", "status": 400, "detail": "no user " + hostile})
		}
	}))
	defer srv.Close()
	useServer(t, srv.URL, "lk_pat_000000000000000000000000000000000000")

	list := cliOut(t, "tokens", "list")
	terminalSafe(t, "latchkey tokens list", list)
	if !strings.Contains(list, `\x1b[2J\x1b]0;pwned\aci\u202egnp.exe\u009b1m`) {
		t.Errorf("tokens list does not show the name's controls as escapes:\n%s", list)
	}

	var out, errb bytes.Buffer
	if code := run([]string{"users", "show", "nobody"}, strings.NewReader(""), &out, &errb); code == 0 {
		t.Fatalf("users show against a 400: exit 0\n%s", out.String())
	}
	terminalSafe(t, "an error message", errb.String())
}
