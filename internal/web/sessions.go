package web

import (
	"net/http"
	"net/url"

	"github.com/latchkey/latchkey/internal/service"
)

// sessionsData is the Sessions page: the visitor's live sessions.
type sessionsData struct {
	Sessions []sessionRow
	Next     string
	Others   int // sessions other than the current one
}

type sessionRow struct {
	ID       string
	Agent    string
	IP       string
	Created  timeText
	LastUsed timeText
	Expires  timeText
	Current  bool
}

// listSessions shows where the visitor is signed in.
func (h *Handler) listSessions(w http.ResponseWriter, r *http.Request, v *visit) {
	ss, next, err := h.d.Services.Sessions.List(r.Context(), v.actor, service.SessionQuery{Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d := &sessionsData{}
	if next != "" {
		d.Next = "/sessions?cursor=" + url.QueryEscape(next) + "&page=" + nextPage(r)
	}
	for _, s := range ss {
		row := sessionRow{
			ID: s.ID, Agent: s.Agent, IP: s.IP, Created: h.timeText(&s.CreatedAt),
			LastUsed: h.timeText(&s.LastSeenAt), Expires: h.timeText(&s.ExpiresAt),
			Current: v.p.Session != nil && v.p.Session.ID == s.ID,
		}
		if !row.Current {
			d.Others++
		}
		d.Sessions = append(d.Sessions, row)
	}
	h.render(w, r, v, http.StatusOK, "sessions", pagedTitle("Sessions", r), d)
}

// revokeSession ends one of the visitor's sessions.
func (h *Handler) revokeSession(w http.ResponseWriter, r *http.Request, v *visit) {
	id := r.PathValue("id")
	if err := h.d.Services.Sessions.Revoke(r.Context(), v.actor, id); err != nil {
		h.fail(w, r, v, err)
		return
	}
	if v.p.Session != nil && v.p.Session.ID == id {
		seeOther(w, r, "/login?msg=logged-out")
		return
	}
	seeOther(w, r, "/sessions?msg=session-ended")
}

// revokeOtherSessions logs the visitor out everywhere else.
func (h *Handler) revokeOtherSessions(w http.ResponseWriter, r *http.Request, v *visit) {
	if _, err := h.d.Services.Sessions.RevokeOthers(r.Context(), v.actor); err != nil {
		h.fail(w, r, v, err)
		return
	}
	seeOther(w, r, "/sessions?msg=sessions-ended")
}
