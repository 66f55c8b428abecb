package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// tokenFormData is the "New token" and "Edit token" pages.
type tokenFormData struct {
	Form        form
	Edit        *tokenRow // the token being edited; nil when creating
	Name        string
	Description string
	IPAllowlist string      // the "Allowed IP addresses" box, as typed
	Owner       *store.User // whose token it is
	OnBehalf    bool        // created by an admin for someone else
	Perms       permissions
	Expiry      expiryField
	Blocked     string // why the visitor may not create tokens
}

// ExpiryView is the expiration control with its error attached.
func (d *tokenFormData) ExpiryView() expiryField {
	e := d.Expiry
	e.Error = d.Form.Err("expiration")
	return e
}

// PermsView is the permissions control with its error attached.
func (d *tokenFormData) PermsView() permissions {
	p := d.Perms
	p.Error = d.Form.Err("scopes")
	return p
}

// tokenFields are the fields of the token forms errors may be shown next to.
var tokenFields = []string{"name", "description", "scopes", "expiration", "user_id", allowlistField}

// newTokenForm shows the form, pre-filled from the link when it carries
// name, description, scopes, expires_in or no_expiry (so docs can link to
// exactly the token a user needs), and user for admins creating a token
// on behalf of someone (a service account's admin access token).
func (h *Handler) newTokenForm(w http.ResponseWriter, r *http.Request, v *visit) {
	if err := repeatedQuery(r, []string{"user"}); err != nil {
		h.refuseRepeated(w, r, v, err)
		return
	}
	q := r.URL.Query()
	owner, err := h.tokenOwner(r.Context(), v, q.Get("user"))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d := &tokenFormData{Form: newForm(v.csrf, tokenFields...).speaking(tokenWords), Name: q.Get("name"), Description: q.Get("description"),
		Owner: owner, OnBehalf: owner.ID != v.p.User.ID}
	cat := h.d.Services.Catalog
	chosen, unknown := grantsOf(cat, splitScopeList(cat, q["scopes"]))
	if len(unknown) > 0 {
		d.Form.Error = "The link asked for scopes this server does not know, so they were left out: " + strings.Join(unknown, ", ") + "."
	}
	d.Perms = permissionsFor(cat, owner, accessSpecific, chosen)
	selected := q.Get("expires_in")
	if q.Get("no_expiry") == "true" {
		selected = expiryNever
	}
	d.Expiry = h.expiryChoices(h.d.Policy.Current(r.Context()), selected, "", "")
	status := http.StatusOK
	if d.Blocked = h.creationBlocked(r.Context(), v); d.Blocked != "" {
		status = http.StatusForbidden
	}
	h.render(w, r, v, status, "token_form", d.newTitle(), d)
}

// newTitle names the creation page for what it makes.
func (d *tokenFormData) newTitle() string {
	switch {
	case d.OnBehalf && d.Owner.Kind == store.KindService:
		return "New admin access token for " + d.Owner.Username
	case d.OnBehalf:
		return "New token for " + d.Owner.Username
	}
	return "New token"
}

// tokenOwner resolves the owner of a new token: the visitor, or the user an
// admin names.
func (h *Handler) tokenOwner(ctx context.Context, v *visit, user string) (*store.User, error) {
	if user == "" || user == v.p.User.ID {
		return v.p.User, nil
	}
	return h.d.Services.Users.Get(ctx, v.actor, user)
}

// issuedData is the page that shows a new secret, once.
type issuedData struct {
	Token       tokenRow
	Secret      string
	Regenerated bool
	APIURL      string
}

func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, v *visit) {
	d := &tokenFormData{Form: newForm(v.csrf, tokenFields...).speaking(tokenWords), Name: r.PostFormValue("name"), Description: r.PostFormValue("description")}
	owner, err := h.tokenOwner(r.Context(), v, r.PostFormValue("user_id"))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d.Owner, d.OnBehalf = owner, owner.ID != v.p.User.ID
	grants, access, chosen := postedScopes(r)
	d.Perms = permissionsFor(h.d.Services.Catalog, owner, access, chosen)
	d.Expiry = h.expiryChoices(h.d.Policy.Current(r.Context()), r.PostFormValue("expiration"), r.PostFormValue("expires_on"), "")
	var allow []string
	d.IPAllowlist, allow, _, err = postedAllowlist(r)
	exp, expErr := parseExpiry(r)
	if err == nil {
		err = expErr
	}
	if err == nil {
		var it *service.IssuedToken
		it, err = h.d.Services.Tokens.Create(r.Context(), v.actor, service.CreateTokenInput{
			Name: d.Name, Description: d.Description, Scopes: grants, Expiry: exp, UserID: ownerParam(owner, v),
			IPAllowlist: allow,
		})
		if err == nil {
			err = h.handOver(w, r, it.Token.ID, it.Secret, false)
		}
		if err == nil {
			return
		}
	}
	if h.formError(w, r, &d.Form, err) {
		d.Blocked = h.creationBlocked(r.Context(), v)
		h.render(w, r, v, statusOf(err), "token_form", d.newTitle(), d)
	}
}

func ownerParam(owner *store.User, v *visit) string {
	if owner.ID == v.p.User.ID {
		return ""
	}
	return owner.ID
}

// editTokenForm shows a token's description and permissions for change.
func (h *Handler) editTokenForm(w http.ResponseWriter, r *http.Request, v *visit) {
	t, owner, ok := h.editable(w, r, v)
	if !ok {
		return
	}
	row := h.row(r.Context(), t, owner.Username)
	chosen, _ := grantsOf(h.d.Services.Catalog, t.Scopes)
	d := &tokenFormData{Form: newForm(v.csrf, tokenFields...).speaking(tokenWords), Edit: &row, Name: t.Name, Description: t.Description,
		IPAllowlist: strings.Join(t.IPAllowlist, "\n"), Owner: owner, Perms: permissionsFor(h.d.Services.Catalog, owner, accessSpecific, chosen)}
	h.render(w, r, v, http.StatusOK, "token_form", "Edit "+t.Name, d)
}

// editable loads a token and its owner for the edit and regenerate pages.
func (h *Handler) editable(w http.ResponseWriter, r *http.Request, v *visit) (*store.Token, *store.User, bool) {
	t, err := h.d.Services.Tokens.Get(r.Context(), v.actor, r.PathValue("id"))
	if err == nil && t.RevokedAt != nil {
		h.renderError(w, r, v, http.StatusConflict, "This token is revoked",
			"A revoked token can no longer be changed or regenerated. Create a new token instead.")
		return nil, nil, false
	}
	var owner *store.User
	if err == nil {
		owner, err = h.tokenOwner(r.Context(), v, t.UserID)
	}
	if err != nil {
		h.fail(w, r, v, err)
		return nil, nil, false
	}
	return t, owner, true
}

func (h *Handler) updateToken(w http.ResponseWriter, r *http.Request, v *visit) {
	t, owner, ok := h.editable(w, r, v)
	if !ok {
		return
	}
	desc := r.PostFormValue("description")
	grants, access, chosen := postedScopes(r)
	allowText, allow, present, err := postedAllowlist(r)
	if !present {
		allowText = strings.Join(t.IPAllowlist, "\n")
	}
	if err == nil {
		in := service.UpdateTokenInput{Description: &desc, Scopes: &grants}
		if present {
			in.IPAllowlist = &allow
		}
		_, err = h.d.Services.Tokens.Update(r.Context(), v.actor, t.ID, in)
	}
	if err == nil {
		seeOther(w, r, "/tokens/"+t.ID+"?msg=updated")
		return
	}
	row := h.row(r.Context(), t, owner.Username)
	d := &tokenFormData{Form: newForm(v.csrf, tokenFields...).speaking(tokenWords), Edit: &row, Name: t.Name, Description: desc, IPAllowlist: allowText,
		Owner: owner, Perms: permissionsFor(h.d.Services.Catalog, owner, access, chosen)}
	if h.formError(w, r, &d.Form, err) {
		h.render(w, r, v, statusOf(err), "token_form", "Edit "+t.Name, d)
	}
}

// regenerateData is the regenerate page.
type regenerateData struct {
	Form   form
	Token  tokenRow
	Expiry expiryField
	Grace  []expiryOption
}

// ExpiryView is the expiration control with its error attached.
func (d *regenerateData) ExpiryView() expiryField {
	e := d.Expiry
	e.Error = d.Form.Err("expiration")
	return e
}

// graceChoices are the grace periods offered for the old secret.
var graceChoices = []expiryOption{
	{Value: "", Label: "None — the old secret stops working at once"},
	{Value: "10m", Label: "10 minutes"},
	{Value: "1h", Label: "1 hour"},
	{Value: "1d", Label: "1 day"},
	{Value: "7d", Label: "7 days"},
}

func (h *Handler) regenerateForm(w http.ResponseWriter, r *http.Request, v *visit) {
	t, owner, ok := h.editable(w, r, v)
	if !ok {
		return
	}
	h.render(w, r, v, http.StatusOK, "token_regenerate", "Regenerate "+t.Name, h.regenerateData(r, v, t, owner, "", "", ""))
}

func (h *Handler) regenerateData(r *http.Request, v *visit, t *store.Token, owner *store.User, expiration, date, grace string) *regenerateData {
	row := h.row(r.Context(), t, owner.Username)
	same := "Same lifetime as before"
	if t.ExpiresAt == nil {
		same = "Same as before (no expiration)"
	} else if life := t.ExpiresAt.Sub(issuedAt(t)); life > 0 {
		same = "Same lifetime as before (" + humanDuration(life.Round(time.Hour)) + ")"
	}
	d := &regenerateData{Form: newForm(v.csrf, "expiration", "grace_period"), Token: row,
		Expiry: h.expiryChoices(h.d.Policy.Current(r.Context()), expiration, date, same)}
	for _, g := range graceChoices {
		g.Selected = g.Value == grace
		d.Grace = append(d.Grace, g)
	}
	return d
}

// issuedAt is when t's current secret was issued.
func issuedAt(t *store.Token) time.Time {
	if t.RegeneratedAt != nil {
		return *t.RegeneratedAt
	}
	return t.CreatedAt
}

func (h *Handler) regenerateToken(w http.ResponseWriter, r *http.Request, v *visit) {
	t, owner, ok := h.editable(w, r, v)
	if !ok {
		return
	}
	grace := r.PostFormValue("grace_period")
	exp, err := parseExpiry(r)
	if err == nil {
		var it *service.IssuedToken
		it, err = h.d.Services.Tokens.Regenerate(r.Context(), v.actor, t.ID, service.RegenerateInput{Expiry: exp, GracePeriod: grace})
		if err == nil {
			err = h.handOver(w, r, it.Token.ID, it.Secret, true)
		}
		if err == nil {
			return
		}
	}
	d := h.regenerateData(r, v, t, owner, r.PostFormValue("expiration"), r.PostFormValue("expires_on"), grace)
	if h.formError(w, r, &d.Form, err) {
		h.render(w, r, v, statusOf(err), "token_regenerate", "Regenerate "+t.Name, d)
	}
}
