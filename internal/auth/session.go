package auth

import (
	"context"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// checkSession applies the per-request rules to a prepared session. A
// session's Principal carries the expiry of this request (it slides), so
// it is built per request.
func (c *Checker) checkSession(e *entry, now time.Time, req Request) (*Principal, error) {
	s := e.sess()
	if e.early != nil || !now.Before(s.ExpiresAt) {
		return nil, errSessionEnded
	}
	if e.late != nil {
		return nil, e.late
	}
	exp := c.touch(s, now, req)
	return &Principal{User: e.owner.user, Session: s, Kind: token.Session, ExpiresAt: &exp, Scopes: e.scopes()}, nil
}

// refreshEvery throttles session writes to one per session per minute.
const refreshEvery = time.Minute

// touch records that the session was used (when, from where, with which
// agent) and, with sliding refresh, slides its expiry forward; it returns
// the expiry in force for this request. The write happens in the
// background and at most once a minute per session, so verification never
// waits on it; once written, the cached session is dropped so the next
// request sees the new row.
func (c *Checker) touch(s *store.Session, now time.Time, req Request) time.Time {
	if now.Sub(s.LastSeenAt) < refreshEvery || c.opts.Sessions == nil {
		return s.ExpiresAt
	}
	refresh := c.opts.SessionRefresh
	exp, next := s.ExpiresAt, now.Add(c.opts.SessionDuration).Truncate(time.Microsecond)
	if refresh && next.After(exp) {
		exp = next
	}
	if _, busy := c.refreshing.LoadOrStore(s.ID, struct{}{}); busy {
		return exp
	}
	go func() {
		defer c.refreshing.Delete(s.ID)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := c.opts.Sessions.UpdateSession(ctx, s.ID, func(x *store.Session) error {
			if x.RevokedAt != nil {
				return nil
			}
			x.LastSeenAt = now.Truncate(time.Microsecond)
			if req.IP != "" {
				x.IP = req.IP
			}
			if req.Agent != "" {
				x.Agent = clip(req.Agent, maxAgentLen)
			}
			if refresh && next.After(x.ExpiresAt) {
				x.ExpiresAt = next
			}
			return nil
		})
		if err != nil {
			c.opts.Logger.Warn("record session use", "session_id", s.ID, "err", err)
		}
		if c.cache != nil {
			c.cache.SessionRevoked(s.Digest)
		}
	}()
	return exp
}

// maxAgentLen bounds the User-Agent stored for a session.
const maxAgentLen = 512

// clip bounds s to n bytes of valid UTF-8 (PostgreSQL text refuses
// anything else).
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}
