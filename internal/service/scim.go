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

// scopeSCIM is the scope a SCIM client's admin access token must hold.
const scopeSCIM = "scim"

// requireSCIM refuses callers that are not an owner or admin acting with a
// credential that holds the scim scope.
func (a Actor) requireSCIM() error {
	if a.User == nil {
		return &Error{Kind: ErrUnauthenticated, Msg: "authentication required: send an admin access token holding the scim scope as a Bearer token"}
	}
	if !isAdminRole(a.User.Role) || !a.Scopes.Has(scopeSCIM) {
		return forbidden("SCIM needs an admin access token of an owner or admin that holds the %q scope", scopeSCIM)
	}
	return nil
}

// SCIMUser is what a SCIM client sends about a user.
type SCIMUser struct {
	UserName   string
	ExternalID string
	Email      string
	Active     bool
}

// SCIMUserView is a provisioned user with its externalId and groups.
type SCIMUserView struct {
	User *store.User
	// UserName is the SCIM userName: the one the identity provider sent,
	// exactly; for an account from before Latchkey kept it, the user name.
	UserName   string
	ExternalID string
	Groups     []*store.Group
}

// scimEvent appends the event of a SCIM client's change in the
// transaction of ctx (Audit.inTx), naming the token that made it.
func (s *Users) scimEvent(ctx context.Context, a Actor, action, targetType, id string, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	details["token_id"] = a.CredentialID
	return s.audit.add(ctx, a, action, targetType, id, details)
}

// SCIMUser returns one user SCIM may manage: a person who signs in through
// the identity provider. Local accounts (break-glass owners, service
// accounts) are invisible to SCIM, so a provisioning client can never lock
// them out.
func (s *Users) SCIMUser(ctx context.Context, a Actor, id string) (*SCIMUserView, error) {
	if err := a.requireSCIM(); err != nil {
		return nil, err
	}
	return s.scimView(ctx, id)
}

// scimChangeable is SCIMUser for a change: an owner may be changed only
// through an owner's SCIM credential, as the API lets only owners change
// an owner's role, suspension, email or existence.
func (s *Users) scimChangeable(ctx context.Context, a Actor, id string) (*SCIMUserView, error) {
	v, err := s.SCIMUser(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if v.User.Role == store.RoleOwner && !ownerSCIM(a) {
		return nil, forbidden("%s is an owner: only a SCIM token of an owner may change or remove an owner", v.User.Username)
	}
	return v, nil
}

func (s *Users) scimView(ctx context.Context, id string) (*SCIMUserView, error) {
	u, err := s.store.GetUser(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (u.LoginType != store.LoginTypeOIDC || u.Kind != store.KindPerson)) {
		return nil, notFound("no SCIM-managed user %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	return s.scimViewOf(ctx, u)
}

// scimViewOf is the SCIM view of u, a user SCIM manages.
func (s *Users) scimViewOf(ctx context.Context, u *store.User) (*SCIMUserView, error) {
	v := &SCIMUserView{User: u, UserName: u.IdPUserName}
	if v.UserName == "" {
		v.UserName = u.Username
	}
	ids, err := s.store.ListIdentities(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("list identities: %w", err)
	}
	for _, i := range ids {
		if i.Provider == store.ProviderSCIM {
			v.ExternalID = i.Subject
		}
	}
	if v.Groups, err = s.store.ListUserGroups(ctx, u.ID); err != nil {
		return nil, fmt.Errorf("list user groups: %w", err)
	}
	return v, nil
}

// SCIMUserFilter is the filter of a SCIM user list: nil fields are not
// filtered on; a field set to "" matches nobody.
type SCIMUserFilter struct {
	UserName   *string
	ExternalID *string
}

// MaxSCIMResults is the most users or groups one SCIM list answer holds
// (the ServiceProviderConfig's filter.maxResults); clients page with
// startIndex.
const MaxSCIMResults = 1000

// SCIMUserPage is one page of a SCIM user list.
type SCIMUserPage struct {
	Users []*SCIMUserView
	Total int // how many users the list holds in all pages
}

// scimPage turns RFC 7644 §3.4.2.4 paging into an offset and a limit:
// startIndex is 1-based (less than 1 means 1), a negative count means 0,
// and no page holds more than MaxSCIMResults.
func scimPage(startIndex, count int) (offset, limit int) {
	return max(startIndex, 1) - 1, min(max(count, 0), MaxSCIMResults)
}

// SCIMUsers lists a page of SCIM-managed users (startIndex 1-based, at
// most count of them), optionally only the one with a user name or
// externalId (the filters identity providers send). A userName is the one
// the identity provider sent, compared ignoring case (RFC 7643 §4.1.1),
// never the lossy user name derived from it: a filter that matches nobody
// answers nobody, not another person whose name normalises the same,
// which the provider would then update or deactivate. Without a filter
// only the page's users are read, so a page costs O(count), not O(users).
func (s *Users) SCIMUsers(ctx context.Context, a Actor, f SCIMUserFilter, startIndex, count int) (*SCIMUserPage, error) {
	if err := a.requireSCIM(); err != nil {
		return nil, err
	}
	offset, limit := scimPage(startIndex, count)
	var ids []string
	externalID := ""
	switch {
	case f.UserName != nil:
		if *f.UserName == "" {
			break
		}
		u, err := s.scimUserByName(ctx, *f.UserName)
		if err == nil {
			ids = append(ids, u.ID)
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("get user: %w", err)
		}
	case f.ExternalID != nil:
		if externalID = *f.ExternalID; externalID == "" {
			break
		}
		i, err := s.store.GetIdentity(ctx, store.ProviderSCIM, externalID)
		if err == nil {
			ids = append(ids, i.UserID)
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("get identity: %w", err)
		}
	default:
		// Only the page's users are read and viewed: a page costs
		// O(count) reads, however many people are provisioned.
		us, total, err := s.store.ListSCIMUsers(ctx, offset, limit)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out := make([]*SCIMUserView, 0, len(us))
		for _, u := range us {
			v, err := s.scimViewOf(ctx, u)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return &SCIMUserPage{Users: out, Total: total}, nil
	}
	out := []*SCIMUserView{}
	for _, id := range ids {
		v, err := s.scimView(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if externalID != "" && v.ExternalID != externalID {
			continue
		}
		out = append(out, v)
	}
	lo := min(offset, len(out))
	return &SCIMUserPage{Users: out[lo : lo+min(limit, len(out)-lo)], Total: len(out)}, nil
}

// ProvisionUser creates a person who will sign in through the identity
// provider (login type oidc, no password, role member until a group or
// claim says otherwise), keeping the userName exactly as sent.
//
// A userName the list filter would find is taken (409 uniqueness). One
// that only normalises to a user name another person's userName gave
// (josé@ and josè@ both give jos--corp.com) gets that name with a suffix:
// answering 409 there would leave Entra ID and Okta retrying a conflict
// their admins cannot resolve, and the provider sees only its own userName
// anyway. A user name held by an account that cannot be told apart from
// this person (a local account, or one from before userNames were kept)
// stays 409: neither a takeover nor a silent duplicate is safe there.
func (s *Users) ProvisionUser(ctx context.Context, a Actor, in SCIMUser) (*SCIMUserView, error) {
	if err := a.requireSCIM(); err != nil {
		return nil, err
	}
	in.UserName = NFC(in.UserName)
	name := NormalizeUsername(in.UserName)
	if !usernameRE.MatchString(name) {
		return nil, invalid("userName", "userName is required: 1-64 letters, digits, '.', '_' or '-' (other characters become '-'); got %q", printable(in.UserName, 64))
	}
	if err := checkIdPUserName("userName", in.UserName); err != nil {
		return nil, err
	}
	email, err := cleanEmail(in.Email)
	if err != nil {
		return nil, err
	}
	if _, err := s.scimUserByName(ctx, in.UserName); err == nil {
		return nil, conflict("userName", "a user with userName %q already exists; find it with filter=userName eq and update it by id", printable(in.UserName, 64))
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("find user: %w", err)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	u := &store.User{ID: newID(), Username: name, IdPUserName: in.UserName, Email: email, Role: store.RoleMember, Kind: store.KindPerson,
		LoginType: store.LoginTypeOIDC, Suspended: !in.Active, CreatedAt: now, UpdatedAt: now}
	// The user, its externalId and the audit event are stored together or
	// not at all.
	err = s.createNamedWith(ctx, u, func(ctx context.Context) error {
		if in.ExternalID != "" {
			s.forgetStaleExternalID(ctx, in.ExternalID)
			if err := s.store.CreateIdentity(ctx, &store.Identity{Provider: store.ProviderSCIM, Subject: in.ExternalID, UserID: u.ID, CreatedAt: now}); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return conflict("externalId", "another user has externalId %q", in.ExternalID)
				}
				return fmt.Errorf("store externalId: %w", err)
			}
		}
		return s.scimEvent(ctx, a, "scim.user_created", "user", u.ID, map[string]any{"username": u.Username, "user_name": printable(in.UserName, 64), "active": in.Active})
	})
	if err != nil {
		var (
			se   *Error
			held *lookAlikeHeld
		)
		switch {
		case errors.As(err, &se):
			return nil, err
		case errors.As(err, &held):
			return nil, conflict("userName", "userName %q and the userName %q of another user differ only by a character that case folding equates with an ASCII letter (the long s \u017F, the Kelvin sign \u212A); Latchkey keeps one live user of the two: remove or rename that user first if this is another person", printable(in.UserName, 64), printable(held.holder, 64))
		case errors.Is(err, errNameHeld):
			return nil, conflict("userName", "userName %q becomes the user name %q, which belongs to a local account or to one provisioned before Latchkey kept userNames; rename that account, or send its userName to it by id (PUT or PATCH)", printable(in.UserName, 64), name)
		case errors.Is(err, store.ErrConflict):
			return nil, conflict("userName", "a user with userName %q already exists", printable(in.UserName, 64))
		}
		return nil, fmt.Errorf("create user: %w", err)
	}
	return s.scimView(ctx, u.ID)
}

// ReplaceUser applies a SCIM PUT: user name, email, externalId, active.
// A userName other than the one the user has is kept exactly as sent (for
// an account from before userNames were kept, it is recorded); the user
// name derived from it changes only when it is not the same name in other
// case, and takes a suffix when another person holds it. The user is found
// by id: the userName never moves the change to another account.
func (s *Users) ReplaceUser(ctx context.Context, a Actor, id string, in SCIMUser) (*SCIMUserView, error) {
	v, err := s.scimChangeable(ctx, a, id)
	if err != nil {
		return nil, err
	}
	in.UserName = NFC(in.UserName)
	name := NormalizeUsername(in.UserName)
	if !usernameRE.MatchString(name) {
		return nil, invalid("userName", "userName is required; got %q", printable(in.UserName, 64))
	}
	if err := checkIdPUserName("userName", in.UserName); err != nil {
		return nil, err
	}
	email, err := cleanEmail(in.Email)
	if err != nil {
		return nil, err
	}
	idpName, rename := v.User.IdPUserName, ""
	if in.UserName != v.UserName {
		if other, err := s.userByIdPUserName(ctx, in.UserName); err == nil && other.ID != id {
			return nil, conflict("userName", "another user has userName %q", printable(in.UserName, 64))
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("find user: %w", err)
		}
		idpName = in.UserName
		// The same name in NFC (an account stored before Latchkey
		// normalised) keeps its user name.
		if !strings.EqualFold(in.UserName, NFC(v.UserName)) && !strings.EqualFold(name, v.User.Username) {
			rename = name
		}
	}
	wasActive := !v.User.Suspended
	username := v.User.Username
	if rename != "" {
		username = rename
	}
	// One try stores the externalId, the user and the audit events
	// together or not at all; a user name held by another person fails
	// it with errNameTaken, and the next try takes a suffixed name.
	try := func(username string) error {
		return s.audit.inTx(ctx, func(ctx context.Context) error {
			if err := s.replaceExternalID(ctx, id, v.ExternalID, in.ExternalID); err != nil {
				return err
			}
			_, err := s.store.UpdateUserKeepingAnOwner(ctx, id, func(u *store.User) error {
				u.Username, u.IdPUserName, u.Email, u.Suspended, u.UpdatedAt = username, idpName, email, !in.Active, s.now().UTC()
				return nil
			})
			if errors.Is(err, store.ErrConflict) {
				return &nameTaken{err}
			}
			if err != nil {
				return err
			}
			if err := announceUser(ctx, s.inval, id); err != nil {
				return err
			}
			if err := s.scimEvent(ctx, a, "scim.user_replaced", "user", id, map[string]any{"username": username, "user_name": printable(in.UserName, 64), "active": in.Active}); err != nil {
				return err
			}
			if wasActive != in.Active {
				return s.scimEvent(ctx, a, scimActiveAction(in.Active), "user", id, nil)
			}
			return nil
		})
	}
	err = try(username)
	// The new user name is held: by another person (josé@ renamed to what
	// normalises like josè@), so this user takes it with a suffix, unless
	// the conflict is the userName itself, taken meanwhile.
	var taken *nameTaken
	for i := 1; errors.As(err, &taken) && rename != "" && i <= maxNameTries; i++ {
		if _, ferr := s.store.GetUserByIdPUserName(ctx, idpName); ferr == nil {
			break
		}
		username = suffixedName(rename, idpName, i)
		err = try(username)
	}
	if errors.As(err, &taken) {
		return nil, conflict("userName", "another user has userName %q", printable(in.UserName, 64))
	}
	if errors.Is(err, store.ErrLastOwner) {
		return nil, lastOwner()
	}
	if err != nil {
		return nil, wrapStore("replace user", err)
	}
	s.inval.UserChanged(id)
	return s.scimView(ctx, id)
}

// replaceExternalID moves the user's SCIM externalId from old to ext, in
// the transaction of ctx.
func (s *Users) replaceExternalID(ctx context.Context, userID, old, ext string) error {
	if ext == old {
		return nil
	}
	if old != "" {
		if err := s.store.DeleteIdentity(ctx, store.ProviderSCIM, old); err != nil {
			return wrapStore("replace externalId", err)
		}
	}
	if ext == "" {
		return nil
	}
	s.forgetStaleExternalID(ctx, ext)
	if err := s.store.CreateIdentity(ctx, &store.Identity{Provider: store.ProviderSCIM, Subject: ext, UserID: userID, CreatedAt: s.now().UTC()}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return conflict("externalId", "another user has externalId %q", ext)
		}
		return wrapStore("replace externalId", err)
	}
	return nil
}

// scimActiveAction is the event of a SCIM (de)activation.
func scimActiveAction(active bool) string {
	if active {
		return "scim.user_activated"
	}
	return "scim.user_deactivated"
}

// SetActive activates or deactivates a user (SCIM PATCH active). A
// deactivated user's tokens and sessions stop at the next request, on every
// replica.
func (s *Users) SetActive(ctx context.Context, a Actor, id string, active bool) (*SCIMUserView, error) {
	v, err := s.scimChangeable(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if v.User.Suspended == !active {
		return v, nil
	}
	// The change, its announcement to the other replicas and its audit
	// event are stored together or not at all.
	err = s.audit.inTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.UpdateUserKeepingAnOwner(ctx, id, func(u *store.User) error {
			u.Suspended, u.UpdatedAt = !active, s.now().UTC()
			return nil
		}); err != nil {
			return err
		}
		if err := announceUser(ctx, s.inval, id); err != nil {
			return err
		}
		return s.scimEvent(ctx, a, scimActiveAction(active), "user", id, nil)
	})
	if errors.Is(err, store.ErrLastOwner) {
		return nil, lastOwner()
	}
	if err != nil {
		return nil, wrapStore("set active", err)
	}
	s.inval.UserChanged(id)
	return s.scimView(ctx, id)
}

// Deprovision deletes a user (SCIM DELETE): every token and session stops.
func (s *Users) Deprovision(ctx context.Context, a Actor, id string) error {
	if _, err := s.scimChangeable(ctx, a, id); err != nil {
		return err
	}
	err := s.audit.inTx(ctx, func(ctx context.Context) error {
		if err := s.store.DeleteUserKeepingAnOwner(ctx, id, s.now().UTC(), nil); err != nil {
			return err
		}
		if err := announceUser(ctx, s.inval, id); err != nil {
			return err
		}
		return s.scimEvent(ctx, a, "scim.user_deleted", "user", id, nil)
	})
	if errors.Is(err, store.ErrLastOwner) {
		return lastOwner()
	}
	if err != nil {
		return wrapStore("delete user", err)
	}
	s.inval.UserChanged(id)
	return nil
}

// nameTaken is the user name conflict of one try of createNamedWith or
// ReplaceUser: the try's transaction is rolled back, and the next try
// takes another name.
type nameTaken struct{ err error }

func (e *nameTaken) Error() string { return e.err.Error() }
func (e *nameTaken) Unwrap() error { return e.err }

// createNamedWith creates u, a person the identity provider calls
// u.IdPUserName, under u.Username; when a person the provider calls by
// another name holds that user name (josé@ and josè@ both normalise to
// jos--corp.com), under it with a suffix instead, so that neither account
// is merged into the other and provisioning still succeeds. It answers
// store.ErrConflict when another live user has the same IdP user name, and
// errNameHeld when the user name belongs to an account it cannot tell
// apart from this person: a local or service account, or one whose IdP
// user name is not known.
//
// The writes and audit events with makes are stored in the same
// transaction as the user: one transaction per try, since a refused insert
// ends a PostgreSQL transaction; with's errors are answered as they are.
func (s *Users) createNamedWith(ctx context.Context, u *store.User, with func(ctx context.Context) error) error {
	base := u.Username
	for i := 1; ; i++ {
		err := s.audit.inTx(ctx, func(ctx context.Context) error {
			if err := s.store.CreateUser(ctx, u); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return &nameTaken{err}
				}
				return err
			}
			return with(ctx)
		})
		var taken *nameTaken
		if !errors.As(err, &taken) {
			return err
		}
		if holder, err := s.store.GetUserByIdPUserName(ctx, u.IdPUserName); err == nil {
			if !sameIdPUserName(holder.IdPUserName, u.IdPUserName) {
				return &lookAlikeHeld{holder: holder.IdPUserName}
			}
			return fmt.Errorf("create user: idp user name taken: %w", store.ErrConflict)
		} else if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("get user by idp user name: %w", err)
		}
		if i == 1 {
			holder, err := s.store.GetUserByUsername(ctx, base)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("get user: %w", err)
			}
			if err == nil && (holder.IdPUserName == "" || u.IdPUserName == "") {
				return errNameHeld
			}
		}
		if i > maxNameTries {
			return errNameHeld
		}
		u.Username = suffixedName(base, u.IdPUserName, i)
	}
}

// SCIMGroupFilter selects groups in a SCIM group list; nil is no filter.
type SCIMGroupFilter struct {
	DisplayName *string
}

// SCIMGroupPage is one page of a SCIM group list.
type SCIMGroupPage struct {
	Groups []*store.Group
	Total  int // how many groups the list holds in all pages
}

// SCIMGroups lists a page of groups (startIndex 1-based, at most count of
// them), optionally only the one with a display name (compared ignoring
// case; an empty name matches none). Only the page's groups are read, so
// a page costs O(count), not O(groups x members).
// With members false (excludedAttributes=members, as Entra ID and Okta
// send it) no member is read and the groups' Members are nil.
func (s *Users) SCIMGroups(ctx context.Context, a Actor, f SCIMGroupFilter, startIndex, count int, members bool) (*SCIMGroupPage, error) {
	if err := a.requireSCIM(); err != nil {
		return nil, err
	}
	offset, limit := scimPage(startIndex, count)
	name := ""
	if f.DisplayName != nil {
		if name = *f.DisplayName; name == "" {
			return &SCIMGroupPage{Groups: []*store.Group{}}, nil // a filter on an empty name matches no group
		}
	}
	gs, total, err := s.store.ListSCIMGroups(ctx, name, offset, limit, members)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return &SCIMGroupPage{Groups: gs, Total: total}, nil
}

// SCIMGroup returns one group.
func (s *Users) SCIMGroup(ctx context.Context, a Actor, id string) (*store.Group, error) {
	if err := a.requireSCIM(); err != nil {
		return nil, err
	}
	g, err := s.store.GetGroup(ctx, id)
	if err != nil {
		return nil, wrapStore("get group", err)
	}
	return g, nil
}

// SCIMGroupAnswered returns one group as GET /scim/v2/Groups/{id} answers
// it: with members false, none is read from the store (Members nil), for
// identity providers that look a group up without its members.
func (s *Users) SCIMGroupAnswered(ctx context.Context, a Actor, id string, members bool) (*store.Group, error) {
	if err := a.requireSCIM(); err != nil {
		return nil, err
	}
	g, err := s.store.GetSCIMGroup(ctx, id, members)
	if err != nil {
		return nil, wrapStore("get group", err)
	}
	return g, nil
}

// SaveGroup creates a group (id "") or replaces one, then re-applies the
// role mapping to every user who joined or left it.
func (s *Users) SaveGroup(ctx context.Context, a Actor, id string, g store.Group) (*store.Group, error) {
	if err := a.requireSCIM(); err != nil {
		return nil, err
	}
	if g.DisplayName == "" || len(g.DisplayName) > 256 {
		return nil, invalid("displayName", "displayName is required (at most 256 characters)")
	}
	for _, m := range g.Members {
		if _, err := s.scimView(ctx, m); err != nil {
			return nil, invalid("members", "member %q is not a SCIM-managed user; create it under /Users first", m)
		}
	}
	now := s.now().UTC()
	if id == "" && !ownerSCIM(a) && s.grantsOwner(g.DisplayName) && len(g.Members) > 0 {
		return nil, ownerGroupRefusal(g.DisplayName)
	}
	// The group, the roles it changes and every audit event are stored
	// together or not at all.
	var out *store.Group
	var changed []string
	err := s.audit.inTx(ctx, func(ctx context.Context) error {
		var before []string
		if id == "" {
			x := g
			x.ID, x.CreatedAt, x.UpdatedAt = newID(), now, now
			if err := s.store.CreateGroup(ctx, &x); err != nil {
				return err
			}
			out = &x
		} else {
			var err error
			out, err = s.store.UpdateGroup(ctx, id, func(x *store.Group) error {
				// A group that grants the owner role (before or after) changes
				// whom it grants it to only through an owner's SCIM token:
				// sign-in reads these memberships too.
				if !ownerSCIM(a) && (s.grantsOwner(x.DisplayName) || s.grantsOwner(g.DisplayName)) &&
					(len(x.Members) > 0 || len(g.Members) > 0) &&
					(!asciiEqualFold(x.DisplayName, g.DisplayName) || len(symmetricDiff(x.Members, g.Members)) > 0) {
					return ownerGroupRefusal(x.DisplayName)
				}
				before = slices.Clone(x.Members)
				x.DisplayName, x.ExternalID, x.Members, x.UpdatedAt = g.DisplayName, g.ExternalID, g.Members, now
				return nil
			})
			if err != nil {
				return err
			}
		}
		action := "scim.group_updated"
		if id == "" {
			action = "scim.group_created"
		}
		if err := s.scimEvent(ctx, a, action, "group", out.ID, map[string]any{"display_name": out.DisplayName, "members": len(out.Members)}); err != nil {
			return err
		}
		var err error
		changed, err = s.reapplyRoles(ctx, a, symmetricDiff(before, out.Members), groupChange{id: out.ID, name: out.DisplayName, members: out.Members})
		return err
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, conflict("displayName", "a group named %q already exists", g.DisplayName)
	}
	var refused *Error
	if errors.As(err, &refused) && refused.Kind == ErrForbidden {
		return nil, err
	}
	if err != nil {
		return nil, wrapStore("save group", err)
	}
	s.usersChanged(changed)
	return out, nil
}

// DeleteGroup deletes a group and re-applies the role mapping to its
// former members.
func (s *Users) DeleteGroup(ctx context.Context, a Actor, id string) error {
	g, err := s.SCIMGroup(ctx, a, id)
	if err != nil {
		return err
	}
	if !ownerSCIM(a) && s.grantsOwner(g.DisplayName) && len(g.Members) > 0 {
		return ownerGroupRefusal(g.DisplayName)
	}
	var changed []string
	err = s.audit.inTx(ctx, func(ctx context.Context) error {
		if err := s.store.DeleteGroup(ctx, id); err != nil {
			return err
		}
		if err := s.scimEvent(ctx, a, "scim.group_deleted", "group", id, map[string]any{"display_name": g.DisplayName}); err != nil {
			return err
		}
		var err error
		changed, err = s.reapplyRoles(ctx, a, g.Members, groupChange{id: id})
		return err
	})
	if err != nil {
		return wrapStore("delete group", err)
	}
	s.usersChanged(changed)
	return nil
}

// usersChanged drops the users from this node's caches, after the commit.
func (s *Users) usersChanged(ids []string) {
	for _, id := range ids {
		s.inval.UserChanged(id)
	}
}

func symmetricDiff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			out = append(out, x)
		}
	}
	return out
}

// grantsOwner reports whether members of a SCIM group named name are
// owners under some provider's role mapping.
func (s *Users) grantsOwner(name string) bool {
	for _, r := range s.cfg.RoleRules {
		if r.Claim != "" && r.Role([]string{name}) == store.RoleOwner {
			return true
		}
	}
	return false
}

func ownerGroupRefusal(name string) error {
	return forbidden("the group %q grants the owner role: only a SCIM token of an owner may change its members, rename it or delete it", name)
}

// ownerSCIM reports whether a SCIM caller (requireSCIM passed) acts for
// an owner.
func ownerSCIM(a Actor) bool { return a.User != nil && a.User.Role == store.RoleOwner }

// errOwnerRoleBySCIM aborts a role change to or from owner by a SCIM
// credential that is not an owner's.
var errOwnerRoleBySCIM = errors.New("only an owner's SCIM token may make or unmake an owner")

// groupChange is the SCIM group a transaction just saved (members) or
// deleted (members nil): reapplyRoles reads each user's groups as they
// are after it, whether or not the store's reads in that transaction see
// its writes (SQLite's do not).
type groupChange struct {
	id, name string
	members  []string
}

// reapplyRoles gives each user the role their SCIM groups map to under the
// rules of the provider they sign in with (or the first provider with a
// role claim). A user no group maps to any more is suspended, which stops
// their tokens at once: the provider took their access away. It runs in
// the transaction of ctx (Audit.inTx) with the group change g, each change
// with its audit event and its announcement to the other replicas, and
// returns the users it changed, for the caches after the commit.
func (s *Users) reapplyRoles(ctx context.Context, a Actor, userIDs []string, g groupChange) ([]string, error) {
	var changed []string
	for _, id := range userIDs {
		rules, ok := s.rulesFor(ctx, id)
		if !ok {
			continue
		}
		names, err := s.groupNamesAfter(ctx, id, g)
		if err != nil {
			return nil, err
		}
		role := rules.Role(names)
		var before store.Role
		u, err := s.store.UpdateUserKeepingAnOwner(ctx, id, func(u *store.User) error {
			before = u.Role
			if (u.Role == store.RoleOwner || role == store.RoleOwner) && role != u.Role && !ownerSCIM(a) {
				// Group membership pushed by a SCIM token that is not an
				// owner's neither makes nor unmakes an owner.
				return errOwnerRoleBySCIM
			}
			if role == "" {
				u.Suspended = true
			} else {
				u.Role = role
			}
			u.UpdatedAt = s.now().UTC()
			return nil
		})
		if errors.Is(err, errOwnerRoleBySCIM) {
			s.audit.logger.WarnContext(ctx, "SCIM group change left an owner role unchanged: the SCIM token is not an owner's", "user", id, "mapped_role", string(role))
			if err := s.scimEvent(ctx, a, "scim.role_refused", "user", id, map[string]any{"role": string(before), "mapped_role": string(role),
				"reason": "only a SCIM token of an owner may make or unmake an owner"}); err != nil {
				return nil, err
			}
			continue
		}
		if errors.Is(err, store.ErrLastOwner) {
			// Groups never take the owner role from the last active owner.
			if err := s.scimEvent(ctx, a, "scim.role_refused", "user", id, map[string]any{"role": string(before), "mapped_role": string(role),
				"reason": "the last active owner keeps the owner role"}); err != nil {
				return nil, err
			}
			continue
		}
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("re-apply role mapping: %w", err)
		}
		if err := announceUser(ctx, s.inval, id); err != nil {
			return nil, err
		}
		changed = append(changed, id)
		switch {
		case role == "":
			err = s.scimEvent(ctx, a, "user.suspend", "user", id, map[string]any{"reason": "no role mapping matched", "source": "scim"})
		case before != u.Role:
			err = s.scimEvent(ctx, a, "user.role_from_claims", "user", id, map[string]any{"before": string(before), "after": string(role), "source": "scim"})
		}
		if err != nil {
			return nil, err
		}
	}
	return changed, nil
}

// groupNamesAfter is groupNames as of the group change g.
func (s *Users) groupNamesAfter(ctx context.Context, userID string, g groupChange) ([]string, error) {
	gs, err := s.store.ListUserGroups(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list user groups: %w", err)
	}
	out := make([]string, 0, len(gs)+1)
	for _, x := range gs {
		if x.ID != g.id {
			out = append(out, x.DisplayName)
		}
	}
	if slices.Contains(g.members, userID) {
		out = append(out, g.name)
	}
	return out, nil
}

// rulesFor picks the role rules for a user: their provider's, else the
// first configured provider that maps a claim.
func (s *Users) rulesFor(ctx context.Context, userID string) (RoleRules, bool) {
	ids, err := s.store.ListIdentities(ctx, userID)
	if err == nil {
		for _, i := range ids {
			if r, ok := s.cfg.RoleRules[i.Provider]; ok && r.Claim != "" {
				return r, true
			}
		}
	}
	keys := make([]string, 0, len(s.cfg.RoleRules))
	for k, r := range s.cfg.RoleRules {
		if r.Claim != "" {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return RoleRules{}, false
	}
	slices.Sort(keys)
	return s.cfg.RoleRules[keys[0]], true
}

// forgetStaleExternalID drops an externalId row left by a deleted user, so
// the identity provider can provision the person again.
func (s *Users) forgetStaleExternalID(ctx context.Context, ext string) {
	if _, err := s.store.GetIdentity(ctx, store.ProviderSCIM, ext); errors.Is(err, store.ErrNotFound) {
		_ = s.store.DeleteIdentity(ctx, store.ProviderSCIM, ext)
	}
}
