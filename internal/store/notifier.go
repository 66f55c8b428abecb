package store

import (
	"context"
	"time"
)

// Notifier is implemented by backends that can broadcast a message to every
// replica sharing the database (PostgreSQL's LISTEN/NOTIFY). The embedded
// SQLite store is single-node and does not implement it.
type Notifier interface {
	// Publish sends payload (at most a few kilobytes) on channel to every
	// subscriber, this replica's included. Called with the context of
	// Store.Atomically's fn, it is part of that transaction: the payload
	// is delivered when the transaction commits, and never if it does not.
	Publish(ctx context.Context, channel, payload string) error
	// Subscribe starts delivering the payloads published on channel to fn,
	// in order, until ctx ends. It returns once it is listening. When the
	// connection is lost, fn is called with FeedLost: until it is called
	// with "", nothing published is heard. After the lost connection is
	// re-established, fn is called with "": messages may have been missed
	// in between.
	Subscribe(ctx context.Context, channel string, fn func(payload string)) error
}

// FeedLost is the payload Subscribe gives fn when its connection is lost.
// No published payload can be it: PostgreSQL's text holds no NUL.
const FeedLost = "\x00feed lost"

// Locker is implemented by backends that several replicas share: it lets
// exactly one of them at a time run a background job (PostgreSQL advisory
// locks). The embedded SQLite store has one replica and does not need it.
type Locker interface {
	// TryLock takes the named lock when no other replica holds it, without
	// waiting; ok is false when another one does. release gives it back.
	TryLock(ctx context.Context, name string) (release func(), ok bool, err error)
}

// ForeignWatcher is implemented by backends whose database another process
// may change without telling the server: the embedded SQLite file, which
// `latchkey admin`, `latchkey keys` or a sqlite3 shell open beside the one
// serving process. (PostgreSQL's writers announce their changes through
// Notifier instead.)
type ForeignWatcher interface {
	// WatchForeignChanges calls fn each time it sees that another process
	// committed to the database since it last looked, every interval, until
	// ctx ends. It returns once it has taken its first look.
	WatchForeignChanges(ctx context.Context, interval time.Duration, fn func()) error
}
