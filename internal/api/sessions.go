package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// SessionInfo is a login session in a listing.
type SessionInfo struct {
	ID         string     `json:"id"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at" doc:"When the session was last used, recorded at most once a minute"`
	IP         string     `json:"ip" doc:"The client address it was last used from"`
	UserAgent  string     `json:"user_agent" doc:"The User-Agent it was last used with"`
	Current    bool       `json:"current" doc:"Whether this is the session the request was made with"`
}

type listSessionsInput struct {
	UserID string `query:"user_id" maxLength:"100" doc:"Whose sessions (admins); default your own"`
	Cursor string `query:"cursor" maxLength:"200"`
	Limit  int    `query:"limit" minimum:"0" maximum:"500"`
}

type sessionPage struct {
	Body struct {
		Items      []SessionInfo `json:"items"`
		NextCursor string        `json:"next_cursor"`
	}
}

type sessionIDInput struct {
	ID string `path:"id" maxLength:"100"`
}

func (a *API) registerSessions() {
	huma.Register(a, huma.Operation{
		OperationID: "list-sessions", Method: http.MethodGet, Path: "/api/v1/sessions", Tags: []string{"Sessions"},
		Summary:  "List live login sessions, newest first: your own, or (admins) another user's with ?user_id=",
		Security: security,
	}, a.listSessions)
	huma.Register(a, huma.Operation{
		OperationID: "revoke-session", Method: http.MethodDelete, Path: "/api/v1/sessions/{id}", Tags: []string{"Sessions"},
		Summary:       "End one session, and the sessions it minted at /cli-auth",
		DefaultStatus: http.StatusNoContent, Security: security,
	}, a.revokeSession)
	huma.Register(a, huma.Operation{
		OperationID: "revoke-other-sessions", Method: http.MethodDelete, Path: "/api/v1/sessions", Tags: []string{"Sessions"},
		Summary:       "Log out everywhere else: end all your sessions but the one this request uses",
		DefaultStatus: http.StatusNoContent, Security: security,
	}, a.revokeOtherSessions)
}

func (a *API) listSessions(ctx context.Context, in *listSessionsInput) (*sessionPage, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	ss, next, err := a.d.Services.Sessions.List(ctx, actor, service.SessionQuery{UserID: in.UserID, Cursor: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, a.problem(ctx, err)
	}
	out := &sessionPage{}
	out.Body.Items = make([]SessionInfo, 0, len(ss))
	for _, s := range ss {
		out.Body.Items = append(out.Body.Items, sessionInfo(s, actor))
	}
	out.Body.NextCursor = next
	return out, nil
}

func sessionInfo(s *store.Session, a service.Actor) SessionInfo {
	seen := s.LastSeenAt
	return SessionInfo{
		ID: s.ID, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt, LastUsedAt: &seen, IP: s.IP, UserAgent: s.Agent,
		Current: a.Session && a.CredentialID == s.ID,
	}
}

func (a *API) revokeSession(ctx context.Context, in *sessionIDInput) (*struct{}, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.d.Services.Sessions.Revoke(ctx, actor, in.ID); err != nil {
		return nil, a.problem(ctx, err)
	}
	return nil, nil
}

func (a *API) revokeOtherSessions(ctx context.Context, _ *struct{}) (*struct{}, error) {
	actor, _, err := a.actor(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := a.d.Services.Sessions.RevokeOthers(ctx, actor); err != nil {
		return nil, a.problem(ctx, err)
	}
	return nil, nil
}
