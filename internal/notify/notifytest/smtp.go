package notifytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// SMTPServer is a small SMTP server on loopback, speaking enough of the
// protocol to accept messages: EHLO/HELO, STARTTLS, AUTH PLAIN, MAIL, RCPT,
// DATA, RSET, NOOP, QUIT.
type SMTPServer struct {
	ln        net.Listener
	tls       *tls.Config // offers STARTTLS when set (and not implicit)
	implicit  bool        // the listener speaks TLS from the first byte
	user, pw  string      // requires AUTH PLAIN with these when set
	rejectTo  string      // RCPT of this address is refused with 550
	messages  chan Message
	mu        sync.Mutex
	sawPlain  bool // AUTH was attempted before TLS
	connCount int
	count     int // messages accepted
}

// Message is one accepted message with its envelope.
type Message struct {
	From     string   // MAIL FROM
	To       []string // RCPT TO
	Data     string   // the message as sent after DATA, dot-unstuffed
	TLS      bool     // the connection was encrypted when it was sent
	AuthUser string   // who authenticated, "" = nobody
}

// SMTPOption configures an SMTPServer.
type SMTPOption func(*SMTPServer)

// WithSTARTTLS makes the server offer STARTTLS with cfg.
func WithSTARTTLS(cfg *tls.Config) SMTPOption { return func(s *SMTPServer) { s.tls = cfg } }

// WithImplicitTLS makes the server speak TLS from the first byte (smtps).
func WithImplicitTLS(cfg *tls.Config) SMTPOption {
	return func(s *SMTPServer) { s.tls, s.implicit = cfg, true }
}

// WithAuth makes the server offer AUTH PLAIN and require these credentials
// before MAIL.
func WithAuth(user, pw string) SMTPOption { return func(s *SMTPServer) { s.user, s.pw = user, pw } }

// Rejecting makes the server refuse RCPT of addr with 550.
func Rejecting(addr string) SMTPOption { return func(s *SMTPServer) { s.rejectTo = addr } }

// StartSMTP starts a server on 127.0.0.1 that stops when t ends.
func StartSMTP(t testing.TB, opts ...SMTPOption) *SMTPServer {
	t.Helper()
	s := &SMTPServer{messages: make(chan Message, 256)}
	for _, o := range opts {
		o(s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if s.implicit {
		ln = tls.NewListener(ln, s.tls)
	}
	s.ln = ln
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.connCount++
			s.mu.Unlock()
			wg.Go(func() { s.serve(c) })
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return s
}

// Stats returns how many connections were accepted and whether AUTH was
// attempted before TLS.
func (s *SMTPServer) Stats() (conns int, plainAuth bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connCount, s.sawPlain
}

// Count is how many messages the server accepted so far.
func (s *SMTPServer) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Port is the port the server listens on.
func (s *SMTPServer) Port() string {
	_, p, _ := net.SplitHostPort(s.ln.Addr().String())
	return p
}

// Next waits for the next accepted message.
func (s *SMTPServer) Next(t testing.TB) Message {
	t.Helper()
	select {
	case m := <-s.messages:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no email arrived within 10s")
		return Message{}
	}
}

// None fails if a message arrives within a short while.
func (s *SMTPServer) None(t testing.TB, wait time.Duration) {
	t.Helper()
	select {
	case m := <-s.messages:
		t.Fatalf("unexpected email to %v:\n%s", m.To, m.Data)
	case <-time.After(wait):
	}
}

func (s *SMTPServer) serve(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	_, secured := conn.(*tls.Conn)
	tp := textproto.NewConn(conn)
	var (
		msg    Message
		authed string
	)
	reply := func(format string, args ...any) { _ = tp.PrintfLine(format, args...) }
	reply("220 test.invalid ESMTP ready")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			lines := []string{"test.invalid greets " + arg}
			if s.tls != nil && !secured {
				lines = append(lines, "STARTTLS")
			}
			if s.user != "" {
				lines = append(lines, "AUTH PLAIN")
			}
			lines = append(lines, "8BITMIME")
			for i, l := range lines {
				sep := "-"
				if i == len(lines)-1 {
					sep = " "
				}
				reply("250%s%s", sep, l)
			}
		case "HELO":
			reply("250 test.invalid")
		case "STARTTLS":
			if s.tls == nil || secured {
				reply("502 not offered")
				continue
			}
			reply("220 go ahead")
			tc := tls.Server(conn, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, secured = tc, true
			tp = textproto.NewConn(tc)
			msg, authed = Message{}, ""
		case "AUTH":
			mech, initial, _ := strings.Cut(arg, " ")
			if !strings.EqualFold(mech, "PLAIN") || s.user == "" {
				reply("504 unsupported")
				continue
			}
			if !secured {
				s.mu.Lock()
				s.sawPlain = true
				s.mu.Unlock()
			}
			if initial == "" {
				reply("334 ")
				if initial, err = tp.ReadLine(); err != nil {
					return
				}
			}
			raw, _ := base64.StdEncoding.DecodeString(initial)
			parts := strings.Split(string(raw), "\x00")
			if len(parts) != 3 || parts[1] != s.user || parts[2] != s.pw {
				reply("535 authentication failed")
				continue
			}
			authed = parts[1]
			reply("235 authenticated")
		case "MAIL":
			if s.user != "" && authed == "" {
				reply("530 authentication required")
				continue
			}
			msg = Message{From: envelopeAddr(arg), TLS: secured, AuthUser: authed}
			reply("250 ok")
		case "RCPT":
			to := envelopeAddr(arg)
			if s.rejectTo != "" && strings.EqualFold(to, s.rejectTo) {
				reply("550 no such mailbox")
				continue
			}
			msg.To = append(msg.To, to)
			reply("250 ok")
		case "DATA":
			if msg.From == "" || len(msg.To) == 0 {
				reply("503 need MAIL and RCPT first")
				continue
			}
			reply("354 end with <CRLF>.<CRLF>")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			msg.Data = string(data)
			s.mu.Lock()
			s.count++
			s.mu.Unlock()
			select {
			case s.messages <- msg:
			default: // Count still tells
			}
			msg = Message{TLS: secured, AuthUser: authed}
			reply("250 queued")
		case "RSET":
			msg = Message{TLS: secured, AuthUser: authed}
			reply("250 ok")
		case "NOOP":
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 unknown command")
		}
	}
}

// envelopeAddr reads "FROM:<a@b>" or "TO:<a@b> SIZE=1" as "a@b".
func envelopeAddr(arg string) string {
	_, v, _ := strings.Cut(arg, ":")
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '>'); i >= 0 {
		v = v[:i]
	}
	return strings.TrimPrefix(v, "<")
}

// Certificates returns a server TLS config with a fresh self-signed
// certificate for 127.0.0.1, and a client config that trusts only it.
func Certificates(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool}
}
