package store

import (
	"context"
	"errors"
)

// ErrContention means the database gave up on a change because of a
// concurrent one: PostgreSQL found the two in a deadlock, or could not
// serialize them, and rolled this one back. Nothing was changed, the
// database is up, and the same request is likely to succeed at once. It is
// a kind of ErrUnavailable (errors.Is finds both), so every caller that
// treats an unavailable database as worth a retry treats it so too; only
// the words differ.
var ErrContention error = contention{}

type contention struct{}

func (contention) Error() string {
	return "the database could not complete the change because of a conflicting one"
}

// Is makes errors.Is(err, ErrUnavailable) true.
func (contention) Is(target error) bool { return target == ErrUnavailable }

// Outage says what an error caused by the storage means to a caller: a
// message that names the problem and what to do, and how many seconds to
// wait before retrying (the HTTP Retry-After). ok is false for any other
// error. Every HTTP surface answers these with 503 Service Unavailable.
func Outage(err error) (msg string, retryAfterSeconds int, ok bool) {
	switch {
	case errors.Is(err, ErrDiskFull):
		return "the disk is full: the server cannot store changes until an operator frees space; nothing was changed, try again later", 60, true
	case errors.Is(err, context.DeadlineExceeded):
		// The request's deadline (--request-timeout) passed while the
		// storage was still working or waiting: a slow or unreachable
		// database. What was asked may or may not have been stored.
		return "the database did not answer in time (slow or unreachable); try again in a few seconds, and check whether the change was made", 5, true
	case errors.Is(err, ErrContention):
		// Checked before ErrUnavailable, which it also is: the database
		// answered, and saying it is unreachable would send an operator
		// looking for an outage that is not there.
		return "the database could not complete the change because of a conflicting one; nothing was changed, retry", 1, true
	case errors.Is(err, ErrUnavailable):
		return "the database is unreachable; nothing was changed, try again in a few seconds", 5, true
	}
	return "", 0, false
}
