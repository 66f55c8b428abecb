package service

import (
	"net/mail"
	"strings"
	"unicode"

	"github.com/latchkey/latchkey/internal/store"
)

// maxEmailLen is the longest address SMTP can carry (RFC 5321 path limit).
const maxEmailLen = 254

// cleanEmail checks an email address: empty (none), or one bare address
// such as alice@example.com, without a display name.
func cleanEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > maxEmailLen {
		return "", invalid("email", "email is too long: at most %d characters", maxEmailLen)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", invalid("email", "email must not contain control characters")
	}
	if strings.IndexFunc(s, invisible) >= 0 {
		// Notices go to this address and admins read it: a right-to-left
		// override would make it read as another one.
		return "", invalid("email", "email must not contain invisible or direction-changing characters (such as U+200B or U+202E)")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "", invalid("email", "%q is not an email address; give one like alice@example.com (no name or angle brackets), or an empty string for none", s)
	}
	return s, nil
}

// checkEmailChange decides whether a may set target's email, and cleans the
// new address. Notices about leaked and expiring tokens go there, so it is
// guarded like a password: yourself with a session (or a super-admin
// token), admins for others, owners for owners.
func checkEmailChange(a Actor, target *store.User, email *string) (string, error) {
	if email == nil {
		return "", nil
	}
	self := target.ID == a.User.ID
	switch {
	case !self && !a.IsAdmin():
		return "", forbidden("only admins may set another user's email")
	case self && !a.Session && !a.Scopes.IsSuperAdmin() && !a.IsAdmin():
		return "", forbidden("changing your email needs a login session (or a super-admin token), not an access token with limited scopes: notices about your tokens go there")
	case !self && target.Role == store.RoleOwner && a.User.Role != store.RoleOwner:
		return "", forbidden("only owners may set an owner's email")
	}
	return cleanEmail(*email)
}
