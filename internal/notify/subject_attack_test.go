package notify_test

import (
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/notify"
	"github.com/latchkey/latchkey/internal/notify/notifytest"
)

// TestSubjectStaysWithinMailLineLimitsAndReadsAsTyped: a token may be named
// with 200 characters of any script (the API's limit), and its name is in
// the Subject. RFC 5322 caps a header line at 998 characters and many mail
// servers refuse longer lines, which would leave the reminder undelivered
// and retried every hour; so the Subject is folded. A name that itself
// looks like an RFC 2047 encoded word (=?utf-8?q?...?=) must reach the
// reader as typed, not decoded by the mail client into other text.
func TestSubjectStaysWithinMailLineLimitsAndReadsAsTyped(t *testing.T) {
	for _, name := range []string{
		strings.Repeat("🔑", 200),
		strings.Repeat("ж", 200),
		"=?utf-8?q?Your_account_is_suspended=2C_call_555-0100?=",
		strings.Repeat("deploy ", 28),
	} {
		t.Run(name[:8], func(t *testing.T) {
			srv := notifytest.StartSMTP(t)
			n := newNotifier(t, notify.Config{SMTP: &notify.SMTPConfig{URL: "smtp://127.0.0.1:" + srv.Port(), From: "latchkey@example.com"}})
			nt := expiringNotice()
			nt.Token.Name = name
			if err := n.Send(t.Context(), nt); err != nil {
				t.Fatalf("Send: %v", err)
			}
			m := srv.Next(t)
			for i, line := range strings.Split(strings.ReplaceAll(m.Data, "\r\n", "\n"), "\n") {
				if len(line) > 998 {
					t.Errorf("line %d of the message has %d characters, more than RFC 5322's 998: %.120s...", i+1, len(line), line)
				}
			}
			if got, want := m.Read(t).Subject, `Your token "`+name+`" expires in 3 days`; got != want {
				t.Errorf("the Subject reads\n%q\nwant\n%q", got, want)
			}
		})
	}
}

// TestLineSeparatorsInANameDoNotBreakTheMail: the API accepts U+2028 and
// U+2029 in a token's name (they are not control characters to Go), and
// mail clients show them as line breaks: in the Subject and in the body's
// quoted name they become spaces, like any other line break.
func TestLineSeparatorsInANameDoNotBreakTheMail(t *testing.T) {
	srv := notifytest.StartSMTP(t)
	n := newNotifier(t, notify.Config{SMTP: &notify.SMTPConfig{URL: "smtp://127.0.0.1:" + srv.Port(), From: "latchkey@example.com"}})
	nt := expiringNotice()
	nt.Token.Name = "deploy\u2028Action required: reply with your password\u2029"
	if err := n.Send(t.Context(), nt); err != nil {
		t.Fatalf("Send: %v", err)
	}
	p := srv.Next(t).Read(t)
	if strings.ContainsAny(p.Subject+p.Body, "\u2028\u2029") {
		t.Errorf("the mail keeps a line separator:\nSubject: %q\n%q", p.Subject, p.Body)
	}
	wantIn(t, "Subject", p.Subject, `"deploy Action required: reply with your password "`)
}
