package web

import (
	"crypto/hmac"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// loginData is the login page.
type loginData struct {
	Username string
	Next     string
	Notice   string
	Form     form
	SSO      []ssoButton // "Sign in with <name>" buttons
}

// notices are the fixed messages a redirect may ask a page to show; the
// query names one, so no text from a URL reaches the page.
var notices = map[string]string{
	"logged-out":     "You are logged out.",
	"session-ended":  "The session was ended: it no longer works anywhere.",
	"sessions-ended": "You were logged out everywhere else.",
	"ended":          "Your session has ended. Log in again to continue.",
	"revoked":        "The token was revoked. Every request that uses it is now refused.",
	"updated":        "The token was updated.",
	"shown":          "The token's secret was shown once, when it was made, and is not kept. If you did not copy it, regenerate the token.",
	"cli-shown":      "The session token was shown once and is not kept. If you did not copy it, create another one below, and end the unused one under Sessions.",
	"sign-in-again":  "Sign in again to continue: this step needs a sign-in from the last 15 minutes.",
	"user-created":   "The user was created.",
	"role":           "The role was changed.",
	"email":          "The email address was saved.",
	"suspended":      "The user was suspended: their tokens and sessions stopped working.",
	"unsuspended":    "The user was restored.",
	"deleted":        "The account was deleted and its tokens revoked.",
	"sa-created":     "The service account was created. Create an admin access token for it below.",
	"policy":         "The token policy was saved.",
	"linked":         "The user was linked to the identity: they now sign in through the provider and keep their tokens.",
}

// deviceResults are the device page's own answers to ?result=, shown once
// in the page (not as the layout's notice), a denial as a warning.
var deviceResults = map[string]deviceResult{
	"approved": {"Device sign-in approved", "The CLI is signed in. You can close this page and go back to your terminal.", "alert-success"},
	"denied":   {"Device sign-in denied", "The sign-in was denied. The CLI gets no access.", "alert-warning"},
}

// deviceResult is one answer: the page's title (which says it, WCAG
// 2.4.2), its message and the alert's class.
type deviceResult struct{ Title, Text, Class string }

// AccountLimiter throttles password guesses at one user name from any
// number of addresses. *auth.AccountLimiter satisfies it.
type AccountLimiter interface {
	Fail(username, ip string)
	Succeed(username, ip string)
	// Begin counts a password check as a failure until end settles it,
	// or is an *auth.RateLimited while username is throttled for ip.
	Begin(username, ip string) (end func(failed bool), err error)
}

// settled is the end of a check no limiter counts.
func settled(bool) {}

// beginLogin starts a password check for username from ip on both
// limiters (either may be nil: none), or says which one refuses it.
func (h *Handler) beginLogin(username, ip string) (end func(failed bool), byName *auth.RateLimited, err error) {
	endIP, endName := settled, settled
	if h.d.LoginLimiter != nil {
		if endIP, err = h.d.LoginLimiter.Begin(ip); err != nil {
			return nil, nil, err
		}
	}
	if h.d.AccountLimiter != nil {
		if endName, err = h.d.AccountLimiter.Begin(username, ip); err != nil {
			endIP(false)
			var rl *auth.RateLimited
			errors.As(err, &rl)
			return nil, rl, err
		}
	}
	return func(failed bool) { endIP(failed); endName(failed) }, nil, nil
}

// loginForm is GET /login. A signed-in visitor goes straight on to next,
// unless again=1 asks for a fresh sign-in (approving a device needs one):
// the form is then shown to them too, with their name filled in. Either
// way next only ever leads to a path of this console (safeNext).
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	again := r.URL.Query().Get("again") == "1"
	d := &loginData{Next: r.URL.Query().Get("next"), Notice: notices[r.URL.Query().Get("msg")]}
	if v := h.session(w, r); v != nil {
		if !again {
			seeOther(w, r, safeNext(d.Next))
			return
		}
		d.Username, d.Notice = v.p.User.Username, notices["sign-in-again"]
	}
	h.render(w, r, nil, http.StatusOK, "login", "Log in", h.withLoginCSRF(w, r, d))
}

// withLoginCSRF puts the double-submit value in the login form.
func (h *Handler) withLoginCSRF(w http.ResponseWriter, r *http.Request, d *loginData) *loginData {
	d.Form.CSRF = h.loginCSRF(w, r)
	d.SSO = h.ssoButtons()
	return d
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(loginCookie)
	if err != nil || !hmac.Equal([]byte(c.Value), []byte(r.PostFormValue(csrfField))) {
		h.clearCookie(w, r, loginCookie)
		h.forbidden(w, r, nil, "This login form did not carry a valid security token, so it was refused. Open the login page and try again (your browser must accept cookies).")
		return
	}
	d := &loginData{Username: r.PostFormValue("username"), Next: r.PostFormValue("next")}
	d.Form.CSRF, d.SSO = c.Value, h.ssoButtons()
	client := auth.ClientOf(r)
	ip, agent := client.IP, client.Agent
	// Both limits count this check from now until it is settled, so a
	// burst of guesses sent at once is limited as if sent one by one; the
	// name's is taken before the password is checked, and the same for
	// every name, whether an account has it or not.
	end, byName, err := h.beginLogin(d.Username, ip)
	switch {
	case byName != nil:
		w.Header().Set("Retry-After", byName.Seconds())
		d.Form.Error = "Too many failed logins for this user name. Wait " + byName.Seconds() + " seconds and try again."
		h.render(w, r, nil, http.StatusTooManyRequests, "login", "Log in", d)
		return
	case err != nil:
		d.Form.Error = "Too many failed logins from your address. Wait a minute and try again."
		h.render(w, r, nil, http.StatusTooManyRequests, "login", "Log in", d)
		return
	}
	o, err := h.d.Services.Sessions.Login(r.Context(), d.Username, r.PostFormValue("password"), ip, agent)
	// Every refusal counts, SSO-only mode's included: a wrong password, an
	// unknown name, a suspended account alike.
	end(errors.Is(err, service.ErrUnauthenticated))
	if msg, retry, ok := store.Outage(err); ok {
		// Busy or unavailable (a wait for a password check, the
		// database): the form again, saying so, and when to retry.
		h.d.Logger.WarnContext(r.Context(), "console login failed: server or storage busy", "err", err)
		if !errors.Is(err, service.ErrPasswordsBusy) {
			h.outage(err) // the server's own limit is no storage outage (as in the API)
		}
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		d.Form.Error = strings.ToUpper(msg[:1]) + msg[1:] + "."
		h.render(w, r, nil, http.StatusServiceUnavailable, "login", "Log in", d)
		return
	}
	if err != nil {
		if !h.formError(w, r, &d.Form, err) {
			return
		}
		h.render(w, r, nil, statusOf(err), "login", "Log in", d)
		return
	}
	if h.d.AccountLimiter != nil {
		h.d.AccountLimiter.Succeed(d.Username, ip)
	}
	h.clearCookie(w, r, loginCookie)
	h.setSessionCookie(w, r, o.Secret, o.Session.ExpiresAt)
	seeOther(w, r, safeNext(d.Next))
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, v *visit) {
	if err := h.d.Services.Sessions.Logout(r.Context(), v.actor, v.p.Session.ID); err != nil {
		h.fail(w, r, v, err)
		return
	}
	h.clearCookie(w, r, SessionCookie)
	seeOther(w, r, "/login?msg=logged-out")
}

// cliAuthData is the /cli-auth page: without Secret, the button that
// creates one; with it, the session token, shown once.
type cliAuthData struct {
	Secret    string
	Command   string
	ExpiresAt timeText
}

// cliAuthCommand is the command the page offers. The token is pasted when
// the CLI asks, never put on the command line, where it would stay in
// shell history and show in ps.
func (h *Handler) cliAuthCommand(r *http.Request) string {
	return "latchkey login " + h.publicURL(r) + " --token -"
}

// cliAuthForm is GET /cli-auth, where `latchkey login` sends people (as
// `coder login` sends them to its /cli-auth). It only offers to create a
// session: a GET is sent without anyone asking for a credential (a
// prefetch, a link preview, a reload, a tab restored), and each would
// otherwise leave a live session token behind.
func (h *Handler) cliAuthForm(w http.ResponseWriter, r *http.Request, v *visit) {
	h.render(w, r, v, http.StatusOK, "cli_auth", "CLI login", &cliAuthData{Command: h.cliAuthCommand(r)})
}

// cliAuthIssuedPath is where POST /cli-auth sends the browser to see the
// token it made.
const cliAuthIssuedPath = "/cli-auth/issued"

// cliAuthAAD binds a hand-over cookie to /cli-auth/issued, apart from any
// token's issued page.
const cliAuthAAD = "cli-auth session"

// cliAuth is POST /cli-auth (CSRF-checked by signedIn, like every console
// form): it opens a fresh session for the CLI and hands its token to
// /cli-auth/issued by post/redirect/get (issued.go), so that reloading the
// page that shows it never sends the form again, which would open another
// session each time.
func (h *Handler) cliAuth(w http.ResponseWriter, r *http.Request, v *visit) {
	secret, sess, err := h.d.Services.Sessions.Issue(r.Context(), v.actor)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	payload := strconv.FormatInt(sess.ExpiresAt.UnixMicro(), 10) + " " + secret
	if err := h.sealAndRedirect(w, r, cliAuthIssuedPath, cliAuthAAD, payload); err != nil {
		h.fail(w, r, v, err)
	}
}

// cliAuthIssued is GET /cli-auth/issued: the session token POST /cli-auth
// made, once. A reload, or a visit without the hand-over, goes back to
// /cli-auth saying the token is not kept.
func (h *Handler) cliAuthIssued(w http.ResponseWriter, r *http.Request, v *visit) {
	payload, ok := h.unseal(w, r, cliAuthIssuedPath, cliAuthAAD)
	micros, secret, found := strings.Cut(payload, " ")
	us, err := strconv.ParseInt(micros, 10, 64)
	if !ok || !found || err != nil || secret == "" {
		seeOther(w, r, withNotice("/cli-auth", "cli-shown"))
		return
	}
	expires := time.UnixMicro(us)
	d := &cliAuthData{Secret: secret, Command: h.cliAuthCommand(r), ExpiresAt: h.timeText(&expires)}
	h.render(w, r, v, http.StatusOK, "cli_auth", "CLI login: your session token, shown once", d)
}

// publicURL is the base URL to show in commands.
func (h *Handler) publicURL(r *http.Request) string {
	if h.d.PublicURL != "" {
		return h.d.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
