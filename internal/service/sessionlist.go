package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/store"
)

// Sessions are first-class objects their user sees and ends (console, CLI,
// API); admins see and end anyone's. Ending a session also ends the
// sessions it minted at /cli-auth.

// SessionQuery asks for a page of a user's live sessions.
type SessionQuery struct {
	UserID string // "" = the actor's own
	Cursor string
	Limit  int
}

// requireSessionAccess refuses credentials that may not manage sessions:
// a session, or an access token that may manage credentials (tokens).
func (a Actor) requireSessionAccess() error {
	if a.User == nil {
		return &Error{Kind: ErrUnauthenticated, Msg: "authentication required"}
	}
	if !a.Session && !a.Scopes.Has(scopeTokens) {
		return forbidden("this credential lacks the %q scope needed to manage sessions; use a session or a token with scope %q", scopeTokens, scopeTokens)
	}
	return nil
}

// List returns a page of a user's live sessions, newest first: the actor's
// own, or (admins) anyone's.
func (s *Sessions) List(ctx context.Context, a Actor, q SessionQuery) ([]*store.Session, string, error) {
	if err := a.requireSessionAccess(); err != nil {
		return nil, "", err
	}
	userID := a.User.ID
	if q.UserID != "" && q.UserID != a.User.ID && q.UserID != a.User.Username {
		if !a.IsAdmin() {
			return nil, "", a.notAdmin("see another user's sessions")
		}
		u, err := lookupUser(ctx, s.store, q.UserID)
		if err != nil {
			return nil, "", err
		}
		userID = u.ID
	}
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return nil, "", err
	}
	f := store.SessionFilter{UserID: userID, Now: s.now().UTC(), Limit: limit + 1}
	if q.Cursor != "" {
		id, err := decodeCursor(q.Cursor)
		if err != nil || uuid.Validate(id) != nil {
			return nil, "", invalid("cursor", "cursor %q is not valid; pass the next_cursor value of the previous page unchanged", q.Cursor)
		}
		f.Cursor = id
	}
	ss, err := s.store.ListSessions(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("list sessions: %w", err)
	}
	next := ""
	if len(ss) > limit {
		ss = ss[:limit]
		next = encodeCursor(ss[limit-1].ID)
	}
	return ss, next, nil
}

// Revoke ends one session (and those it minted): the actor's own, or
// (admins) anyone's. Sessions of others look absent to non-admins.
func (s *Sessions) Revoke(ctx context.Context, a Actor, id string) error {
	if err := a.requireSessionAccess(); err != nil {
		return err
	}
	absent := notFound("no session with id %q; list your sessions to find its id", id)
	if uuid.Validate(id) != nil {
		return absent
	}
	sess, err := s.store.GetSession(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return absent
	}
	if err != nil {
		return fmt.Errorf("get session: %w", err)
	}
	if sess.UserID != a.User.ID {
		if !a.IsAdmin() {
			return absent
		}
		owner, err := s.store.GetUser(ctx, sess.UserID)
		if err == nil && owner.Role == store.RoleOwner && a.User.Role != store.RoleOwner {
			return forbidden("only owners may end an owner's sessions")
		}
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	if sess.RevokedAt != nil || !now.Before(sess.ExpiresAt) {
		return absent // ended sessions are not listed either
	}
	var ended []*store.Session
	err = s.audit.inTx(ctx, func(ctx context.Context) error {
		var err error
		if ended, err = s.store.RevokeSession(ctx, id, now); err != nil {
			return err
		}
		if err := announceSessions(ctx, s.inval, ended...); err != nil {
			return err
		}
		return s.audit.add(ctx, a, "session.revoke", "session", id, map[string]any{"user_id": sess.UserID, "ended": len(ended)})
	})
	if err != nil {
		return wrapStore("end session", err)
	}
	s.forget(ended)
	return nil
}

// RevokeOthers ends every session of the actor but the one in use ("log
// out everywhere else"); called with an access token, it ends them all.
func (s *Sessions) RevokeOthers(ctx context.Context, a Actor) (int, error) {
	if err := a.requireSessionAccess(); err != nil {
		return 0, err
	}
	keep := ""
	if a.Session {
		keep = a.CredentialID
	}
	var ended []*store.Session
	err := s.audit.inTx(ctx, func(ctx context.Context) error {
		var err error
		if ended, err = s.store.RevokeUserSessions(ctx, a.User.ID, keep, s.now().UTC().Truncate(time.Microsecond)); err != nil {
			return err
		}
		if err := announceSessions(ctx, s.inval, ended...); err != nil {
			return err
		}
		return s.audit.add(ctx, a, "session.revoke_others", "user", a.User.ID, map[string]any{"ended": len(ended)})
	})
	if err != nil {
		return 0, wrapStore("end sessions", err)
	}
	s.forget(ended)
	return len(ended), nil
}

// forget drops ended sessions from every node's verification cache.
func (s *Sessions) forget(ended []*store.Session) { forgetSessions(s.inval, ended) }

// forgetSessions drops ended sessions from every node's verification
// cache. It is called once the write that ended them is committed: before,
// a verification could cache them again from the rows as they were.
func forgetSessions(inval Invalidator, ended []*store.Session) {
	for _, x := range ended {
		inval.SessionRevoked(x.Digest)
	}
}
