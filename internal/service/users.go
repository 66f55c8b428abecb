package service

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/internal/store"
)

// Users manages accounts: people and service accounts, roles, suspension and
// deletion.
type Users struct {
	store store.Store
	audit *Audit
	inval Invalidator
	cfg   Config
	// hashes bounds the argon2 work of new passwords, shared with Sessions.
	hashes *hashGate
	now    func() time.Time
}

// lastOwner is the answer to a change the store refused with
// store.ErrLastOwner. The store checks and writes in one atomic step, so
// the rule also holds between two owners demoting each other at the same
// moment, on one server or on two replicas.
func lastOwner() error {
	return conflict("role", "this is the last active owner; make another user owner first")
}

// CreateUserInput describes a new account.
type CreateUserInput struct {
	Username string
	Password string
	Role     store.Role
	Kind     store.UserKind
	Email    string // where notices about the user's tokens go; "" = none
}

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Password length bounds; the upper one keeps hashing cheap to refuse.
const (
	minPasswordLen = 8
	maxPasswordLen = 256
)

// Create adds an account (admins; only owners create owners).
func (s *Users) Create(ctx context.Context, a Actor, in CreateUserInput) (*store.User, error) {
	if err := a.requireAdmin(); err != nil {
		return nil, err
	}
	if in.Role == "" {
		in.Role = store.RoleMember
	}
	if in.Kind == "" {
		in.Kind = store.KindPerson
	}
	if in.Role == store.RoleOwner && a.User.Role != store.RoleOwner {
		return nil, forbidden("only owners may create owners")
	}
	if in.Kind == store.KindPerson && in.Password != "" && !a.Session {
		// The password chosen here is a console sign-in as the new
		// account that outlives the token: a leaked admin:org token would
		// become a lasting admin, an owner's token a lasting owner.
		return nil, needsLoginSession("create an account with a password", "`latchkey users create NAME`",
			"or create it without one: a service account takes none")
	}
	u, err := s.newUser(ctx, in)
	if err != nil {
		return nil, err
	}
	// The account and its audit event are stored together or not at all.
	err = s.audit.inTx(ctx, func(ctx context.Context) error {
		if err := s.store.CreateUser(ctx, u); err != nil {
			return err
		}
		return s.audit.add(ctx, a, "user.create", "user", u.ID, map[string]any{"username": u.Username, "role": string(u.Role), "kind": string(u.Kind)})
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, conflict("username", "the user name %q is taken; choose another", u.Username)
	}
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

func (s *Users) newUser(ctx context.Context, in CreateUserInput) (*store.User, error) {
	if !usernameRE.MatchString(in.Username) {
		return nil, invalid("username", "username must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit; got %q", in.Username)
	}
	if err := validRole(in.Role); err != nil {
		return nil, err
	}
	email, err := cleanEmail(in.Email)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	u := &store.User{ID: newID(), Username: in.Username, Email: email, Role: in.Role, Kind: in.Kind, LoginType: "password", CreatedAt: now, UpdatedAt: now}
	switch in.Kind {
	case store.KindPerson:
		hash, err := s.hashNewPassword(ctx, in.Password)
		if err != nil {
			return nil, err
		}
		u.PasswordHash = hash
	case store.KindService:
		if in.Password != "" {
			return nil, invalid("password", "service accounts cannot log in, so they take no password; leave it out")
		}
		u.LoginType = "none"
	default:
		return nil, invalid("kind", "kind must be \"person\" or \"service\"; got %q", in.Kind)
	}
	return u, nil
}

func (s *Users) hashNewPassword(ctx context.Context, pw string) (string, error) {
	if len(pw) < minPasswordLen {
		return "", invalid("password", "password must be at least %d characters", minPasswordLen)
	}
	if len(pw) > maxPasswordLen {
		return "", invalid("password", "password must be at most %d bytes", maxPasswordLen)
	}
	return s.hashes.hash(ctx, pw)
}

func validRole(r store.Role) error {
	switch r {
	case store.RoleOwner, store.RoleAdmin, store.RoleMember:
		return nil
	}
	return invalid("role", "role must be \"owner\", \"admin\" or \"member\"; got %q", r)
}

// Bootstrap creates the first owner when there are no users at all. It
// returns the password it used (generated when password is empty), or ""
// when users already exist, including when another replica starting at the
// same moment created the owner first.
func (s *Users) Bootstrap(ctx context.Context, username, password string) (string, error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return "", fmt.Errorf("count users: %w", err)
	}
	if n > 0 {
		return "", nil
	}
	if username == "" {
		username = "admin"
	}
	if password == "" {
		if password, err = RandomPassword(); err != nil {
			return "", err
		}
	}
	u, err := s.newUser(ctx, CreateUserInput{Username: username, Password: password, Role: store.RoleOwner, Kind: store.KindPerson})
	if err != nil {
		return "", err
	}
	err = s.audit.inTx(ctx, func(ctx context.Context) error {
		if err := s.store.CreateUser(ctx, u); err != nil {
			return err
		}
		return s.audit.add(ctx, Actor{}, "user.create", "user", u.ID, map[string]any{"username": u.Username, "role": "owner", "bootstrap": true})
	})
	if errors.Is(err, store.ErrConflict) {
		// Replicas starting together on an empty database all count
		// zero users; the unique index on user names lets exactly one
		// insert win. The others find the owner made and carry on.
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("create first owner: %w", err)
	}
	return password, nil
}

// UserQuery filters a user listing.
type UserQuery struct {
	Kind   string
	Cursor string
	Limit  int
}

// List returns a page of users (admins).
func (s *Users) List(ctx context.Context, a Actor, q UserQuery) ([]*store.User, string, error) {
	if err := a.requireAdmin(); err != nil {
		return nil, "", err
	}
	switch store.UserKind(q.Kind) {
	case "", store.KindPerson, store.KindService:
	default:
		return nil, "", invalid("kind", "kind must be \"person\" or \"service\"; got %q", q.Kind)
	}
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return nil, "", err
	}
	f := store.UserFilter{Kind: store.UserKind(q.Kind), Limit: limit + 1}
	if q.Cursor != "" {
		id, err := decodeCursor(q.Cursor)
		if err != nil || uuid.Validate(id) != nil {
			return nil, "", invalid("cursor", "cursor %q is not valid; pass the next_cursor value of the previous page unchanged", q.Cursor)
		}
		f.Cursor = id
	}
	us, err := s.store.ListUsers(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("list users: %w", err)
	}
	next := ""
	if len(us) > limit {
		us = us[:limit]
		next = encodeCursor(us[limit-1].ID)
	}
	return us, next, nil
}

// Get returns a user by id or user name: yourself, or anyone for admins.
func (s *Users) Get(ctx context.Context, a Actor, idOrName string) (*store.User, error) {
	if a.User == nil {
		return nil, &Error{Kind: ErrUnauthenticated, Msg: "authentication required"}
	}
	if idOrName == a.User.ID || strings.EqualFold(idOrName, a.User.Username) {
		return a.User, nil
	}
	if !a.IsAdmin() {
		return nil, notFound("no user %q", idOrName)
	}
	return lookupUser(ctx, s.store, idOrName)
}

func lookupUser(ctx context.Context, st store.Store, idOrName string) (*store.User, error) {
	var u *store.User
	var err error
	switch {
	case uuid.Validate(idOrName) == nil:
		u, err = st.GetUser(ctx, idOrName)
	case usernameRE.MatchString(idOrName):
		u, err = st.GetUserByUsername(ctx, idOrName)
	default:
		// No user can have this name; do not hand the store bytes it may
		// refuse (PostgreSQL text cannot hold NUL).
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no user %q; list users to find the right id or name", idOrName)
	}
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// UpdateUserInput changes an account; nil fields are left alone.
type UpdateUserInput struct {
	Role      *store.Role
	Suspended *bool
	Password  *string
	Email     *string // "" removes the address
}

// Update changes a user's role, suspension or password. Admins change
// others; anyone may change their own password. A password, one's own or
// another person's, is set only with a login session, never with an
// access token.
func (s *Users) Update(ctx context.Context, a Actor, idOrName string, in UpdateUserInput) (*store.User, error) {
	if a.User == nil {
		return nil, &Error{Kind: ErrUnauthenticated, Msg: "authentication required"}
	}
	target, err := s.Get(ctx, a, idOrName)
	if err != nil {
		return nil, err
	}
	self := target.ID == a.User.ID
	adminChange := in.Role != nil || in.Suspended != nil
	if adminChange {
		if err := checkAdminChange(a, target, in); err != nil {
			return nil, err
		}
	}
	var hash string
	if in.Password != nil {
		if !self && !a.IsAdmin() {
			return nil, forbidden("only admins may set another user's password")
		}
		if !self && target.Role == store.RoleOwner && a.User.Role != store.RoleOwner {
			// Setting an owner's password would let an admin log in as that owner.
			return nil, forbidden("only owners may set an owner's password")
		}
		if !a.Session {
			// A password set with a token is a console sign-in that
			// outlives the token: a leaked admin:org token would take over
			// any account, an owner's token any owner's, and even a token
			// of one's own (a * token) would lock its owner out and keep
			// the thief signed in. A session proves its user just signed
			// in; the operator's reset-password proves access to the
			// database.
			command := "`latchkey users update " + target.Username + " --password`"
			if self {
				return nil, needsLoginSession("set a password", command, "")
			}
			return nil, needsLoginSession("set another person's password", command,
				"an operator with access to the database can run `latchkey admin reset-password "+target.Username+"`")
		}
		if target.Kind == store.KindService {
			return nil, invalid("password", "service accounts cannot log in, so they take no password")
		}
		if hash, err = s.hashNewPassword(ctx, *in.Password); err != nil {
			return nil, err
		}
	}
	email, err := checkEmailChange(a, target, in.Email)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	details := map[string]any{}
	update := s.store.UpdateUser
	if adminChange {
		// Only a role change or a suspension can take an owner away.
		update = s.store.UpdateUserKeepingAnOwner
	}
	change := func(u *store.User) error {
		if adminChange && (u.Role != target.Role || u.Suspended != target.Suspended) {
			// The permission checks above judged the user as read before;
			// an admin must not demote someone made owner meanwhile.
			return conflict("", "user %s changed while this request ran; read it again and retry", u.Username)
		}
		if in.Role != nil && *in.Role != u.Role {
			details["role"] = map[string]any{"before": string(u.Role), "after": string(*in.Role)}
			u.Role = *in.Role
		}
		if in.Suspended != nil && *in.Suspended != u.Suspended {
			details["suspended"] = *in.Suspended
			u.Suspended = *in.Suspended
		}
		if hash != "" {
			u.PasswordHash, details["password"] = hash, "changed"
		}
		if in.Email != nil && email != u.Email {
			details["email"] = map[string]any{"before": u.Email, "after": email}
			u.Email = email
		}
		u.UpdatedAt = now
		return nil
	}
	// The change, the sessions it ends and its audit event are stored
	// together or not at all; the caches drop them once committed.
	var u *store.User
	var ended []*store.Session
	err = s.audit.inTx(ctx, func(ctx context.Context) error {
		var err error
		if u, err = update(ctx, target.ID, change); err != nil {
			return err
		}
		if ended, err = s.endSessionsAfter(ctx, a, u, self, hash != "", details["suspended"] == true); err != nil {
			return err
		}
		if err := announceUser(ctx, s.inval, u.ID); err != nil {
			return err
		}
		if err := announceSessions(ctx, s.inval, ended...); err != nil {
			return err
		}
		action := "user.update"
		if v, ok := details["suspended"]; ok && len(details) == 1 {
			action = "user.unsuspend"
			if v == true {
				action = "user.suspend"
			}
		}
		if len(details) == 0 {
			return nil
		}
		return s.audit.add(ctx, a, action, "user", u.ID, details)
	})
	if errors.Is(err, store.ErrLastOwner) {
		return nil, lastOwner()
	}
	if err != nil {
		return nil, wrapStore("update user", err)
	}
	s.inval.UserChanged(u.ID)
	forgetSessions(s.inval, ended)
	return u, nil
}

// endSessionsAfter ends the user's sessions after a password change (all
// but the one in use for one's own change; all for a reset by an admin) or
// a suspension, so a restored account does not bring them back. It
// returns the sessions it ended, for forgetSessions after the commit.
func (s *Users) endSessionsAfter(ctx context.Context, a Actor, u *store.User, self, password, suspended bool) ([]*store.Session, error) {
	if !password && !suspended {
		return nil, nil
	}
	keep := ""
	if password && !suspended && self && a.Session {
		keep = a.CredentialID
	}
	ended, err := s.store.RevokeUserSessions(ctx, u.ID, keep, s.now().UTC().Truncate(time.Microsecond))
	if err != nil {
		return nil, fmt.Errorf("end sessions: %w", err)
	}
	return ended, nil
}

// checkAdminChange decides whether the actor may change the target's role
// or suspension. Whether an active owner would remain is the store's to
// decide, in the write itself (UpdateUserKeepingAnOwner).
func checkAdminChange(a Actor, target *store.User, in UpdateUserInput) error {
	if err := a.requireAdmin(); err != nil {
		return err
	}
	if in.Role != nil {
		if err := validRole(*in.Role); err != nil {
			return err
		}
		if (*in.Role == store.RoleOwner || target.Role == store.RoleOwner) && a.User.Role != store.RoleOwner && *in.Role != target.Role {
			return forbidden("only owners may grant or take away the owner role")
		}
	}
	if in.Suspended != nil && *in.Suspended && target.ID == a.User.ID {
		return forbidden("you cannot suspend yourself")
	}
	if target.Role == store.RoleOwner && in.Suspended != nil && *in.Suspended != target.Suspended && a.User.Role != store.RoleOwner {
		return forbidden("only owners may suspend or unsuspend an owner")
	}
	if a.Federated && widensUser(target, in) {
		// A raised role or a lifted suspension lasts; the fed token lives
		// one CI run. Taking power away (demote, suspend) lasts too, but
		// gives nothing to whoever holds a stolen run's token.
		return forbidden("a token issued by workload identity federation cannot raise a role or lift a suspension: the change would outlive the CI run and its trust policy; it may still demote or suspend, and a login session or a personal access token with %q may do this", scopeAdminOrg)
	}
	return nil
}

// widensUser reports whether in gives the target more than it has: a
// higher role (member < admin < owner) or the end of a suspension. The
// update judges the target as read; its transaction refuses the write if
// the role or suspension changed meanwhile.
func widensUser(target *store.User, in UpdateUserInput) bool {
	if in.Role != nil && roleRank(*in.Role) > roleRank(target.Role) {
		return true
	}
	return in.Suspended != nil && !*in.Suspended && target.Suspended
}

func roleRank(r store.Role) int {
	switch r {
	case store.RoleOwner:
		return 2
	case store.RoleAdmin:
		return 1
	}
	return 0
}

// Delete removes an account and stops all its tokens and sessions at once.
func (s *Users) Delete(ctx context.Context, a Actor, idOrName string) error {
	if err := a.requireAdmin(); err != nil {
		return err
	}
	target, err := lookupUser(ctx, s.store, idOrName)
	if err != nil {
		return err
	}
	if target.ID == a.User.ID {
		return forbidden("you cannot delete yourself")
	}
	if target.Role == store.RoleOwner {
		if a.User.Role != store.RoleOwner {
			return forbidden("only owners may delete an owner")
		}
	}
	check := func(u *store.User) error {
		if u.Role != target.Role {
			// The checks above judged the user as read before; an admin
			// must not delete someone made owner meanwhile.
			return conflict("", "user %s changed while this request ran; read it again and retry", u.Username)
		}
		return nil
	}
	err = s.audit.inTx(ctx, func(ctx context.Context) error {
		if err := s.store.DeleteUserKeepingAnOwner(ctx, target.ID, s.now().UTC(), check); err != nil {
			return err
		}
		if err := announceUser(ctx, s.inval, target.ID); err != nil {
			return err
		}
		return s.audit.add(ctx, a, "user.delete", "user", target.ID, map[string]any{"username": target.Username})
	})
	if errors.Is(err, store.ErrLastOwner) {
		return lastOwner()
	}
	if err != nil {
		return wrapStore("delete user", err)
	}
	s.inval.UserChanged(target.ID)
	return nil
}
