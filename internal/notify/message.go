package notify

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// composeEmail builds the whole RFC 5322 message: headers and a
// quoted-printable plain-text body (so long lines such as a leak's URL
// survive any mail server).
func composeEmail(from, to *mail.Address, n Notice, link string) ([]byte, error) {
	subject, body := emailText(n, link)
	var b bytes.Buffer
	domain := "latchkey.invalid"
	if i := strings.LastIndexByte(from.Address, '@'); i >= 0 {
		domain = from.Address[i+1:]
	}
	for _, h := range [][2]string{
		{"From", from.String()},
		{"To", to.String()},
		{"Subject", encodeSubject(oneLine(subject))},
		{"Date", time.Now().Format(time.RFC1123Z)},
		{"Message-ID", "<" + n.ID + "@" + domain + ">"},
		{"MIME-Version", "1.0"},
		{"Content-Type", "text/plain; charset=utf-8"},
		{"Content-Transfer-Encoding", "quoted-printable"},
		{"Auto-Submitted", "auto-generated"}, // RFC 3834: no auto-replies
		{"X-Latchkey-Event", string(n.Kind)},
	} {
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n"))); err != nil {
		return nil, fmt.Errorf("compose email: %w", err)
	}
	if err := qp.Close(); err != nil {
		return nil, fmt.Errorf("compose email: %w", err)
	}
	return b.Bytes(), nil
}

// encodeSubject writes s as a Subject header's value. Printable ASCII goes
// as is, unless it holds "=?", which a mail client would decode as an RFC
// 2047 encoded word: a token named =?utf-8?q?...?= would then read as other
// text. Anything else is written as B encoded words of at most 45 bytes of
// UTF-8 each (never splitting a character), one per folded line, so that
// a 200-character name in any script stays far below RFC 5322's limit of
// 998 characters a line, past which mail servers refuse the message.
func encodeSubject(s string) string {
	if !strings.Contains(s, "=?") && isPrintableASCII(s) {
		return s
	}
	const maxChunk = 45 // 60 characters of base64; each word is under 75
	var b strings.Builder
	for s != "" {
		n := 0
		for n < len(s) {
			_, l := utf8.DecodeRuneInString(s[n:])
			if n > 0 && n+l > maxChunk {
				break
			}
			n += l
		}
		if b.Len() > 0 {
			b.WriteString("\r\n ")
		}
		b.WriteString("=?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte(s[:n])) + "?=")
		s = s[n:]
	}
	return b.String()
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// oneLine replaces control characters (line breaks above all, U+2028 and
// U+2029 included) with spaces,
// so text from a report cannot add header lines, and drops invisible
// formatting characters (a right-to-left override would make a name or a
// URL read as something else) but for the zero width joiner of emoji.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r), r == '\u2028', r == '\u2029':
			return ' '
		case r != '\u200d' && unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, s)
}

// kindLabel is what a token of the kind is called in prose.
func kindLabel(kind string) string {
	switch kind {
	case "adm":
		return "admin access token"
	case "ses":
		return "login session"
	default:
		return "personal access token"
	}
}

// when writes a time for people: "Thu, 8 Jan 2026 at 15:04 UTC".
func when(t time.Time) string { return t.UTC().Format("Mon, 2 Jan 2006 at 15:04 MST") }

// until writes how far away t is from now: "in 3 days", "in 5 hours".
func until(t, now time.Time) string {
	d := t.Sub(now)
	switch {
	case d < time.Hour:
		return "in less than an hour"
	case d < 48*time.Hour:
		h := int(d.Round(time.Hour) / time.Hour)
		return fmt.Sprintf("in %d hour%s", h, plural(h))
	default:
		days := int(d.Round(24*time.Hour) / (24 * time.Hour))
		return fmt.Sprintf("in %d days", days)
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// emailText is the subject and body of the message for n.
func emailText(n Notice, link string) (subject, body string) {
	var b strings.Builder
	name := oneLine(n.Owner.Username)
	if name == "" {
		name = "there"
	}
	fmt.Fprintf(&b, "Hello %s,\n\n", name)
	what := fmt.Sprintf("Your %s %q (ending in %s)", kindLabel(n.Token.Kind), oneLine(n.Token.Name), n.Token.Hint)
	switch n.Kind {
	case TokenExpiring:
		exp := n.At
		if n.Token.ExpiresAt != nil {
			exp = *n.Token.ExpiresAt
		}
		subject = fmt.Sprintf("Your token %q expires %s", oneLine(n.Token.Name), until(exp, n.At))
		fmt.Fprintf(&b, "%s expires on %s, %s.\n\n", what, when(exp), until(exp, n.At))
		b.WriteString("From then on every request made with it is refused (401 Unauthorized), so\n" +
			"scripts, CI jobs and services that use it will stop working.\n\n")
		b.WriteString("What to do:\n" +
			"- If it is still needed, regenerate it before it expires. It keeps its\n" +
			"  name and scopes and gets a new secret and a new expiry; then put the\n" +
			"  new secret where the old one is used.\n")
		writeLink(&b, link)
		b.WriteString("- If it is no longer needed, you need not do anything: it stops working\n" +
			"  by itself. You can also revoke it now.\n")
	case TokenExpired:
		subject = fmt.Sprintf("Your token %q has expired", oneLine(n.Token.Name))
		fmt.Fprintf(&b, "%s expired on %s.\n", what, when(n.At))
		b.WriteString("Requests made with it are now refused (401 Unauthorized).\n\n")
		b.WriteString("What to do:\n" +
			"- If it is still needed, regenerate it: it keeps its name and scopes and\n" +
			"  gets a new secret and a new expiry. Then put the new secret where the\n" +
			"  old one was used.\n")
		writeLink(&b, link)
		b.WriteString("- If it is no longer needed, nothing needs to be done.\n")
	case TokenLeaked, SessionLeaked:
		subject = leakText(&b, n, what, link)
	default:
		subject = fmt.Sprintf("Latchkey: %s", n.Kind)
		fmt.Fprintf(&b, "%s: %s.\n", what, n.Kind)
		writeLink(&b, link)
	}
	b.WriteString("\n-- \nLatchkey\nYou receive this message because you own this " + kindLabel(n.Token.Kind) + ".\n")
	return subject, b.String()
}

// leakText writes the body of a leak notice and returns its subject.
func leakText(b *strings.Builder, n Notice, what, link string) string {
	if n.Leak != nil && strings.HasPrefix(n.Leak.URL, "file://") {
		// `latchkey scan` found it in a file on someone's machine: not
		// public, but somewhere a secret should not be.
		fmt.Fprintf(b, "%s was found by a local scan on %s, in a file where a secret should not be kept.\n", what, when(n.At))
	} else {
		fmt.Fprintf(b, "%s was reported as exposed in public on %s.\n", what, when(n.At))
	}
	if n.Leak != nil && (n.Leak.URL != "" || n.Leak.Source != "") {
		b.WriteString("\n")
		if n.Leak.URL != "" {
			fmt.Fprintf(b, "  Found at: %s\n", oneLine(n.Leak.URL))
		}
		if n.Leak.Source != "" {
			fmt.Fprintf(b, "  Reported by: %s\n", oneLine(n.Leak.Source))
		}
	}
	b.WriteString("\n")
	var subject string
	switch {
	case n.Kind == SessionLeaked:
		subject = "A login session of yours was exposed and has been ended"
		b.WriteString("Latchkey ended that session at once: it no longer works anywhere.\n\n" +
			"What to do:\n" +
			"- Sign in again where you need to (console or `latchkey login`).\n" +
			"- Remove the session token from where it was found.\n" +
			"- If you did not put it there yourself, change your password.\n")
		writeLink(b, link)
	case n.Token.Previous:
		subject = fmt.Sprintf("The previous secret of your token %q was exposed and no longer works", oneLine(n.Token.Name))
		b.WriteString("It was the token's previous secret, still valid during the grace period of\n" +
			"a regeneration. Latchkey ended that grace period at once: the previous\n" +
			"secret no longer works. The current secret is not affected.\n\n" +
			"What to do:\n" +
			"- Remove the old secret from where it was found.\n" +
			"- Make sure everything that used it now has the current secret.\n" +
			"- Check the token's recent use for addresses you do not recognise.\n")
		writeLink(b, link)
	default:
		subject = fmt.Sprintf("Your token %q was exposed and has been revoked", oneLine(n.Token.Name))
		b.WriteString("Latchkey revoked it at once: every request made with it is now refused\n" +
			"(401 Unauthorized), so nobody who copied it can use it.\n\n" +
			"What to do:\n" +
			"- Check the token's recent use for addresses you do not recognise, and\n" +
			"  look for anything done with it that you did not do.\n")
		writeLink(b, link)
		b.WriteString("- If it is still needed, create a new token with the same scopes and put\n" +
			"  its secret where the old one was used (a revoked token cannot be\n" +
			"  brought back).\n" +
			"- Remove the secret from where it was found, including that file's history.\n")
	}
	return subject
}

func writeLink(b *strings.Builder, link string) {
	if link != "" {
		fmt.Fprintf(b, "  %s\n", link)
	}
}
