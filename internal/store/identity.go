package store

import (
	"strings"
	"time"
	"unicode"
)

// LoginTypeOIDC marks a user who signs in through an identity provider
// (created just in time, provisioned by SCIM, or linked by an admin).
const LoginTypeOIDC = "oidc"

// ProviderSCIM is the Identity.Provider of the rows that hold the
// externalId a SCIM client gave a user.
const ProviderSCIM = "scim"

// FoldUserName is the key IdP user names are compared by: each character
// becomes the smallest of the characters it equals ignoring case (Unicode
// simple case folding), so two names have the same key exactly when
// strings.EqualFold says they are equal. SCIM's userName is caseExact
// false (RFC 7643 §4.1.1), and SQL's lower() folds only ASCII in SQLite
// and depends on the locale in PostgreSQL: the backends store and look up
// this key instead.
func FoldUserName(name string) string {
	return strings.Map(func(r rune) rune {
		low := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < low {
				low = f
			}
		}
		return low
	}, name)
}

// Identity links a user to an account at an external identity provider:
// (Provider, Subject) is the provider's id and the ID token's "sub". A user
// has at most one identity per provider.
type Identity struct {
	Provider    string
	Subject     string
	UserID      string
	Email       string
	Claims      []string // role-claim values seen at the last sign-in
	CreatedAt   time.Time
	LastLoginAt *time.Time
}

// Group is a SCIM group: a named set of users whose display name the role
// mapping matches, like a value of the groups claim.
type Group struct {
	ID          string
	DisplayName string
	ExternalID  string
	Members     []string // user IDs, sorted
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Device-code states.
const (
	DevicePending  = "pending"
	DeviceApproved = "approved"
	DeviceDenied   = "denied"
	DeviceUsed     = "used"
)

// DeviceCode is one RFC 8628 device authorization. Only SHA-256 digests of
// the device code and of the normalised user code are stored.
type DeviceCode struct {
	ID           string
	DeviceDigest []byte
	UserDigest   []byte
	ClientID     string
	Status       string
	UserID       string // who approved or denied it
	CreatedAt    time.Time
	ExpiresAt    time.Time
	Interval     time.Duration // the minimum polling interval in force
	LastPolledAt *time.Time
	// RequesterIP and RequesterAgent are the client address (as the request
	// edge determined it) and User-Agent of the request that created the
	// code. The approval page shows them, so a person sent a link by
	// someone else can see that the sign-in is not theirs (RFC 8628 §5.4).
	// Written once, at creation.
	RequesterIP    string
	RequesterAgent string
}
