package notify_test

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

// smtpServer is a small SMTP server on loopback, speaking enough of the
// protocol to accept messages: EHLO/HELO, STARTTLS, AUTH PLAIN, MAIL, RCPT,
// DATA, RSET, NOOP, QUIT.
type smtpServer struct {
	ln        net.Listener
	tls       *tls.Config // offers STARTTLS when set (and not implicit)
	implicit  bool        // the listener speaks TLS from the first byte
	user, pw  string      // requires AUTH PLAIN with these when set
	rejectTo  string      // RCPT of this address is refused with 550
	messages  chan smtpMessage
	mu        sync.Mutex
	sawPlain  bool // AUTH was attempted before TLS
	connCount int
}

// smtpMessage is one accepted message with its envelope.
type smtpMessage struct {
	From     string
	To       []string
	Data     string
	TLS      bool
	AuthUser string
}

type smtpOption func(*smtpServer)

func withSTARTTLS(cfg *tls.Config) smtpOption { return func(s *smtpServer) { s.tls = cfg } }
func withImplicitTLS(cfg *tls.Config) smtpOption {
	return func(s *smtpServer) { s.tls, s.implicit = cfg, true }
}
func withAuth(user, pw string) smtpOption { return func(s *smtpServer) { s.user, s.pw = user, pw } }
func rejecting(addr string) smtpOption    { return func(s *smtpServer) { s.rejectTo = addr } }

func startSMTP(t *testing.T, opts ...smtpOption) *smtpServer {
	t.Helper()
	s := &smtpServer{messages: make(chan smtpMessage, 16)}
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

// stats returns how many connections were accepted and whether AUTH was
// attempted before TLS.
func (s *smtpServer) stats() (conns int, plainAuth bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connCount, s.sawPlain
}

func (s *smtpServer) port() string {
	_, p, _ := net.SplitHostPort(s.ln.Addr().String())
	return p
}

// next waits for the next accepted message.
func (s *smtpServer) next(t *testing.T) smtpMessage {
	t.Helper()
	select {
	case m := <-s.messages:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no email arrived within 10s")
		return smtpMessage{}
	}
}

// none fails if a message arrives within a short while.
func (s *smtpServer) none(t *testing.T, wait time.Duration) {
	t.Helper()
	select {
	case m := <-s.messages:
		t.Fatalf("unexpected email to %v:\n%s", m.To, m.Data)
	case <-time.After(wait):
	}
}

func (s *smtpServer) serve(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	_, secured := conn.(*tls.Conn)
	tp := textproto.NewConn(conn)
	var (
		msg    smtpMessage
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
			msg, authed = smtpMessage{}, ""
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
			msg = smtpMessage{From: envelopeAddr(arg), TLS: secured, AuthUser: authed}
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
			s.messages <- msg
			msg = smtpMessage{TLS: secured, AuthUser: authed}
			reply("250 queued")
		case "RSET":
			msg = smtpMessage{TLS: secured, AuthUser: authed}
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

// testCerts returns a server TLS config with a fresh self-signed
// certificate for 127.0.0.1, and a client config that trusts only it.
func testCerts(t *testing.T) (server, client *tls.Config) {
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
