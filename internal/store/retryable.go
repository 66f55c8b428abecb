package store

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
)

// Retryable reports whether err, from a first attempt to reach the
// database, is one that may heal by itself, so that starting again later
// can succeed: the server is not up yet or is restarting (connection
// refused or reset, a timeout, a host name that does not resolve yet, or
// PostgreSQL saying it is starting up, shutting down or out of
// connections). Everything else is false, because waiting cannot fix it
// and a server that retried it for ever would hide it: a refused password
// or user (28P01, 28000), a database that does not exist (3D000: almost
// always a typo or a missing provisioning step, and a supervisor's own
// restarts cover one created later), a schema newer than this release, a
// malformed URL, a TLS setting the server does not support, or a local
// file that cannot be opened.
//
// It reads the SQLSTATE of any driver error that has one (pgconn.PgError's
// SQLState method), so it needs no driver.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, ErrSchemaTooNew) {
		return false
	}
	var coded interface{ SQLState() string }
	if errors.As(err, &coded) {
		code := coded.SQLState()
		switch {
		case code == "57P01", // admin_shutdown
			code == "57P02",               // crash_shutdown
			code == "57P03",               // cannot_connect_now: starting up, shutting down, in recovery
			code == "53300",               // too_many_connections
			strings.HasPrefix(code, "08"): // connection exception
			return true
		}
		return false
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		// A name that does not resolve yet: in Kubernetes or Compose a
		// service's record appears with it. A typo also lands here; the
		// log line of every attempt names the host.
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		// Refused, unreachable, or a Unix socket not created yet.
		return true
	}
	for _, e := range []error{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED,
		syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ETIMEDOUT,
		io.EOF, io.ErrUnexpectedEOF, context.DeadlineExceeded} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
