package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
)

// Exit codes scripts can rely on; `latchkey help exit-codes` and
// docs/cli.md list them.
const (
	exitOK          = 0
	exitUsage       = 1 // bad flags, arguments or input, incl. HTTP 400 and 422
	exitAuth        = 2 // not logged in, or the credential was refused (401)
	exitNotFound    = 3 // no such token, user, service account or context (404)
	exitConflict    = 4 // the request conflicts with the current state (409)
	exitForbidden   = 5 // authenticated, but not allowed (403)
	exitServer      = 6 // the server failed or could not be reached (5xx, network)
	exitConfig      = 7 // the local config file is unsafe, unreadable or unwritable
	exitRateLimited = 8 // too many requests (429): wait and retry
	exitCancelled   = 9 // a confirmation was declined
	exitInterrupted = 130
)

const exitCodesHelp = `Every latchkey command exits with one of these codes, so scripts can tell
failures apart without parsing messages. Errors are printed as one line on
standard error, starting with "latchkey: ".

  0    success
  1    usage or bad input: unknown command or flag, wrong arguments, a value
       the server rejects as invalid (HTTP 400, 422)
  2    authentication: not logged in, or the token or session was refused
       (HTTP 401, or OAuth invalid_grant from token exchange); log in again
       or check LATCHKEY_TOKEN
  3    not found: no such token, user, service account or context (HTTP 404)
  4    conflict: the request conflicts with the current state, such as a
       token name already in use (HTTP 409)
  5    forbidden: authenticated, but the credential or role does not allow
       it (HTTP 403)
  6    server or network error: the server could not be reached, or failed
       (HTTP 5xx), or answered something that is not Latchkey's API
  7    local configuration: the config file is readable by others, is not
       valid JSON, or cannot be written
  8    rate limited: too many requests (HTTP 429); wait a minute and retry
  9    cancelled: a confirmation prompt was answered no
  10   latchkey scan found tokens
  130  interrupted (Ctrl-C)
`

func newExitCodesTopic() *cobra.Command {
	return &cobra.Command{
		Use:   "exit-codes",
		Short: "The exit codes of latchkey commands",
		Long:  exitCodesHelp,
	}
}

// exitError carries a documented exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// fail returns an error that exits with code.
func fail(code int, err error) error { return &exitError{code: code, err: err} }

// exitCode maps an error to the process exit code; see `latchkey help exit-codes`.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// OAuth answers a refused credential with 400 invalid_grant (RFC 6749
	// §5.2): for a script it is an authentication failure all the same.
	var oe *client.OAuthError
	if errors.As(err, &oe) {
		switch oe.Code {
		case "invalid_grant", "invalid_client", "invalid_token":
			return exitAuth
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, client.ErrInvalid):
		return exitUsage
	case errors.Is(err, client.ErrUnauthorized):
		return exitAuth
	case errors.Is(err, client.ErrNotFound):
		return exitNotFound
	case errors.Is(err, client.ErrConflict):
		return exitConflict
	case errors.Is(err, client.ErrForbidden):
		return exitForbidden
	case errors.Is(err, client.ErrRateLimited):
		return exitRateLimited
	case client.StatusOf(err) != 0, client.IsNetwork(err):
		return exitServer
	}
	return exitUsage
}

// describe turns an error into the one line shown to the user, adding what
// to do next where the error alone does not say.
func (a *app) describe(err error) string {
	var ue *url.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case client.StatusOf(err) == 0 && errors.As(err, &ue) && notHTTP(ue.Err):
		return "the server at " + a.serverURL() + " does not speak HTTP (" + ue.Err.Error() + "): is that the address and port of a Latchkey server, and http:// or https:// as it serves?"
	case client.StatusOf(err) == 0 && errors.As(err, &ue):
		return "cannot reach the Latchkey server at " + a.serverURL() + ": " + netReason(ue.Err)
	case errors.Is(err, client.ErrUnauthorized):
		// The server may already say "log in again"; say it once, with how.
		msg := strings.TrimSuffix(strings.TrimSuffix(err.Error(), "."), "; log in again")
		return msg + "; " + a.reauthHint()
	case client.IsNotLatchkey(err):
		return err.Error()
	case errors.Is(err, client.ErrServer):
		return "the server failed: " + err.Error()
	}
	if msg, ok := flagGroupError(err.Error()); ok {
		return msg
	}
	return err.Error()
}

// netReason is why a connection failed, in words, without Go's chain of
// operations and addresses ("dial tcp 127.0.0.1:1: connect: ...").
func netReason(err error) string {
	var dns *net.DNSError
	var sys *os.SyscallError
	switch {
	case errors.As(err, &dns) && dns.IsNotFound:
		return "no such host " + dns.Name + " (check the URL)"
	case errors.As(err, &dns):
		return "cannot look up " + dns.Name + ": " + dns.Err
	case errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err):
		return "no answer in time: the server, or a firewall on the way, is silent"
	case errors.As(err, &sys):
		return sys.Err.Error() // "connection refused", "network is unreachable"
	}
	return err.Error()
}

// notHTTP tells the errors of a connection to something that is not an
// HTTP server of the expected kind (Redis's port, TLS against plain HTTP).
func notHTTP(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"malformed HTTP", "server gave HTTP response to HTTPS client", "first record does not look like a TLS handshake", "connection reset by peer", "server closed idle connection"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func (a *app) serverURL() string {
	if a.conn != nil {
		return a.conn.URL
	}
	return "the configured URL"
}

func (a *app) reauthHint() string {
	if a.conn != nil && a.conn.FromEnv {
		return "check the token in LATCHKEY_TOKEN"
	}
	if a.conn != nil {
		return "log in again with `latchkey login " + a.conn.URL + "`"
	}
	return "log in with `latchkey login URL`"
}

// oneLine is s on one line, fit for a terminal (see terminalText): error
// messages may repeat what a server or another person wrote.
func oneLine(s string) string { return strings.Join(strings.Fields(terminalText(s)), " ") }
