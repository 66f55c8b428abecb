package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
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
		err   error
	)
	for attempt := 1; ; attempt++ {
		err = s.audit.inTx(ctx, func(ctx context.Context) error {
			var err error
			out, after, err = s.reportLeaks(ctx, a, reports)
			return err
		})
		// The credentials are locked in one order (reportLeaks), so two
		// reports do not deadlock each other; another change can still
		// meet one in a cycle of locks, and the database then rolls the
		// whole report back. Everything it did is in that transaction
		// (announcements included, which PostgreSQL sends at the commit
		// or never) and what is due after it is only run once it is
		// committed, so running it again once is safe, and spares the
		// scanner a 503 for someone else's change.
		if attempt == 2 || !errors.Is(err, store.ErrContention) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	for _, f := range after {
		f(ctx)
	}
	return out, nil
}

// leakTarget is one distinct reported secret and the credential it names,
// looked up before any is locked.
type leakTarget struct {
	report LeakReport // the first report naming the secret
	digest []byte
	tok    *store.Token   // the token it is the secret or previous secret of
	sess   *store.Session // or the session it is the secret of
	effect leakEffect
}

// lockKey orders the credentials a report locks: tokens, then sessions,
// each by id. Every report locks in this order, so two reports naming the
// same credentials in different orders wait for each other instead of
// deadlocking.
func (t *leakTarget) lockKey() (int, string) {
	if t.tok != nil {
		return 0, t.tok.ID
	}
	return 1, t.sess.ID
}

// reportLeaks is ReportLeaks in the transaction of ctx: it returns what
// to do once that is committed. It first finds what each distinct secret
// names (reads, which lock nothing), then ends those credentials in
// lockKey's order, then answers in the order of the report.
func (s *Tokens) reportLeaks(ctx context.Context, a Actor, reports []LeakReport) (*LeakOutcome, []func(context.Context), error) {
	targets := make(map[string]*leakTarget, len(reports))
	var distinct, ours []*leakTarget
	keys := make([]string, len(reports)) // the secret each report names
	for i, r := range reports {
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
		r.Token = strings.Trim(r.Token, " \t\r\n")
		keys[i] = r.Token
		if _, dup := targets[r.Token]; dup {
			continue
		}
		tg, err := s.findLeaked(ctx, r)
		if err != nil {
			return nil, nil, err
		}
		targets[r.Token] = tg
		distinct = append(distinct, tg)
		if tg.tok != nil || tg.sess != nil {
			ours = append(ours, tg)
		}
	}
	slices.SortStableFunc(ours, func(x, y *leakTarget) int {
		xk, xid := x.lockKey()
		yk, yid := y.lockKey()
		return cmp.Or(cmp.Compare(xk, yk), strings.Compare(xid, yid))
	})
	var after []func(context.Context)
	for _, tg := range ours {
		var err error
		if tg.effect, err = s.endLeaked(ctx, tg, &after); err != nil {
			return nil, nil, err
		}
	}
	var ended []map[string]any
	for _, tg := range distinct {
		if tg.effect.ended {
			ended = append(ended, tg.effect.summary)
		}
	}
	out := &LeakOutcome{Verdicts: make([]LeakVerdict, 0, len(reports)), Ended: len(ended)}
	for i, r := range reports {
		label := "false_positive"
		if targets[keys[i]].effect.ours {
			label = "true_positive"
		}
		out.Verdicts = append(out.Verdicts, LeakVerdict{TokenRaw: r.Token, TokenType: r.Type, Label: label})
	}
	if len(ended) > 0 {
		if err := s.auditLeakReport(ctx, a, len(reports), len(distinct), ended); err != nil {
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

// findLeaked looks up the credential r's secret names, in the transaction
// of ctx, without locking it: a target naming neither token nor session
// is not ours.
func (s *Tokens) findLeaked(ctx context.Context, r LeakReport) (*leakTarget, error) {
	tg := &leakTarget{report: r}
	parsed, err := token.Parse(r.Token, s.prefix)
	if err != nil {
		return tg, nil
	}
	digest := token.Hash(r.Token)
	tg.digest = digest[:]
	if parsed.Kind == token.Session {
		sess, err := s.store.GetSessionByDigest(ctx, tg.digest)
		if errors.Is(err, store.ErrNotFound) {
			return tg, nil
		}
		if err != nil {
			return nil, fmt.Errorf("look up leaked session: %w", err)
		}
		tg.sess = sess
		return tg, nil
	}
	t, err := s.store.GetTokenByDigest(ctx, tg.digest)
	if errors.Is(err, store.ErrNotFound) {
		return tg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up leaked token: %w", err)
	}
	if token.Equal(t.Digest, tg.digest) || token.Equal(t.PrevDigest, tg.digest) {
		tg.tok = t
	}
	return tg, nil
}

// endLeaked ends the credential tg names, in the transaction of ctx, and
// appends to after the invalidations and notices due once it commits.
func (s *Tokens) endLeaked(ctx context.Context, tg *leakTarget, after *[]func(context.Context)) (leakEffect, error) {
	r, digest := tg.report, tg.digest
	summary := map[string]any{"url": r.URL, "source": r.Source, "hint": token.Hint(r.Token)}
	if tg.sess != nil {
		return s.leakSession(ctx, tg.sess, summary, r, after)
	}
	t := tg.tok
	summary["type"], summary["id"], summary["name"], summary["owner_id"] = "token", t.ID, t.Name, t.UserID
	if token.Equal(t.PrevDigest, digest) {
		// The previous secret of a regenerated token leaked: end its grace now.
		now := s.now().UTC().Truncate(time.Microsecond)
		ended := false
		var before store.Token
		t, err := s.store.UpdateToken(ctx, t.ID, func(x *store.Token) error {
			before = *x
			if token.Equal(x.PrevDigest, digest) {
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

// leakSession ends the leaked session sess (and the sessions refreshed
// from it), in the transaction of ctx.
func (s *Tokens) leakSession(ctx context.Context, sess *store.Session, summary map[string]any, r LeakReport, after *[]func(context.Context)) (leakEffect, error) {
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
