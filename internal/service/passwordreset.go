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
	_, err = s.store.UpdateUser(ctx, u.ID, func(x *store.User) error {
		x.PasswordHash = hash
		x.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("reset password: %w", err)
	}
	s.inval.UserChanged(u.ID)
	ended, err := endSessions(ctx, s.store, s.inval, u.ID, "", s.now())
	if err != nil {
		return "", fmt.Errorf("reset password: %w", err)
	}
	s.audit.record(ctx, Actor{}, "user.password_reset", "user", u.ID, map[string]any{"username": u.Username, "by": "operator", "sessions_ended": ended})
	return password, nil
}
