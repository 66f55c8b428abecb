package client

import "time"

// Token states, as the server computes them at the time of the answer.
const (
	StateActive   = "active"
	StateExpiring = "expiring" // expires within a week
	StateExpired  = "expired"
	StateRevoked  = "revoked"
)

// Token kinds.
const (
	KindPersonal = "pat" // personal access token
	KindAdmin    = "adm" // admin access token of a service account
)

// Token is a token as the API shows it. The secret is never part of it.
type Token struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Scopes      []string   `json:"scopes"` // a scope narrowed to resources reads "repo:read=acme/*"
	UserID      string     `json:"user_id"`
	Kind        string     `json:"kind"`
	State       string     `json:"state"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ExpiresAt   *time.Time `json:"expires_at"` // nil: never
	LastUsedAt  *time.Time `json:"last_used_at"`
	LastUsedIP  string     `json:"last_used_ip"`
	// LastUsedUserAgent is the User-Agent of the last request made with it.
	LastUsedUserAgent string     `json:"last_used_user_agent"`
	RecentIPs         []string   `json:"recent_ips"` // most recent first
	Hint              string     `json:"hint"`       // last 4 characters of the secret
	IPAllowlist       []string   `json:"ip_allowlist"`
	RevokedAt         *time.Time `json:"revoked_at"`
	RegeneratedAt     *time.Time `json:"regenerated_at"`
	// GraceExpiresAt is until when the previous secret still works after a
	// regeneration with a grace period.
	GraceExpiresAt *time.Time `json:"grace_expires_at"`
}

// IssuedToken is a token with its secret, as answered by creation and
// regeneration: the only time the secret is ever shown.
type IssuedToken struct {
	Token  Token  `json:"token"`
	Secret string `json:"secret"`
}

// User roles and kinds.
const (
	RoleOwner   = "owner"
	RoleAdmin   = "admin"
	RoleMember  = "member"
	KindPerson  = "person"
	KindService = "service" // a service account: cannot log in, holds admin access tokens
)

// User is an account: a person or a service account.
type User struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Email     string    `json:"email"` // where notices about the user's tokens go; "" = none
	Role      string    `json:"role"`
	Kind      string    `json:"kind"`
	Suspended bool      `json:"suspended"`
	LoginType string    `json:"login_type"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Session is a login session. The fields after ExpiresAt are filled in
// listings (ListSessions), not in WhoAmI.
type Session struct {
	ID         string     `json:"id"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	IP         string     `json:"ip,omitempty"`
	UserAgent  string     `json:"user_agent,omitempty"`
	Current    bool       `json:"current,omitempty"` // the session this client is using
}

// LoginResult is the answer to a password login.
type LoginResult struct {
	Token     string    `json:"token"` // the session token; shown once
	ExpiresAt time.Time `json:"expires_at"`
	User      User      `json:"user"`
}

// Me describes the caller: the user, the credential used and what it may do.
type Me struct {
	User    User     `json:"user"`
	Token   *Token   `json:"token"`   // the access token used, or nil for a session
	Session *Session `json:"session"` // the session used, or nil for an access token
	Scopes  []string `json:"scopes"`  // the credential's effective scopes
}

// Policy is the organisation's token policy. Durations are written as Go
// durations or day counts ("720h", "90d"); empty means none.
type Policy struct {
	DefaultLifetime string    `json:"default_lifetime"`
	MaxLifetime     string    `json:"max_lifetime"`
	AllowNoExpiry   bool      `json:"allow_no_expiry"`
	Creation        string    `json:"creation"` // everyone or admins
	RevokeUnusedFor string    `json:"revoke_unused_for"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// Scope is one entry of the scope catalog.
type Scope struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Implies     []string `json:"implies"`
	AdminOnly   bool     `json:"admin_only"`
	Group       string   `json:"group"`
	// Resource names what a resource pattern narrows for this scope; empty
	// means the scope cannot be narrowed.
	Resource string `json:"resource"`
}

// AuditEvent is one audit log entry.
type AuditEvent struct {
	ID         int64          `json:"id"`
	At         time.Time      `json:"at"`
	ActorID    string         `json:"actor_id"`
	ActorName  string         `json:"actor_name"`
	Action     string         `json:"action"`
	TargetType string         `json:"target_type"`
	TargetID   string         `json:"target_id"`
	IP         string         `json:"ip"`
	UserAgent  string         `json:"user_agent"`
	Details    map[string]any `json:"details"`
}

// UsageDay is a token's request count on one UTC day.
type UsageDay struct {
	Day   string `json:"day"` // 2006-01-02
	Count int64  `json:"count"`
}

// Page is one page of a list. NextCursor is empty on the last page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}
