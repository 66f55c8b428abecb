package auth

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// checkSession applies the per-request rules to a prepared session. A
// session's Principal carries the expiry of this request (it slides), so
// it is built per request.
func (c *Checker) checkSession(e *entry, now time.Time) (*Principal, error) {
	s := e.sess
	if e.early != nil || !now.Before(s.ExpiresAt) {
		return nil, errSessionEnded
	}
	if e.late != nil {
		return nil, e.late
	}
	exp := s.ExpiresAt
	if c.opts.SessionRefresh {
		exp = c.refresh(s, now)
	}
	return &Principal{User: e.owner.user, Session: s, Kind: token.Session, ExpiresAt: &exp, Scopes: e.scopes}, nil
}

// refreshEvery throttles sliding-refresh writes to one per session per minute.
const refreshEvery = time.Minute

// refresh slides a session's expiry forward. The write happens in the
// background and at most once a minute per session, so verification does
// not wait on it; once written, the cached session is dropped so the next
// request sees the new expiry.
func (c *Checker) refresh(s *store.Session, now time.Time) time.Time {
	next := now.Add(c.opts.SessionDuration).Truncate(time.Microsecond)
	if now.Sub(s.LastSeenAt) < refreshEvery || c.opts.Sessions == nil {
		return s.ExpiresAt
	}
	if _, busy := c.refreshing.LoadOrStore(s.ID, struct{}{}); busy {
		return next
	}
	go func() {
		defer c.refreshing.Delete(s.ID)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := c.opts.Sessions.UpdateSession(ctx, s.ID, func(x *store.Session) error {
			if x.RevokedAt == nil && next.After(x.ExpiresAt) {
				x.ExpiresAt, x.LastSeenAt = next, now.Truncate(time.Microsecond)
			}
			return nil
		})
		if err != nil {
			c.opts.Logger.Warn("refresh session", "session_id", s.ID, "err", err)
		}
		if c.cache != nil {
			c.cache.SessionRevoked(s.Digest)
		}
	}()
	return next
}
