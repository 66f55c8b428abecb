package store

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Sentinel errors every backend returns, translated from its driver's errors
// at its own edge. Callers test them with errors.Is.
var (
	// ErrNotFound means the row asked for does not exist (or is soft-deleted).
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness rule in the schema refused the write.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable means the database could not be reached or is not
	// accepting work (down, restarting, out of connections): the same
	// request may succeed a moment later.
	ErrUnavailable = errors.New("the database is unreachable")
	// ErrDiskFull means the database refused a write for lack of space.
	ErrDiskFull = errors.New("the disk is full")
	// ErrLastOwner means the write would leave the organisation without an
	// active owner (a live, unsuspended person with the owner role); the
	// methods that keep an owner refuse it and write nothing.
	ErrLastOwner = errors.New("no other active owner would remain")
)

// Role is a user's role in the organisation.
type Role string

// Roles, from most to least powerful.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// UserKind tells a person from a service account.
type UserKind string

// User kinds. Service accounts cannot log in; they hold admin access tokens.
const (
	KindPerson  UserKind = "person"
	KindService UserKind = "service"
)

// User is an account. Deleted users are soft-deleted: DeletedAt is set, the
// row stays for the audit trail, and every read method treats it as absent.
type User struct {
	ID           string
	Username     string
	Email        string // where notices go; "" = none
	Role         Role
	Kind         UserKind
	LoginType    string // "password" today; "oidc" later
	PasswordHash string // argon2id PHC string; empty for service accounts
	Suspended    bool
	// IdPUserName is the name the identity provider knows the person by,
	// exactly as it sent it: the SCIM userName, or the username claim of
	// the sign-in that created the account. Username is derived from it
	// lossily (josé@ and josè@ both give jos--), so only this tells two
	// such people apart. "" = none is known: a local account, or one
	// provisioned before Latchkey kept it. Among live users it is unique
	// ignoring case (FoldUserName).
	IdPUserName string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeletedAt   *time.Time
}

// ActiveOwner reports whether u counts toward the last-owner rule: a live,
// unsuspended person with the owner role. A service account cannot log in,
// so it cannot be the owner who administers the organisation.
func (u *User) ActiveOwner() bool {
	return u.Role == RoleOwner && u.Kind == KindPerson && !u.Suspended && u.DeletedAt == nil
}

// UserFilter narrows ListUsers. Zero values mean "any".
type UserFilter struct {
	Kind   UserKind
	Cursor string // the ID of the last user of the previous page
	Limit  int
}

// TokenKind is the kind segment of a token: pat, adm.
type TokenKind string

// Token kinds stored in the tokens table. Session tokens live in sessions.
const (
	TokenPersonal TokenKind = "pat"
	TokenAdmin    TokenKind = "adm"
	// TokenFederated is issued by workload identity federation; it is owned
	// by the trust policy's service account.
	TokenFederated TokenKind = "fed"
)

// Token is a personal or admin access token. Only a SHA-256 digest of its
// secret is stored. After a regeneration with a grace period the previous
// digest keeps working until PrevExpiresAt.
type Token struct {
	ID            string
	UserID        string
	Kind          TokenKind
	Name          string
	Description   string
	Scopes        []string // canonical scope strings, e.g. "repo:read=acme/*"
	Digest        []byte   // SHA-256 of the current secret, 32 bytes
	Hint          string   // last 4 characters of the secret
	PrevDigest    []byte   // previous secret's digest during a grace period, else nil
	PrevExpiresAt *time.Time
	IPAllowlist   []string // CIDRs; empty means any address
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ExpiresAt     *time.Time // nil = never
	RevokedAt     *time.Time
	RegeneratedAt *time.Time
	LastUsedAt    *time.Time
	LastUsedIP    string
	LastUsedAgent string
	RecentIPs     []string // last few distinct client IPs, most recent first
	// FederationPolicyID is the trust policy that issued a fed token; "" otherwise.
	FederationPolicyID string
	// FederationClaims are the claims of the exchanged OIDC token that the
	// policy matched (repository, ref, run id...); nil for other kinds.
	FederationClaims map[string]string
}

// FederationPolicy is a workload identity federation trust policy: OIDC
// tokens from Issuer, for Audience, whose claims match every condition, are
// exchanged for short-lived fed tokens of ServiceAccountID.
type FederationPolicy struct {
	ID               string
	Name             string // unique
	Description      string
	Issuer           string
	Audience         string
	Conditions       map[string]string // claim name -> exact value or glob pattern
	ServiceAccountID string
	Scopes           []string
	MaxLifetime      time.Duration // 0 = the default (15 minutes)
	Disabled         bool
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// FederationPolicyFilter narrows ListFederationPolicies.
type FederationPolicyFilter struct {
	Issuer string // exact issuer; "" = any
	Cursor string // the ID of the last policy of the previous page
	Limit  int
}

// TokenState is derived from a token's times, never stored.
type TokenState string

// Token states.
const (
	StateActive   TokenState = "active"
	StateExpiring TokenState = "expiring" // expires within ExpiringWindow
	StateExpired  TokenState = "expired"
	StateRevoked  TokenState = "revoked"
)

// ExpiringWindow is how close to its expiry a token counts as expiring.
const ExpiringWindow = 7 * 24 * time.Hour

// State returns the token's state at now.
func (t *Token) State(now time.Time) TokenState {
	switch {
	case t.RevokedAt != nil:
		return StateRevoked
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return StateExpired
	case t.ExpiresAt != nil && t.ExpiresAt.Sub(now) <= ExpiringWindow:
		return StateExpiring
	default:
		return StateActive
	}
}

// TokenFilter narrows ListTokens. Zero values mean "any".
type TokenFilter struct {
	UserID string
	Kind   TokenKind
	State  TokenState // evaluated against Now
	Scope  string     // tokens whose scopes include this scope name (resource suffix ignored)
	Now    time.Time
	Cursor string // the ID of the last token of the previous page
	Limit  int
}

// TokenUse is one token's aggregated usage since the last flush.
type TokenUse struct {
	TokenID string
	At      time.Time // the latest use
	IP      string
	Agent   string
	IPs     []string // distinct IPs seen in this batch, most recent first
	// Counts holds requests per UTC day ("2006-01-02") in this batch.
	Counts map[string]int64
	// NewAddresses are the addresses this batch may have been the first
	// use from. For each one that the token was not used from before (its
	// stored RecentIPs, read in the same transaction, lack it, and it has a
	// last use), the store appends a NewAddressAction audit event in the
	// same transaction as the use: written, retried and lost together.
	NewAddresses []AddressUse
}

// AddressUse is the first use of a token from an address in a batch.
type AddressUse struct {
	IP    string
	Agent string
	At    time.Time
}

// NewAddressAction is the audit action of a token's first use from a new
// address. Its event names the token (target), the address and agent, and
// has details {"name", "ip", "user_id"}.
const NewAddressAction = "token.new_ip"

// NewAddressEvent is the audit event RecordTokenUse appends for a first use
// of the token id (named name, owned by userID) from a.IP.
func NewAddressEvent(id, name, userID string, a AddressUse) *AuditEvent {
	return &AuditEvent{
		At: a.At, Action: NewAddressAction, TargetType: "token", TargetID: id, IP: a.IP, Agent: a.Agent,
		Details: map[string]any{"name": name, "ip": a.IP, "user_id": userID},
	}
}

// NewAddresses returns the addresses of u that are new for a token whose
// stored last use is used (false: never used) and recent IPs are stored.
// Backends call it inside RecordTokenUse, before merging u, so they agree.
func NewAddresses(used bool, stored []string, u TokenUse) []AddressUse {
	if !used {
		return nil
	}
	var out []AddressUse
	for _, a := range u.NewAddresses {
		if a.IP == "" || slices.Contains(stored, a.IP) || slices.ContainsFunc(out, func(o AddressUse) bool { return o.IP == a.IP }) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// UsageDay is the request count of one token on one UTC day.
type UsageDay struct {
	Day   string // "2006-01-02"
	Count int64
}

// Session is a login session; its token has kind "ses".
type Session struct {
	ID         string
	UserID     string
	Digest     []byte
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
	IP         string
	Agent      string
	RevokedAt  *time.Time
	// ParentID is the session that minted this one at /cli-auth; "" = none.
	// Ending a session ends the sessions it minted.
	ParentID string
}

// SessionFilter narrows ListSessions, which lists live sessions (neither
// revoked nor expired at Now), newest first.
type SessionFilter struct {
	UserID string
	Now    time.Time
	Cursor string // the ID of the last session of the previous page
	Limit  int
}

// Policy is the organisation's token policy. Zero durations mean "none".
type Policy struct {
	DefaultLifetime time.Duration
	MaxLifetime     time.Duration // 0 = no maximum
	AllowNoExpiry   bool
	Creation        string        // "everyone" or "admins"
	RevokeUnusedFor time.Duration // 0 = never
	UpdatedAt       time.Time
}

// AuditEvent is one entry of the append-only audit log.
type AuditEvent struct {
	ID         int64 // assigned by the store, increasing
	At         time.Time
	ActorID    string
	ActorName  string
	Action     string // e.g. "token.create", "user.suspend", "auth.login"
	TargetType string // "token", "user", "session", "policy"
	TargetID   string
	IP         string
	Agent      string
	Details    map[string]any
}

// AuditFilter narrows ListAudit. Zero values mean "any".
type AuditFilter struct {
	ActorID  string
	TargetID string
	Action   string // exact action, or a prefix ending in "." ("token.")
	Since    time.Time
	Until    time.Time
	Cursor   int64 // the ID of the last event of the previous page; newest first
	Limit    int
}

// SigningKey is a JWT signing key of the token-exchange service. The private
// half is stored encrypted; the store never sees it in the clear.
type SigningKey struct {
	ID         string // the JWK "kid"
	Algorithm  string // "ES256" or "EdDSA"
	PublicJWK  []byte // the public key as a JSON Web Key
	PrivateEnc []byte // the private key, encrypted at rest by the caller
	CreatedAt  time.Time
	RetiredAt  *time.Time // set when a newer key took over signing
}

// Store is the persistence contract every backend implements. It holds no
// policy: it stores and fetches, enforcing only what the schema enforces
// (unique names, foreign keys). Update methods run the updater inside one
// transaction; an error from the updater aborts the write and is returned.
type Store interface {
	CreateUser(ctx context.Context, u *User) error
	GetUser(ctx context.Context, id string) (*User, error)
	GetUserByUsername(ctx context.Context, username string) (*User, error)
	// GetUserByIdPUserName returns the live user whose IdPUserName equals
	// name ignoring case (by FoldUserName, never by the lossy Username).
	GetUserByIdPUserName(ctx context.Context, name string) (*User, error)
	ListUsers(ctx context.Context, f UserFilter) ([]*User, error)
	// ListSCIMUsers returns, in id order, up to limit (none when limit <= 0) of the live people of login type oidc after skipping offset of them, and how many there are in all.
	ListSCIMUsers(ctx context.Context, offset, limit int) ([]*User, int, error)
	CountUsers(ctx context.Context) (int, error)
	UpdateUser(ctx context.Context, id string, fn func(*User) error) (*User, error)
	// DeleteUser soft-deletes the user and revokes all of its tokens and
	// sessions in the same transaction.
	DeleteUser(ctx context.Context, id string, at time.Time) error
	// UpdateUserKeepingAnOwner is UpdateUser, except that when the user is
	// an active owner and fn takes that away (another role, a suspension)
	// while no other active owner exists, it writes nothing and returns
	// ErrLastOwner. The check and the write are one atomic step for every
	// process on the database: two replicas demoting the last two owners
	// at once cannot both succeed.
	UpdateUserKeepingAnOwner(ctx context.Context, id string, fn func(*User) error) (*User, error)
	// DeleteUserKeepingAnOwner is DeleteUser, except that it refuses with
	// ErrLastOwner, atomically as UpdateUserKeepingAnOwner, to delete the
	// only active owner. check, when not nil, is called first with the
	// live user as the transaction holds it (no other write can change it
	// before the commit); its error is returned as is and nothing is
	// written. The caller judges its permission on a row read earlier:
	// check refuses when that row has changed meanwhile.
	DeleteUserKeepingAnOwner(ctx context.Context, id string, at time.Time, check func(*User) error) error

	// CreateIdentity links a user to an external identity; a second link of
	// the same (provider, subject), or of the same user and provider, is
	// ErrConflict.
	CreateIdentity(ctx context.Context, i *Identity) error
	GetIdentity(ctx context.Context, provider, subject string) (*Identity, error)
	// ListIdentities returns the identities of userID, or of every live user
	// when userID is "", ordered by provider then subject.
	ListIdentities(ctx context.Context, userID string) ([]*Identity, error)
	// UpdateIdentity writes back Email, Claims and LastLoginAt.
	UpdateIdentity(ctx context.Context, provider, subject string, fn func(*Identity) error) (*Identity, error)
	DeleteIdentity(ctx context.Context, provider, subject string) error

	// CreateGroup inserts a SCIM group with its members; a second live group
	// with the same display name (ignoring case) is ErrConflict, a member
	// that is no live user ErrNotFound.
	CreateGroup(ctx context.Context, g *Group) error
	GetGroup(ctx context.Context, id string) (*Group, error)
	// GetSCIMGroup is GetGroup, except that with members false no member
	// is read (Members nil).
	GetSCIMGroup(ctx context.Context, id string, members bool) (*Group, error)
	// ListGroups returns groups ordered by ID; displayName "" means any.
	ListGroups(ctx context.Context, displayName string) ([]*Group, error)
	// ListSCIMGroups returns, in id order, up to limit (none when limit <= 0) of the groups (with displayName ignoring case; "" means any) after skipping offset of them, and how many there are in all; with members false no member is read (Members nil).
	ListSCIMGroups(ctx context.Context, displayName string, offset, limit int, members bool) ([]*Group, int, error)
	// UpdateGroup writes back DisplayName, ExternalID, Members and UpdatedAt.
	UpdateGroup(ctx context.Context, id string, fn func(*Group) error) (*Group, error)
	DeleteGroup(ctx context.Context, id string) error
	// ListUserGroups returns the groups userID is a member of, without
	// their members (one query, however large the groups).
	ListUserGroups(ctx context.Context, userID string) ([]*Group, error)

	CreateDeviceCode(ctx context.Context, d *DeviceCode) error
	GetDeviceCodeByDigest(ctx context.Context, deviceDigest []byte) (*DeviceCode, error)
	GetDeviceCodeByUserCode(ctx context.Context, userDigest []byte) (*DeviceCode, error)
	// UpdateDeviceCode writes back Status, UserID, Interval and LastPolledAt;
	// the rest of the code, its requester included, never changes.
	UpdateDeviceCode(ctx context.Context, id string, fn func(*DeviceCode) error) (*DeviceCode, error)
	// DeleteExpiredDeviceCodes removes codes that expired before.
	DeleteExpiredDeviceCodes(ctx context.Context, before time.Time) (int, error)

	CreateToken(ctx context.Context, t *Token) error
	// CreateTokenWithAudit is CreateToken and AppendAudit of e in one
	// transaction: the token and its audit event are stored together or
	// not at all.
	CreateTokenWithAudit(ctx context.Context, t *Token, e *AuditEvent) error
	// CreateTokens inserts many tokens in batched statements (seeding, imports).
	CreateTokens(ctx context.Context, ts []*Token) error
	GetToken(ctx context.Context, id string) (*Token, error)
	// GetTokenByDigest finds the token whose current or previous digest matches.
	GetTokenByDigest(ctx context.Context, digest []byte) (*Token, error)
	// GetTokenAndOwnerByDigest is GetTokenByDigest and GetUser of its owner
	// in one indexed read (verification without a cache). The user is nil
	// when the owner is deleted, and its PasswordHash is left empty. The
	// token's last use (LastUsedAt, LastUsedIP, LastUsedAgent, RecentIPs)
	// may be left empty too: verification does not need it, and a store
	// that keeps it apart does not read it here (SQLite).
	GetTokenAndOwnerByDigest(ctx context.Context, digest []byte) (*Token, *User, error)
	// GetTokenLastUse returns the stored last use of the token with id:
	// a Token with ID, LastUsedAt, LastUsedIP, LastUsedAgent and RecentIPs
	// (never nil) set and nothing else, all zero for a token never used
	// (or unknown). It is the part of a token that GetTokenAndOwnerByDigest
	// may leave out, as cheap as that read.
	GetTokenLastUse(ctx context.Context, id string) (*Token, error)
	ListTokens(ctx context.Context, f TokenFilter) ([]*Token, error)
	// UnusedTokenIDs returns, in ascending id order after the id after
	// ("" for the first page), up to limit ids of the tokens that are live
	// at now (not revoked, not expired) and whose last activity, the
	// latest of their creation, regeneration and last use, is before
	// before. It reads ids only, so judging a million tokens for the
	// unused-token policy reads no token whole.
	UnusedTokenIDs(ctx context.Context, before, now time.Time, after string, limit int) ([]string, error)
	UpdateToken(ctx context.Context, id string, fn func(*Token) error) (*Token, error)
	// RevokeFederatedTokens revokes, in one transaction, every live token
	// issued by the federation policy and returns them as revoked.
	RevokeFederatedTokens(ctx context.Context, policyID string, at time.Time) ([]*Token, error)
	// RecordTokenUse applies a batch of aggregated uses in one transaction.
	RecordTokenUse(ctx context.Context, uses []TokenUse) error
	// TokenUsage returns per-day counts for days >= since, oldest first.
	TokenUsage(ctx context.Context, tokenID string, since time.Time) ([]UsageDay, error)
	// DeleteTokenUsageBefore deletes every token's per-day counts of UTC
	// days before the UTC date of before and returns how many days it
	// deleted. It works through the tokens in short transactions, so a
	// million tokens do not hold the database's writer for long.
	DeleteTokenUsageBefore(ctx context.Context, before time.Time) (int, error)

	CreateSession(ctx context.Context, s *Session) error
	GetSessionByDigest(ctx context.Context, digest []byte) (*Session, error)
	UpdateSession(ctx context.Context, id string, fn func(*Session) error) (*Session, error)
	// GetSession returns the session with id, even when revoked or expired.
	GetSession(ctx context.Context, id string) (*Session, error)
	// ListSessions returns a user's live sessions, newest first.
	ListSessions(ctx context.Context, f SessionFilter) ([]*Session, error)
	// RevokeSession ends the session id and, transitively, every session
	// it minted, in one statement; it returns the sessions it ended (none
	// when all were ended before).
	RevokeSession(ctx context.Context, id string, at time.Time) ([]*Session, error)
	// RevokeUserSessions ends every live session of the user but keep (""
	// = none) and returns the sessions it ended.
	RevokeUserSessions(ctx context.Context, userID, keep string, at time.Time) ([]*Session, error)
	// DeleteExpiredSessions removes sessions that expired or were revoked before.
	DeleteExpiredSessions(ctx context.Context, before time.Time) (int, error)

	// GetPolicy returns ErrNotFound until PutPolicy has been called once.
	GetPolicy(ctx context.Context) (*Policy, error)
	PutPolicy(ctx context.Context, p *Policy) error

	AppendAudit(ctx context.Context, e *AuditEvent) error
	ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEvent, error)
	// Atomically runs fn in one transaction. Every write fn makes through
	// this store's methods, called with the context fn is given, commits
	// together when fn returns nil, or none does when it returns an error
	// (returned as is). It is how a change and its audit event (AppendAudit
	// with fn's context) are stored together or not at all, so that a
	// revocation answered as done is never missing from the audit log.
	//
	// fn's reads may not see fn's own writes (SQLite reads on connections
	// of their own). After a write in fn fails, fn must return an error:
	// the transaction may no longer accept statements (PostgreSQL). fn may
	// run more than once (SQLite's group commit runs a caller's work again
	// when a neighbour's failed the shared transaction), so it must only
	// set what it returns. Writes made with another context are not part
	// of it. Calls of Atomically with fn's context join the transaction.
	Atomically(ctx context.Context, fn func(ctx context.Context) error) error

	CreateSigningKey(ctx context.Context, k *SigningKey) error
	// ListSigningKeys returns every key, newest first.
	ListSigningKeys(ctx context.Context) ([]*SigningKey, error)
	UpdateSigningKey(ctx context.Context, id string, fn func(*SigningKey) error) (*SigningKey, error)
	DeleteSigningKey(ctx context.Context, id string) error

	// ClaimNotification records that the notice kind about the token's
	// expiry at expiresAt is being sent, and reports whether this caller
	// claimed it: false when it was claimed before (by this or another
	// replica). The unique key is (tokenID, kind, expiresAt), so a token
	// regenerated with a new expiry gets fresh notices.
	ClaimNotification(ctx context.Context, tokenID, kind string, expiresAt time.Time) (bool, error)
	// ReleaseNotification drops a claim whose notice could not be sent, so
	// a later run tries again.
	ReleaseNotification(ctx context.Context, tokenID, kind string, expiresAt time.Time) error
	// DeleteNotificationsBefore forgets claims about expiries before the
	// given time, which no run asks about any more.
	DeleteNotificationsBefore(ctx context.Context, before time.Time) (int, error)

	// CreateFederationPolicy inserts p; a taken name is ErrConflict.
	CreateFederationPolicy(ctx context.Context, p *FederationPolicy) error
	GetFederationPolicy(ctx context.Context, id string) (*FederationPolicy, error)
	// ListFederationPolicies returns policies ordered by ID, after f.Cursor.
	ListFederationPolicies(ctx context.Context, f FederationPolicyFilter) ([]*FederationPolicy, error)
	UpdateFederationPolicy(ctx context.Context, id string, fn func(*FederationPolicy) error) (*FederationPolicy, error)
	DeleteFederationPolicy(ctx context.Context, id string) error
	// ClaimFederationJTI records that the OIDC token (issuer, jti) was
	// exchanged, and reports whether this caller claimed it first: false
	// when it was claimed before, on any replica, and has not expired.
	ClaimFederationJTI(ctx context.Context, issuer, jti string, expiresAt time.Time) (bool, error)
	// DeleteExpiredFederatedTokens deletes the federation (fed) tokens that
	// expired before the time, with their usage, last use and notices, in
	// short transactions, and returns how many it deleted.
	DeleteExpiredFederatedTokens(ctx context.Context, before time.Time) (int, error)
	// DeleteFederationJTIsBefore forgets claims of OIDC tokens that expired
	// before the given time, which can no longer be replayed.
	DeleteFederationJTIsBefore(ctx context.Context, before time.Time) (int, error)

	// Ping checks the connection (readiness).
	Ping(ctx context.Context) error
	Close() error
}
