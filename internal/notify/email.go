package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"os"
	"strings"
	"time"
)

// SMTPConfig is how to reach the mail server.
type SMTPConfig struct {
	// URL is smtp://[user:password@]host[:port] (default port 587; STARTTLS
	// is used whenever the server offers it) or smtps://... (implicit TLS,
	// default port 465). With a user, the password is sent with AUTH PLAIN,
	// which net/smtp allows only over TLS or to a loopback server.
	URL string
	// From is the sender address, e.g. "Latchkey <latchkey@example.com>".
	From string
	// TLS, when set, is used for STARTTLS and smtps (tests use it to trust
	// their own certificate); ServerName defaults to the URL's host.
	TLS *tls.Config
	// Timeout bounds one whole delivery, connection included (default 30s).
	Timeout time.Duration
	// HelloName is the name sent in EHLO (default: this machine's name).
	HelloName string
}

// email sends notices as plain-text mail to the token's owner.
type email struct {
	addr, host     string
	implicitTLS    bool
	user, password string
	auth           bool
	from           *mail.Address
	tls            *tls.Config
	timeout        time.Duration
	hello          string
}

// ParseSMTPURL checks an SMTP URL and returns it with the password hidden,
// for messages and logs.
func ParseSMTPURL(raw string) (redacted string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		// *url.Error repeats the URL, password included: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("the SMTP URL is not valid (%v); write it as smtp://user:password@host:587 or smtps://user:password@host:465", err)
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		return "", fmt.Errorf("the SMTP URL must start with smtp:// (STARTTLS when offered) or smtps:// (implicit TLS), not %q", u.Scheme+"://")
	}
	if u.Hostname() == "" {
		return "", errors.New("the SMTP URL names no host; write it as smtp://user:password@host:587")
	}
	if u.Port() != "" {
		if p, err := net.LookupPort("tcp", u.Port()); err != nil || p <= 0 {
			return "", fmt.Errorf("the SMTP URL's port %q is not a port number", u.Port())
		}
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("the SMTP URL takes no path, query or fragment: smtp://user:password@host:port")
	}
	return u.Redacted(), nil
}

func newEmail(cfg SMTPConfig) (*email, error) {
	redacted, err := ParseSMTPURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	u, _ := url.Parse(cfg.URL)
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: the sender %q is not an email address; give one like latchkey@example.com: %w", cfg.From, err)
	}
	e := &email{host: u.Hostname(), implicitTLS: u.Scheme == "smtps", from: from, timeout: cfg.Timeout, hello: cfg.HelloName}
	port := u.Port()
	if port == "" {
		port = map[bool]string{false: "587", true: "465"}[e.implicitTLS]
	}
	e.addr = net.JoinHostPort(e.host, port)
	if u.User != nil {
		e.auth, e.user = true, u.User.Username()
		e.password, _ = u.User.Password()
		if e.user == "" {
			return nil, fmt.Errorf("smtp: %s has a password but no user name", redacted)
		}
	}
	e.tls = &tls.Config{ServerName: e.host, MinVersion: tls.VersionTLS12}
	if cfg.TLS != nil {
		e.tls = cfg.TLS.Clone()
		if e.tls.ServerName == "" {
			e.tls.ServerName = e.host
		}
	}
	if e.timeout <= 0 {
		e.timeout = 30 * time.Second
	}
	if e.hello == "" {
		e.hello = "localhost"
		if h, err := os.Hostname(); err == nil && h != "" && !strings.ContainsAny(h, " \r\n") {
			e.hello = h
		}
	}
	return e, nil
}

func (e *email) name() string { return "email" }

func (e *email) deliver(ctx context.Context, n Notice, link string) error {
	if n.Owner.Email == "" {
		return errNoRecipient
	}
	to, err := mail.ParseAddress(n.Owner.Email)
	if err != nil {
		return fmt.Errorf("owner's address %q: %w", n.Owner.Email, err)
	}
	msg, err := composeEmail(e.from, &mail.Address{Name: n.Owner.Username, Address: to.Address}, n, link)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	return e.send(ctx, to.Address, msg)
}

// send runs one SMTP conversation: connect (TLS for smtps), EHLO, STARTTLS
// when offered, AUTH when configured, MAIL, RCPT, DATA, QUIT.
func (e *email) send(ctx context.Context, to string, msg []byte) error {
	conn, err := e.dial(ctx)
	if err != nil {
		return err
	}
	// The conversation obeys ctx: its deadline bounds every read and write,
	// and a cancellation closes the connection.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, e.host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp %s: greeting: %w", e.addr, ctxErr(ctx, err))
	}
	defer c.Close()
	if err := e.converse(c, to, msg); err != nil {
		return fmt.Errorf("smtp %s: %w", e.addr, ctxErr(ctx, err))
	}
	return nil
}

func (e *email) converse(c *smtp.Client, to string, msg []byte) error {
	if err := c.Hello(e.hello); err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if !e.implicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(e.tls); err != nil {
				return fmt.Errorf("STARTTLS: %w", err)
			}
		}
	}
	if e.auth {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("the server offers no AUTH, but the SMTP URL has credentials; remove them or fix the server")
		}
		if err := c.Auth(smtp.PlainAuth("", e.user, e.password, e.host)); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	if err := c.Mail(e.from.Address); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	return c.Quit()
}

func (e *email) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if e.implicitTLS {
		conn, err := (&tls.Dialer{NetDialer: d, Config: e.tls}).DialContext(ctx, "tcp", e.addr)
		if err != nil {
			return nil, fmt.Errorf("smtps %s: %w", e.addr, err)
		}
		return conn, nil
	}
	conn, err := d.DialContext(ctx, "tcp", e.addr)
	if err != nil {
		return nil, fmt.Errorf("smtp %s: %w", e.addr, err)
	}
	return conn, nil
}

// ctxErr prefers the context's error when it ended the conversation, since
// the connection error it caused ("use of closed connection") says less.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}
