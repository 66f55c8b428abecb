package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// invalidationChannel carries cache invalidations between replicas.
const invalidationChannel = "latchkey_invalidate"

// invalidation is one message on the channel. Digests are hex SHA-256 token
// digests, never secrets.
type invalidation struct {
	Node    string   `json:"n"`
	Kind    string   `json:"k"` // token, user or session
	Digests []string `json:"d,omitempty"`
	UserID  string   `json:"u,omitempty"`
}

// replicator applies every invalidation to this node's cache at once and
// publishes it, so the other replicas on the same PostgreSQL drop their
// cached state within a notification's round trip. Policy changes travel
// the same way. When this replica's feed was down (a database restart, a
// network cut), anything may have been missed: on reconnect it drops its
// whole verification cache and re-reads the policy, so a revocation made
// meanwhile is refused as soon as the feed is back, not after the TTL. A
// publish that fails is retried for a while.
type replicator struct {
	local    service.Invalidator
	purge    func() // drops the whole verification cache
	policies *service.Policies
	pub      store.Notifier
	node     string
	logger   *slog.Logger
	ctx      context.Context // ends when the App closes (stops retries)
}

// publishRetryFor bounds how long a failed publish is retried.
const publishRetryFor = 30 * time.Second

// replicate returns the invalidator the services should use for cache c:
// c itself on a single node, or c plus broadcasting when the store can
// notify other replicas, whose messages it then applies to c.
func (a *App) replicate(c service.Invalidator) (service.Invalidator, error) {
	n, ok := a.Store.(store.Notifier)
	if !ok {
		return c, a.watchForeignChanges(c)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	ctx, cancel := context.WithCancel(context.Background())
	r := &replicator{local: c, purge: func() {}, policies: a.Services.Policies, pub: n,
		node: hex.EncodeToString(id[:]), logger: a.Logger, ctx: ctx}
	if p, ok := c.(interface{ Purge() }); ok {
		r.purge = p.Purge
	}
	if err := n.Subscribe(ctx, invalidationChannel, r.apply); err != nil {
		cancel()
		return nil, err
	}
	a.closers = append(a.closers, func(context.Context) { cancel() })
	r.policies.OnChange(func(ctx context.Context) error { return r.announceIn(ctx, invalidation{Kind: "policy"}) })
	return r, nil
}

func (r *replicator) TokenChanged(t *store.Token) {
	r.local.TokenChanged(t)
	if t == nil {
		return
	}
	r.publish(tokenInvalidation(t))
}

func tokenInvalidation(t *store.Token) invalidation {
	msg := invalidation{Kind: "token"}
	for _, d := range [][]byte{t.Digest, t.PrevDigest} {
		if len(d) > 0 {
			msg.Digests = append(msg.Digests, hex.EncodeToString(d))
		}
	}
	return msg
}

func (r *replicator) UserChanged(userID string) {
	r.local.UserChanged(userID)
	r.publish(invalidation{Kind: "user", UserID: userID})
}

func (r *replicator) SessionRevoked(digest []byte) {
	r.local.SessionRevoked(digest)
	r.publish(invalidation{Kind: "session", Digests: []string{hex.EncodeToString(digest)}})
}

// AnnounceTokenChanged publishes the invalidation of t with ctx
// (service.TxAnnouncer): called in a store transaction, the notification
// goes out at its commit, or never, whatever becomes of this process.
func (r *replicator) AnnounceTokenChanged(ctx context.Context, t *store.Token) error {
	return r.announceIn(ctx, tokenInvalidation(t))
}

// AnnounceUserChanged is AnnounceTokenChanged for a change of a user.
func (r *replicator) AnnounceUserChanged(ctx context.Context, userID string) error {
	return r.announceIn(ctx, invalidation{Kind: "user", UserID: userID})
}

// AnnounceSessionRevoked is AnnounceTokenChanged for an ended session.
func (r *replicator) AnnounceSessionRevoked(ctx context.Context, digest []byte) error {
	return r.announceIn(ctx, invalidation{Kind: "session", Digests: []string{hex.EncodeToString(digest)}})
}

func (r *replicator) announceIn(ctx context.Context, msg invalidation) error {
	if _, err := publishIn(ctx, r.pub, r.node, msg); err != nil {
		return fmt.Errorf("announce a cache invalidation: %w", err)
	}
	return nil
}

// publishIn sends msg from node with ctx: in the transaction of ctx, when
// it has one. It returns the payload sent.
func publishIn(ctx context.Context, pub store.Notifier, node string, msg invalidation) (string, error) {
	msg.Node = node
	b, err := json.Marshal(msg)
	if err != nil {
		return "", err
	}
	return string(b), pub.Publish(ctx, invalidationChannel, string(b))
}

func (r *replicator) publish(msg invalidation) {
	msg.Node = r.node
	b, err := json.Marshal(msg)
	if err != nil {
		return
	}
	err = r.send(string(b))
	if err == nil {
		return
	}
	r.logger.Warn("publish cache invalidation failed; retrying (other replicas also drop their caches when their own feed reconnects)", "kind", msg.Kind, "err", err)
	go r.retry(string(b), msg.Kind)
}

func (r *replicator) send(payload string) error {
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
	defer cancel()
	return r.pub.Publish(ctx, invalidationChannel, payload)
}

// retry publishes payload until it goes through, the App closes or
// publishRetryFor passes.
func (r *replicator) retry(payload, kind string) {
	deadline := time.Now().Add(publishRetryFor)
	for wait := 100 * time.Millisecond; time.Now().Before(deadline); wait = min(2*wait, 2*time.Second) {
		select {
		case <-r.ctx.Done():
			return
		case <-time.After(wait):
		}
		if r.send(payload) == nil {
			r.logger.Info("published cache invalidation after a retry", "kind", kind)
			return
		}
	}
	r.logger.Error("gave up publishing a cache invalidation; other replicas see the change within the cache TTL", "kind", kind)
}

// apply handles a message from the channel: another replica's change.
func (r *replicator) apply(payload string) {
	switch payload {
	case store.FeedLost:
		// Cached verification keeps answering through a storage outage
		// (docs/operations.md), bounded by --cache-ttl; the operator learns
		// that changes made on other replicas go unheard meanwhile.
		r.logger.Warn("cache invalidation feed lost; until it is back, changes made on other replicas reach this one only as its cache entries expire (--cache-ttl)")
		return
	case "":
		r.purge()
		r.policies.Reload()
		r.logger.Warn("cache invalidation feed reconnected; dropped the verification cache, since changes made meanwhile on other replicas may have gone unannounced")
		return
	}
	var msg invalidation
	if err := json.Unmarshal([]byte(payload), &msg); err != nil || msg.Node == r.node {
		return
	}
	switch msg.Kind {
	case "token":
		t := &store.Token{}
		for i, d := range msg.Digests {
			b, err := hex.DecodeString(d)
			if err != nil {
				return
			}
			if i == 0 {
				t.Digest = b
			} else {
				t.PrevDigest = b
			}
		}
		r.local.TokenChanged(t)
	case "user":
		r.local.UserChanged(msg.UserID)
	case "policy":
		r.policies.Reload()
	case "session":
		if len(msg.Digests) == 1 {
			if b, err := hex.DecodeString(msg.Digests[0]); err == nil {
				r.local.SessionRevoked(b)
			}
		}
	}
}

// foreignCheckEvery is how often a server on SQLite looks for commits of
// other processes (latchkey admin, a sqlite3 shell) to the database file.
const foreignCheckEvery = 250 * time.Millisecond

// watchForeignChanges drops the verification cache c and re-reads the
// policy whenever another process commits to the store's database: on
// SQLite there is no notification to tell this server that `latchkey admin
// reset-password` ended a user's sessions, and the cache would otherwise
// keep accepting them until its entries expire.
func (a *App) watchForeignChanges(c service.Invalidator) error {
	w, ok := a.Store.(store.ForeignWatcher)
	if !ok {
		return nil
	}
	purge := func() {}
	if p, ok := c.(interface{ Purge() }); ok {
		purge = p.Purge
	}
	ctx, cancel := context.WithCancel(context.Background())
	err := w.WatchForeignChanges(ctx, foreignCheckEvery, func() {
		purge()
		a.Services.Policies.Reload()
		a.Logger.Info("another process changed the database; dropped the verification cache")
	})
	if err != nil {
		cancel()
		return err
	}
	a.closers = append(a.closers, func(context.Context) { cancel() })
	return nil
}

// Announcer tells the servers running on a shared database about the
// changes of a process that does not serve (`latchkey admin`), so that they
// drop what they cached at once rather than when it expires. It is the
// service.Invalidator such a process gives the services. On a store that
// cannot notify (SQLite) it does nothing: the server there sees another
// process's commit by itself (watchForeignChanges).
//
// On PostgreSQL it announces in the transaction of the change
// (service.TxAnnouncer), so that the announcement goes out with the commit
// or not at all: an operator's connection lost between the two must not
// leave the servers accepting a session the command says it ended. The
// calls the services make after the commit then repeat nothing already
// announced.
//
// What it remembers for that is one transaction's announcements, each
// until the call after the commit that repeats it: a later change of the
// same token or user, in a process that makes several, is announced
// again. An announcement in another transaction (another context) starts
// afresh, since what is left belonged to one that did not commit; so does
// a failed announcement, which fails its transaction. (It cannot see a
// rollback: a transaction that announced and then failed at its commit,
// followed by a call about the same token or user outside any
// transaction, would have that call taken for the repeat. The services
// announce every change in its transaction first, which starts afresh.)
type Announcer struct {
	pub  store.Notifier
	node string

	mu  sync.Mutex
	err error
	// sent counts the payloads announced in the transaction of tx that no
	// call after its commit has repeated yet.
	sent map[string]int
	tx   context.Context
}

var _ service.TxAnnouncer = (*Announcer)(nil)

// NewAnnouncer returns the Announcer for st.
func NewAnnouncer(st store.Store) *Announcer {
	n, _ := st.(store.Notifier)
	var id [8]byte
	_, _ = rand.Read(id[:])
	return &Announcer{pub: n, node: "cli-" + hex.EncodeToString(id[:])}
}

// TokenChanged announces a change of t.
func (a *Announcer) TokenChanged(t *store.Token) {
	if t != nil {
		a.announce(tokenInvalidation(t))
	}
}

// UserChanged announces a change of the user userID.
func (a *Announcer) UserChanged(userID string) {
	a.announce(invalidation{Kind: "user", UserID: userID})
}

// SessionRevoked announces the end of the session of digest.
func (a *Announcer) SessionRevoked(digest []byte) {
	a.announce(invalidation{Kind: "session", Digests: []string{hex.EncodeToString(digest)}})
}

// AnnounceTokenChanged announces a change of t in the transaction of ctx.
func (a *Announcer) AnnounceTokenChanged(ctx context.Context, t *store.Token) error {
	if t == nil {
		return nil
	}
	return a.announceIn(ctx, tokenInvalidation(t))
}

// AnnounceUserChanged announces a change of a user in the transaction of ctx.
func (a *Announcer) AnnounceUserChanged(ctx context.Context, userID string) error {
	return a.announceIn(ctx, invalidation{Kind: "user", UserID: userID})
}

// AnnounceSessionRevoked announces the end of a session in the transaction of ctx.
func (a *Announcer) AnnounceSessionRevoked(ctx context.Context, digest []byte) error {
	return a.announceIn(ctx, invalidation{Kind: "session", Digests: []string{hex.EncodeToString(digest)}})
}

func (a *Announcer) announceIn(ctx context.Context, msg invalidation) error {
	if a.pub == nil {
		return nil
	}
	a.mu.Lock()
	if !sameContext(a.tx, ctx) {
		a.sent, a.tx = nil, ctx
	}
	a.mu.Unlock()
	payload, err := publishIn(ctx, a.pub, a.node, msg)
	if err != nil {
		// The transaction fails with this error: none of its
		// announcements goes out, and none will be repeated.
		a.mu.Lock()
		a.sent, a.tx = nil, nil
		a.mu.Unlock()
		return fmt.Errorf("tell running servers: %w", err)
	}
	a.mu.Lock()
	if a.sent == nil {
		a.sent = map[string]int{}
	}
	a.sent[payload]++
	a.mu.Unlock()
	return nil
}

// sameContext reports whether a and b are the same context: the same
// transaction's, as the services pass it to each announcement they make
// in it. Contexts are pointers; any other type counts as different.
func sameContext(a, b context.Context) bool {
	if a == nil || b == nil {
		return false
	}
	ta := reflect.TypeOf(a)
	return ta == reflect.TypeOf(b) && ta.Comparable() && a == b
}

// Err is the first announcement that could not be sent: running servers
// then see the change only when their cache entries expire.
func (a *Announcer) Err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// announce publishes msg after a commit, unless it went out with the
// commit: then it uses up that transaction's record of it.
func (a *Announcer) announce(msg invalidation) {
	if a.pub == nil {
		return
	}
	msg.Node = a.node
	b, err := json.Marshal(msg)
	if err != nil {
		return
	}
	payload := string(b)
	a.mu.Lock()
	if n := a.sent[payload]; n > 0 {
		a.sent[payload] = n - 1
		if n == 1 {
			delete(a.sent, payload)
		}
		if len(a.sent) == 0 {
			a.sent, a.tx = nil, nil
		}
		a.mu.Unlock()
		return // it went out with the commit
	}
	failed := a.err != nil
	a.mu.Unlock()
	if failed {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.pub.Publish(ctx, invalidationChannel, payload); err != nil {
		a.mu.Lock()
		if a.err == nil {
			a.err = fmt.Errorf("tell running servers: %w", err)
		}
		a.mu.Unlock()
	}
}
