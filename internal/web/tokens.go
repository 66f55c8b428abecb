package web

import (
	"context"
	"net/http"
	"net/url"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// tokenRow is a token as the console shows it. It never holds the secret.
type tokenRow struct {
	ID, Name, Description string
	Scopes                []string
	Super                 bool
	Admin                 bool // an admin access token of a service account
	OwnerID, Owner        string
	State, StateLabel     string
	Created, Expires      timeText
	LastUsed, Revoked     timeText
	Regenerated, Grace    timeText
	LastUsedIP, Agent     string
	RecentIPs             []string
	Hint                  string
	IPAllowlist           []string
}

// stateLabels name each state in words, so a badge never relies on colour.
var stateLabels = map[store.TokenState]string{
	store.StateActive:   "Active",
	store.StateExpiring: "Expiring soon",
	store.StateExpired:  "Expired",
	store.StateRevoked:  "Revoked",
}

// row builds the view of t under the policy in force, naming its owner.
func (h *Handler) row(ctx context.Context, t *store.Token, owner string) tokenRow {
	eff := *t
	eff.ExpiresAt = h.effectiveExpiry(ctx, t)
	state := eff.State(h.d.Now())
	r := tokenRow{
		ID: t.ID, Name: t.Name, Description: t.Description, Scopes: t.Scopes,
		Admin: t.Kind == store.TokenAdmin, OwnerID: t.UserID, Owner: owner,
		State: string(state), StateLabel: stateLabels[state],
		Created: h.timeText(&t.CreatedAt), Expires: h.timeText(eff.ExpiresAt),
		LastUsed: h.timeText(t.LastUsedAt), Revoked: h.timeText(t.RevokedAt),
		Regenerated: h.timeText(t.RegeneratedAt), LastUsedIP: t.LastUsedIP, Agent: t.LastUsedAgent,
		RecentIPs: t.RecentIPs, Hint: t.Hint, IPAllowlist: t.IPAllowlist,
	}
	for _, s := range t.Scopes {
		if s == scope.SuperAdmin {
			r.Super = true
		}
	}
	if t.PrevExpiresAt != nil && h.d.Now().Before(*t.PrevExpiresAt) {
		r.Grace = h.timeText(t.PrevExpiresAt)
	}
	return r
}

// tokenListData is the "Access tokens" page.
type tokenListData struct {
	Tokens    []tokenRow
	Next      string
	CanCreate bool
	Blocked   string
}

func (h *Handler) listTokens(w http.ResponseWriter, r *http.Request, v *visit) {
	ts, next, err := h.d.Services.Tokens.List(r.Context(), v.actor, service.TokenQuery{Cursor: r.URL.Query().Get("cursor"), Limit: 50})
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d := &tokenListData{CanCreate: true}
	if msg := h.creationBlocked(r.Context(), v); msg != "" {
		d.CanCreate, d.Blocked = false, msg
	}
	for _, t := range ts {
		d.Tokens = append(d.Tokens, h.row(r.Context(), t, v.p.User.Username))
	}
	if next != "" {
		d.Next = "/tokens?cursor=" + url.QueryEscape(next) + "&page=" + nextPage(r)
	}
	h.render(w, r, v, http.StatusOK, "tokens", pagedTitle("Access tokens", r), d)
}

// creationBlocked says why the visitor may not create tokens, or "".
func (h *Handler) creationBlocked(ctx context.Context, v *visit) string {
	if h.d.Policy.Current(ctx).Creation == service.CreationAdmins && !v.admin() {
		return "The token policy lets only admins create tokens. Ask an admin to create one for you."
	}
	return ""
}

// tokenPageData is a token's own page.
type tokenPageData struct {
	Token tokenRow
	Chart usageChart
	Self  bool
}

func (h *Handler) showToken(w http.ResponseWriter, r *http.Request, v *visit) {
	t, err := h.d.Services.Tokens.Get(r.Context(), v.actor, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	days, err := h.d.Services.Tokens.Usage(r.Context(), v.actor, t.ID, chartDays)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d := &tokenPageData{
		Token: h.row(r.Context(), t, h.ownerName(r.Context(), v, t.UserID)),
		Chart: buildChart(days, h.d.Now()),
		Self:  t.UserID == v.p.User.ID,
	}
	h.render(w, r, v, http.StatusOK, "token", t.Name, d)
}

// ownerName returns the user name of id, or the id when it cannot be read.
func (h *Handler) ownerName(ctx context.Context, v *visit, id string) string {
	if id == v.p.User.ID {
		return v.p.User.Username
	}
	u, err := h.d.Services.Users.Get(ctx, v.actor, id)
	if err != nil {
		return id
	}
	return u.Username
}

// confirmData is a confirmation page, the no-JavaScript twin of the
// confirmation dialog: it posts the same form with confirm=yes.
type confirmData struct {
	Heading, Message string
	Action, Button   string
	Cancel           string
	Hidden           []hiddenField
	Danger           bool
}

// hiddenField is a hidden input carried through a confirmation.
type hiddenField struct{ Name, Value string }

func (h *Handler) revokeForm(w http.ResponseWriter, r *http.Request, v *visit) {
	t, err := h.d.Services.Tokens.Get(r.Context(), v.actor, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	h.render(w, r, v, http.StatusOK, "confirm", "Revoke "+t.Name, h.revokeConfirm(t, r.URL.Query().Get("next")))
}

func (h *Handler) revokeConfirm(t *store.Token, next string) *confirmData {
	return &confirmData{
		Heading: "Revoke " + t.Name + "?",
		Message: "Every request that uses this token will be refused from now on. A revoked token cannot be restored.",
		Action:  "/tokens/" + t.ID + "/revoke", Button: "Revoke token", Danger: true,
		Hidden: []hiddenField{{"next", next}}, Cancel: "/tokens/" + t.ID,
	}
}

// revokeToken revokes once confirmed; without confirm=yes (a browser
// without JavaScript skipped the dialog) it asks first.
func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request, v *visit) {
	t, err := h.d.Services.Tokens.Get(r.Context(), v.actor, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	next := r.PostFormValue("next")
	if r.PostFormValue("confirm") != "yes" {
		h.render(w, r, v, http.StatusOK, "confirm", "Revoke "+t.Name, h.revokeConfirm(t, next))
		return
	}
	if err := h.d.Services.Tokens.Revoke(r.Context(), v.actor, t.ID); err != nil {
		h.fail(w, r, v, err)
		return
	}
	target := "/tokens/" + t.ID
	if next != "" {
		target = safeNext(next)
	}
	seeOther(w, r, withNotice(target, "revoked"))
}

// withNotice adds msg=notice to a local URL.
func withNotice(target, notice string) string {
	u, err := url.Parse(target)
	if err != nil {
		return target
	}
	q := u.Query()
	q.Set("msg", notice)
	u.RawQuery = q.Encode()
	return u.String()
}
