package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newGitCredentialCmd(a *app) *cobra.Command {
	var hosts []string
	cmd := &cobra.Command{
		Use:   "git-credential get|store|erase",
		Short: "Git credential helper that answers with your Latchkey token",
		Long: `A Git credential helper (see gitcredentials(7)). For "get", Git describes
the server it is talking to on standard input; when that is the Latchkey
server of the current context (or of another stored context, or a --host
given here), the helper answers with your user name and the context's token
as the password. For any other server it answers nothing, so Git asks the
next helper. "store" and "erase" change nothing: tokens are managed with
"latchkey login" and "latchkey tokens".

LATCHKEY_URL and LATCHKEY_TOKEN apply here too, which makes CI clones work
without a login.`,
		Example: `  # Use it for every Git server it knows
  git config --global credential.helper '!latchkey git-credential'

  # Or, with a git-credential-latchkey link to latchkey on PATH, without the "!"
  ln -s "$(command -v latchkey)" "$(dirname "$(command -v latchkey)")/git-credential-latchkey"
  git config --global credential.helper 'latchkey git-credential'

  # The Git server has a host of its own, behind Latchkey's forward-auth
  git config --global credential.https://git.example.com.helper '!latchkey git-credential --host git.example.com'`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"get", "store", "erase"},
		RunE: func(cmd *cobra.Command, args []string) error {
			a.noWarn = true
			return a.gitCredential(args[0], hosts)
		},
	}
	cmd.Flags().StringArrayVar(&hosts, "host", nil, "also answer for this `HOST` (host or host:port), over https (plain http only on loopback), with the current context's token; repeatable")
	return cmd
}

// gitRequest is what Git tells a helper about the credential it wants.
type gitRequest struct {
	protocol, host string
}

func readGitRequest(a *app) (gitRequest, error) {
	var req gitRequest
	for {
		line, err := a.readLine()
		if errors.Is(err, io.EOF) || (err == nil && line == "") {
			return req, nil
		}
		if err != nil {
			return req, err
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return req, usageError("git-credential: line %q is not key=value; this command is meant to be run by Git", line)
		}
		switch k {
		case "protocol":
			req.protocol = v
		case "host":
			req.host = v
		}
	}
}

func (a *app) gitCredential(op string, extra []string) error {
	req, err := readGitRequest(a)
	if err != nil {
		return err
	}
	switch op {
	case "get":
	case "erase":
		if c := a.gitMatch(req, extra); c != nil {
			fmt.Fprintf(a.stderr, "latchkey: %s refused %s; `latchkey whoami` tells whether it still works, `latchkey login` renews it\n", req.host, c.source())
		}
		return nil
	default: // "store", and operations of future Git versions, are ignored
		return nil
	}
	if req.protocol != "http" && req.protocol != "https" || req.host == "" {
		return nil
	}
	c := a.gitMatch(req, extra)
	if c == nil {
		return nil
	}
	user := c.Username
	if user == "" {
		user = a.gitUsername(c)
	}
	// Git reads key=value lines: a name holding a line break or NUL (from
	// a hostile server's /me answer, or a hand-edited config) would add
	// lines of its own. Git needs no particular user name with a token.
	if strings.ContainsAny(user, "\r\n\x00") {
		user = "latchkey"
	}
	_, err = fmt.Fprintf(a.stdout, "username=%s\npassword=%s\n", user, c.Token)
	return err
}

// gitMatch returns the connection whose server Git is asking about: the
// current one (environment included) if its host matches or is listed in
// --host, or else a stored context for that server. Config errors are
// reported, since Git shows a helper's stderr.
func (a *app) gitMatch(req gitRequest, extra []string) *connection {
	asked := &url.URL{Scheme: req.protocol, Host: req.host}
	cur, err := a.resolve()
	if err != nil && exitCode(err) == exitConfig {
		fmt.Fprintln(a.stderr, "latchkey: "+oneLine(err.Error()))
		return nil
	}
	if cur != nil {
		if u, err := url.Parse(cur.URL); err == nil && u.Scheme == asked.Scheme && hostPort(u) == hostPort(asked) {
			return cur
		}
		// A --host Git server gets the token over https, or over http only
		// on this machine (loopback): never in clear text across a network.
		for _, h := range extra {
			if (asked.Scheme == "https" || loopbackHost(asked.Hostname())) &&
				hostPort(&url.URL{Scheme: asked.Scheme, Host: h}) == hostPort(asked) {
				return cur
			}
		}
	}
	if cur != nil && cur.FromEnv && a.contextFlag == "" && strings.TrimSpace(os.Getenv(envURL)) != "" {
		// LATCHKEY_URL and LATCHKEY_TOKEN: no stored login is read.
		return nil
	}
	cfg, err := loadConfig()
	if err != nil {
		return nil
	}
	for _, n := range cfg.names() {
		sc := cfg.Contexts[n]
		if u, err := url.Parse(sc.URL); err == nil && u.Scheme == asked.Scheme && hostPort(u) == hostPort(asked) {
			return &connection{Name: n, URL: sc.URL, Token: sc.Token, Username: sc.Username, Auth: sc.Auth}
		}
	}
	return nil
}

// loopbackHost reports whether host is this machine: localhost or a
// loopback address.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// gitUsername asks the server whose token this is (for a token from the
// environment), since a Git server may insist on the owner's name. Git
// accepts any name otherwise, so a failure falls back to a placeholder.
func (a *app) gitUsername(c *connection) string {
	cl, err := newClient(c.URL, c.Token)
	if err != nil {
		return "latchkey"
	}
	ctx, cancel := context.WithTimeout(a.ctx(), 5*time.Second)
	defer cancel()
	me, err := cl.Me(ctx)
	if err != nil {
		return "latchkey"
	}
	return me.User.Username
}
