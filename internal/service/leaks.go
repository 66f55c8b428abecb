package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// LeakReport is one secret a scanner found somewhere public, in the shape
// secret scanners send (GitHub's secret scanning partner format).
type LeakReport struct {
	Token  string
	Type   string
	URL    string
	Source string
}

// LeakVerdict tells the scanner whether a reported secret was ours.
type LeakVerdict struct {
	TokenRaw  string
	TokenType string
	Label     string // "true_positive" or "false_positive"
}

// maxLeakReports bounds one report batch.
const maxLeakReports = 1000

// ReportLeaks revokes every reported secret that is a live Latchkey token or
// session and records who found it where. Possession of a secret is the
// proof here: anyone holding a leaked token may kill it, and nobody learns
// anything about tokens they do not hold.
func (s *Tokens) ReportLeaks(ctx context.Context, a Actor, reports []LeakReport) ([]LeakVerdict, error) {
	if len(reports) == 0 {
		return nil, invalid("body", "the report is empty: send a JSON array of {\"token\",\"type\",\"url\",\"source\"}")
	}
	if len(reports) > maxLeakReports {
		return nil, invalid("body", "at most %d secrets per report; got %d", maxLeakReports, len(reports))
	}
	out := make([]LeakVerdict, 0, len(reports))
	for _, r := range reports {
		ours, err := s.reportLeak(ctx, a, r)
		if err != nil {
			return nil, err
		}
		label := "false_positive"
		if ours {
			label = "true_positive"
		}
		out = append(out, LeakVerdict{TokenRaw: r.Token, TokenType: r.Type, Label: label})
	}
	return out, nil
}

func (s *Tokens) reportLeak(ctx context.Context, a Actor, r LeakReport) (bool, error) {
	parsed, err := token.Parse(r.Token, s.prefix)
	if err != nil {
		return false, nil
	}
	digest := token.Hash(r.Token)
	details := map[string]any{"url": r.URL, "source": r.Source, "type": r.Type, "hint": token.Hint(r.Token)}
	if parsed.Kind == token.Session {
		return s.leakSession(ctx, a, digest[:], details, r)
	}
	t, err := s.store.GetTokenByDigest(ctx, digest[:])
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up leaked token: %w", err)
	}
	if !token.Equal(t.Digest, digest[:]) && !token.Equal(t.PrevDigest, digest[:]) {
		return false, nil
	}
	details["name"], details["owner_id"] = t.Name, t.UserID
	s.audit.record(ctx, a, "token.leak_reported", "token", t.ID, details)
	if token.Equal(t.PrevDigest, digest[:]) {
		// The previous secret of a regenerated token leaked: end its grace now.
		now := s.now().UTC().Truncate(time.Microsecond)
		ended := false
		t, err = s.store.UpdateToken(ctx, t.ID, func(x *store.Token) error {
			if token.Equal(x.PrevDigest, digest[:]) {
				x.PrevDigest, x.PrevExpiresAt, x.UpdatedAt = nil, nil, now
				ended = true
			}
			return nil
		})
		if err != nil {
			return true, wrapStore("end grace period", err)
		}
		s.inval.TokenChanged(t)
		if ended {
			s.postLeakNotice(ctx, t, r, true)
		}
		return true, nil
	}
	if err := s.revoke(ctx, a, t.ID, "token.revoke", map[string]any{"reason": "leaked", "url": r.URL}); err != nil {
		return true, err
	}
	if t.RevokedAt == nil { // a token revoked before gets no second notice
		s.postLeakNotice(ctx, t, r, false)
	}
	return true, nil
}

func (s *Tokens) leakSession(ctx context.Context, a Actor, digest []byte, details map[string]any, r LeakReport) (bool, error) {
	sess, err := s.store.GetSessionByDigest(ctx, digest)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up leaked session: %w", err)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	ended := false
	if _, err := s.store.UpdateSession(ctx, sess.ID, func(x *store.Session) error {
		if x.RevokedAt == nil {
			x.RevokedAt, ended = &now, true
		}
		return nil
	}); err != nil {
		return true, wrapStore("revoke leaked session", err)
	}
	s.inval.SessionRevoked(sess.Digest)
	details["owner_id"] = sess.UserID
	s.audit.record(ctx, a, "session.leak_reported", "session", sess.ID, details)
	if ended && now.Before(sess.ExpiresAt) { // an ended session gets no notice
		s.postSessionLeakNotice(ctx, sess, r)
	}
	return true, nil
}
