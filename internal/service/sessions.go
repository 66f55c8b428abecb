package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/internal/store"
	"github.com/latchkey/latchkey/internal/token"
)

// Sessions logs people in and out. Verifying a presented session token and
// its sliding refresh happen in internal/auth, on the hot path.
type Sessions struct {
	store    store.Store
	audit    *Audit
	inval    Invalidator
	prefix   string
	duration time.Duration
	cfg      Config
	hashes   *hashGate
	now      func() time.Time
}

// Opened is a new session with its secret, which is shown once.
type Opened struct {
	Secret  string
	Session *store.Session
	User    *store.User
}

// Login checks a user name and password and opens a session.
func (s *Sessions) Login(ctx context.Context, username, password, ip, agent string) (*Opened, error) {
	fail := &Error{Kind: ErrUnauthenticated, Msg: "wrong user name or password"}
	if s.cfg.SSOOnly {
		// One answer for every failure, a break-glass owner's wrong
		// password included: no name, password or break-glass account can
		// be told from another by the answer, and every failure counts
		// against the caller's address like a wrong password.
		fail = &Error{Kind: ErrUnauthenticated, Msg: "password login is turned off: sign in through your identity provider (in the console with its Sign in button; in the CLI with latchkey login --web); only the break-glass owners named in the configuration keep a password, and for them the user name or password was wrong"}
	}
	if username == "" || password == "" {
		return nil, invalid("username", "username and password are both required")
	}
	if len(password) > maxPasswordLen {
		if _, err := s.hashes.check(ctx, dummyHash, ""); err != nil {
			return nil, err
		}
		return nil, fail
	}
	var u *store.User
	err := store.ErrNotFound // a name no user can have is not looked up
	if usernameRE.MatchString(username) {
		u, err = s.store.GetUserByUsername(ctx, username)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("get user: %w", err)
	}
	if s.cfg.SSOOnly && (u == nil || !s.cfg.passwordAllowed(u)) {
		// The same answer whatever the name and password (fail, above):
		// saying "turned off" only once the password was found right would
		// confirm it to a guesser. No password is checked (one dummy check
		// keeps the time the same).
		if _, err := s.hashes.check(ctx, dummyHash, password); err != nil {
			return nil, err
		}
		var actor Actor
		id := ""
		if u != nil {
			actor, id = Actor{User: u, IP: ip, Agent: agent}, u.ID
		} else {
			actor = Actor{IP: ip, Agent: agent}
		}
		s.audit.record(ctx, actor, "auth.login_failed", "user", id, map[string]any{"reason": "sso_only"})
		return nil, fail
	}
	if errors.Is(err, store.ErrNotFound) {
		if _, err := s.hashes.check(ctx, dummyHash, password); err != nil {
			return nil, err
		}
		// What was typed is not a user name, and may well be a password
		// typed into the wrong field: it is never stored.
		s.audit.record(ctx, Actor{IP: ip, Agent: agent}, "auth.login_failed", "user", "", map[string]any{"reason": "unknown user name"})
		return nil, fail
	}
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	actor := Actor{User: u, IP: ip, Agent: agent}
	hash := u.PasswordHash
	if hash == "" {
		hash = dummyHash // the same time as a wrong password
	}
	right, err := s.hashes.check(ctx, hash, password)
	if err != nil {
		return nil, err
	}
	if u.Kind != store.KindPerson || u.PasswordHash == "" || !right {
		s.audit.record(ctx, actor, "auth.login_failed", "user", u.ID, nil)
		return nil, fail
	}
	if u.Suspended {
		// The same answer as a wrong password: a guesser must not learn
		// that the password was right.
		s.audit.record(ctx, actor, "auth.login_failed", "user", u.ID, map[string]any{"reason": "suspended"})
		return nil, fail
	}
	secret, sess, err := s.openAudited(ctx, u, ip, agent, "", actor, "auth.login", nil)
	if err != nil {
		return nil, err
	}
	return &Opened{Secret: secret, Session: sess, User: u}, nil
}

// Issue opens a fresh session for an already signed-in user (the console's
// /cli-auth page).
func (s *Sessions) Issue(ctx context.Context, a Actor) (string, *store.Session, error) {
	if a.User == nil {
		return "", nil, &Error{Kind: ErrUnauthenticated, Msg: "authentication required"}
	}
	parent := ""
	if a.Session {
		// The new session ends with the one that minted it.
		parent = a.CredentialID
	}
	return s.openAudited(ctx, a.User, a.IP, a.Agent, parent, a, "auth.session_issue", nil)
}

// openAudited is open with the session's audit event (a's action) stored
// in the same transaction: a session handed out is always on record.
func (s *Sessions) openAudited(ctx context.Context, u *store.User, ip, agent, parent string, a Actor, action string, details map[string]any) (string, *store.Session, error) {
	var secret string
	var sess *store.Session
	err := s.audit.inTx(ctx, func(ctx context.Context) error {
		var err error
		if secret, sess, err = s.open(ctx, u, ip, agent, parent); err != nil {
			return err
		}
		return s.audit.add(ctx, a, action, "session", sess.ID, details)
	})
	if err != nil {
		return "", nil, err
	}
	return secret, sess, nil
}

func (s *Sessions) open(ctx context.Context, u *store.User, ip, agent, parent string) (string, *store.Session, error) {
	secret, err := token.Generate(s.prefix, token.Session)
	if err != nil {
		return "", nil, fmt.Errorf("generate session token: %w", err)
	}
	digest := token.Hash(secret)
	now := s.now().UTC().Truncate(time.Microsecond)
	sess := &store.Session{ID: newID(), UserID: u.ID, Digest: digest[:], CreatedAt: now, ExpiresAt: now.Add(s.duration), LastSeenAt: now, IP: ip, Agent: agent, ParentID: parent}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return "", nil, fmt.Errorf("create session: %w", err)
	}
	return secret, sess, nil
}

// Logout revokes the session the actor is using.
func (s *Sessions) Logout(ctx context.Context, a Actor, sessionID string) error {
	if a.User == nil {
		return &Error{Kind: ErrUnauthenticated, Msg: "authentication required"}
	}
	if sessionID == "" {
		return invalid("token", "logout ends a session; this request was made with an access token, which you revoke with DELETE /api/v1/tokens/{id}")
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	// Ends the sessions minted from this one at /cli-auth too.
	var ended []*store.Session
	err := s.audit.inTx(ctx, func(ctx context.Context) error {
		var err error
		if ended, err = s.store.RevokeSession(ctx, sessionID, now); err != nil {
			return err
		}
		if err := announceSessions(ctx, s.inval, ended...); err != nil {
			return err
		}
		return s.audit.add(ctx, a, "auth.logout", "session", sessionID, nil)
	})
	if err != nil {
		return wrapStore("logout", err)
	}
	s.forget(ended)
	return nil
}
