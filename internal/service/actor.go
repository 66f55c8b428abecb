package service

import (
	"fmt"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/store"
)

// Actor is who makes a call: the authenticated user, what the credential in
// use may do (token scopes ∩ role, or the full role for a session), and
// where the request came from, for the audit log.
type Actor struct {
	User         *store.User
	Scopes       scope.Set
	CredentialID string // the token or session used
	Session      bool   // the credential is a login session, not an access token
	Federated    bool   // the credential is a fed token (workload identity federation)
	IP           string
	Agent        string
}

// IsAdmin reports whether the actor may administer the organisation: an
// owner or admin whose credential holds admin:org (sessions and super-admin
// tokens do).
func (a Actor) IsAdmin() bool {
	if a.User == nil || !isAdminRole(a.User.Role) {
		return false
	}
	return a.Scopes.Has(scopeAdminOrg)
}

// IsOwner reports whether the actor is an owner acting with admin rights.
func (a Actor) IsOwner() bool { return a.IsAdmin() && a.User.Role == store.RoleOwner }

func (a Actor) userID() string {
	if a.User == nil {
		return ""
	}
	return a.User.ID
}

func (a Actor) userName() string {
	if a.User == nil {
		return ""
	}
	return a.User.Username
}

func isAdminRole(r store.Role) bool { return r == store.RoleOwner || r == store.RoleAdmin }

// Scope names the service checks itself.
const (
	scopeTokens   = "tokens"
	scopeAdminOrg = "admin:org"
)

// requireTokens refuses actors whose credential may not manage tokens.
func (a Actor) requireTokens() error {
	if a.User == nil {
		return &Error{Kind: ErrUnauthenticated, Msg: "authentication required"}
	}
	if !a.Scopes.Has(scopeTokens) {
		return forbidden("this credential lacks the %q scope needed to manage tokens; create a token with scope %q or use a session", scopeTokens, scopeTokens)
	}
	return nil
}

// refuseFederated refuses what a fed token must not do: mint or renew a
// lasting secret (a token, or a password to log in with). A fed token
// lives one CI run, at most its policy's max_lifetime, and dies with its
// policy; a secret it created would outlive both, and the short-lived
// OIDC token would have become a stored secret after all.
func (a Actor) refuseFederated(what string) error {
	if a.Federated {
		return forbidden("a token issued by workload identity federation cannot %s: a new secret would outlive the CI run and its trust policy; use a session or a personal access token instead", what)
	}
	return nil
}

// needsLoginSession is the refusal of what only a login session may do:
// give an account a password. what says the action, command the CLI
// command to run after `latchkey login`, and more (if any) another way.
func needsLoginSession(what, command, more string) error {
	msg := fmt.Sprintf("to %s you need a login session, not an access token: a password set with a token is a console sign-in that outlives the token. Sign in to the console, or run `latchkey login` and then %s", what, command)
	if more != "" {
		msg += "; " + more
	}
	return &Error{Kind: ErrForbidden, Msg: msg}
}

// requireAdmin refuses actors that may not administer the organisation.
func (a Actor) requireAdmin() error {
	if a.User == nil {
		return &Error{Kind: ErrUnauthenticated, Msg: "authentication required"}
	}
	if !isAdminRole(a.User.Role) {
		return forbidden("this action needs the owner or admin role; you are %s", a.User.Role)
	}
	if !a.Scopes.Has(scopeAdminOrg) {
		return forbidden("this credential lacks the %q scope needed for administration", scopeAdminOrg)
	}
	return nil
}

// notAdmin explains why an actor that is not IsAdmin may not do what: the
// role, or, for an owner or admin, the credential that lacks admin:org.
func (a Actor) notAdmin(what string) error {
	if a.User != nil && isAdminRole(a.User.Role) {
		return forbidden("this credential lacks the %q scope needed to %s; use a session or a token that holds %q", scopeAdminOrg, what, scopeAdminOrg)
	}
	return forbidden("only owners and admins may %s", what)
}
