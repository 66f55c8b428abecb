package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// auditData is the audit log page.
type auditData struct {
	Form    form
	Actor   string
	Action  string
	Target  string
	Since   string
	Until   string
	Actions []expiryOption
	Events  []auditRow
	Next    string
}

// auditRow is one event as the page shows it.
type auditRow struct {
	At                  timeText
	Actor, ActorID      string
	Action, ActionLabel string
	TargetType          string
	TargetID, TargetURL string
	IP                  string
	Details             []detail
}

type detail struct{ Key, Value string }

// actionLabels say what each recorded action means; the filter offers
// these and the prefixes of their families.
var actionLabels = map[string]string{
	"token.create":        "Token created",
	"token.update":        "Token updated",
	"token.regenerate":    "Token regenerated",
	"token.revoke":        "Token revoked",
	"token.new_ip":        "Token used from a new address",
	"token.leak_reported": "Leak reported",
	"user.create":         "User created",
	"user.update":         "User updated",
	"user.suspend":        "User suspended",
	"user.unsuspend":      "User restored",
	"user.delete":         "User deleted",
	"auth.login":          "Logged in",
	"auth.login_failed":   "Login failed",
	"auth.logout":         "Logged out",
	"auth.session_issue":  "CLI session issued",
	"policy.update":       "Policy changed",
}

var actionFilters = []expiryOption{
	{Value: "", Label: "Any action"},
	{Value: "token.", Label: "Tokens: any"}, {Value: "token.create", Label: "Token created"},
	{Value: "token.regenerate", Label: "Token regenerated"}, {Value: "token.revoke", Label: "Token revoked"},
	{Value: "token.new_ip", Label: "Token used from a new address"},
	{Value: "user.", Label: "Users: any"}, {Value: "auth.", Label: "Sign-ins: any"},
	{Value: "auth.login_failed", Label: "Login failed"}, {Value: "policy.", Label: "Policy changes"},
	{Value: "token.leak_reported", Label: "Leak reports"},
}

var auditFields = []string{"actor", "action", "target", "since", "until"}

func (h *Handler) auditLog(w http.ResponseWriter, r *http.Request, v *visit) {
	q, repeated := filterQuery(r, auditFields...)
	d := &auditData{Form: newForm(v.csrf, auditFields...), Actor: strings.TrimSpace(q.Get("actor")), Action: q.Get("action"),
		Target: strings.TrimSpace(q.Get("target")), Since: q.Get("since"), Until: q.Get("until")}
	for _, o := range actionFilters {
		o.Selected = o.Value == d.Action
		d.Actions = append(d.Actions, o)
	}
	if repeated != nil {
		h.formError(w, r, &d.Form, repeated)
		h.render(w, r, v, http.StatusBadRequest, "admin_audit", "Audit log", d)
		return
	}
	aq, err := h.auditQuery(r, v, d)
	var events []*store.AuditEvent
	var next string
	if err == nil {
		events, next, err = h.d.Services.Audit.List(r.Context(), v.actor, aq)
	}
	if err != nil {
		if h.formError(w, r, &d.Form, err) {
			h.render(w, r, v, statusOf(err), "admin_audit", "Audit log", d)
		}
		return
	}
	for _, e := range events {
		d.Events = append(d.Events, h.auditRow(e))
	}
	if next != "" {
		nq := url.Values{"actor": {d.Actor}, "action": {d.Action}, "target": {d.Target}, "since": {d.Since}, "until": {d.Until}, "cursor": {next}, "page": {nextPage(r)}}
		d.Next = "/admin/audit?" + nq.Encode()
	}
	h.render(w, r, v, http.StatusOK, "admin_audit", pagedTitle("Audit log", r), d)
}

// auditQuery turns the filters into a query: the actor by user name, dates
// as whole UTC days.
func (h *Handler) auditQuery(r *http.Request, v *visit, d *auditData) (service.AuditQuery, error) {
	aq := service.AuditQuery{Action: d.Action, TargetID: d.Target, Cursor: r.URL.Query().Get("cursor"), Limit: 50}
	if d.Actor != "" {
		u, err := h.d.Services.Users.Get(r.Context(), v.actor, d.Actor)
		if errors.Is(err, service.ErrNotFound) {
			return aq, fieldErrorf("actor", "There is no user %q. Check the spelling, or leave the field empty for everyone.", d.Actor)
		}
		if err != nil {
			return aq, err
		}
		aq.ActorID = u.ID
	}
	for _, f := range []struct {
		field, raw string
		into       *time.Time
		end        bool
	}{{"since", d.Since, &aq.Since, false}, {"until", d.Until, &aq.Until, true}} {
		if f.raw == "" {
			continue
		}
		day, err := time.Parse(time.DateOnly, f.raw)
		if err != nil {
			return aq, fieldErrorf(f.field, "%q is not a date; write it as YYYY-MM-DD.", f.raw)
		}
		if f.end {
			day = day.Add(24*time.Hour - time.Nanosecond)
		}
		*f.into = day
	}
	return aq, nil
}

func (h *Handler) auditRow(e *store.AuditEvent) auditRow {
	row := auditRow{At: h.timeText(&e.At), Actor: e.ActorName, ActorID: e.ActorID, Action: e.Action,
		ActionLabel: actionLabels[e.Action], TargetType: e.TargetType, TargetID: e.TargetID, IP: e.IP}
	if row.Actor == "" {
		row.Actor = "—"
	}
	if row.ActionLabel == "" {
		row.ActionLabel = e.Action
	}
	if e.TargetType == "token" && e.TargetID != "" {
		row.TargetURL = "/tokens/" + e.TargetID
	}
	row.Details = auditDetails(e.Details)
	return row
}

// auditDetails lists an event's details for people: a before/after pair
// (policy and role changes) as "old → new" for what changed only.
func auditDetails(d map[string]any) []detail {
	var out []detail
	before, hasBefore := d["before"].(map[string]any)
	after, hasAfter := d["after"].(map[string]any)
	if hasBefore && hasAfter {
		for _, k := range sortedKeys(before, after) {
			if b, a := detailValue(before[k]), detailValue(after[k]); b != a {
				out = append(out, detail{Key: k, Value: b + " → " + a})
			}
		}
	}
	for _, k := range sortedKeys(d) {
		if hasBefore && hasAfter && (k == "before" || k == "after") {
			continue
		}
		out = append(out, detail{Key: k, Value: detailValue(d[k])})
	}
	return out
}

func sortedKeys(ms ...map[string]any) []string {
	var keys []string
	for _, m := range ms {
		for k := range m {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// detailValue writes one audit detail compactly: times in UTC, lists
// comma-separated, a before/after pair as "old → new".
func detailValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "none"
	case string:
		if x == "" {
			return "none"
		}
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return t.UTC().Format("Jan 2, 2006 15:04 UTC")
		}
		return x
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case []any:
		if len(x) == 0 {
			return "none"
		}
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = detailValue(p)
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		b, hasB := x["before"]
		a, hasA := x["after"]
		if hasB && hasA && len(x) == 2 {
			return detailValue(b) + " → " + detailValue(a)
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
