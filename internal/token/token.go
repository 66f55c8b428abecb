package token

import "errors"

// Kind is the kind segment of a token: what sort of credential it is.
type Kind string

// Token kinds.
const (
	Personal Kind = "pat" // personal access token, owned by a person
	Admin    Kind = "adm" // admin access token, owned by a service account
	Session  Kind = "ses" // session token from a password login
	// Federated is a short-lived token issued by workload identity
	// federation in exchange for a CI job's or workload's OIDC token.
	Federated Kind = "fed"
)

// Valid reports whether k is one of Personal, Admin, Session or Federated.
func (k Kind) Valid() bool {
	return k == Personal || k == Admin || k == Session || k == Federated
}

// DefaultPrefix is the prefix of tokens when the deployment configures none.
const DefaultPrefix = "lk"

// RandomLen is the number of random base62 characters in a token.
const RandomLen = 30

// ChecksumLen is the number of base62 characters of the CRC32 checksum.
const ChecksumLen = 6

const (
	maxPrefixLen = 16
	bodyLen      = RandomLen + ChecksumLen
	kindLen      = 3
	minTokenLen  = 1 + 1 + kindLen + 1 + bodyLen
	maxTokenLen  = maxPrefixLen + 1 + kindLen + 1 + bodyLen
)

// Errors returned by Parse, Generate and ValidatePrefix. Each returned error
// wraps exactly one of them (test with errors.Is) and carries a more precise
// message of its own. No message contains any part of the token after its
// kind, so errors are safe to log and to return to the client.
var (
	// ErrEmpty means no token was given.
	ErrEmpty = errors.New("token is empty: send the whole token" + shape)
	// ErrPrefix means the token does not start with the expected prefix and
	// an underscore, or a prefix is malformed.
	ErrPrefix = errors.New("token has the wrong prefix: use a token issued by this server" + shape)
	// ErrKind means the segment after the prefix is not pat, adm or ses.
	ErrKind = errors.New("token kind is not pat, adm or ses" + shape)
	// ErrLength means the part after the kind is not 36 characters long.
	ErrLength = errors.New("token has the wrong length: it may be cut off or have extra spaces or a newline" + shape)
	// ErrAlphabet means the part after the kind has a character outside 0-9A-Za-z.
	ErrAlphabet = errors.New("token has a character that is not a letter or digit: copy it again without quotes or punctuation" + shape)
	// ErrChecksum means the last 6 characters do not match the rest: the
	// token was mistyped or altered.
	ErrChecksum = errors.New("token checksum does not match: it was mistyped or altered; copy it again from where it was issued" + shape)
)

// shape ends every message so that a user learns what a valid token looks
// like whatever went wrong.
const shape = "; a valid token looks like <prefix>_<pat|adm|ses|fed>_<36 letters and digits>, for example lk_pat_..."

// formatError is a precise message for one of the sentinel errors.
type formatError struct {
	sentinel error
	msg      string
}

func (e *formatError) Error() string { return e.msg }
func (e *formatError) Unwrap() error { return e.sentinel }

// invalid returns an error wrapping sentinel that says what is wrong and
// what a valid token with the expected prefix looks like.
func invalid(sentinel error, prefix, what string) error {
	if prefix == "" || !validPrefix(prefix) {
		prefix = "<prefix>"
	}
	return &formatError{sentinel, what + "; a valid token looks like " + prefix + "_<pat|adm|ses|fed>_<36 letters and digits>"}
}
