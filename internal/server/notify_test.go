package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/notify/notifytest"
	"github.com/latchkey/latchkey/internal/servertest"
)

const webhookSecret = "test-webhook-secret-0123456789"

// quiet is how long a test waits to be sure nothing more arrives.
const quiet = 300 * time.Millisecond

// payload is the part of a webhook body these tests check.
type payload struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Token struct {
		ID        string     `json:"id"`
		Name      string     `json:"name"`
		Kind      string     `json:"kind"`
		Hint      string     `json:"hint"`
		ExpiresAt *time.Time `json:"expires_at"`
	} `json:"token"`
	Owner struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Email    string `json:"email"`
	} `json:"owner"`
	Leak *struct {
		URL    string `json:"url"`
		Source string `json:"source"`
	} `json:"leak"`
	ConsoleURL string `json:"console_url"`
}

// notices starts a mail server and a webhook receiver and returns them with
// the serve flags that send to both.
func notices(t *testing.T) (*notifytest.SMTPServer, *notifytest.Receiver, []string) {
	smtp := notifytest.StartSMTP(t)
	hook := notifytest.StartReceiver(t, webhookSecret)
	return smtp, hook, []string{
		"--smtp-url", "smtp://127.0.0.1:" + smtp.Port(), "--smtp-from", "latchkey@example.com",
		"--webhook-url", hook.URL + "/latchkey", "--webhook-secret", webhookSecret,
	}
}

// nextWebhook waits for the next signed webhook call and decodes it.
func nextWebhook(t *testing.T, hook *notifytest.Receiver, kind string) payload {
	t.Helper()
	c := hook.Next(t)
	if !c.Signed {
		t.Fatalf("webhook call is not signed with the secret: %v", c.Header)
	}
	var p payload
	c.Decode(t, &p)
	if p.Kind != kind || c.Header.Get("X-Latchkey-Event") != kind {
		t.Fatalf("webhook kind %q (header %q), want %s: %s", p.Kind, c.Header.Get("X-Latchkey-Event"), kind, c.Body)
	}
	return p
}

func TestExpiryRemindersGoOutOnceByEmailAndWebhook(t *testing.T) {
	smtp, hook, flags := notices(t)
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		var alice struct {
			ID, Email string
		}
		s.JSON(t, http.MethodPost, "/api/v1/users", admin, map[string]any{
			"username": "alice-" + s.Backend, "password": "alice-password", "email": "alice@example.org",
		}, http.StatusCreated, &alice)
		if alice.Email != "alice@example.org" {
			t.Fatalf("created user shows email %q", alice.Email)
		}
		session := s.Login(t, "alice-"+s.Backend, "alice-password")
		deploy := s.CreateToken(t, session, map[string]any{"name": "deploy", "scopes": []string{"repo"}, "expires_in": "72h"})
		s.CreateToken(t, session, map[string]any{"name": "later", "scopes": []string{"repo"}, "expires_in": "30d"})
		s.CreateToken(t, session, map[string]any{"name": "one-ci-run", "scopes": []string{"repo"}, "expires_in": "2h"})

		s.App.RunJobs(t.Context())
		m := smtp.Next(t)
		if len(m.To) != 1 || m.To[0] != "alice@example.org" || m.From != "latchkey@example.com" {
			t.Fatalf("reminder sent from %q to %v", m.From, m.To)
		}
		mail := m.Read(t)
		if mail.Subject != `Your token "deploy" expires in 3 days` {
			t.Fatalf("reminder subject %q", mail.Subject)
		}
		link := s.URL + "/tokens/" + deploy.ID()
		for _, want := range []string{"Hello alice-" + s.Backend, `"deploy"`, "ending in " + deploy.Secret[len(deploy.Secret)-4:], "regenerate it", link} {
			if !strings.Contains(mail.Body, want) {
				t.Errorf("reminder body lacks %q:\n%s", want, mail.Body)
			}
		}
		if strings.Contains(m.Data, deploy.Secret) || strings.Contains(m.Data, deploy.Secret[:20]) {
			t.Fatal("the reminder contains the token's secret")
		}
		p := nextWebhook(t, hook, "token.expiring")
		if p.Token.ID != deploy.ID() || p.Token.Name != "deploy" || p.Owner.ID != alice.ID || p.Owner.Email != "alice@example.org" || p.ConsoleURL != link || p.Token.ExpiresAt == nil {
			t.Fatalf("webhook payload: %+v", p)
		}
		smtp.None(t, quiet)
		hook.None(t, quiet)

		// The next run, a restart, another replica: the claim holds.
		s.App.RunJobs(t.Context())
		smtp.None(t, quiet)
		hook.None(t, quiet)

		// Once it has expired: one "expired" notice, once.
		after := p.Token.ExpiresAt.Add(time.Hour)
		res, err := s.App.Services.Tokens.SendReminders(t.Context(), after)
		if err != nil || res.Sent != 1 {
			t.Fatalf("SendReminders after the expiry: %+v, %v; want 1 sent", res, err)
		}
		if got := smtp.Next(t).Read(t).Subject; got != `Your token "deploy" has expired` {
			t.Fatalf("expired notice subject %q", got)
		}
		nextWebhook(t, hook, "token.expired")
		if res, err := s.App.Services.Tokens.SendReminders(t.Context(), after.Add(time.Hour)); err != nil || res.Sent != 0 {
			t.Fatalf("SendReminders again: %+v, %v; want nothing sent", res, err)
		}
		smtp.None(t, quiet)

		// Regenerated with a new expiry, the token gets a fresh reminder.
		s.JSON(t, http.MethodPost, "/api/v1/tokens/"+deploy.ID()+"/regenerate", session, map[string]any{"expires_in": "96h"}, http.StatusOK, nil)
		s.App.RunJobs(t.Context())
		if got := smtp.Next(t).Read(t).Subject; got != `Your token "deploy" expires in 4 days` {
			t.Fatalf("reminder after regeneration: subject %q", got)
		}
		nextWebhook(t, hook, "token.expiring")
	}, flags...)
}

func TestLeakReportNotifiesTheOwner(t *testing.T) {
	smtp, hook, flags := notices(t)
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		name := "bob-" + s.Backend
		id := s.CreateUser(t, admin, name, "bob-password", "member", "person")
		s.JSON(t, http.MethodPatch, "/api/v1/users/"+id, admin, map[string]any{"email": "bob@example.org"}, http.StatusOK, nil)
		session := s.Login(t, name, "bob-password")
		leaked := s.CreateToken(t, session, map[string]any{"name": "ci", "scopes": []string{"repo"}})

		report := []map[string]string{{"token": leaked.Secret, "type": "latchkey_pat", "url": "https://gist.example.com/bob/1", "source": "gist-scanner"}}
		s.JSON(t, http.MethodPost, "/api/v1/leaks", "", report, http.StatusOK, nil)
		m := smtp.Next(t)
		if len(m.To) != 1 || m.To[0] != "bob@example.org" {
			t.Fatalf("leak notice sent to %v", m.To)
		}
		mail := m.Read(t)
		if mail.Subject != `Your token "ci" was exposed and has been revoked` {
			t.Fatalf("leak notice subject %q", mail.Subject)
		}
		for _, want := range []string{"https://gist.example.com/bob/1", "gist-scanner", "revoked it at once", s.URL + "/tokens/" + leaked.ID()} {
			if !strings.Contains(mail.Body, want) {
				t.Errorf("leak notice lacks %q:\n%s", want, mail.Body)
			}
		}
		if strings.Contains(m.Data, leaked.Secret) {
			t.Fatal("the leak notice contains the secret")
		}
		p := nextWebhook(t, hook, "token.leaked")
		if p.Token.ID != leaked.ID() || p.Owner.ID != id || p.Leak == nil || p.Leak.URL != "https://gist.example.com/bob/1" || p.Leak.Source != "gist-scanner" {
			t.Fatalf("leak webhook payload: %+v", p)
		}

		// Reported again: already revoked, nothing new to say.
		s.JSON(t, http.MethodPost, "/api/v1/leaks", "", report, http.StatusOK, nil)
		smtp.None(t, quiet)
		hook.None(t, quiet)

		// A leaked session is ended, and its user told.
		s.JSON(t, http.MethodPost, "/api/v1/leaks", "", []map[string]string{{"token": session, "url": "https://paste.example.com/x"}}, http.StatusOK, nil)
		if got := smtp.Next(t).Read(t).Subject; got != "A login session of yours was exposed and has been ended" {
			t.Fatalf("session leak subject %q", got)
		}
		if p := nextWebhook(t, hook, "session.leaked"); p.Owner.ID != id || p.Token.Kind != "ses" {
			t.Fatalf("session leak payload: %+v", p)
		}
	}, flags...)
}

func TestRemindersFollowThePolicyCapAndSkipWhoCannotUseThem(t *testing.T) {
	smtp, hook, flags := notices(t)
	servertest.ForEachBackend(t, func(t *testing.T, s *servertest.Server) {
		admin := s.AdminSession(t)
		carol := s.CreateUser(t, admin, "carol-"+s.Backend, "carol-password", "member", "person") // no email
		dave := s.CreateUser(t, admin, "dave-"+s.Backend, "dave-password", "member", "person")
		s.JSON(t, http.MethodPatch, "/api/v1/users/"+dave, admin, map[string]any{"email": "dave@example.org"}, http.StatusOK, nil)
		capped := s.CreateToken(t, admin, map[string]any{"name": "capped", "user_id": carol, "scopes": []string{"repo"}, "expires_in": "60d"})
		s.CreateToken(t, admin, map[string]any{"name": "suspended-owner", "user_id": dave, "scopes": []string{"repo"}, "expires_in": "48h"})
		s.JSON(t, http.MethodPatch, "/api/v1/users/"+dave, admin, map[string]any{"suspended": true}, http.StatusOK, nil)

		s.App.RunJobs(t.Context())
		hook.None(t, quiet)

		// Lowering the maximum lifetime caps existing tokens: carol's now
		// expires in 5 days, by webhook only, as she has no email.
		s.JSON(t, http.MethodPut, "/api/v1/policy", admin, map[string]any{"max_lifetime": "5d", "default_lifetime": "5d", "allow_no_expiry": false, "creation": "everyone"}, http.StatusOK, nil)
		s.App.RunJobs(t.Context())
		p := nextWebhook(t, hook, "token.expiring")
		if p.Token.ID != capped.ID() || p.Owner.Email != "" || p.Token.ExpiresAt == nil || p.Token.ExpiresAt.Sub(time.Now()) > 5*24*time.Hour {
			t.Fatalf("capped token's reminder: %+v", p)
		}
		hook.None(t, quiet)
		smtp.None(t, quiet)
	}, flags...)
}
