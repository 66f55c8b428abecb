package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/latchkey/latchkey/internal/service"
)

// allTokensData is the admin view of every token in the organisation.
type allTokensData struct {
	Form   form
	User   string
	State  string
	Scope  string
	Kind   string
	States []string
	Scopes []string
	Tokens []tokenRow
	Next   string
	Here   string // this page's URL, to come back to after a revoke
}

func (h *Handler) listAllTokens(w http.ResponseWriter, r *http.Request, v *visit) {
	q, repeated := filterQuery(r, "user", "state", "scope", "kind")
	d := &allTokensData{Form: newForm(v.csrf, "user", "state", "scope", "kind"),
		User: strings.TrimSpace(q.Get("user")), State: q.Get("state"), Scope: q.Get("scope"), Kind: q.Get("kind"),
		States: []string{"active", "expiring", "expired", "revoked"}, Here: r.URL.RequestURI()}
	for _, def := range h.d.Services.Catalog.Defs() {
		d.Scopes = append(d.Scopes, def.Name)
	}
	if repeated != nil {
		h.formError(w, r, &d.Form, repeated)
		h.render(w, r, v, http.StatusBadRequest, "admin_tokens", "All tokens", d)
		return
	}
	query := service.TokenQuery{All: d.User == "", UserID: d.User, State: d.State, Scope: d.Scope, Kind: d.Kind,
		Cursor: q.Get("cursor"), Limit: 50}
	ts, next, err := h.d.Services.Tokens.List(r.Context(), v.actor, query)
	if errors.Is(err, service.ErrNotFound) && d.User != "" {
		err = fieldErrorf("user", "There is no user %q. Check the spelling, or leave the field empty for everyone.", d.User)
	}
	if err != nil {
		if h.formError(w, r, &d.Form, err) {
			h.render(w, r, v, statusOf(err), "admin_tokens", "All tokens", d)
		}
		return
	}
	names := map[string]string{}
	for _, t := range ts {
		d.Tokens = append(d.Tokens, h.row(r.Context(), t, h.cachedName(r.Context(), v, names, t.UserID)))
	}
	if next != "" {
		nq := url.Values{"user": {d.User}, "state": {d.State}, "scope": {d.Scope}, "kind": {d.Kind}, "cursor": {next}, "page": {nextPage(r)}}
		d.Next = "/admin/tokens?" + nq.Encode()
	}
	h.render(w, r, v, http.StatusOK, "admin_tokens", pagedTitle("All tokens", r), d)
}

// cachedName resolves user names once per page.
func (h *Handler) cachedName(ctx context.Context, v *visit, names map[string]string, id string) string {
	if n, ok := names[id]; ok {
		return n
	}
	n := h.ownerName(ctx, v, id)
	names[id] = n
	return n
}

// policyData is the policy page.
type policyData struct {
	Form            form
	DefaultLifetime string
	MaxLifetime     string
	AllowNoExpiry   bool
	Creation        string
	RevokeUnusedFor string
	Updated         timeText
	// Impact is set when the submitted change would make existing tokens
	// expire sooner: the page says how many and asks to save again.
	Impact *service.PolicyImpact
}

var policyFields = []string{"default_lifetime", "max_lifetime", "allow_no_expiry", "creation", "revoke_unused_for"}

func (h *Handler) policyForm(w http.ResponseWriter, r *http.Request, v *visit) {
	p, err := h.d.Services.Policies.Get(r.Context(), v.actor)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d := &policyData{Form: newForm(v.csrf, policyFields...),
		DefaultLifetime: service.FormatDuration(p.DefaultLifetime), MaxLifetime: service.FormatDuration(p.MaxLifetime),
		AllowNoExpiry: p.AllowNoExpiry, Creation: p.Creation, RevokeUnusedFor: service.FormatDuration(p.RevokeUnusedFor),
		Updated: h.timeText(&p.UpdatedAt)}
	h.render(w, r, v, http.StatusOK, "admin_policy", "Token policy", d)
}

func (h *Handler) setPolicy(w http.ResponseWriter, r *http.Request, v *visit) {
	in := service.PolicyInput{
		DefaultLifetime: strings.TrimSpace(r.PostFormValue("default_lifetime")),
		MaxLifetime:     strings.TrimSpace(r.PostFormValue("max_lifetime")),
		AllowNoExpiry:   r.PostFormValue("allow_no_expiry") == "on",
		Creation:        r.PostFormValue("creation"),
		RevokeUnusedFor: strings.TrimSpace(r.PostFormValue("revoke_unused_for")),
	}
	d := &policyData{Form: newForm(v.csrf, policyFields...).speaking(policyWords), DefaultLifetime: in.DefaultLifetime, MaxLifetime: in.MaxLifetime,
		AllowNoExpiry: in.AllowNoExpiry, Creation: in.Creation, RevokeUnusedFor: in.RevokeUnusedFor}
	// A change that shortens existing tokens is shown with its count first
	// and saved only when sent again with confirm=yes.
	imp, err := h.d.Services.Policies.PreviewInput(r.Context(), v.actor, in)
	if err == nil && imp.Affected > 0 && r.PostFormValue("confirm") != "yes" {
		d.Impact = &imp
		h.render(w, r, v, http.StatusOK, "admin_policy", "Confirm the token policy change", d)
		return
	}
	if err == nil {
		_, err = h.d.Services.Policies.Set(r.Context(), v.actor, in)
	}
	if err == nil {
		seeOther(w, r, "/admin/policy?msg=policy")
		return
	}
	if h.formError(w, r, &d.Form, err) {
		h.render(w, r, v, statusOf(err), "admin_policy", "Token policy", d)
	}
}
