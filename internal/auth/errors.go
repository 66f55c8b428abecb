package auth

import "errors"

// ErrUnauthenticated is wrapped by every verification failure; its message
// says why the credential was refused and what to do.
var ErrUnauthenticated = errors.New("unauthenticated")

// Failure is a refused credential. Reason is safe to show the caller: it
// never contains the secret.
type Failure struct{ Reason string }

func (f *Failure) Error() string { return f.Reason }

// Is makes errors.Is(err, ErrUnauthenticated) true.
func (f *Failure) Is(target error) bool { return target == ErrUnauthenticated }

func fail(reason string) error { return &Failure{Reason: reason} }

// Reasons, shared so tests and clients can rely on them.
var (
	errNoCredential = fail("no credential: send Authorization: Bearer <token>")
	errUnknown      = fail("token is not valid: it may have been mistyped, regenerated or deleted")
	errRevoked      = fail("token has been revoked; create a new one")
	errExpired      = fail("token has expired; create a new one (an expired token cannot be regenerated)")
	errOwnerGone    = fail("the token's owner no longer exists")
	errSuspended    = fail("the token's owner is suspended")
	errSessionEnded = fail("session has ended; log in again")
	errIPNotAllowed = fail("token may not be used from this IP address")
)

// ErrNoCredential is returned when a request carries no credential at all.
var ErrNoCredential = errNoCredential
