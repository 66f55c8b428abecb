package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
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
// cached state within a notification's round trip. A lost notification is
// bounded by the cache TTL.
type replicator struct {
	local  service.Invalidator
	pub    store.Notifier
	node   string
	logger *slog.Logger
}

// replicate returns the invalidator the services should use for cache c:
// c itself on a single node, or c plus broadcasting when the store can
// notify other replicas, whose messages it then applies to c.
func (a *App) replicate(c service.Invalidator) (service.Invalidator, error) {
	n, ok := a.Store.(store.Notifier)
	if !ok {
		return c, nil
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	r := &replicator{local: c, pub: n, node: hex.EncodeToString(id[:]), logger: a.Logger}
	ctx, cancel := context.WithCancel(context.Background())
	if err := n.Subscribe(ctx, invalidationChannel, r.apply); err != nil {
		cancel()
		return nil, err
	}
	a.closers = append(a.closers, func(context.Context) { cancel() })
	return r, nil
}

func (r *replicator) TokenChanged(t *store.Token) {
	r.local.TokenChanged(t)
	if t == nil {
		return
	}
	msg := invalidation{Kind: "token"}
	for _, d := range [][]byte{t.Digest, t.PrevDigest} {
		if len(d) > 0 {
			msg.Digests = append(msg.Digests, hex.EncodeToString(d))
		}
	}
	r.publish(msg)
}

func (r *replicator) UserChanged(userID string) {
	r.local.UserChanged(userID)
	r.publish(invalidation{Kind: "user", UserID: userID})
}

func (r *replicator) SessionRevoked(digest []byte) {
	r.local.SessionRevoked(digest)
	r.publish(invalidation{Kind: "session", Digests: []string{hex.EncodeToString(digest)}})
}

func (r *replicator) publish(msg invalidation) {
	msg.Node = r.node
	b, err := json.Marshal(msg)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := r.pub.Publish(ctx, invalidationChannel, string(b)); err != nil {
		r.logger.Warn("publish cache invalidation; other replicas see the change within the cache TTL", "kind", msg.Kind, "err", err)
	}
}

// apply handles a message from the channel: another replica's change.
func (r *replicator) apply(payload string) {
	if payload == "" {
		r.logger.Warn("cache invalidation feed reconnected; changes made meanwhile on other replicas are seen within the cache TTL")
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
	case "session":
		if len(msg.Digests) == 1 {
			if b, err := hex.DecodeString(msg.Digests[0]); err == nil {
				r.local.SessionRevoked(b)
			}
		}
	}
}
