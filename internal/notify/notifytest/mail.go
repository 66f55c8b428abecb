package notifytest

import (
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
)

// Mail is an accepted message read the way a mail client would: headers,
// decoded subject and the plain-text body with quoted-printable undone and
// line ends as "\n".
type Mail struct {
	Header  mail.Header
	Subject string
	Body    string
}

// Read parses m, failing t unless it is an RFC 5322 message with a
// quoted-printable body and a well-formed subject.
func (m Message) Read(t testing.TB) Mail {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		t.Fatalf("the message is not RFC 5322: %v\n%s", err, m.Data)
	}
	if got := msg.Header.Get("Content-Transfer-Encoding"); got != "quoted-printable" {
		t.Fatalf("Content-Transfer-Encoding %q, want quoted-printable", got)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatalf("body is not quoted-printable: %v", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("Subject %q: %v", msg.Header.Get("Subject"), err)
	}
	return Mail{Header: msg.Header, Subject: subject, Body: strings.ReplaceAll(string(body), "\r\n", "\n")}
}
