package web

import (
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/internal/service"
)

// federationRow is a trust policy as the admin page shows it.
type federationRow struct {
	ID, Name, Issuer, Audience, Conditions, Scopes, MaxLifetime string
	Disabled                                                    bool
}

// federationData is the trust policies page.
type federationData struct {
	Policies []federationRow
	Create   form
	New      federationInput
}

// federationInput is what the create form was sent with, to show it again.
type federationInput struct {
	Name, Issuer, Audience, Conditions, ServiceAccount, Scopes, MaxLifetime string
}

var federationFields = []string{"name", "issuer", "audience", "conditions", "service_account", "scopes", "max_lifetime"}

func (h *Handler) listFederation(w http.ResponseWriter, r *http.Request, v *visit) {
	h.renderFederation(w, r, v, http.StatusOK, newForm(v.csrf, federationFields...).speaking(federationWords),
		federationInput{Issuer: "https://token.actions.githubusercontent.com", Audience: "latchkey", MaxLifetime: "15m"})
}

func (h *Handler) renderFederation(w http.ResponseWriter, r *http.Request, v *visit, status int, f form, in federationInput) {
	ps, _, err := h.d.Services.Federation.ListPolicies(r.Context(), v.actor, "", 500)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d := &federationData{Create: f, New: in}
	for _, p := range ps {
		var conds []string
		for k, val := range p.Conditions {
			conds = append(conds, k+"="+val)
		}
		life := p.MaxLifetime
		if life <= 0 {
			life = service.DefaultFederatedLifetime
		}
		d.Policies = append(d.Policies, federationRow{ID: p.ID, Name: p.Name, Issuer: p.Issuer, Audience: p.Audience,
			Conditions: strings.Join(sortedStrings(conds), " "), Scopes: strings.Join(p.Scopes, " "),
			MaxLifetime: life.String(), Disabled: p.Disabled})
	}
	h.render(w, r, v, status, "admin_federation", "Workload federation", d)
}

func sortedStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

func (h *Handler) createFederation(w http.ResponseWriter, r *http.Request, v *visit) {
	in := federationInput{Name: r.PostFormValue("name"), Issuer: r.PostFormValue("issuer"), Audience: r.PostFormValue("audience"),
		Conditions: r.PostFormValue("conditions"), ServiceAccount: r.PostFormValue("service_account"),
		Scopes: r.PostFormValue("scopes"), MaxLifetime: r.PostFormValue("max_lifetime")}
	f := newForm(v.csrf, federationFields...).speaking(federationWords)
	conds := map[string]string{}
	for _, line := range strings.Split(in.Conditions, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, val, ok := strings.Cut(line, "=")
		if !ok {
			f.set("conditions", "write one condition per line as claim=value, e.g. repository=acme/web")
			h.renderFederation(w, r, v, http.StatusUnprocessableEntity, f, in)
			return
		}
		conds[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	_, err := h.d.Services.Federation.CreatePolicy(r.Context(), v.actor, service.FederationPolicyInput{
		Name: &in.Name, Issuer: &in.Issuer, Audience: &in.Audience, Conditions: conds, ServiceAccount: &in.ServiceAccount,
		Scopes: strings.Fields(in.Scopes), MaxLifetime: &in.MaxLifetime,
	})
	if err == nil {
		seeOther(w, r, "/admin/federation")
		return
	}
	if h.formError(w, r, &f, err) {
		h.renderFederation(w, r, v, statusOf(err), f, in)
	}
}

func (h *Handler) deleteFederation(w http.ResponseWriter, r *http.Request, v *visit) {
	if err := h.d.Services.Federation.DeletePolicy(r.Context(), v.actor, r.PathValue("id")); err != nil {
		h.fail(w, r, v, err)
		return
	}
	seeOther(w, r, "/admin/federation")
}
