package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/client"
)

type loginFlags struct {
	token         string
	web           bool
	username      string
	passwordStdin bool
	// Workload identity federation (loginfed.go).
	federated bool
	audience  string
	tokenFile string
	policy    string
}

func newLoginCmd(a *app) *cobra.Command {
	var f loginFlags
	cmd := &cobra.Command{
		Use:   "login [URL]",
		Short: "Log in to a Latchkey server and store the credential as a context",
		Long: `Log in to the Latchkey server at URL and remember it as a context, the way
kubectl and okteto do. The context is named after the server's host unless
--context names it, and becomes the current one.

With no flags, login asks for your user name and password (the password is
not echoed) and stores the session token it gets. With --token it stores an
access token instead; "--token -" reads it from standard input, which keeps
it out of your shell history. With --web it signs in through the browser
(OAuth 2.0 device authorization, RFC 8628): it prints an address and a code,
you open the address anywhere, sign in (with a password or single sign-on)
and approve the code, and the CLI gets a session. It works over SSH. Against
an older server without the device flow it falls back to the /cli-auth page,
where a button creates a session token for you to paste.

Without a terminal, give --username and pipe the password with
--password-stdin. Without URL, login renews the current context's login.

Credentials are kept in $XDG_CONFIG_HOME/latchkey/config.json (mode 0600).`,
		Example: `  # Log in with user name and password
  latchkey login https://latchkey.example.com

  # Use a personal access token instead (read from standard input)
  echo "$TOKEN" | latchkey login https://latchkey.example.com --token -

  # Sign in through the browser (single sign-on works too) and approve the code shown
  latchkey login https://latchkey.example.com --web

  # Non-interactive password login, under a context name of your choice
  printf '%s\n' "$PASSWORD" | latchkey login https://latchkey.example.com --context prod --username alice --password-stdin

  # In CI (GitHub Actions, GitLab CI, Kubernetes): exchange the job's OIDC token, no secret stored
  latchkey login https://latchkey.example.com --federated --audience latchkey
  latchkey login https://latchkey.example.com --federated --token-file /var/run/secrets/tokens/latchkey`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.login(cmd, args, f)
		},
	}
	cmd.Flags().StringVar(&f.token, "token", "", "store this access `TOKEN` instead of logging in with a password (\"-\" reads it from standard input)")
	cmd.Flags().BoolVar(&f.web, "web", false, "sign in through the browser: approve the code shown on the console's /device page (RFC 8628 device flow)")
	cmd.Flags().StringVarP(&f.username, "username", "u", "", "`USER` name (asked for when omitted)")
	cmd.Flags().BoolVar(&f.passwordStdin, "password-stdin", false, "read the password from standard input")
	cmd.Flags().BoolVar(&f.federated, "federated", false, "in CI or a workload: exchange its OIDC token (GitHub Actions, GitLab CI $"+envIDToken+", or --token-file) for a short-lived token; see docs/federation.md")
	cmd.Flags().StringVar(&f.audience, "audience", "", "with --federated on GitHub Actions: the `AUDIENCE` to request (default \""+defaultAudience+"\"); it must be the policy's")
	cmd.Flags().StringVar(&f.tokenFile, "token-file", "", "with --federated: read the OIDC token from `FILE` (a Kubernetes projected service-account token)")
	cmd.Flags().StringVar(&f.policy, "policy", "", "with --federated: the federation policy `NAME`, needed only when several match")
	cmd.MarkFlagsMutuallyExclusive("token", "web", "password-stdin", "federated")
	cmd.MarkFlagsMutuallyExclusive("federated", "username")
	cmd.MarkFlagsMutuallyExclusive("token", "web", "username")
	return cmd
}

func (a *app) login(cmd *cobra.Command, args []string, f loginFlags) error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	raw, renew, err := a.loginURL(cfg, args)
	if err != nil {
		return err
	}
	if raw, err = normalizeServerURL(raw); err != nil {
		return err
	}
	u, err := client.ParseURL(raw)
	if err != nil {
		return fail(exitUsage, err)
	}
	a.warnCleartext(u)
	anon, err := newClient(u.String(), "")
	if err != nil {
		return fail(exitUsage, err)
	}
	a.conn = &connection{URL: u.String()}
	sc := &storedContext{URL: u.String(), SavedAt: a.now().UTC()}
	if !f.federated && (f.audience != "" || f.tokenFile != "" || f.policy != "") {
		return usageError("--audience, --token-file and --policy go with --federated")
	}
	switch {
	case f.federated:
		err = a.loginFederated(anon, sc, f)
	case f.token != "":
		if f.token != "-" {
			// Scripts rely on it, so it works; but the secret is now in
			// the shell history and in what ps shows every local user.
			fmt.Fprintf(a.stderr, "latchkey: warning: a token given on the command line is visible in the process list to every user of this machine and stays in your shell history; use --token - (reads it from standard input) or set %s instead\n", envToken)
		}
		err = a.loginWithToken(sc, f.token)
	case f.web:
		err = a.loginDevice(anon, sc)
	default:
		err = a.loginWithPassword(cmd, anon, sc, f)
	}
	if err != nil {
		return err
	}
	name := a.contextFlag
	if name == "" {
		name = renew
	}
	if name == "" {
		name = contextName(u)
	}
	a.conn.Name = name // for the expiry warning printed after the command
	if old, ok := cfg.Contexts[name]; ok {
		a.endReplacedSession(old, sc)
	}
	cfg.Contexts[name] = sc
	cfg.CurrentContext = name
	if err := cfg.save(); err != nil {
		return err
	}
	if ok, err := a.structured(contextView(name, sc, true)); ok {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "Logged in to %s as %s (context %q, %s).\n", sc.URL, terminalText(sc.Username), name, a.credentialText(sc.Auth, sc.ExpiresAt))
	return err
}

// warnCleartext says, before any credential is asked for or sent, that a
// server on another machine reached over plain http:// lets whoever is on
// the network path read the password or token, the session token that
// comes back, and every later request. A loopback server (the address
// `latchkey serve` prints) needs no such warning.
func (a *app) warnCleartext(u *url.URL) {
	if u.Scheme != "http" || isLoopback(u.Hostname()) {
		return
	}
	fmt.Fprintf(a.stderr, "latchkey: warning: %s is plain HTTP, not encrypted: the password or token you log in with, and every request made with this context, can be read and reused by anyone on the network path; use https:// (serve Latchkey with --tls-cert and --tls-key, or behind a proxy that terminates TLS)\n", u.Redacted())
}

// loginURL is the URL argument, or else LATCHKEY_URL, or else the URL of
// the context being renewed (--context, or the current one), whose name it
// also returns.
func (a *app) loginURL(cfg *configFile, args []string) (url, renew string, err error) {
	if len(args) == 1 {
		return args[0], "", nil
	}
	if v := os.Getenv(envURL); v != "" {
		return v, "", nil
	}
	name := a.contextFlag
	if name == "" {
		name = cfg.CurrentContext
	}
	if sc, ok := cfg.Contexts[name]; ok {
		return sc.URL, name, nil
	}
	return "", "", usageError("which server? give its URL: `latchkey login https://latchkey.example.com`")
}

func (a *app) loginWithToken(sc *storedContext, token string) error {
	if token == "-" {
		var t string
		var err error
		if fd, ok := a.terminal(); ok {
			// Typed or pasted at a terminal: asked for, and not echoed.
			t, err = a.askSecret(fd, "Token: ")
		} else {
			t, err = a.stdinSecret("token")
		}
		if err != nil {
			return err
		}
		token = t
	}
	return a.verifyCredential(sc, token)
}

func (a *app) loginWeb(anon *client.Client, sc *storedContext) error {
	fmt.Fprintf(a.stderr, "Open %s in your browser, sign in, press \"Create a session token\", and paste the token it shows.\n", anon.URL("/cli-auth"))
	var token string
	var err error
	if fd, ok := a.terminal(); ok {
		token, err = a.askSecret(fd, "Token: ")
	} else {
		token, err = a.stdinSecret("token from /cli-auth")
	}
	if err != nil {
		return err
	}
	if token == "" {
		return usageError("no token pasted; nothing was stored")
	}
	return a.verifyCredential(sc, token)
}

// verifyCredential asks the server who token belongs to, and fills sc with
// it; a refused token is an authentication error.
func (a *app) verifyCredential(sc *storedContext, token string) error {
	cl, err := newClient(sc.URL, token)
	if err != nil {
		return fail(exitUsage, err)
	}
	a.cl = cl
	me, err := cl.Me(a.ctx())
	if err != nil {
		if errors.Is(err, client.ErrUnauthorized) {
			return fail(exitAuth, fmt.Errorf("the server refused the token: %s; nothing was stored", err.Error()))
		}
		return err
	}
	sc.Token, sc.Username = token, me.User.Username
	switch {
	case me.Session != nil:
		sc.Auth, sc.ExpiresAt = authSession, &me.Session.ExpiresAt
	case me.Token != nil:
		sc.Auth, sc.ExpiresAt = authToken, me.Token.ExpiresAt
	default:
		sc.Auth = authToken
	}
	return nil
}

func (a *app) loginWithPassword(cmd *cobra.Command, anon *client.Client, sc *storedContext, f loginFlags) error {
	fd, tty := a.terminal()
	user := f.username
	if user == "" {
		if !tty {
			return usageError("standard input is not a terminal to ask for your user name: pass --username and pipe the password with --password-stdin, or use --token")
		}
		var err error
		if user, err = a.ask("User name: "); err != nil {
			return err
		}
	}
	var pw string
	var err error
	switch {
	case f.passwordStdin:
		pw, err = a.stdinSecret("password")
	case tty:
		pw, err = a.askSecret(fd, "Password: ")
	default:
		return usageError("standard input is not a terminal to ask for the password: pipe it with --password-stdin, or use --token")
	}
	if err != nil {
		return err
	}
	if user == "" || pw == "" {
		return usageError("user name and password must not be empty")
	}
	res, err := anon.Login(cmd.Context(), user, pw)
	if err != nil {
		if errors.Is(err, client.ErrUnauthorized) {
			return fail(exitAuth, fmt.Errorf("login refused: %s", err.Error()))
		}
		return err
	}
	sc.Token, sc.Username, sc.Auth = res.Token, res.User.Username, authSession
	at := res.ExpiresAt
	sc.ExpiresAt = &at
	return nil
}

// endReplacedSession ends, as far as it can, the session a new login
// replaces, so that it does not linger on the server until it expires.
func (a *app) endReplacedSession(old, cur *storedContext) {
	if old.Auth != authSession || old.Token == cur.Token || !sameServer(old.URL, cur.URL) {
		return
	}
	if cl, err := newClient(old.URL, old.Token); err == nil {
		_ = cl.Logout(a.ctx()) // an expired session is already over
	}
}

// credentialText describes a stored credential: "session, expires in 24
// hours" or "access token, never expires".
func (a *app) credentialText(auth string, exp *time.Time) string {
	kind := "access token"
	if auth == authSession {
		kind = "session"
	}
	if exp == nil {
		return kind + ", never expires"
	}
	if exp.Before(a.now()) {
		return kind + ", expired " + humanTime(*exp, a.now())
	}
	return kind + ", expires " + humanTime(*exp, a.now())
}

func newLogoutCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "End the session and forget the current context's credential",
		Long: `Log out of the current context (or the one --context names): end the
session on the server, then delete the context from the config file. A
context that holds an access token is only forgotten locally; revoke the
token with "latchkey tokens revoke" if you no longer need it anywhere.
With LATCHKEY_URL and LATCHKEY_TOKEN both set no stored login is in use,
so it refuses unless --context names one.`,
		Example: `  latchkey logout
  latchkey logout --context staging`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.logout() },
	}
}

func (a *app) logout() error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	name := a.contextFlag
	if name == "" {
		name = os.Getenv(envContext)
	}
	if name == "" && os.Getenv(envURL) != "" && os.Getenv(envToken) != "" {
		// Every other command then uses those and reads no stored login:
		// logging out of the stored current context would end another
		// server's session than the one in use.
		return usageError("nothing stored to log out of: %s and %s are set, so no stored login is in use; unset them to log out of the current context, or name one with --context", envURL, envToken)
	}
	if name == "" {
		name = cfg.CurrentContext
	}
	if name == "" {
		if os.Getenv(envToken) != "" {
			return usageError("nothing stored to log out of: the credential comes from %s; unset it instead", envToken)
		}
		return fail(exitAuth, errors.New("not logged in"))
	}
	sc, err := cfg.lookup(name)
	if err != nil {
		return err
	}
	a.conn = &connection{Name: name, URL: sc.URL, Token: sc.Token, Auth: sc.Auth}
	if sc.Auth == authSession {
		cl, err := newClient(sc.URL, sc.Token)
		if err == nil {
			err = cl.Logout(a.ctx())
		}
		// An expired or already ended session is as logged out as it gets;
		// anything else is worth saying, but the local copy goes either way.
		if err != nil && !errors.Is(err, client.ErrUnauthorized) {
			fmt.Fprintf(a.stderr, "latchkey: warning: could not end the session on the server (%s); forgetting it here anyway\n", oneLine(a.describe(err)))
		}
	}
	delete(cfg.Contexts, name)
	if cfg.CurrentContext == name {
		cfg.CurrentContext = ""
	}
	if err := cfg.save(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "Logged out of %s (context %q removed).\n", sc.URL, name)
	return err
}

func newWhoamiCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who the current credential belongs to and what it may do",
		Example: `  latchkey whoami
  latchkey whoami -o json
  LATCHKEY_URL=https://latchkey.example.com LATCHKEY_TOKEN=$TOKEN latchkey whoami`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.whoami() },
	}
}

type whoamiView struct {
	Server  string `json:"server"`
	Context string `json:"context"`
	*client.Me
}

func (a *app) whoami() error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	me, err := cl.Me(a.ctx())
	if err != nil {
		return err
	}
	ctxName := a.conn.Name
	if a.conn.FromEnv {
		ctxName = "(" + envToken + ")"
	}
	if ok, err := a.structured(whoamiView{Server: a.conn.URL, Context: ctxName, Me: me}); ok {
		return err
	}
	u := me.User
	rows := [][2]string{
		{"User", fmt.Sprintf("%s (%s, %s)", u.Username, u.Role, u.Kind)},
		{"Server", a.conn.URL},
		{"Context", ctxName},
	}
	switch {
	case me.Session != nil:
		rows = append(rows, [2]string{"Credential", "session, expires " + humanTime(me.Session.ExpiresAt, a.now())})
	case me.Token != nil:
		t := me.Token
		rows = append(rows, [2]string{"Credential", fmt.Sprintf("%s %q (…%s), %s", kindName(t.Kind), t.Name, t.Hint, a.expiryText(t.ExpiresAt))})
	}
	rows = append(rows, [2]string{"Scopes", strings.Join(me.Scopes, " ")})
	return a.fields(rows)
}

// expiryText is "expires in 5 days", "expired 2 days ago" or "never expires".
func (a *app) expiryText(t *time.Time) string {
	switch {
	case t == nil:
		return "never expires"
	case t.Before(a.now()):
		return "expired " + humanTime(*t, a.now())
	}
	return "expires " + humanTime(*t, a.now())
}

func kindName(kind string) string {
	switch kind {
	case client.KindAdmin:
		return "admin access token"
	case client.KindPersonal:
		return "personal access token"
	}
	return kind
}
