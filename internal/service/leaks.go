package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// MaxLeakReports bounds one report batch: a scanner with more sends
// several reports.
const MaxLeakReports = 100

// How much of a report's url and source is kept (the API refuses longer).
const (
	maxLeakURLLen    = 2000
	maxLeakSourceLen = 100
)

// LeakOutcome is what a report did: the verdicts, in the order of the
// report, and whether it ended any live credential (a report that ended
// nothing counts as a failed attempt for the caller's address).
type LeakOutcome struct {
	Verdicts []LeakVerdict
	Ended    int
}

// leakEffect is what one distinct reported secret did.
type leakEffect struct {
	ours    bool
	ended   bool           // a live token, session or grace period ended now
	summary map[string]any // for the report's audit event, when ended
}

// ReportLeaks revokes every reported secret that is a live Latchkey token or
// session, ends the grace period of a reported previous secret, and records
// one audit event summarising what the report ended. Possession of a secret
// is the proof here: anyone holding a leaked token may kill it, and nobody
// learns anything about tokens they do not hold.
func (s *Tokens) ReportLeaks(ctx context.Context, a Actor, reports []LeakReport) (*LeakOutcome, error) {
	if len(reports) == 0 {
		return nil, invalid("body", "the report is empty: send a JSON array of {\"token\",\"type\",\"url\",\"source\"}")
	}
	if len(reports) > MaxLeakReports {
		return nil, invalid("body", "at most %d secrets per report; got %d: split the report into several", MaxLeakReports, len(reports))
	}
	// The report's revocations and its one event are stored together, or
	// none is (the scanner then retries the report); the caches and the
	// owners hear of what ended once that is committed.
	var (
		out   *LeakOutcome
		after []func(context.Context)
	)
	err := s.audit.inTx(ctx, func(ctx context.Context) error {
		var err error
		out, after, err = s.reportLeaks(ctx, a, reports)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, f := range after {
		f(ctx)
	}
	return out, nil
}

// reportLeaks is ReportLeaks in the transaction of ctx: it returns what
// to do once that is committed.
func (s *Tokens) reportLeaks(ctx context.Context, a Actor, reports []LeakReport) (*LeakOutcome, []func(context.Context), error) {
	seen := make(map[string]leakEffect, len(reports))
	out := &LeakOutcome{Verdicts: make([]LeakVerdict, 0, len(reports))}
	var ended []map[string]any
	var after []func(context.Context)
	for _, r := range reports {
		// Where and by whom a leak was found is written by whoever reports
		// it, and goes into the audit log, the owner's email and the
		// webhook: it is kept as text without control or direction
		// characters, which could rewrite an admin's terminal or disguise
		// what the owner reads.
		r.URL, r.Source = printable(r.URL, maxLeakURLLen), printable(r.Source, maxLeakSourceLen)
		// The verdict echoes the token as sent; it is matched without the
		// spaces or line end around it, which copying from a file or a
		// terminal adds (Authorization ignores them too): a live secret
		// must not stay live on a false_positive for a trailing newline.
		sent := r.Token
		r.Token = strings.Trim(r.Token, " \t\r\n")
		eff, dup := seen[r.Token]
		if !dup {
			var err error
			if eff, err = s.reportLeak(ctx, r, &after); err != nil {
				return nil, nil, err
			}
			seen[r.Token] = eff
			if eff.ended {
				ended = append(ended, eff.summary)
			}
		}
		label := "false_positive"
		if eff.ours {
			label = "true_positive"
		}
		out.Verdicts = append(out.Verdicts, LeakVerdict{TokenRaw: sent, TokenType: r.Type, Label: label})
	}
	out.Ended = len(ended)
	if len(ended) > 0 {
		if err := s.auditLeakReport(ctx, a, len(reports), len(seen), ended); err != nil {
			return nil, nil, err
		}
	}
	return out, after, nil
}

// auditLeakReport writes the one event of a report. With one credential
// ended, the event targets it (its owner finds it by target); otherwise it
// targets the report and lists them.
func (s *Tokens) auditLeakReport(ctx context.Context, a Actor, submitted, distinct int, ended []map[string]any) error {
	details := map[string]any{"submitted": submitted, "distinct": distinct, "ended": ended}
	targetType, targetID := "leak_report", ""
	if len(ended) == 1 {
		e := ended[0]
		targetType, _ = e["type"].(string)
		targetID, _ = e["id"].(string)
		for _, k := range []string{"url", "source", "name", "owner_id", "hint"} {
			if v, ok := e[k]; ok {
				details[k] = v
			}
		}
	}
	return s.audit.add(ctx, a, "token.leak_reported", targetType, targetID, details)
}

// reportLeak ends the credential r names, in the transaction of ctx, and
// appends to after the invalidations and notices due once it commits.
func (s *Tokens) reportLeak(ctx context.Context, r LeakReport, after *[]func(context.Context)) (leakEffect, error) {
	parsed, err := token.Parse(r.Token, s.prefix)
	if err != nil {
		return leakEffect{}, nil
	}
	digest := token.Hash(r.Token)
	summary := map[string]any{"url": r.URL, "source": r.Source, "hint": token.Hint(r.Token)}
	if parsed.Kind == token.Session {
		return s.leakSession(ctx, digest[:], summary, r, after)
	}
	t, err := s.store.GetTokenByDigest(ctx, digest[:])
	if errors.Is(err, store.ErrNotFound) {
		return leakEffect{}, nil
	}
	if err != nil {
		return leakEffect{}, fmt.Errorf("look up leaked token: %w", err)
	}
	if !token.Equal(t.Digest, digest[:]) && !token.Equal(t.PrevDigest, digest[:]) {
		return leakEffect{}, nil
	}
	summary["type"], summary["id"], summary["name"], summary["owner_id"] = "token", t.ID, t.Name, t.UserID
	if token.Equal(t.PrevDigest, digest[:]) {
		// The previous secret of a regenerated token leaked: end its grace now.
		now := s.now().UTC().Truncate(time.Microsecond)
		ended := false
		var before store.Token
		t, err = s.store.UpdateToken(ctx, t.ID, func(x *store.Token) error {
			before = *x
			if token.Equal(x.PrevDigest, digest[:]) {
				x.PrevDigest, x.PrevExpiresAt, x.UpdatedAt = nil, nil, now
				ended = true
			}
			return nil
		})
		if err != nil {
			return leakEffect{ours: true}, wrapStore("end grace period", err)
		}
		if err := announceTokens(ctx, s.inval, &before, t); err != nil {
			return leakEffect{ours: true}, err
		}
		// The row no longer names the leaked secret: invalidate by the
		// snapshot that does, so every node drops it.
		ended = ended && (before.PrevExpiresAt == nil || now.Before(*before.PrevExpiresAt))
		if ended {
			summary["previous_secret"] = true
		}
		*after = append(*after, func(ctx context.Context) {
			s.inval.TokenChanged(&before)
			s.inval.TokenChanged(t)
			if ended {
				s.postLeakNotice(ctx, t, r, true)
			}
		})
		return leakEffect{ours: true, ended: ended, summary: summary}, nil
	}
	ended, err := s.revokeQuietly(ctx, t.ID, after)
	if err != nil {
		return leakEffect{ours: true}, err
	}
	if ended { // a token revoked before gets no second notice
		*after = append(*after, func(ctx context.Context) { s.postLeakNotice(ctx, t, r, false) })
	}
	return leakEffect{ours: true, ended: ended, summary: summary}, nil
}

// revokeQuietly revokes a token without an audit event of its own (the
// leak report's event covers it) and reports whether it was live; the
// caches drop it after the commit (after).
func (s *Tokens) revokeQuietly(ctx context.Context, id string, after *[]func(context.Context)) (bool, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	live := false
	var before store.Token
	t, err := s.store.UpdateToken(ctx, id, func(t *store.Token) error {
		before = *t
		if t.RevokedAt != nil {
			return nil
		}
		live = true
		t.RevokedAt, t.UpdatedAt = &now, now
		t.PrevDigest, t.PrevExpiresAt = nil, nil
		return nil
	})
	if err != nil {
		return false, wrapStore("revoke leaked token", err)
	}
	if err := announceTokens(ctx, s.inval, &before, t); err != nil {
		return false, err
	}
	*after = append(*after, func(context.Context) {
		s.inval.TokenChanged(&before)
		s.inval.TokenChanged(t)
	})
	return live, nil
}

func (s *Tokens) leakSession(ctx context.Context, digest []byte, summary map[string]any, r LeakReport, after *[]func(context.Context)) (leakEffect, error) {
	sess, err := s.store.GetSessionByDigest(ctx, digest)
	if errors.Is(err, store.ErrNotFound) {
		return leakEffect{}, nil
	}
	if err != nil {
		return leakEffect{}, fmt.Errorf("look up leaked session: %w", err)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	live := sess.RevokedAt == nil && now.Before(sess.ExpiresAt)
	ended, err := s.store.RevokeSession(ctx, sess.ID, now)
	if err != nil {
		return leakEffect{ours: true}, wrapStore("revoke leaked session", err)
	}
	if err := announceSessions(ctx, s.inval, ended...); err != nil {
		return leakEffect{ours: true}, err
	}
	summary["type"], summary["id"], summary["owner_id"] = "session", sess.ID, sess.UserID
	*after = append(*after, func(ctx context.Context) {
		s.inval.SessionRevoked(sess.Digest)
		for _, x := range ended {
			s.inval.SessionRevoked(x.Digest)
		}
		if live && len(ended) > 0 { // an ended session gets no notice
			s.postSessionLeakNotice(ctx, sess, r)
		}
	})
	return leakEffect{ours: true, ended: live && len(ended) > 0, summary: summary}, nil
}
