package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latchkey/latchkey/internal/store"
)

var _ store.Notifier = (*Store)(nil)

// channelName scopes a channel (or lock) name to the store's schema:
// NOTIFY and advisory locks are database-wide, and several deployments (or
// test runs) may share one database in different schemas.
func (s *Store) channelName(ctx context.Context, channel string) (string, error) {
	var schema string
	if err := s.db(ctx).QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return "", fmt.Errorf("current schema: %w", translate(err))
	}
	name := channel + "." + schema
	if len(name) > 63 {
		name = name[:63]
	}
	return name, nil
}

// Publish sends payload to every replica listening on channel. Called
// with the context of Atomically's fn, it notifies in that transaction:
// PostgreSQL delivers the payload when the transaction commits, and never
// if it does not.
func (s *Store) Publish(ctx context.Context, channel, payload string) error {
	name, err := s.channelName(ctx, channel)
	if err != nil {
		return err
	}
	if _, err := s.db(ctx).Exec(ctx, `SELECT pg_notify($1, $2)`, name, payload); err != nil {
		return fmt.Errorf("publish on %s: %w", channel, translate(err))
	}
	return nil
}

// Subscribe listens on channel on a connection of its own and calls fn for
// every notification until ctx ends, reconnecting with backoff when the
// connection is lost.
func (s *Store) Subscribe(ctx context.Context, channel string, fn func(payload string)) error {
	name, err := s.channelName(ctx, channel)
	if err != nil {
		return err
	}
	conn, err := s.listen(ctx, name)
	if err != nil {
		return err
	}
	go s.receive(ctx, name, conn, fn)
	return nil
}

func (s *Store) listen(ctx context.Context, name string) (*pgxpool.Conn, error) {
	// A database that does not answer must not hold the listener up for
	// longer than a retry is worth.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", name, err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{name}.Sanitize()); err != nil {
		conn.Release()
		return nil, fmt.Errorf("listen on %s: %w", name, err)
	}
	return conn, nil
}

// maxListenBackoff bounds the wait between reconnection attempts. It is
// short on purpose: until the listener is back, this replica cannot hear
// about revocations, and it drops its cache only once it is (the "" call).
const maxListenBackoff = 250 * time.Millisecond

// A listener that has heard nothing for listenQuietFor asks its connection
// for a round trip, and takes it for dead when no answer comes within
// listenPingTimeout. A connection whose path silently died (a network that
// dropped the flow, a failover whose old host vanished) gives no error
// otherwise: TCP keepalive would notice only after many minutes, while every
// invalidation sent meanwhile goes unheard. A round trip a second costs the
// database next to nothing.
const (
	listenQuietFor    = time.Second
	listenPingTimeout = 2 * time.Second
)

// next waits for the next notification on conn, checking the connection
// whenever it has been quiet for listenQuietFor.
func next(ctx context.Context, conn *pgx.Conn) (*pgconn.Notification, error) {
	for {
		wctx, cancel := context.WithTimeout(ctx, listenQuietFor)
		n, err := conn.WaitForNotification(wctx)
		quiet := wctx.Err() == context.DeadlineExceeded && ctx.Err() == nil
		cancel()
		if err == nil || !quiet || !pgconn.Timeout(err) {
			return n, err
		}
		pctx, cancel := context.WithTimeout(ctx, listenPingTimeout)
		err = conn.Ping(pctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("the listening connection did not answer: %w", err)
		}
	}
}

func (s *Store) receive(ctx context.Context, name string, conn *pgxpool.Conn, fn func(string)) {
	backoff := 50 * time.Millisecond
	for {
		n, err := next(ctx, conn.Conn())
		if err == nil {
			fn(n.Payload)
			backoff = 50 * time.Millisecond
			continue
		}
		if ctx.Err() == nil {
			// Until the listener is back, nothing published is heard.
			fn(store.FeedLost)
		}
		// The connection's state is unknown after an error: never reuse it.
		// Its path may be dead, so closing it must not wait on the network.
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = conn.Conn().Close(cctx)
		cancel()
		conn.Release()
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxListenBackoff)
			if conn, err = s.listen(ctx, name); err == nil {
				fn("") // messages may have been missed while disconnected
				break
			}
		}
	}
}
