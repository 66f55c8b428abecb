package notify_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/notify"
	"github.com/latchkey/latchkey/internal/notify/notifytest"
)

const publicURL = "https://latchkey.example.com"

func expiringNotice() notify.Notice {
	exp := time.Now().Add(3*24*time.Hour + time.Minute).UTC().Truncate(time.Second)
	return notify.Notice{
		Kind:  notify.TokenExpiring,
		Token: notify.Token{ID: "0190c0de-0000-7000-8000-000000000001", Name: "deploy", Kind: "pat", Hint: "x9Qz", ExpiresAt: &exp},
		Owner: notify.Owner{ID: "0190c0de-0000-7000-8000-0000000000aa", Username: "alice", Email: "alice@example.org"},
	}
}

// testLogger shows the notifier's log lines with the test's output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newNotifier(t *testing.T, cfg notify.Config) *notify.Notifier {
	t.Helper()
	if cfg.PublicURL == nil {
		cfg.PublicURL = func() string { return publicURL + "/" }
	}
	cfg.Logger = testLogger(t)
	n, err := notify.New(cfg)
	if err != nil {
		t.Fatalf("notify.New: %v", err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	return n
}

func wantIn(t *testing.T, what, text string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(text, p) {
			t.Errorf("%s does not contain %q:\n%s", what, p, text)
		}
	}
}

func TestExpiryReminderIsMailedOverSTARTTLSAfterAuthenticating(t *testing.T) {
	srvTLS, cliTLS := notifytest.Certificates(t)
	srv := notifytest.StartSMTP(t, notifytest.WithSTARTTLS(srvTLS), notifytest.WithAuth("mailer", "p@ss:word"))
	n := newNotifier(t, notify.Config{SMTP: &notify.SMTPConfig{
		URL:  "smtp://mailer:p%40ss%3Aword@127.0.0.1:" + srv.Port(),
		From: "Latchkey <latchkey@example.com>", TLS: cliTLS,
	}})
	nt := expiringNotice()
	if err := n.Send(t.Context(), nt); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := srv.Next(t)
	if !m.TLS || m.AuthUser != "mailer" {
		t.Fatalf("message accepted with TLS=%v auth=%q; want STARTTLS, then AUTH as mailer", m.TLS, m.AuthUser)
	}
	if _, plain := srv.Stats(); plain {
		t.Fatal("the password was offered before STARTTLS")
	}
	if m.From != "latchkey@example.com" || len(m.To) != 1 || m.To[0] != "alice@example.org" {
		t.Fatalf("envelope from %q to %v; want latchkey@example.com to alice@example.org", m.From, m.To)
	}
	p := m.Read(t)
	for h, want := range map[string]string{
		"From": `"Latchkey" <latchkey@example.com>`, "To": `"alice" <alice@example.org>`,
		"Content-Type": "text/plain; charset=utf-8", "Auto-Submitted": "auto-generated",
		"X-Latchkey-Event": "token.expiring", "MIME-Version": "1.0",
	} {
		if got := p.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	if _, err := p.Header.Date(); err != nil {
		t.Errorf("Date header: %v", err)
	}
	if id := p.Header.Get("Message-ID"); !strings.HasSuffix(id, "@example.com>") {
		t.Errorf("Message-ID %q is not <id@example.com>", id)
	}
	if got := p.Subject; got != `Your token "deploy" expires in 3 days` {
		t.Errorf("Subject %q", got)
	}
	wantIn(t, "body", p.Body,
		"Hello alice,",
		`Your personal access token "deploy" (ending in x9Qz) expires on `+nt.Token.ExpiresAt.Format("Mon, 2 Jan 2006 at 15:04")+" UTC, in 3 days.",
		"401 Unauthorized",
		"regenerate it before it expires",
		"  "+publicURL+"/tokens/"+nt.Token.ID+"\n",
	)
	if strings.Contains(p.Body, "p@ss") {
		t.Fatal("the SMTP password is in the message")
	}
}

func TestEmailOverImplicitTLS(t *testing.T) {
	srvTLS, cliTLS := notifytest.Certificates(t)
	srv := notifytest.StartSMTP(t, notifytest.WithImplicitTLS(srvTLS))
	n := newNotifier(t, notify.Config{SMTP: &notify.SMTPConfig{
		URL: "smtps://127.0.0.1:" + srv.Port(), From: "latchkey@example.com", TLS: cliTLS,
	}})
	nt := expiringNotice()
	nt.Kind = notify.TokenExpired
	nt.At = *nt.Token.ExpiresAt
	if err := n.Send(t.Context(), nt); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := srv.Next(t)
	if !m.TLS {
		t.Fatal("message not sent over TLS")
	}
	p := m.Read(t)
	if got := p.Subject; got != `Your token "deploy" has expired` {
		t.Errorf("Subject %q", got)
	}
	wantIn(t, "body", p.Body, "expired on "+nt.At.Format("Mon, 2 Jan 2006 at 15:04")+" UTC", "regenerate it", publicURL+"/tokens/"+nt.Token.ID)
}

func TestEmailToAnUntrustedServerFails(t *testing.T) {
	srvTLS, _ := notifytest.Certificates(t)
	srv := notifytest.StartSMTP(t, notifytest.WithSTARTTLS(srvTLS), notifytest.WithAuth("mailer", "secret"))
	n := newNotifier(t, notify.Config{SMTP: &notify.SMTPConfig{
		URL: "smtp://mailer:secret@127.0.0.1:" + srv.Port(), From: "latchkey@example.com",
	}})
	err := n.Send(t.Context(), expiringNotice())
	var de *notify.DeliveryError
	if !errors.As(err, &de) || de.Failed["email"] == nil || len(de.Delivered) != 0 {
		t.Fatalf("Send to a server with an untrusted certificate: %v; want the email channel to fail", err)
	}
	if !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("error %q does not say STARTTLS failed", err)
	}
	srv.None(t, 100*time.Millisecond)
}

func TestLeakNoticeSaysWhereAndCannotInjectHeaders(t *testing.T) {
	srv := notifytest.StartSMTP(t)
	n := newNotifier(t, notify.Config{SMTP: &notify.SMTPConfig{URL: "smtp://127.0.0.1:" + srv.Port(), From: "latchkey@example.com"}})
	nt := expiringNotice()
	nt.Kind = notify.TokenLeaked
	long := "https://gist.example.com/a/" + strings.Repeat("0123456789", 30) + "\r\nBcc: evil@example.net"
	nt.Leak = &notify.Leak{URL: long, Source: "github"}
	if err := n.Send(t.Context(), nt); err != nil {
		t.Fatalf("Send: %v", err)
	}
	p := srv.Next(t).Read(t)
	if p.Header.Get("Bcc") != "" {
		t.Fatal("a Bcc header was injected")
	}
	if got := p.Subject; got != `Your token "deploy" was exposed and has been revoked` {
		t.Errorf("Subject %q", got)
	}
	wantIn(t, "body", p.Body, "was reported as exposed in public", "Reported by: github",
		"Found at: https://gist.example.com/a/"+strings.Repeat("0123456789", 30)+"  Bcc: evil@example.net",
		"revoked it at once", "create a new token", publicURL+"/tokens/"+nt.Token.ID)
}

func TestOwnerWithoutEmailIsSkipped(t *testing.T) {
	srv := notifytest.StartSMTP(t)
	n := newNotifier(t, notify.Config{SMTP: &notify.SMTPConfig{URL: "smtp://127.0.0.1:" + srv.Port(), From: "latchkey@example.com"}})
	nt := expiringNotice()
	nt.Owner.Email = ""
	if err := n.Send(t.Context(), nt); err != nil {
		t.Fatalf("Send for an owner without email: %v; want nil (nothing to do)", err)
	}
	if conns, _ := srv.Stats(); conns != 0 {
		t.Fatal("the mail server was contacted for an owner without an address")
	}
}

func TestRefusedRecipientIsAFailure(t *testing.T) {
	srv := notifytest.StartSMTP(t, notifytest.Rejecting("alice@example.org"))
	n := newNotifier(t, notify.Config{SMTP: &notify.SMTPConfig{URL: "smtp://127.0.0.1:" + srv.Port(), From: "latchkey@example.com"}})
	err := n.Send(t.Context(), expiringNotice())
	if err == nil || !strings.Contains(err.Error(), "RCPT TO") || !strings.Contains(err.Error(), "550") {
		t.Fatalf("Send to a refused recipient: %v; want an error naming RCPT TO and 550", err)
	}
}

func TestSMTPConfigErrorsSayHowToFixThem(t *testing.T) {
	for _, c := range []struct {
		url, from, want string
	}{
		{"mail.example.com:587", "a@example.com", "smtp://"},
		{"http://mail.example.com", "a@example.com", "must start with smtp://"},
		{"smtp://:587", "a@example.com", "names no host"},
		{"smtp://mail.example.com:nope", "a@example.com", "port"},
		{"smtp://mail.example.com/x?y=1", "a@example.com", "no path, query or fragment"},
		{"smtp://:pw@mail.example.com", "a@example.com", "no user name"},
		{"smtp://mail.example.com", "", "not an email address"},
		{"smtp://mail.example.com", "latchkey", "not an email address"},
	} {
		_, err := notify.New(notify.Config{SMTP: &notify.SMTPConfig{URL: c.url, From: c.from}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(smtp %q, from %q) = %v; want an error containing %q", c.url, c.from, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("error %q shows the password", err)
		}
	}
	if _, err := notify.New(notify.Config{}); err == nil {
		t.Error("New with no channel succeeded")
	}
}
