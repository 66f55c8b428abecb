package notify

import (
	"net/url"
	"time"
)

// Kind names what a notice is about. It is the webhook's event name.
type Kind string

// Notice kinds.
const (
	// TokenExpiring: the token expires within a week.
	TokenExpiring Kind = "token.expiring"
	// TokenExpired: the token has expired.
	TokenExpired Kind = "token.expired"
	// TokenLeaked: the token was reported found in public and was revoked
	// (or, for the previous secret of a regenerated token, its grace period
	// was ended).
	TokenLeaked Kind = "token.leaked"
	// SessionLeaked: a login session's token was reported found in public
	// and the session was ended.
	SessionLeaked Kind = "session.leaked"
)

// Notice is one thing to tell a token's owner. It never holds a secret.
type Notice struct {
	// ID identifies this notice across channels and retries; Send fills it
	// when empty.
	ID   string
	Kind Kind
	// At is when it happened: the expiry for TokenExpired, the report for
	// the leak kinds, the time of the reminder for TokenExpiring.
	At    time.Time
	Token Token
	Owner Owner
	// Leak is set for the leak kinds.
	Leak *Leak
}

// Token is the token a notice is about. For SessionLeaked it is the session
// (kind "ses", no name).
type Token struct {
	ID        string
	Name      string
	Kind      string // pat, adm or ses
	Hint      string // last 4 characters of the secret
	ExpiresAt *time.Time
	// Previous is true when the leaked secret was the previous one of a
	// regenerated token: the grace period was ended, the token lives on.
	Previous bool
}

// Owner is the user the token belongs to.
type Owner struct {
	ID       string
	Username string
	Email    string // "" = no email for this owner
}

// Leak is where a leaked secret was found, as the scanner reported it.
type Leak struct {
	URL    string
	Source string
}

// consoleURL is the console page of the notice's token, or of the owner's
// tokens for a session, or "" without a base URL.
func consoleURL(base string, n Notice) string {
	if base == "" {
		return ""
	}
	if n.Kind == SessionLeaked || n.Token.ID == "" {
		return base + "/tokens"
	}
	return base + "/tokens/" + url.PathEscape(n.Token.ID)
}
