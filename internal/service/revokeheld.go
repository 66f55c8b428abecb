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

// Held is what RevokeHeld found for a secret.
type Held int

// What RevokeHeld found.
const (
	// HeldMalformed: the string is no token of this server (wrong
	// prefix, kind, length, alphabet or checksum); nothing was looked up.
	HeldMalformed Held = iota
	// HeldUnknown: a well-formed token that matches no token or session:
	// never issued here, or a session or fed token deleted long after it
	// ended.
	HeldUnknown
	// HeldFound: a token, a previous secret or a session with this
	// secret exists; it is ended now (if it was not already).
	HeldFound
)

// RevokeHeld ends the credential whose secret raw is, on the word of
// whoever holds it (RFC 7009 token revocation): possession is the proof,
// as with a leak report, but the holder chose it, so no leak notice goes
// to the owner. A PAT, admin access or fed token is revoked as DELETE
// /api/v1/tokens/{id} revokes it, whatever its state (an expired one too,
// so a later policy change cannot bring it back); a session ends as at
// logout, with the sessions minted from it; the previous secret of a
// regenerated token ends its grace period only, as its new secret is
// another credential. The audit event (token.revoke, or auth.logout for a
// session, with details.via = via) names the credential's owner as the
// actor, from origin's address and agent; nothing already ended is
// audited again. Every node's and replica's cache drops the credential
// before RevokeHeld returns.
func (s *Tokens) RevokeHeld(ctx context.Context, origin Actor, raw, via string) (Held, error) {
	raw = strings.Trim(raw, " \t\r\n") // as copied from a file or a terminal
	parsed, err := token.Parse(raw, s.prefix)
	if err != nil {
		return HeldMalformed, nil
	}
	digest := token.Hash(raw)
	if parsed.Kind == token.Session {
		return s.endHeldSession(ctx, origin, digest[:], via)
	}
	t, err := s.store.GetTokenByDigest(ctx, digest[:])
	if errors.Is(err, store.ErrNotFound) {
		return HeldUnknown, nil
	}
	if err != nil {
		return HeldUnknown, fmt.Errorf("look up held token: %w", err)
	}
	a := s.heldActor(ctx, origin, t.UserID, t.ID)
	switch {
	case token.Equal(t.Digest, digest[:]):
		return HeldFound, s.revoke(ctx, a, t.ID, "token.revoke", map[string]any{"via": via})
	case token.Equal(t.PrevDigest, digest[:]):
		return HeldFound, s.endHeldGrace(ctx, a, t.ID, digest[:], via)
	}
	return HeldUnknown, nil
}

// heldActor is the owner of a held credential, acting through it.
func (s *Tokens) heldActor(ctx context.Context, origin Actor, userID, credentialID string) Actor {
	owner, err := s.store.GetUser(ctx, userID)
	if err != nil {
		owner = &store.User{ID: userID} // deleted, or unreadable: the id still says who
	}
	return Actor{User: owner, CredentialID: credentialID, IP: origin.IP, Agent: origin.Agent}
}

// endHeldGrace ends the grace period of a regenerated token's previous
// secret, digest.
func (s *Tokens) endHeldGrace(ctx context.Context, a Actor, id string, digest []byte, via string) error {
	now := s.now().UTC().Truncate(time.Microsecond)
	var before store.Token
	var t *store.Token
	err := s.audit.inTx(ctx, func(ctx context.Context) error {
		ended := false
		var err error
		t, err = s.store.UpdateToken(ctx, id, func(x *store.Token) error {
			before = *x
			if token.Equal(x.PrevDigest, digest) {
				ended = x.PrevExpiresAt == nil || now.Before(*x.PrevExpiresAt)
				x.PrevDigest, x.PrevExpiresAt, x.UpdatedAt = nil, nil, now
			}
			return nil
		})
		if err != nil || !ended {
			return err
		}
		if err := announceTokens(ctx, s.inval, &before, t); err != nil {
			return err
		}
		return s.audit.add(ctx, a, "token.revoke", "token", t.ID, map[string]any{"name": t.Name, "via": via, "previous_secret": true})
	})
	if err != nil {
		return wrapStore("end grace period", err)
	}
	s.inval.TokenChanged(&before)
	s.inval.TokenChanged(t)
	return nil
}

// endHeldSession ends the session whose secret has digest, as logout does.
func (s *Tokens) endHeldSession(ctx context.Context, origin Actor, digest []byte, via string) (Held, error) {
	sess, err := s.store.GetSessionByDigest(ctx, digest)
	if errors.Is(err, store.ErrNotFound) {
		return HeldUnknown, nil
	}
	if err != nil {
		return HeldUnknown, fmt.Errorf("look up held session: %w", err)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	live := sess.RevokedAt == nil && now.Before(sess.ExpiresAt)
	a := s.heldActor(ctx, origin, sess.UserID, sess.ID)
	a.Session = true
	var ended []*store.Session
	err = s.audit.inTx(ctx, func(ctx context.Context) error {
		var err error
		if ended, err = s.store.RevokeSession(ctx, sess.ID, now); err != nil {
			return err
		}
		if err := announceSessions(ctx, s.inval, ended...); err != nil || !live || len(ended) == 0 {
			return err
		}
		return s.audit.add(ctx, a, "auth.logout", "session", sess.ID, map[string]any{"via": via, "ended": len(ended)})
	})
	if err != nil {
		return HeldFound, wrapStore("end session", err)
	}
	s.inval.SessionRevoked(sess.Digest)
	for _, x := range ended {
		s.inval.SessionRevoked(x.Digest)
	}
	return HeldFound, nil
}
