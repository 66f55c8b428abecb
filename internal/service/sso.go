package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/store"
)

// ExternalLogin is what an identity provider asserted about a person at
// sign-in, after the ID token was verified and the role mapping applied.
type ExternalLogin struct {
	Provider string // the configured provider id
	Subject  string // the ID token's sub
	Username string // from the username claim, not yet normalised
	Email    string // "" when the provider sent none; used only when EmailVerified
	// EmailVerified is true only when the provider said so (email_verified),
	// or said nothing and is configured trust_email.
	EmailVerified bool
	// Claims are the values of the provider's role claim (e.g. groups).
	Claims []string
	IP     string
	Agent  string
}

// NormalizeUsername turns a name from an identity provider (often an email
// address) into a valid Latchkey user name: characters a user name may not
// hold become '-', and it is cut to 64 characters. SCIM and OIDC use the
// same rule, so a provisioned user is found again at sign-in.
func NormalizeUsername(s string) string {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case (r == '.' || r == '_' || r == '-') && i > 0:
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
		if b.Len() >= 64 {
			break
		}
	}
	out := b.String()
	if len(out) > 64 {
		out = out[:64]
	}
	return strings.TrimLeft(out, "-")
}

// SignInExternal finds or creates the user an identity provider vouched
// for, applies the role the mapping gave (at every sign-in), keeps the email
// address in sync and records the sign-in. A person whom the mapping no
// longer gives any role is suspended, which stops their tokens and sessions
// at once, and refused.
func (s *Users) SignInExternal(ctx context.Context, in ExternalLogin) (*store.User, error) {
	actor := Actor{IP: in.IP, Agent: in.Agent}
	rules, known := s.cfg.RoleRules[in.Provider]
	if !known {
		return nil, notFound("no identity provider %q is configured", in.Provider)
	}
	// Only a verified address becomes the user's (where token expiry
	// reminders and leak notices go) or claims a provisioned account: an
	// unverified one may have been typed by anyone.
	email := ""
	if in.EmailVerified {
		if e, err := cleanEmail(in.Email); err == nil {
			email = e // a provider's odd address is not worth refusing a sign-in for
		}
	}
	ident, err := s.store.GetIdentity(ctx, in.Provider, in.Subject)
	var u *store.User
	var role store.Role
	switch {
	case errors.Is(err, store.ErrNotFound):
		if role = rules.Role(in.Claims); role == "" {
			s.audit.record(ctx, actor, "auth.login_failed", "user", "", map[string]any{
				"provider": in.Provider, "subject": printable(in.Subject, 128), "reason": "no role mapping matched"})
			return nil, forbidden("your account at the identity provider is not in any group that may use Latchkey; ask an admin to add you")
		}
		if u, err = s.firstSignIn(ctx, in, role, email); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("get identity: %w", err)
	default:
		if u, err = s.store.GetUser(ctx, ident.UserID); err != nil {
			return nil, wrapStore("get user", err)
		}
	}
	actor.User = u
	groups, err := s.groupNames(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if role = rules.Role(append(slices.Clone(in.Claims), groups...)); role == "" {
		suspended, err := s.suspendByIdP(ctx, actor, u, in.Provider)
		if err != nil {
			return nil, err
		}
		if !suspended {
			return nil, forbidden("your account at the identity provider is in no group that may use Latchkey; your Latchkey account is the last active owner, so it was not suspended: ask the provider's admin to put you back in a group mapped to a Latchkey role")
		}
		return nil, forbidden("your account at the identity provider is no longer in any group that may use Latchkey, so your Latchkey account was suspended; ask an admin")
	}
	if u.Suspended {
		s.audit.record(ctx, actor, "auth.login_failed", "user", u.ID, map[string]any{"provider": in.Provider, "reason": "suspended"})
		return nil, forbidden("account %s is suspended; ask an admin to restore it", u.Username)
	}
	if u, err = s.syncFromClaims(ctx, actor, u, in.Provider, role, email); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if _, err := s.store.UpdateIdentity(ctx, in.Provider, in.Subject, func(i *store.Identity) error {
		i.LastLoginAt, i.Claims = &now, slices.Clone(in.Claims)
		if email != "" {
			i.Email = email
		}
		return nil
	}); err != nil {
		return nil, wrapStore("record sign-in", err)
	}
	return u, nil
}

// firstSignIn links the identity to a user: a user provisioned by SCIM
// (login type oidc) with the same name and no identity at this provider
// yet, or a new user created just in time. A local account with the same
// name is never taken over: an admin links it explicitly.
//
// "The same name" is the provider's user name, compared ignoring case, for
// an account that has one: a SCIM-provisioned josè@corp.com is never
// claimed by josé@corp.com, though both become the user name
// jos--corp.com. Only an account whose provider user name is not known
// (provisioned before Latchkey kept it) is matched by user name alone.
func (s *Users) firstSignIn(ctx context.Context, in ExternalLogin, role store.Role, email string) (*store.User, error) {
	name := NormalizeUsername(in.Username)
	if !usernameRE.MatchString(name) {
		return nil, invalid("username", "the identity provider sent no usable user name (claim value %q); configure username_claim for this provider", printable(in.Username, 64))
	}
	idpName := in.Username
	if checkIdPUserName("username", idpName) != nil {
		idpName = "" // not kept; the account is then matched by user name only
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	u, err := s.userByIdPUserName(ctx, idpName)
	if errors.Is(err, store.ErrNotFound) {
		u, err = s.store.GetUserByUsername(ctx, name)
		if err == nil && u.IdPUserName != "" {
			// The provider calls whoever holds the name by another name:
			// another person, never this one's to claim.
			if idpName == "" {
				return nil, conflict("username", "the user name %q belongs to another person at the identity provider; ask an admin to link your account", name)
			}
			u, err = nil, fmt.Errorf("get user: %w", store.ErrNotFound) // a distinct account of their own, below
		}
	}
	switch {
	case err == nil:
		if u.LoginType != store.LoginTypeOIDC || u.Kind != store.KindPerson {
			return nil, conflict("username", "a local account named %q already exists; an admin can link it to your identity on the Single sign-on page", name)
		}
		// Only an account nobody signs in to yet (provisioned by SCIM) is
		// claimed by name. One that signs in through a provider, this one
		// or another, belongs to that identity: a second provider's user of
		// the same name (or of a name that normalises to it) must not take
		// it over. An admin links a second identity explicitly.
		if ids, err := s.store.ListIdentities(ctx, u.ID); err != nil {
			return nil, fmt.Errorf("list identities: %w", err)
		} else if slices.ContainsFunc(ids, func(i *store.Identity) bool { return i.Provider != store.ProviderSCIM }) {
			return nil, conflict("username", "the user name %q belongs to an account that signs in through another identity; ask an admin to link yours", name)
		}
		// A user name alone may be chosen by the person at some providers:
		// a provisioned account with an email address is only claimed by
		// an identity with that (verified) address.
		// With several providers, a name is no proof of who the account
		// was provisioned for (another provider's user may choose it): only
		// the provisioned address, verified by the provider, claims it.
		if len(s.cfg.RoleRules) > 1 && (u.Email == "" || !in.EmailVerified || !asciiEqualFold(u.Email, email)) {
			return nil, conflict("username", "the account %q was provisioned for someone at one of several identity providers; ask an admin to link it to your identity on the Single sign-on page", name)
		}
		if u.Email != "" && email == "" {
			return nil, conflict("username", "the account %q was provisioned for an email address, and the identity provider did not say yours is verified; verify your address at the provider and sign in again, or ask an admin to link the account", name)
		}
		if u.Email != "" && !asciiEqualFold(u.Email, email) {
			return nil, conflict("username", "the account %q was provisioned for another email address; ask an admin to link it", name)
		}
	case errors.Is(err, store.ErrNotFound):
		// The provider's user name is kept, so that SCIM finds this
		// account by it later, and so that a person whose name normalises
		// the same gets an account of their own (createNamed).
		// The account, its link to the identity and the audit event are
		// stored together or not at all.
		u = &store.User{ID: newID(), Username: name, IdPUserName: idpName, Email: email, Role: role, Kind: store.KindPerson,
			LoginType: store.LoginTypeOIDC, CreatedAt: now, UpdatedAt: now}
		err := s.createNamedWith(ctx, u, func(ctx context.Context) error {
			if err := s.linkIdentity(ctx, in, u.ID, email, now); err != nil {
				return err
			}
			return s.audit.add(ctx, Actor{User: u, IP: in.IP, Agent: in.Agent}, "user.jit_created", "user", u.ID, map[string]any{
				"username": u.Username, "role": string(u.Role), "provider": in.Provider})
		})
		var (
			se   *Error
			held *lookAlikeHeld
		)
		switch {
		case errors.As(err, &se):
			return nil, err
		case errors.As(err, &held):
			// Another try meets the same account: say who can act.
			return nil, conflict("username", "your user name at the identity provider differs from another account's only by a character that looks like an ASCII letter (such as the long s \u017F or the Kelvin sign \u212A), and Latchkey keeps one account of the two; ask a Latchkey admin to resolve it")
		case errors.Is(err, store.ErrConflict) || errors.Is(err, errNameHeld):
			return nil, conflict("username", "the user name %q was just taken; sign in again", name)
		case err != nil:
			return nil, fmt.Errorf("create user: %w", err)
		}
		return u, nil
	default:
		return nil, fmt.Errorf("get user: %w", err)
	}
	// Claiming a provisioned account links the identity to it: the link
	// and its audit event are stored together or not at all.
	err = s.audit.inTx(ctx, func(ctx context.Context) error {
		if err := s.linkIdentity(ctx, in, u.ID, email, now); err != nil {
			return err
		}
		return s.audit.add(ctx, Actor{User: u, IP: in.IP, Agent: in.Agent}, "user.link_identity", "user", u.ID, map[string]any{
			"provider": in.Provider, "subject": in.Subject, "by": "first sign-in to a provisioned account"})
	})
	if err != nil {
		return nil, wrapStore("link identity", err)
	}
	return u, nil
}

// linkIdentity links the identity that signed in to the user.
func (s *Users) linkIdentity(ctx context.Context, in ExternalLogin, userID, email string, now time.Time) error {
	// A row left by a deleted user (GetIdentity skips those) must not block
	// the identity's new account.
	if err := s.store.DeleteIdentity(ctx, in.Provider, in.Subject); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("forget stale identity: %w", err)
	}
	if err := s.store.CreateIdentity(ctx, &store.Identity{Provider: in.Provider, Subject: in.Subject, UserID: userID, Email: email, CreatedAt: now}); err != nil {
		return wrapStore("link identity", err)
	}
	return nil
}

// syncFromClaims applies the mapped role and the email address.
func (s *Users) syncFromClaims(ctx context.Context, a Actor, u *store.User, provider string, role store.Role, email string) (*store.User, error) {
	before := u.Role
	if before == role && (email == "" || email == u.Email) {
		return u, nil
	}
	// A role change, its announcement to the other replicas and its audit
	// event are stored together or not at all.
	var out *store.User
	mapped := role
	err := s.audit.inTx(ctx, func(ctx context.Context) error {
		role = mapped
		apply := func(x *store.User) error {
			x.Role = role
			if email != "" {
				x.Email = email
			}
			x.UpdatedAt = s.now().UTC()
			return nil
		}
		// The provider's groups never take the owner role from the last
		// active owner (as the API refuses it): the role stays, the
		// refusal is on record, and the address is still kept current.
		var err error
		out, err = s.store.UpdateUserKeepingAnOwner(ctx, u.ID, apply)
		if errors.Is(err, store.ErrLastOwner) {
			role = before
			if err := s.audit.add(ctx, a, "user.role_from_claims_refused", "user", u.ID, map[string]any{
				"provider": provider, "role": string(before), "mapped_role": string(mapped), "reason": "the last active owner keeps the owner role"}); err != nil {
				return err
			}
			out, err = s.store.UpdateUser(ctx, u.ID, apply)
		}
		if err != nil {
			return err
		}
		if before == role {
			return nil
		}
		if err := announceUser(ctx, s.inval, u.ID); err != nil {
			return err
		}
		return s.audit.add(ctx, a, "user.role_from_claims", "user", u.ID, map[string]any{
			"provider": provider, "before": string(before), "after": string(role)})
	})
	if err != nil {
		return nil, wrapStore("update user from claims", err)
	}
	if before != role {
		s.inval.UserChanged(u.ID)
	}
	return out, nil
}

// suspendByIdP suspends a user the identity provider no longer vouches
// for. The suspension, its announcement to the other replicas and its
// audit event are stored together or not at all; its error means the
// user was not suspended, and so does suspended false: the last active
// owner is never suspended by a provider.
func (s *Users) suspendByIdP(ctx context.Context, a Actor, u *store.User, provider string) (suspended bool, err error) {
	if u.Suspended {
		s.audit.record(ctx, a, "auth.login_failed", "user", u.ID, map[string]any{"provider": provider, "reason": "no role mapping matched"})
		return true, nil
	}
	err = s.audit.inTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.UpdateUserKeepingAnOwner(ctx, u.ID, func(x *store.User) error {
			x.Suspended, x.UpdatedAt = true, s.now().UTC()
			return nil
		}); err != nil {
			return err
		}
		if err := announceUser(ctx, s.inval, u.ID); err != nil {
			return err
		}
		return s.audit.add(ctx, a, "user.suspend", "user", u.ID, map[string]any{"provider": provider, "reason": "no role mapping matched"})
	})
	if errors.Is(err, store.ErrLastOwner) {
		// The last active owner is not suspended by a provider: the
		// sign-in is refused and the account stays as it is.
		s.audit.record(ctx, a, "auth.login_failed", "user", u.ID, map[string]any{"provider": provider, "reason": "no role mapping matched; the last active owner is not suspended"})
		return false, nil
	}
	if err != nil {
		return false, wrapStore("suspend user whose role mapping no longer matches", err)
	}
	s.inval.UserChanged(u.ID)
	return true, nil
}

// OpenSSO opens a session for a user who signed in through a provider.
func (s *Sessions) OpenSSO(ctx context.Context, u *store.User, provider, ip, agent string) (*Opened, error) {
	// The session is handed out only once it is on record.
	secret, sess, err := s.openAudited(ctx, u, ip, agent, "", Actor{User: u, IP: ip, Agent: agent}, "sso.login", map[string]any{"provider": provider})
	if err != nil {
		return nil, err
	}
	return &Opened{Secret: secret, Session: sess, User: u}, nil
}

// LinkIdentity links an existing user to an identity at a provider (admins),
// so the person can move to single sign-on and keep their tokens. The user
// then signs in through the provider only: the password is removed.
func (s *Users) LinkIdentity(ctx context.Context, a Actor, idOrName, provider, subject string) (*store.User, error) {
	if err := a.requireAdmin(); err != nil {
		return nil, err
	}
	if err := a.refuseFederated("link a sign-in identity"); err != nil {
		return nil, err // a linked identity is a lasting way to log in
	}
	if provider == "" || provider == store.ProviderSCIM || subject == "" || len(subject) > 255 {
		return nil, invalid("subject", "give the provider id and the subject (the sub claim the provider puts in ID tokens, at most 255 characters)")
	}
	target, err := lookupUser(ctx, s.store, idOrName)
	if err != nil {
		return nil, err
	}
	if target.Kind != store.KindPerson {
		return nil, invalid("user", "service accounts cannot sign in; only people can be linked to an identity")
	}
	if target.Role == store.RoleOwner && a.User.Role != store.RoleOwner {
		return nil, forbidden("only owners may link an owner's account")
	}
	if _, known := s.cfg.RoleRules[provider]; !known {
		// Linking takes the password away: to a provider that is not
		// configured, the person could sign in neither way.
		return nil, invalid("provider", "no identity provider %q is configured; link to one of the providers on the Single sign-on page", provider)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	// The link, the password it removes, the announcement to the other
	// replicas and the audit event are stored together or not at all.
	var u *store.User
	err = s.audit.inTx(ctx, func(ctx context.Context) error {
		if err := s.store.CreateIdentity(ctx, &store.Identity{Provider: provider, Subject: subject, UserID: target.ID, Email: target.Email, CreatedAt: now}); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return conflict("subject", "this identity is already linked, or %s already has an identity at %s; unlink it first", target.Username, provider)
			}
			return err
		}
		var err error
		if u, err = s.store.UpdateUser(ctx, target.ID, func(x *store.User) error {
			x.LoginType, x.PasswordHash, x.UpdatedAt = store.LoginTypeOIDC, "", now
			return nil
		}); err != nil {
			return err
		}
		if err := announceUser(ctx, s.inval, u.ID); err != nil {
			return err
		}
		return s.audit.add(ctx, a, "user.link_identity", "user", u.ID, map[string]any{"provider": provider, "subject": subject})
	})
	if err != nil {
		return nil, wrapStore("link identity", err)
	}
	s.inval.UserChanged(u.ID)
	return u, nil
}

// Identities lists every link between users and identity providers, for
// the admins' Single sign-on page.
func (s *Users) Identities(ctx context.Context, a Actor) ([]*store.Identity, error) {
	if err := a.requireAdmin(); err != nil {
		return nil, err
	}
	ids, err := s.store.ListIdentities(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("list identities: %w", err)
	}
	return ids, nil
}

// passwordAllowed enforces SSO-only mode: only break-glass owners keep
// password login.
func (c Config) passwordAllowed(u *store.User) bool {
	if !c.SSOOnly {
		return true
	}
	return u.Role == store.RoleOwner && slices.ContainsFunc(c.BreakGlass, func(n string) bool { return strings.EqualFold(n, u.Username) })
}

// RoleRules maps values of a provider's role claim, and the names of the
// SCIM groups a user is in, to a role. With no Claim everyone is a member.
type RoleRules struct {
	Claim                string
	Owner, Admin, Member []string
}

// Role returns the most powerful role any value earns, or "" when none
// matches. Values compare ignoring ASCII case only: Unicode folding would
// let a name a person can choose at the provider ("\u212Aeyholders" with
// the Kelvin sign, "adminſ" with the long s) stand for a configured one.
func (r RoleRules) Role(values []string) store.Role {
	if r.Claim == "" {
		return store.RoleMember
	}
	has := func(list []string) bool {
		return slices.ContainsFunc(values, func(v string) bool {
			return slices.ContainsFunc(list, func(w string) bool { return asciiEqualFold(v, w) })
		})
	}
	switch {
	case has(r.Owner):
		return store.RoleOwner
	case has(r.Admin):
		return store.RoleAdmin
	case has(r.Member):
		return store.RoleMember
	}
	return ""
}

// asciiEqualFold reports whether a and b are equal ignoring the case of
// ASCII letters only. strings.EqualFold applies Unicode simple folding, in
// which the Kelvin sign U+212A equals "k" and the long s U+017F equals "s":
// never right for comparing a name someone else chose to a configured one.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// groupNames returns the display names of the SCIM groups a user is in.
func (s *Users) groupNames(ctx context.Context, userID string) ([]string, error) {
	gs, err := s.store.ListUserGroups(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list user groups: %w", err)
	}
	out := make([]string, 0, len(gs))
	for _, g := range gs {
		out = append(out, g.DisplayName)
	}
	return out, nil
}
