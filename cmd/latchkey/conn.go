package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/latchkey/latchkey/client"
)

// Environment variables that override the stored context, so CI needs no
// login.
const (
	envURL     = "LATCHKEY_URL"
	envToken   = "LATCHKEY_TOKEN"
	envContext = "LATCHKEY_CONTEXT"
)

// expiryWarning is how far ahead of a token's expiry every command warns.
const expiryWarning = 7 * 24 * time.Hour

// app is the state one command line shares: its streams, the global flags,
// and the connection once a command needs one.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	now            func() time.Time

	contextFlag string // --context
	output      string // -o

	cmdCtx context.Context // the running command's context
	conn   *connection
	cl     *client.Client
	noWarn bool // set by commands whose stderr belongs to another program
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now, output: "table"}
}

// ctx is the running command's context, cancelled on Ctrl-C.
func (a *app) ctx() context.Context {
	if a.cmdCtx == nil {
		return context.Background()
	}
	return a.cmdCtx
}

// connection is the server and credential a command uses.
type connection struct {
	Name     string // the stored context, "" when everything came from the environment
	URL      string
	Token    string
	Username string // the credential's owner, when known
	Auth     string // authSession or authToken
	FromEnv  bool   // the token came from LATCHKEY_TOKEN
}

// source says where the credential came from, for messages.
func (c *connection) source() string {
	if c.FromEnv {
		return "the token in " + envToken
	}
	what := "access token"
	if c.Auth == authSession {
		what = "session"
	}
	if c.Name == "" {
		return "the " + what
	}
	return fmt.Sprintf("the %s of context %q", what, c.Name)
}

// resolve picks the server and credential: --context (or LATCHKEY_CONTEXT)
// names a stored context; otherwise LATCHKEY_URL and LATCHKEY_TOKEN
// override the current context. A stored token is only ever sent to the
// server it was stored for.
func (a *app) resolve() (*connection, error) {
	if a.conn != nil {
		return a.conn, nil
	}
	envU, envT := strings.TrimSpace(os.Getenv(envURL)), strings.TrimSpace(os.Getenv(envToken))
	if a.contextFlag == "" && envU != "" && envT != "" {
		if _, err := client.ParseURL(envU); err != nil {
			return nil, fail(exitUsage, fmt.Errorf("%s: %w", envURL, err))
		}
		a.conn = &connection{URL: envU, Token: envT, Auth: authToken, FromEnv: true}
		return a.conn, nil
	}
	cfg, err := loadConfig()
	if err != nil {
		return nil, err
	}
	name := a.contextFlag
	if name == "" {
		name = os.Getenv(envContext)
	}
	if name == "" && envU != "" {
		n, ok := cfg.byURL(envU)
		if !ok {
			return nil, fail(exitAuth, fmt.Errorf("not logged in to %s (%s): run `latchkey login %s`, or set %s as well", envU, envURL, envU, envToken))
		}
		name = n
	}
	if name == "" {
		name = cfg.CurrentContext
	}
	if name == "" {
		if envT != "" {
			return nil, fail(exitAuth, fmt.Errorf("%s is set but no server is: set %s too, or log in with `latchkey login URL`", envToken, envURL))
		}
		return nil, fail(exitAuth, errors.New("not logged in: run `latchkey login URL`, or set "+envURL+" and "+envToken))
	}
	sc, err := cfg.lookup(name)
	if err != nil {
		return nil, err
	}
	c := &connection{Name: name, URL: sc.URL, Token: sc.Token, Username: sc.Username, Auth: sc.Auth}
	if envT != "" && a.contextFlag == "" {
		c.Token, c.Username, c.Auth, c.FromEnv = envT, "", authToken, true
	}
	a.conn = c
	return c, nil
}

// client returns the API client of the resolved connection.
func (a *app) client() (*client.Client, error) {
	if a.cl != nil {
		return a.cl, nil
	}
	c, err := a.resolve()
	if err != nil {
		return nil, err
	}
	cl, err := newClient(c.URL, c.Token)
	if err != nil {
		return nil, fail(exitConfig, fmt.Errorf("context %q: %w", c.Name, err))
	}
	a.cl = cl
	return cl, nil
}

func newClient(url, token string) (*client.Client, error) {
	return client.New(url, client.WithToken(token), client.WithUserAgent("latchkey-cli/"+version))
}

// warnExpiry prints a warning on stderr when the access token in use
// expires within a week, as the server said in Latchkey-Token-Expiration.
// Sessions are left out: they slide forward on use, and when one ends the
// next command says to log in again.
func (a *app) warnExpiry() {
	if a.cl == nil || a.noWarn || tokenKind(a.cl.Token()) == "ses" {
		return
	}
	at, ok := a.cl.TokenExpiration()
	if !ok {
		return
	}
	left := at.Sub(a.now())
	if left <= 0 || left > expiryWarning {
		return
	}
	src := "the token in use"
	if a.conn != nil {
		src = a.conn.source()
	}
	fmt.Fprintf(a.stderr, "latchkey: warning: %s expires %s (%s); make a new one with `latchkey tokens regenerate` or `latchkey tokens create` before then\n",
		src, humanTime(at, a.now()), at.Local().Format("2006-01-02 15:04 MST"))
}

// tokenKind returns the kind segment of a Latchkey token (pat, adm, ses),
// or "" when the string is not shaped like one.
func tokenKind(secret string) string {
	parts := strings.Split(secret, "_")
	if len(parts) != 3 {
		return ""
	}
	return parts[1]
}
