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
var ErrContention error = unavailable("the database could not complete the change because of a conflicting one")

// ErrStatementTimeout means the database stopped a statement at a limit of
// its own: PostgreSQL's statement_timeout or lock_timeout (an operator may
// set either on Latchkey's role or in its URL), or a query an
// administrator cancelled. The database is up and rolled the statement
// back; nothing was changed. A kind of ErrUnavailable, as ErrContention is.
var ErrStatementTimeout error = unavailable("the database stopped the statement at its time limit")

// ErrBusy means SQLite's file stayed locked for writing by another process
// (a `latchkey migrate` run, a backup, a sqlite3 shell) past the busy
// timeout. The database is reachable and nothing was changed. A kind of
// ErrUnavailable, as ErrContention is.
var ErrBusy error = unavailable("the database is busy with another write")

// ErrTooManyConnections means PostgreSQL refused a new connection because
// it already has as many as it allows (SQLSTATE 53300: max_connections, the
// slots reserved for superusers, or the role's or database's CONNECTION
// LIMIT). The server is up and answers; what is short is connections. A
// kind of ErrUnavailable, as ErrContention is.
var ErrTooManyConnections error = unavailable("the database refuses more connections (too many clients)")

// ErrReadOnly means SQLite could not write the database because its file
// (or its WAL, its shared-memory file or its directory) cannot be written:
// permissions, an immutable attribute (chattr +i) or a read-only mount.
// The file is there and readable; waiting will not fix it, an operator
// must. A kind of ErrUnavailable, as ErrContention is.
var ErrReadOnly error = unavailable("the database file is read-only")

// ErrNoWrites means PostgreSQL refused a write because the session is
// read-only (SQLSTATE 25006): the URL leads to a hot standby (after a
// failover, say) or default_transaction_read_only is on for the role or
// database. Reads work; waiting will not make writes work, an operator
// must. A kind of ErrUnavailable, as ErrContention is.
var ErrNoWrites error = unavailable("the database accepts no writes (a PostgreSQL standby, or default_transaction_read_only)")

// unavailable is a kind of ErrUnavailable with words of its own, so that
// Outage can say what happened instead of "unreachable".
type unavailable string

func (u unavailable) Error() string { return string(u) }

// Is makes errors.Is(err, ErrUnavailable) true.
func (unavailable) Is(target error) bool { return target == ErrUnavailable }

// notInTime begins the words for a database that let a request wait past
// a limit, whether the request's own deadline or the database's timeout.
const notInTime = "the database did not answer in time"

// Overloaded is implemented by an error that means the server itself, not
// its database, was too busy to answer in time (service.ErrPasswordsBusy:
// a login waited past its deadline for a password check). Outage answers
// it first, in its own words, so that a request which waited on the server
// is not said to have waited on the database.
type Overloaded interface {
	Overloaded() (msg string, retryAfterSeconds int)
}

// Outage says what an error caused by the storage means to a caller: a
// message that names the problem and what to do, and how many seconds to
// wait before retrying (the HTTP Retry-After). ok is false for any other
// error. Every HTTP surface answers these with 503 Service Unavailable.
func Outage(err error) (msg string, retryAfterSeconds int, ok bool) {
	var over Overloaded
	if errors.As(err, &over) {
		msg, retry := over.Overloaded()
		return msg, retry, true
	}
	switch {
	case errors.Is(err, ErrDiskFull):
		return "the disk is full: the server cannot store changes until an operator frees space; nothing was changed, try again later", 60, true
	case errors.Is(err, context.DeadlineExceeded):
		// The request's deadline (--request-timeout) passed while the
		// storage was still working or waiting: a slow or unreachable
		// database. What was asked may or may not have been stored.
		return notInTime + " (slow or unreachable); try again in a few seconds, and check whether the change was made", 5, true
	case errors.Is(err, ErrContention):
		// Checked before ErrUnavailable, which it also is: the database
		// answered, and saying it is unreachable would send an operator
		// looking for an outage that is not there.
		return "the database could not complete the change because of a conflicting one; nothing was changed, retry", 1, true
	case errors.Is(err, ErrStatementTimeout):
		// Also checked before ErrUnavailable. Unlike the request's
		// deadline above, the database itself stopped the statement and
		// said so, which rolls it back: nothing was changed.
		return notInTime + " (it stopped the statement at its statement or lock timeout, or it was cancelled); nothing was changed, try again in a few seconds", 5, true
	case errors.Is(err, ErrBusy):
		// The busy timeout (5 s) has already been waited; another
		// program's write holds the file, not a broken database.
		return "the database is busy with another write; nothing was changed, try again in a few seconds", 5, true
	case errors.Is(err, ErrTooManyConnections):
		// The database answered, with a refusal: an operator looking for
		// a network fault would not find one.
		return "the database refuses more connections (too many clients): raise max_connections (or the role's CONNECTION LIMIT) on the PostgreSQL server, or lower pool_max_conns in --database-url on every replica; nothing was changed, try again in a few seconds", 5, true
	case errors.Is(err, ErrReadOnly):
		return "the database file is read-only: check its permissions and attributes (ls -l, lsattr; chattr -i), and those of its -wal and -shm files and directory, for the user latchkey runs as, and that the file system is mounted read-write; nothing was changed, try again once it is writable", 60, true
	case errors.Is(err, ErrNoWrites):
		return "the database accepts no writes: PostgreSQL answered as a read-only standby or with default_transaction_read_only on; point --database-url at the primary (add target_session_attrs=read-write to it, so that a reconnect after a failover finds the new primary) or turn read-only mode off; nothing was changed, try again once it accepts writes", 30, true
	case errors.Is(err, ErrUnavailable):
		return "the database is unreachable; nothing was changed, try again in a few seconds", 5, true
	}
	return "", 0, false
}
