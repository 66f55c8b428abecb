package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/notify"
	"github.com/latchkey/latchkey/internal/store"
)

// Reminder windows.
const (
	// ReminderLead is how long before its expiry a token's owner is reminded.
	ReminderLead = store.ExpiringWindow
	// expiredLookback is how long after an expiry the "expired" notice may
	// still go out: a little more than a day, so an hourly job that missed
	// runs (a restart, a deployment) still catches up.
	expiredLookback = 25 * time.Hour
	// shortLived tokens (a lifetime of a day or less, such as one CI run's)
	// get no reminders: expiring is what they are for.
	shortLived = 24 * time.Hour
	// claimsKept is how long claims outlive the expiry they are about; after
	// that no run asks about them any more.
	claimsKept = expiredLookback + 24*time.Hour
)

// ReminderResult counts what one SendReminders run did.
type ReminderResult struct {
	Sent   int // notices delivered (or with nobody to deliver to)
	Failed int // notices no channel delivered; tried again next run
}

// SendReminders sends, once per token and expiry, a token.expiring notice
// for every live token whose effective expiry (policy cap included) is
// within ReminderLead of now, and a token.expired notice for every token
// that expired within the last 25 hours. Each notice is claimed in the
// store before it is sent, so restarts and replicas never send it twice; a
// notice that no channel delivered is released and tried on the next run.
// Owners that are suspended or deleted get none. Without a notifier it does
// nothing.
func (s *Tokens) SendReminders(ctx context.Context, now time.Time) (ReminderResult, error) {
	var res ReminderResult
	if s.notifier == nil {
		return res, nil
	}
	now = now.UTC()
	p := s.policies.Current(ctx)
	owners := map[string]*store.User{}
	var errs []error
	visit := func(t *store.Token) error {
		sent, err := s.remind(ctx, t, now, p, owners)
		switch {
		case errors.Is(err, ctx.Err()) && ctx.Err() != nil:
			return err
		case err != nil:
			res.Failed++
			if len(errs) < 5 {
				errs = append(errs, err)
			}
		case sent:
			res.Sent++
		}
		return nil
	}
	// Stored expiry in (now, now+lead]: expiring; in (now-lookback, now]:
	// expired, listed as "expiring" as seen lookback ago. The policy's cap
	// only shortens lifetimes, so with a cap, tokens active by their stored
	// expiry are candidates too. The three sets are disjoint.
	scans := []reminderScan{
		{store.StateExpiring, now, nil},
		{store.StateExpiring, now.Add(-expiredLookback), func(t *store.Token) bool { return !t.ExpiresAt.After(now) }},
	}
	if p.MaxLifetime > 0 {
		scans = append(scans, reminderScan{store.StateActive, now, nil})
	}
	for _, sc := range scans {
		if err := s.eachToken(ctx, sc.state, sc.at, sc.keep, visit); err != nil {
			return res, err
		}
	}
	if _, err := s.store.DeleteNotificationsBefore(ctx, now.Add(-claimsKept)); err != nil {
		errs = append(errs, fmt.Errorf("forget old notification claims: %w", err))
	}
	if res.Failed > 0 {
		errs = append([]error{fmt.Errorf("%d reminders not sent", res.Failed)}, errs...)
	}
	return res, errors.Join(errs...)
}

// reminderScan selects candidate tokens: those in state as of at that keep
// accepts (nil keeps all).
type reminderScan struct {
	state store.TokenState
	at    time.Time
	keep  func(*store.Token) bool
}

// eachToken calls fn on every token in the state as of at that keep
// accepts (nil keeps all), page after page.
func (s *Tokens) eachToken(ctx context.Context, state store.TokenState, at time.Time, keep func(*store.Token) bool, fn func(*store.Token) error) error {
	cursor := ""
	for {
		page, err := s.store.ListTokens(ctx, store.TokenFilter{State: state, Now: at, Cursor: cursor, Limit: store.MaxPageLimit})
		if err != nil {
			return fmt.Errorf("list tokens for reminders: %w", err)
		}
		for _, t := range page {
			if keep != nil && !keep(t) {
				continue
			}
			if err := fn(t); err != nil {
				return err
			}
		}
		if len(page) < store.MaxPageLimit {
			return nil
		}
		cursor = page[len(page)-1].ID
	}
}

// reminderKind is the notice due for a token with effective expiry exp at
// now, or "" when none is.
func reminderKind(t *store.Token, exp *time.Time, now time.Time) notify.Kind {
	if exp == nil || t.RevokedAt != nil {
		return ""
	}
	issued := t.CreatedAt
	if t.RegeneratedAt != nil {
		issued = *t.RegeneratedAt
	}
	if exp.Sub(issued) <= shortLived {
		return ""
	}
	switch {
	case exp.After(now) && !exp.After(now.Add(ReminderLead)):
		return notify.TokenExpiring
	case !exp.After(now) && exp.After(now.Add(-expiredLookback)):
		return notify.TokenExpired
	}
	return ""
}

// remind sends the notice due for t, if any and not sent before, and says
// whether it sent one.
func (s *Tokens) remind(ctx context.Context, t *store.Token, now time.Time, p store.Policy, owners map[string]*store.User) (bool, error) {
	if t.Kind == store.TokenFederated {
		return false, nil // minutes-long by design: a reminder would be noise
	}
	exp := EffectiveExpiry(t, p)
	kind := reminderKind(t, exp, now)
	if kind == "" {
		return false, nil
	}
	owner, ok := owners[t.UserID]
	if !ok {
		u, err := s.store.GetUser(ctx, t.UserID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return false, fmt.Errorf("load owner of token %s: %w", t.ID, err)
		}
		owner, owners[t.UserID] = u, u // nil for a deleted owner
	}
	if owner == nil || owner.Suspended {
		return false, nil
	}
	claimed, err := s.store.ClaimNotification(ctx, t.ID, string(kind), *exp)
	if err != nil || !claimed {
		return false, err
	}
	at := now
	if kind == notify.TokenExpired {
		at = *exp
	}
	err = s.notifier.Send(ctx, notify.Notice{Kind: kind, At: at, Token: noticeToken(t, exp), Owner: noticeOwner(owner)})
	if err == nil {
		return true, nil
	}
	var de *notify.DeliveryError
	if errors.As(err, &de) && len(de.Delivered) > 0 {
		// Some channel delivered it: sending again would repeat it there.
		return true, err
	}
	if rerr := s.store.ReleaseNotification(context.WithoutCancel(ctx), t.ID, string(kind), *exp); rerr != nil {
		err = errors.Join(err, fmt.Errorf("release the claim: %w", rerr))
	}
	return false, err
}
