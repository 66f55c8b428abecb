package api

import (
	"time"

	"github.com/latchkey/latchkey/internal/scope"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// Token is a token as clients see it. The secret is never part of it.
type Token struct {
	ID             string     `json:"id" doc:"Token id (UUID)"`
	Name           string     `json:"name"`
	Description    string     `json:"description"`
	Scopes         []string   `json:"scopes" doc:"Granted scopes; a scope narrowed to resources is written scope=pattern,pattern"`
	UserID         string     `json:"user_id" doc:"Owner's user id"`
	Kind           string     `json:"kind" enum:"pat,adm,fed" doc:"pat: personal access token; adm: admin access token of a service account; fed: issued by workload identity federation"`
	State          string     `json:"state" enum:"active,expiring,expired,revoked"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	ExpiresAt      *time.Time `json:"expires_at" doc:"When the token stops working (policy caps included); null = never"`
	LastUsedAt     *time.Time `json:"last_used_at"`
	LastUsedIP     string     `json:"last_used_ip"`
	LastUsedAgent  string     `json:"last_used_user_agent"`
	RecentIPs      []string   `json:"recent_ips" doc:"Last few distinct client addresses, most recent first"`
	Hint           string     `json:"hint" doc:"Last 4 characters of the secret"`
	IPAllowlist    []string   `json:"ip_allowlist" doc:"CIDR ranges the token may be used from; empty = anywhere"`
	RevokedAt      *time.Time `json:"revoked_at"`
	RegeneratedAt  *time.Time `json:"regenerated_at"`
	GraceExpiresAt *time.Time `json:"grace_expires_at" doc:"Until when the previous secret still works after a regeneration"`
	// Federation is set on fed tokens only.
	Federation *TokenFederation `json:"federation,omitempty" doc:"For fed tokens: the trust policy that issued it and the claims it matched"`
}

func tokenView(t *store.Token, p store.Policy, now time.Time) Token {
	v := Token{
		ID: t.ID, Name: t.Name, Description: t.Description, Scopes: nonNil(t.Scopes), UserID: t.UserID,
		Kind: string(t.Kind), State: string(service.EffectiveState(t, p, now)), CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
		ExpiresAt: service.EffectiveExpiry(t, p), LastUsedAt: t.LastUsedAt, LastUsedIP: t.LastUsedIP, LastUsedAgent: t.LastUsedAgent,
		RecentIPs: nonNil(t.RecentIPs), Hint: t.Hint, IPAllowlist: nonNil(t.IPAllowlist),
		RevokedAt: t.RevokedAt, RegeneratedAt: t.RegeneratedAt,
	}
	if t.PrevExpiresAt != nil && now.Before(*t.PrevExpiresAt) {
		v.GraceExpiresAt = t.PrevExpiresAt
	}
	v.Federation = federationView(t)
	return v
}

// User is an account as clients see it.
type User struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Email     string    `json:"email" doc:"Where notices about the user's tokens go; empty = none"`
	Role      string    `json:"role" enum:"owner,admin,member"`
	Kind      string    `json:"kind" enum:"person,service"`
	Suspended bool      `json:"suspended"`
	LoginType string    `json:"login_type" doc:"How the user signs in: password, or none for service accounts"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func userView(u *store.User) User {
	return User{ID: u.ID, Username: u.Username, Email: u.Email, Role: string(u.Role), Kind: string(u.Kind),
		Suspended: u.Suspended, LoginType: u.LoginType, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

// Policy is the token policy. Durations are answered as Go duration
// strings ("720h" for 30 days) and read as those or as day counts
// ("30d"); empty = none.
type Policy struct {
	DefaultLifetime string    `json:"default_lifetime" doc:"Lifetime of tokens created without an expiration, a Go duration string, e.g. 4320h (180 days); a day count such as 180d is accepted too"`
	MaxLifetime     string    `json:"max_lifetime" doc:"Longest lifetime allowed; empty = no maximum. Lowering it caps existing tokens, counted from their creation"`
	AllowNoExpiry   bool      `json:"allow_no_expiry" doc:"Whether tokens without expiration may be created"`
	Creation        string    `json:"creation" enum:"everyone,admins" doc:"Who may create tokens"`
	RevokeUnusedFor string    `json:"revoke_unused_for" doc:"Revoke tokens unused for this long; empty = never"`
	UpdatedAt       time.Time `json:"updated_at"`
}

func policyView(p store.Policy) Policy {
	return Policy{
		DefaultLifetime: service.FormatGoDuration(p.DefaultLifetime), MaxLifetime: service.FormatGoDuration(p.MaxLifetime),
		AllowNoExpiry: p.AllowNoExpiry, Creation: p.Creation, RevokeUnusedFor: service.FormatGoDuration(p.RevokeUnusedFor),
		UpdatedAt: p.UpdatedAt,
	}
}

// Scope is one entry of the scope catalog.
type Scope struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Implies     []string `json:"implies"`
	AdminOnly   bool     `json:"admin_only"`
	Group       string   `json:"group"`
	Resource    string   `json:"resource" doc:"What a resource pattern names for this scope; empty = cannot be narrowed"`
}

func scopeView(d scope.Def) Scope {
	return Scope{Name: d.Name, Description: d.Description, Implies: nonNil(d.Implies), AdminOnly: d.AdminOnly, Group: d.Group, Resource: d.Resource}
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

func auditView(e *store.AuditEvent) AuditEvent {
	details := e.Details
	if details == nil { // the schema promises an object: {} when there are none
		details = map[string]any{}
	}
	return AuditEvent{ID: e.ID, At: e.At, ActorID: e.ActorID, ActorName: e.ActorName, Action: e.Action,
		TargetType: e.TargetType, TargetID: e.TargetID, IP: e.IP, UserAgent: e.Agent, Details: details}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
