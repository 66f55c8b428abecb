package service

import (
	"context"
	"errors"
	"time"

	"github.com/latchkey/latchkey/internal/notify"
	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// Notifier delivers notices about tokens to their owners; internal/notify
// implements it. Send delivers at once and says what failed; Post queues
// for delivery in the background.
type Notifier interface {
	Send(ctx context.Context, n notify.Notice) error
	Post(n notify.Notice)
}

// SetNotifier connects the channels (email, webhook) that expiry reminders
// and leak notices go out on; nil, the default, sends none. Call it before
// serving.
func (s *Services) SetNotifier(n Notifier) {
	s.Tokens.notifier = n
}

// noticeToken describes t for a notice, with the expiry that applies.
func noticeToken(t *store.Token, exp *time.Time) notify.Token {
	return notify.Token{ID: t.ID, Name: t.Name, Kind: string(t.Kind), Hint: t.Hint, ExpiresAt: exp}
}

func noticeOwner(u *store.User) notify.Owner {
	return notify.Owner{ID: u.ID, Username: u.Username, Email: u.Email}
}

// postLeakNotice tells the owner of a leaked secret what happened, in the
// background so the scanner's request does not wait on a mail server.
// previous is true when only a regenerated token's previous secret leaked.
func (s *Tokens) postLeakNotice(ctx context.Context, t *store.Token, r LeakReport, previous bool) {
	if s.notifier == nil {
		return
	}
	owner, ok := s.noticeRecipient(ctx, t.UserID)
	if !ok {
		return
	}
	tk := noticeToken(t, EffectiveExpiry(t, s.policies.Current(ctx)))
	tk.Hint, tk.Previous = token.Hint(r.Token), previous
	s.notifier.Post(notify.Notice{
		Kind: notify.TokenLeaked, At: s.now().UTC(), Token: tk, Owner: noticeOwner(owner),
		Leak: &notify.Leak{URL: r.URL, Source: r.Source},
	})
}

// postSessionLeakNotice tells a user that one of their sessions leaked and
// was ended.
func (s *Tokens) postSessionLeakNotice(ctx context.Context, sess *store.Session, r LeakReport) {
	if s.notifier == nil {
		return
	}
	owner, ok := s.noticeRecipient(ctx, sess.UserID)
	if !ok {
		return
	}
	exp := sess.ExpiresAt
	s.notifier.Post(notify.Notice{
		Kind: notify.SessionLeaked, At: s.now().UTC(), Owner: noticeOwner(owner),
		Token: notify.Token{ID: sess.ID, Kind: "ses", Hint: token.Hint(r.Token), ExpiresAt: &exp},
		Leak:  &notify.Leak{URL: r.URL, Source: r.Source},
	})
}

// noticeRecipient loads a notice's owner; a deleted owner gets none.
func (s *Tokens) noticeRecipient(ctx context.Context, userID string) (*store.User, bool) {
	u, err := s.store.GetUser(ctx, userID)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.audit.logger.Error("load the owner of a notice", "user_id", userID, "err", err)
		}
		return nil, false
	}
	return u, true
}
