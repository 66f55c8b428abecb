package federation

import (
	"errors"
	"fmt"
)

// OAuth error codes (RFC 6749 §5.2, RFC 8693) an exchange can fail with.
const (
	CodeInvalidRequest = "invalid_request"
	CodeInvalidGrant   = "invalid_grant"
	CodeInvalidScope   = "invalid_scope"
	CodeUnavailable    = "temporarily_unavailable"
)

// Error is a refused exchange: Code is the OAuth error code, Check names the
// check that failed ("signature", "audience", "condition:repository"...),
// and Msg says what was wrong without echoing the presented token.
//
// Msg is for the caller, who may be anyone able to mint a token of a
// public issuer (any GitHub repository can): it never gives a policy's
// configured values (audience, condition patterns). Detail, when set, is
// for the server log only: Msg with those values, so an admin can see
// why a token was refused.
type Error struct {
	Code   string
	Check  string
	Msg    string
	Detail string
}

func (e *Error) Error() string { return e.Msg }

// Is lets errors.Is(err, ErrUnavailable) find unavailability.
func (e *Error) Is(target error) bool { return target == ErrUnavailable && e.Code == CodeUnavailable }

// ErrUnavailable matches errors that mean the issuer could not be reached
// and no cached key could stand in.
var ErrUnavailable = errors.New("issuer unavailable")

// Logged is what the server log says of e: Detail, or Msg without one.
func (e *Error) Logged() string {
	if e.Detail != "" {
		return e.Detail
	}
	return e.Msg
}

func refuse(check, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidGrant, Check: check, Msg: fmt.Sprintf(format, args...)}
}

// mismatch is a token that does not satisfy policy: msg for the caller,
// detail with the policy's configured values for the log.
func mismatch(check, msg, detail string) *Error {
	return &Error{Code: CodeInvalidGrant, Check: check, Msg: msg, Detail: detail}
}

// malformed is a subject token that is not a JWT at all: a bad request
// rather than a refused grant.
func malformed(msg string) *Error {
	return &Error{Code: CodeInvalidRequest, Check: "format", Msg: msg}
}
