package service

import (
	"context"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// ResetPassword sets a new password for a person, on the operator's
// authority: `latchkey admin reset-password` runs it with direct access to
// the database, for the owner who lost the password printed on first start.
// An empty password generates one; the password used is returned. Every
// session of the user ends, as with an admin's reset.
func (s *Users) ResetPassword(ctx context.Context, username, password string) (string, error) {
	u, err := lookupUser(ctx, s.store, username)
	if err != nil {
		return "", err
	}
	if u.Kind != store.KindPerson {
		return "", invalid("username", "%q is a service account: it has no password to reset", u.Username)
	}
	if password == "" {
		if password, err = RandomPassword(); err != nil {
			return "", err
		}
	}
	hash, err := s.hashNewPassword(ctx, password)
	if err != nil {
		return "", err
	}
	// The new password, the sessions it ends, their announcement to the
	// other replicas and the audit event are stored together or not at all.
	now := s.now().UTC().Truncate(time.Microsecond)
	var ended []*store.Session
	err = s.audit.inTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.UpdateUser(ctx, u.ID, func(x *store.User) error {
			x.PasswordHash, x.UpdatedAt = hash, now
			return nil
		}); err != nil {
			return err
		}
		var err error
		if ended, err = s.store.RevokeUserSessions(ctx, u.ID, "", now); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		if err := announceUser(ctx, s.inval, u.ID); err != nil {
			return err
		}
		if err := announceSessions(ctx, s.inval, ended...); err != nil {
			return err
		}
		return s.audit.add(ctx, Actor{}, "user.password_reset", "user", u.ID, map[string]any{"username": u.Username, "by": "operator", "sessions_ended": len(ended)})
	})
	if err != nil {
		return "", wrapStore("reset password", err)
	}
	s.inval.UserChanged(u.ID)
	forgetSessions(s.inval, ended)
	return password, nil
}
