package web

import (
	"errors"
	"net/http"
	"sort"

	"github.com/latchkey/latchkey/internal/auth"
	"github.com/latchkey/latchkey/internal/identity"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// mountSSO adds single sign-on: the sign-in redirect and callback of each
// provider, the admins' Single sign-on page, and the device-flow page.
func (h *Handler) mountSSO(mux *http.ServeMux) {
	public := func(pattern string, fn http.HandlerFunc) { mux.Handle(pattern, h.protect(fn)) }
	public("GET /auth/sso/{id}", h.ssoBegin)
	public("GET /auth/sso/{id}/callback", h.ssoCallback)
	mux.Handle("GET /admin/sso", h.signedIn(h.adminOnly(h.ssoPage)))
	mux.Handle("POST /admin/sso/link", h.signedIn(h.adminOnly(h.ssoLink)))
	h.mountDevice(mux)
}

// ssoButton is one "Sign in with <name>" button of the login page.
type ssoButton struct{ ID, Name string }

func (h *Handler) ssoButtons() []ssoButton {
	var out []ssoButton
	for _, p := range h.d.SSO.List() {
		out = append(out, ssoButton{ID: p.ID, Name: p.Name})
	}
	return out
}

func (h *Handler) ssoCallbackURL(r *http.Request, id string) string {
	return h.publicURL(r) + basePath(r) + "/auth/sso/" + id + "/callback"
}

func (h *Handler) flowCookie(r *http.Request, c *http.Cookie, id string) *http.Cookie {
	c.Path, c.Secure = basePath(r)+"/auth/sso/"+id, h.overHTTPS(r)
	return c
}

// ssoBegin sends the browser to the provider.
func (h *Handler) ssoBegin(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	target, c, err := h.d.SSO.Begin(r.Context(), id, h.ssoCallbackURL(r, id), safeNext(r.URL.Query().Get("next")))
	if err != nil {
		h.ssoFailed(w, r, id, err)
		return
	}
	http.SetCookie(w, h.flowCookie(r, c, id))
	http.Redirect(w, r, target, http.StatusFound)
}

// ssoCallback finishes the sign-in and opens a session.
func (h *Handler) ssoCallback(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	cookie := ""
	if c, err := r.Cookie(identity.FlowCookie); err == nil {
		cookie = c.Value
	}
	// The flow is single-use: whatever happens next, forget it.
	http.SetCookie(w, h.flowCookie(r, &http.Cookie{Name: identity.FlowCookie, MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode}, id))
	a, err := h.d.SSO.Finish(r.Context(), id, r, cookie, h.ssoCallbackURL(r, id))
	if err != nil {
		h.ssoFailed(w, r, id, err)
		return
	}
	c := auth.ClientOf(r)
	ip, agent := c.IP, c.Agent
	u, err := h.d.Services.Users.SignInExternal(r.Context(), service.ExternalLogin{
		Provider: a.Provider, Subject: a.Subject, Username: a.Username, Email: a.Email, EmailVerified: a.EmailVerified, Claims: a.Claims, IP: ip, Agent: agent,
	})
	if err != nil {
		h.ssoFailed(w, r, id, err)
		return
	}
	o, err := h.d.Services.Sessions.OpenSSO(r.Context(), u, a.Provider, ip, agent)
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	h.setSessionCookie(w, r, o.Secret, o.Session.ExpiresAt)
	seeOther(w, r, safeNext(a.Next))
}

// ssoFailed shows the login page with what went wrong.
func (h *Handler) ssoFailed(w http.ResponseWriter, r *http.Request, id string, err error) {
	status, msg := http.StatusForbidden, ""
	var ie *identity.Error
	var se *service.Error
	switch {
	case errors.Is(err, identity.ErrUnknownProvider):
		h.renderError(w, r, nil, http.StatusNotFound, "Page not found", "No identity provider has this address; use a button on the login page.")
		return
	case errors.As(err, &ie):
		msg = ie.Msg
		switch ie.Reason {
		case "discovery":
			status = http.StatusBadGateway
		case "repeated_parameter":
			status = http.StatusBadRequest // the address, not the person, is refused
		}
		c := auth.ClientOf(r)
		ip, agent := c.IP, c.Agent
		details := map[string]any{"provider": id, "reason": ie.Reason}
		h.d.Services.Audit.Record(r.Context(), service.Actor{IP: ip, Agent: agent}, "auth.login_failed", "user", "", details)
		if ie.Err != nil {
			h.d.Logger.WarnContext(r.Context(), "single sign-on failed", "provider", id, "reason", ie.Reason, "err", ie.Err)
		}
	case errors.As(err, &se):
		msg, status = se.Msg, statusOf(err)
	default:
		h.fail(w, r, nil, err)
		return
	}
	d := &loginData{}
	d.Form.Error = msg
	h.render(w, r, nil, status, "login", "Log in", h.withLoginCSRF(w, r, d))
}

// ssoPageData is the admins' Single sign-on page.
type ssoPageData struct {
	Providers []ssoProviderRow
	SSOOnly   bool
	Logins    []ssoLoginRow
	Form      form
	Link      ssoLinkInput // what the link form was sent with, to show it again
}

// ssoLinkInput is what the Link a local user to an identity form holds.
type ssoLinkInput struct{ User, Provider, Subject string }

// ssoLinkFields are the link form's inputs that can show their own error.
var ssoLinkFields = []string{"user", "provider", "subject"}

type ssoProviderRow struct {
	ID, Name, Issuer, ClientID, Scopes, UsernameClaim, Domains string
	Claim                                                      string
	Owner, Admin, Member                                       string
}

type ssoLoginRow struct {
	UserID, Username, LoginType, Provider, Subject string
	LastLogin                                      timeText
}

func (h *Handler) ssoPage(w http.ResponseWriter, r *http.Request, v *visit) {
	h.renderSSOPage(w, r, v, http.StatusOK, newForm(v.csrf, ssoLinkFields...).speaking(ssoLinkWords), ssoLinkInput{})
}

func (h *Handler) renderSSOPage(w http.ResponseWriter, r *http.Request, v *visit, status int, f form, in ssoLinkInput) {
	d := &ssoPageData{SSOOnly: h.d.SSOOnly, Form: f, Link: in}
	for _, p := range h.d.SSO.List() {
		d.Providers = append(d.Providers, ssoProviderRow{
			ID: p.ID, Name: p.Name, Issuer: p.Issuer, ClientID: p.ClientID, Scopes: join(p.Scopes),
			UsernameClaim: orDefault(p.UsernameClaim, "preferred_username, then email"), Domains: orDefault(join(p.AllowedDomains), "any"),
			Claim: orDefault(p.Roles.Claim, "none: everyone is a member"), Owner: join(p.Roles.Owner), Admin: join(p.Roles.Admin), Member: join(p.Roles.Member),
		})
	}
	ids, err := h.d.Services.Users.Identities(r.Context(), v.actor)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	for _, i := range ids {
		if i.Provider == store.ProviderSCIM {
			continue
		}
		u, err := h.d.Services.Users.Get(r.Context(), v.actor, i.UserID)
		if err != nil {
			continue
		}
		d.Logins = append(d.Logins, ssoLoginRow{UserID: u.ID, Username: u.Username, LoginType: u.LoginType,
			Provider: i.Provider, Subject: i.Subject, LastLogin: h.timeText(i.LastLoginAt)})
	}
	sort.SliceStable(d.Logins, func(a, b int) bool { return d.Logins[a].Username < d.Logins[b].Username })
	h.render(w, r, v, status, "admin_sso", "Single sign-on", d)
}

// ssoLink links a local user to an identity at a provider.
func (h *Handler) ssoLink(w http.ResponseWriter, r *http.Request, v *visit) {
	in := ssoLinkInput{User: r.PostFormValue("user"), Provider: r.PostFormValue("provider"), Subject: r.PostFormValue("subject")}
	f := newForm(v.csrf, ssoLinkFields...).speaking(ssoLinkWords)
	_, err := h.d.Services.Users.LinkIdentity(r.Context(), v.actor, in.User, in.Provider, in.Subject)
	var se *service.Error
	if errors.Is(err, service.ErrNotFound) && service.FieldOf(err) == "" && errors.As(err, &se) {
		// The only thing the form names that can be missing is the user.
		err = &service.Error{Kind: service.ErrNotFound, Field: "user", Msg: se.Msg}
	}
	if err != nil {
		if !h.formError(w, r, &f, err) {
			return
		}
		h.renderSSOPage(w, r, v, statusOf(err), f, in)
		return
	}
	seeOther(w, r, "/admin/sso?msg=linked")
}

func join(l []string) string {
	out := ""
	for i, s := range l {
		if i > 0 {
			out += ", "
		}
		out += s
	}
	return out
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
